/**
 * Pure logic of the Code Tutor front end: no DOM, no JupyterLab imports, so it
 * is unit-tested on its own (test/logic.spec.ts).
 */

/** A problem as the server extension lists it (`GET /codetutor/api/problems`). */
export interface IProblem {
  id: string;
  version?: number;
  title: string | { [lang: string]: string };
  difficulty?: number;
  tags?: string[];
  mode?: string;
}

/** A submission in a listing (`GET /codetutor/api/submissions`) or alone. */
export interface ISubmission {
  id: number;
  problem: string;
  version?: number;
  status: 'queued' | 'running' | 'judged' | string;
  verdict: string | null;
  score: number | null;
  time_ms: number | null;
  created_at?: string;
  result?: IJudgeResult | null;
  /** The submitted code (one submission read alone, not in a listing). */
  code?: string | null;
}

/** One test case of a judged submission (hidden cases carry only the first four). */
export interface ICaseResult {
  name: string;
  visibility: 'public' | 'hidden';
  status: string;
  time_ms: number;
  expected?: string;
  actual?: string;
  message?: string;
  stdout?: string;
}

/** The judge's result (`JudgeResult.to_dict(audience="student")`). */
export interface IJudgeResult {
  verdict: string;
  score: number;
  time_ms: number;
  cases: ICaseResult[];
  error?: {
    kind: string;
    message: string;
    cell?: number;
    line?: number;
    traceback?: string;
  };
  stdout?: string;
}

/** One finding of a code review. */
export interface IFinding {
  line: number;
  severity: 'error' | 'warning' | 'info' | string;
  category: string;
  message: string;
  hint?: string;
  source: string;
  code?: string;
}

/** A recommended next problem with the reason it was chosen. */
export interface IRecommendation {
  problem: string;
  title?: string | { [lang: string]: string };
  difficulty?: number;
  tags?: string[];
  /** Why: one text, or `{"ko": …, "en": …}`. */
  reason: string | { [lang: string]: string };
  predicted_success?: number;
}

/** The verdicts, in the order the spec lists them. */
export const VERDICTS = [
  'accepted',
  'wrong_answer',
  'runtime_error',
  'time_limit_exceeded',
  'memory_limit_exceeded',
  'output_limit_exceeded',
  'syntax_error',
  'internal_error'
] as const;

/** The tags that mark test cells: the judge never runs a student's copy of them. */
export const TEST_TAGS = ['public-tests', 'hidden-tests'];

/** `ko` for a Korean JupyterLab (`ko_KR`, `ko-KR`, `ko`), else `en`. */
export function languageOf(languageCode: string | undefined | null): 'ko' | 'en' {
  return (languageCode ?? '').toLowerCase().startsWith('ko') ? 'ko' : 'en';
}

/** A bilingual title in `lang`, falling back to English, then to any, then to `fallback`. */
export function localized(
  value: string | { [lang: string]: string } | undefined,
  lang: string,
  fallback = ''
): string {
  if (typeof value === 'string') {
    return value;
  }
  if (!value) {
    return fallback;
  }
  return value[lang] ?? value['en'] ?? Object.values(value)[0] ?? fallback;
}

/**
 * How good a verdict is, for choosing a student's best one: accepted first,
 * then the higher score, then any judged verdict over none.
 */
function rank(sub: ISubmission): number {
  if (sub.status !== 'judged' || !sub.verdict) {
    return -1;
  }
  if (sub.verdict === 'accepted') {
    return 2;
  }
  return sub.score ?? 0;
}

/** The best judged submission per problem id (accepted beats any score). */
export function bestByProblem(subs: ISubmission[]): Map<string, ISubmission> {
  const best = new Map<string, ISubmission>();
  for (const sub of subs) {
    const current = best.get(sub.problem);
    if (rank(sub) < 0) {
      continue;
    }
    if (!current || rank(sub) > rank(current)) {
      best.set(sub.problem, sub);
    }
  }
  return best;
}

