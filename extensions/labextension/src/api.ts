/**
 * Calls to the Code Tutor server extension (`/codetutor/api/…`, see
 * extensions/handlers.py), through JupyterLab's ServerConnection so the
 * server's authentication (token or cookie and XSRF) applies.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  EventStreamParser,
  IChatEvent,
  IFinding,
  IProblem,
  IRecommendation,
  ISubmission
} from './logic';

/** An error answer of the API: its status and the server's message. */
export class APIError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: { [key: string]: unknown } = {}
  ) {
    super(message);
  }
}

const API = 'codetutor/api';

/** The API's client, for one server. */
export class CodeTutorAPI {
  constructor(readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  /** The response of `method path` with a JSON `body`; raises {@link APIError} on 4xx/5xx. */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const url = URLExt.join(this.settings.baseUrl, API, path);
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.settings);
    } catch (error) {
      throw new APIError(0, String((error as Error).message ?? error));
    }
    if (!response.ok) {
      let body: { [key: string]: unknown } = {};
      try {
        body = await response.json();
      } catch {
        body = {};
      }
      const message =
        typeof body.message === 'string' && body.message
          ? body.message
          : response.statusText || `HTTP ${response.status}`;
      throw new APIError(response.status, message, body);
    }
    return response;
  }

  /** The decoded JSON answer of a call. */
  async json<T>(path: string, method = 'GET', body?: unknown): Promise<T> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    const response = await this.fetch(path, init);
    return (await response.json()) as T;
  }

  async problems(): Promise<IProblem[]> {
    return (await this.json<{ problems: IProblem[] }>('problems')).problems;
  }

  /**
   * Write the problem's notebook into the workspace, its statement in `lang`
   * first; 409 ({@link APIError}) if it exists.
   */
  async open(problem: string, overwrite = false, lang = 'en'): Promise<{ path: string }> {
    return this.json(`problems/${encodeURIComponent(problem)}/open`, 'POST', { overwrite, lang });
  }

  /** Start `problem` over at `path`; the old notebook is kept at the answer's `backup`. */
  async reset(
    problem: string,
    path: string,
    lang = 'en'
  ): Promise<{ path: string; problem: string; backup: string }> {
    return this.json(`problems/${encodeURIComponent(problem)}/reset`, 'POST', { path, lang });
  }

  /** Submit the saved notebook at `path`; answers the queued submission. */
  async submit(path: string): Promise<ISubmission> {
    return this.json('submissions', 'POST', { path });
  }

  /** The student's own submissions (newest first), of one problem when given. */
  async submissions(problem?: string, limit = 50): Promise<ISubmission[]> {
    const query = URLExt.objectToQueryString({
      ...(problem ? { problem } : {}),
      limit: String(limit)
    });
    return (await this.json<{ submissions: ISubmission[] }>(`submissions${query}`)).submissions;
  }

  async submission(id: number): Promise<ISubmission> {
    return this.json(`submissions/${id}`);
  }

  /**
   * Follow a submission live: `onEvent` gets every `status` and the final
   * `verdict` event's submission. Resolves with the judged submission.
   */
  async follow(
    id: number,
    onEvent: (kind: string, sub: ISubmission) => void,
    signal?: AbortSignal
  ): Promise<ISubmission | null> {
    const response = await this.fetch(`submissions/${id}/events`, {
      headers: { Accept: 'text/event-stream' },
      signal
    });
    const parser = new EventStreamParser();
    const decoder = new TextDecoder();
    let final: ISubmission | null = null;
    const handle = (text: string) => {
      for (const event of parser.feed(text)) {
        const sub = JSON.parse(event.data) as ISubmission;
        onEvent(event.event, sub);
        if (event.event === 'verdict') {
          final = sub;
        }
      }
    };
    if (response.body && typeof response.body.getReader === 'function') {
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) {
          break;
        }
        handle(decoder.decode(value, { stream: true }));
      }
      handle(decoder.decode() + '\n\n');
    } else {
      handle((await response.text()) + '\n\n');
    }
    return final;
  }

  async review(code: string, problem: string | null, lang: string): Promise<IFinding[]> {
    const body: { [key: string]: unknown } = { code, lang };
    if (problem) {
      body.problem = problem;
    }
    return (await this.json<{ findings: IFinding[] }>('review', 'POST', body)).findings;
  }

  async recommendations(): Promise<IRecommendation[]> {
    const body = await this.json<{ recommendations?: IRecommendation[] }>('recommendations');
    return body.recommendations ?? [];
  }

  async publish(path: string): Promise<{ id: string; version: number; created: boolean }> {
    return this.json('publish', 'POST', { path });
  }

  /** A new tutor chat socket. */
  chat(): TutorChat {
    let url = URLExt.join(this.settings.wsUrl, API, 'tutor/chat');
    if (this.settings.token) {
      url += `?token=${encodeURIComponent(this.settings.token)}`;
    }
    return new TutorChat(url, this.settings);
  }
}

/**
 * The tutor chat WebSocket: `ask` and `stop`, events to `onEvent`. Opens
 * lazily and again after it was closed.
 */
export class TutorChat {
  onEvent: (event: IChatEvent) => void = () => undefined;
  private _socket: WebSocket | null = null;
  private _opening: Promise<WebSocket> | null = null;

  constructor(
    readonly url: string,
    readonly settings: ServerConnection.ISettings
  ) {}

  private _open(): Promise<WebSocket> {
    if (this._socket && this._socket.readyState === WebSocket.OPEN) {
      return Promise.resolve(this._socket);
    }
    if (this._opening) {
      return this._opening;
    }
    this._opening = new Promise<WebSocket>((resolve, reject) => {
      const Socket = this.settings.WebSocket ?? WebSocket;
      const socket = new Socket(this.url);
      socket.onopen = () => {
        this._socket = socket;
        this._opening = null;
        resolve(socket);
      };
      socket.onerror = () => {
        this._opening = null;
        reject(new APIError(0, 'could not reach the tutor'));
      };
      socket.onclose = () => {
        if (this._socket === socket) {
          this._socket = null;
        }
      };
      socket.onmessage = message => {
        try {
          this.onEvent(JSON.parse(String(message.data)) as IChatEvent);
        } catch {
          // not JSON: the server never sends that; ignore rather than break the chat
        }
      };
    });
    return this._opening;
  }

  /** Ask: `message` about the notebook at `path` (empty message with `hint` climbs the ladder). */
  async ask(message: string, path: string | null, lang: string, hint = false): Promise<void> {
    const socket = await this._open();
    const body: { [key: string]: unknown } = { type: 'ask', message, lang, hint };
    if (path) {
      body.path = path;
    }
    socket.send(JSON.stringify(body));
  }

  stop(): void {
    if (this._socket && this._socket.readyState === WebSocket.OPEN) {
      this._socket.send(JSON.stringify({ type: 'stop' }));
    }
  }

  dispose(): void {
    this._socket?.close();
    this._socket = null;
  }
}