/** Every tag of `problems`, sorted, once each. */
export function allTags(problems: IProblem[]): string[] {
  const tags = new Set<string>();
  for (const p of problems) {
    for (const t of p.tags ?? []) {
      tags.add(t);
    }
  }
  return [...tags].sort();
}

/**
 * The problems matching `query` (case-insensitive, in the id, either title, or a
 * tag) and having `tag` (when given), sorted by difficulty then title.
 */
export function filterProblems(
  problems: IProblem[],
  query: string,
  tag: string,
  lang: string
): IProblem[] {
  const q = query.trim().toLowerCase();
  return problems
    .filter(p => !tag || (p.tags ?? []).includes(tag))
    .filter(p => {
      if (!q) {
        return true;
      }
      const titles =
        typeof p.title === 'string' ? [p.title] : Object.values(p.title ?? {});
      return [p.id, ...titles, ...(p.tags ?? [])].some(s =>
        s.toLowerCase().includes(q)
      );
    })
    .sort(
      (a, b) =>
        (a.difficulty ?? 1) - (b.difficulty ?? 1) ||
        localized(a.title, lang, a.id).localeCompare(localized(b.title, lang, b.id))
    );
}

/** A notebook cell as far as the judge cares. */
export interface ICellLike {
  cell_type: string;
  source: string | string[];
  metadata?: { tags?: unknown };
}

/** The student's code as the judge sees it, and where each of its lines came from. */
export interface IStudentCode {
  /** The code: the judged cells' sources joined by a blank line. */
  code: string;
  /** Notebook cell index of each judged cell, in order. */
  cells: number[];
  /** The 1-based line in `code` where each judged cell starts. */
  starts: number[];
}

function sourceText(source: string | string[]): string {
  return Array.isArray(source) ? source.join('') : source;
}

/**
 * The cells the judge runs (code cells, not tagged as tests, not blank), joined
 * as the judge joins them (``judge.submission.Submission.source``).
 */
export function studentCode(cells: ICellLike[]): IStudentCode {
  const parts: string[] = [];
  const indices: number[] = [];
  const starts: number[] = [];
  let line = 1;
  cells.forEach((cell, index) => {
    if (cell.cell_type !== 'code') {
      return;
    }
    const tags = Array.isArray(cell.metadata?.tags) ? (cell.metadata!.tags as string[]) : [];
    if (tags.some(t => TEST_TAGS.includes(t))) {
      return;
    }
    const text = sourceText(cell.source);
    if (!text.trim()) {
      return;
    }
    parts.push(text);
    indices.push(index);
    starts.push(line);
    // the next part starts after this one's lines and the blank separator line
    line += text.split('\n').length + 1;
  });
  return { code: parts.join('\n\n'), cells: indices, starts };
}

/**
 * The notebook cell and the 1-based line inside it of `line` of the joined code,
 * or null when the line falls outside every cell (e.g. a separator).
 */
export function locateLine(
  student: IStudentCode,
  line: number
): { cell: number; line: number } | null {
  for (let i = student.starts.length - 1; i >= 0; i--) {
    if (line >= student.starts[i]) {
      const inCell = line - student.starts[i] + 1;
      const cellIndex = student.cells[i];
      const end =
        i + 1 < student.starts.length ? student.starts[i + 1] - 1 : Number.MAX_SAFE_INTEGER;
      if (line >= end) {
        return null;
      }
      return { cell: cellIndex, line: inCell };
    }
  }
  return null;
}

/** One server-sent event. */
export interface IServerEvent {
  event: string;
  data: string;
}

/**
 * An incremental parser of a `text/event-stream`: feed it chunks as they come,
 * get back the complete events (comments such as `: ping` are dropped).
 */
export class EventStreamParser {
  private _buffer = '';

  feed(chunk: string): IServerEvent[] {
    this._buffer += chunk.replace(/\r\n?/g, '\n');
    const events: IServerEvent[] = [];
    let end: number;
    while ((end = this._buffer.indexOf('\n\n')) >= 0) {
      const block = this._buffer.slice(0, end);
      this._buffer = this._buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (!line || line.startsWith(':')) {
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) {
          value = value.slice(1);
        }
        if (field === 'event') {
          event = value;
        } else if (field === 'data') {
          data.push(value);
        }
      }
      if (data.length) {
        events.push({ event, data: data.join('\n') });
      }
    }
    return events;
  }
}

/** The live stage of a submission, for the verdict card. */
export type Stage = 'submitting' | 'queued' | 'running' | 'judged' | 'failed';

/** The stage a submission's `status` field means. */
export function stageOf(status: string): Stage {
  if (status === 'queued' || status === 'running' || status === 'judged') {
    return status;
  }
  return 'failed';
}

/** `accepted` is good, internal errors are the judge's, anything else the student's. */
export function verdictTone(verdict: string | null | undefined): 'good' | 'bad' | 'neutral' {
  if (verdict === 'accepted') {
    return 'good';
  }
  if (!verdict || verdict === 'internal_error') {
    return 'neutral';
  }
  return 'bad';
}

/** A score (0..1) as a whole percentage, e.g. `67%`. */
export function formatScore(score: number | null | undefined): string {
  return score === null || score === undefined ? '–' : `${Math.round(score * 100)}%`;
}

/** A duration in ms, short: `12 ms`, `1.5 s`. */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) {
    return '–';
  }
  if (ms < 1000) {
    return `${Math.round(ms)} ms`;
  }
  return `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;
}

/** The tutor's chat events (`token`, `replace`, `done`, `error`). */
export interface IChatEvent {
  type: 'token' | 'replace' | 'done' | 'error' | string;
  text?: string;
  message?: string;
  status?: number;
  retry_after?: number;
  level?: number | null;
  stopped?: boolean;
  withheld?: boolean;
  /** How the tutor used its model: `chat`, `completion` (a base model), `off`. */
  mode?: string | null;
  /** Where the reply came from: `grounded`, `instructor`, `model`. */
  sources?: string[];
}

/** What a reply's note says about where it came from. */
export type ReplyOrigin = 'grounded' | 'instructor' | 'base-model' | 'model';

/**
 * Where a reply came from, for the note under it: test results alone, with the
 * instructor's hints, with a note of a model that cannot chat, or explained by a
 * chat model. `null` when the tutor did not say (an older tutor service).
 */
export function replyOrigin(
  mode: string | null | undefined,
  sources: string[]
): ReplyOrigin | null {
  if (!sources.length) {
    return null;
  }
  if (!sources.includes('model')) {
    return sources.includes('instructor') ? 'instructor' : 'grounded';
  }
  return mode === 'completion' ? 'base-model' : 'model';
}

/** One reply of the tutor, built up from its events. */
export class ChatReply {
  text = '';
  done = false;
  stopped = false;
  withheld = false;
  /** The hint ladder's rung (1, 2, …: the instructor's rungs, then nudge, concept, line). */
  level: number | null = null;
  /** How the tutor used its model for this reply (`chat`, `completion`, `off`). */
  mode: string | null = null;
  /** Where the reply came from (`grounded`, `instructor`, `model`). */
  sources: string[] = [];
  error: { message: string; status?: number; retryAfter?: number } | null = null;

  /** Apply one event; returns true when the reply is over. */
  apply(event: IChatEvent): boolean {
    switch (event.type) {
      case 'token':
        this.text += event.text ?? '';
        break;
      case 'replace':
        this.text = event.text ?? '';
        this.withheld = true;
        break;
      case 'done':
        this.done = true;
        this.stopped = !!event.stopped;
        this.withheld = this.withheld || !!event.withheld;
        this.level = event.level ?? null;
        this.mode = event.mode ?? null;
        this.sources = Array.isArray(event.sources) ? event.sources : [];
        break;
      case 'error':
        this.done = true;
        this.error = {
          message: event.message ?? '',
          status: event.status,
          retryAfter: event.retry_after
        };
        break;
    }
    return this.done;
  }

  /** Whether the reply failed because the student asked too often. */
  get rateLimited(): boolean {
    return this.error?.status === 429;
  }
}
