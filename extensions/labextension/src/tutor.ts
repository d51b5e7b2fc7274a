/**
 * The Tutor panel (right sidebar): a chat about the open problem notebook with
 * streamed replies, a Hint button that climbs the hint ladder, Stop, a clear
 * notice when rate-limited, and the code review of the open notebook whose
 * findings jump to their cell and line. Each problem has its own conversation,
 * kept in the browser's storage so it comes back after a reload; the message
 * box counts characters against the tutor's limit and keeps a message that is
 * too long.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { CodeTutorAPI, TutorChat } from './api';
import { button, h } from './dom';
import { ChatReply, IChatEvent, IFinding, replyOrigin } from './logic';
import {
  appendMessage,
  chatKey,
  IStoredMessage,
  messageBudget,
  parseConversation
} from './progress';

/** What the panel needs to know about the notebook in front of the student. */
export interface IProblemContext {
  /** The notebook's path in the workspace. */
  path: string;
  /** The problem id (`metadata.codetutor.id`). */
  problem: string;
  /** Save the notebook, so the server reads what the student sees. */
  save: () => Promise<void>;
  /** The student's code as the judge joins it, with the line map. */
  code: () => { code: string; reveal: (line: number) => boolean };
}

export interface ITutorPanelOptions {
  api: CodeTutorAPI;
  trans: TranslationBundle;
  lang: string;
}

export class TutorPanel extends Widget {
  constructor(private readonly options: ITutorPanelOptions) {
    super();
    const { trans } = options;
    this.id = 'codetutor-tutor';
    this.addClass('jp-codetutor-tutor');
    this.title.caption = trans.__('Code Tutor: ask the tutor');

    this._context = h('div', { class: 'jp-codetutor-context' });
    this._log = h('div', {
      class: 'jp-codetutor-chatLog',
      role: 'log',
      'aria-live': 'polite',
      'aria-label': trans.__('Conversation with the tutor')
    });
    this._input = h('textarea', {
      class: 'jp-mod-styled jp-codetutor-input',
      rows: '3',
      placeholder: trans.__('Ask the tutor about this problem (Enter to send)'),
      'aria-label': trans.__('Your question')
    });
    this._input.addEventListener('input', () => this.updateCount());
    this._count = h('div', { class: 'jp-codetutor-count', 'aria-live': 'polite' });
    this._input.addEventListener('keydown', event => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        void this.ask();
      }
    });
    this._send = button(trans.__('Send'), () => void this.ask(), {
      accept: true,
      className: 'jp-codetutor-send'
    });
    this._hint = button(trans.__('Hint'), () => void this.ask(true), {
      className: 'jp-codetutor-hint',
      title: trans.__('A hint, one step further each time')
    });
    this._stop = button(trans.__('Stop'), () => this.stop(), {
      className: 'jp-codetutor-stop',
      title: trans.__('Stop the reply')
    });
    this._review = button(trans.__('Review my code'), () => void this.review(), {
      className: 'jp-codetutor-review',
      title: trans.__('Ask for a code review of this notebook')
    });
    this._notice = h('div', { class: 'jp-codetutor-notice', role: 'alert' });
    this._findings = h('div', { class: 'jp-codetutor-findings' });
    this.node.append(
      h(
        'header',
        { class: 'jp-codetutor-header' },
        h('h2', { class: 'jp-codetutor-heading' }, trans.__('Tutor'))
      ),
      this._context,
      this._log,
      this._notice,
      h(
        'div',
        { class: 'jp-codetutor-compose' },
        this._input,
        this._count,
        h('div', { class: 'jp-codetutor-actions' }, this._hint, this._stop, this._send)
      ),
      h('div', { class: 'jp-codetutor-actions' }, this._review),
      this._findings
    );
    this.setProblem(null);
  }

  /** Follow the notebook in front of the student (null: none is a problem notebook). */
  setProblem(context: IProblemContext | null): void {
    const { trans } = this.options;
    const changed = context?.problem !== this._problem?.problem;
    this._problem = context;
    this._context.textContent = context
      ? trans.__('About: %1', context.problem)
      : trans.__('Open a problem notebook to ask the tutor.');
    this._context.dataset.problem = context?.problem ?? '';
    if (changed) {
      this.showConversation(context?.problem ?? null);
    }
    this.updateButtons();
    this.updateCount();
  }

  /** Show the stored conversation about `problem` (none: an empty log). */
  private showConversation(problem: string | null): void {
    this._log.replaceChildren();
    this._notice.textContent = '';
    if (!problem) {
      return;
    }
    for (const message of this.conversation(problem)) {
      const bubble = this.addMessage(message.who, message.text);
      for (const note of message.notes ?? []) {
        bubble.append(h('div', { class: 'jp-codetutor-muted' }, note));
      }
    }
    if (this._reply && this._bubble && this._replyProblem === problem) {
      this._log.append(this._bubble);
    }
  }

  /** The stored conversation about `problem`. */
  conversation(problem: string): IStoredMessage[] {
    try {
      return parseConversation(
        window.localStorage.getItem(chatKey(this.options.api.settings.baseUrl, problem))
      );
    } catch {
      return [];
    }
  }

  private remember(problem: string, ...messages: IStoredMessage[]): void {
    let stored = this.conversation(problem);
    for (const message of messages) {
      stored = appendMessage(stored, message);
    }
    try {
      window.localStorage.setItem(
        chatKey(this.options.api.settings.baseUrl, problem),
        JSON.stringify(stored)
      );
    } catch {
      // storage full or disabled: the conversation lasts until the page is reloaded
    }
  }

  /** Show the message's length against the tutor's limit; refuse Send past it. */
  private updateCount(): void {
    const { trans } = this.options;
    const budget = messageBudget(this._input.value);
    this._count.textContent = trans.__('%1 / %2 characters', budget.count, budget.max);
    this._count.classList.toggle('jp-mod-over', budget.over);
    this._count.title = budget.over
      ? trans.__('Too long: the tutor reads at most %1 characters.', budget.max)
      : '';
    this.updateButtons();
  }

  /** Whether a reply is streaming now. */
  get streaming(): boolean {
    return this._reply !== null;
  }

  private updateButtons(): void {
    const ready = this._problem !== null;
    this._send.disabled =
      !ready || this.streaming || messageBudget(this._input.value ?? '').over;
    this._hint.disabled = !ready || this.streaming;
    this._stop.disabled = !this.streaming;
    this._review.disabled = !ready || this._reviewing;
  }

  private chat(): TutorChat {
    if (!this._chat) {
      this._chat = this.options.api.chat();
      this._chat.onEvent = event => this.onEvent(event);
    }
    return this._chat;
  }

  /** Ask the tutor (or, with `hint`, ask for the next hint). */
  async ask(hint = false): Promise<void> {
    const { trans, lang } = this.options;
    const context = this._problem;
    const message = this._input.value.trim();
    if (!context || this.streaming || (!message && !hint)) {
      return;
    }
    const budget = messageBudget(message);
    if (budget.over) {
      // kept in the box, to be shortened
      this._notice.textContent = trans.__(
        'Your message has %1 characters; the tutor reads at most %2. Shorten it and send again.',
        budget.count,
        budget.max
      );
      return;
    }
    this._notice.textContent = '';
    const asked = hint && !message ? trans.__('Hint, please.') : message;
    this.addMessage('student', asked);
    this._asked = { problem: context.problem, text: asked, typed: this._input.value };
    this._input.value = '';
    this.updateCount();
    const bubble = this.addMessage('tutor', '');
    bubble.classList.add('jp-mod-streaming');
    this._reply = new ChatReply();
    this._bubble = bubble;
    this._replyProblem = context.problem;
    this.updateButtons();
    try {
      await context.save();
      await this.chat().ask(message, context.path, lang, hint);
    } catch (error) {
      this.onEvent({ type: 'error', message: (error as Error).message });
    }
  }

  /** Stop the reply being streamed. */
  stop(): void {
    this._chat?.stop();
  }

  private onEvent(event: IChatEvent): void {
    const { trans } = this.options;
    const reply = this._reply;
    const bubble = this._bubble;
    if (!reply || !bubble) {
      return;
    }
    const over = reply.apply(event);
    bubble.querySelector('.jp-codetutor-text')!.textContent = reply.text;
    this._log.scrollTop = this._log.scrollHeight;
    if (!over) {
      return;
    }
    bubble.classList.remove('jp-mod-streaming');
    if (reply.withheld) {
      bubble.append(
        h(
          'div',
          { class: 'jp-codetutor-muted' },
          trans.__('The tutor kept back an answer that gave the solution away.')
        )
      );
    }
    if (reply.level) {
      bubble.append(
        h(
          'div',
          { class: 'jp-codetutor-muted jp-codetutor-rung' },
          trans.__('Hint %1', reply.level)
        )
      );
    }
    const origin = replyOrigin(reply.mode, reply.sources);
    const originNote =
      origin === 'grounded'
        ? trans.__('Hints from your test results (no AI model)')
        : origin === 'instructor'
          ? trans.__('Hints from your instructor and your test results (no AI model)')
          : origin === 'base-model'
            ? trans.__('From your test results, with a note from a small AI model that cannot chat')
            : origin === 'model'
              ? trans.__('From your test results, explained by the AI tutor')
              : '';
    if (originNote) {
      bubble.append(h('div', { class: 'jp-codetutor-muted jp-codetutor-origin' }, originNote));
    }
    if (reply.stopped) {
      bubble.append(h('div', { class: 'jp-codetutor-muted' }, trans.__('Stopped.')));
    }
    const notes = Array.from(bubble.querySelectorAll('.jp-codetutor-muted')).map(
      note => note.textContent ?? ''
    );
    if (!reply.error && this._asked && this._replyProblem) {
      this.remember(
        this._replyProblem,
        { who: 'student', text: this._asked.text },
        { who: 'tutor', text: reply.text, ...(notes.length ? { notes } : {}) }
      );
    }
    if (reply.error && this._asked && !this._input.value) {
      // not answered: the student's message goes back into the box
      this._input.value = this._asked.typed;
      this.updateCount();
    }
    this._asked = null;
    this._replyProblem = null;
    if (reply.error) {
      bubble.remove();
      this._notice.textContent = reply.rateLimited
        ? reply.error.retryAfter
          ? trans.__(
              'You are asking too often. Try again in %1 seconds.',
              Math.ceil(reply.error.retryAfter)
            )
          : trans.__('You are asking too often. Wait a little and try again.')
        : trans.__('The tutor could not answer: %1', reply.error.message);
    }
    this._reply = null;
    this._bubble = null;
    this.updateButtons();
  }

  private addMessage(who: 'student' | 'tutor', text: string): HTMLElement {
    const { trans } = this.options;
    const bubble = h(
      'div',
      { class: `jp-codetutor-message jp-codetutor-from-${who}` },
      h(
        'div',
        { class: 'jp-codetutor-who' },
        who === 'student' ? trans.__('You') : trans.__('Tutor')
      ),
      h('div', { class: 'jp-codetutor-text' }, text)
    );
    this._log.append(bubble);
    this._log.scrollTop = this._log.scrollHeight;
    return bubble;
  }

  /** Review the open notebook's code; list the findings, each jumping to its cell. */
  async review(): Promise<void> {
    const { api, trans, lang } = this.options;
    const context = this._problem;
    if (!context || this._reviewing) {
      return;
    }
    this._reviewing = true;
    this.updateButtons();
    this._findings.replaceChildren(
      h('div', { class: 'jp-codetutor-muted', role: 'status' }, trans.__('Reviewing…'))
    );
    try {
      const student = context.code();
      if (!student.code.trim()) {
        this._findings.replaceChildren(
          h('div', { class: 'jp-codetutor-muted' }, trans.__('There is no code to review yet.'))
        );
        return;
      }
      const findings = await api.review(student.code, context.problem, lang);
      this.renderFindings(findings, student.reveal);
    } catch (error) {
      this._findings.replaceChildren(
        h(
          'div',
          { class: 'jp-codetutor-notice', role: 'alert' },
          trans.__('The review failed: %1', (error as Error).message)
        )
      );
    } finally {
      this._reviewing = false;
      this.updateButtons();
    }
  }

  private renderFindings(findings: IFinding[], reveal: (line: number) => boolean): void {
    const { trans } = this.options;
    const heading = h('h3', { class: 'jp-codetutor-subheading' }, trans.__('Review'));
    if (!findings.length) {
      this._findings.replaceChildren(
        heading,
        h('div', { class: 'jp-codetutor-muted' }, trans.__('No findings: well done.'))
      );
      return;
    }
    const list = h('ul', { class: 'jp-codetutor-findingList', 'aria-label': trans.__('Review') });
    for (const f of findings) {
      const item = h(
        'li',
        {},
        h(
          'button',
          {
            class: `jp-codetutor-finding jp-codetutor-severity-${f.severity}`,
            type: 'button',
            title: trans.__('Go to line %1', f.line)
          },
          h(
            'span',
            { class: 'jp-codetutor-findingWhere' },
            trans.__('Line %1', f.line),
            ' · ',
            severityLabel(trans, f.severity),
            f.code ? ` · ${f.code}` : ''
          ),
          h('span', { class: 'jp-codetutor-findingMessage' }, f.message),
          f.hint ? h('span', { class: 'jp-codetutor-muted' }, f.hint) : ''
        )
      );
      item.querySelector('button')!.addEventListener('click', () => reveal(f.line));
      list.append(item);
    }
    this._findings.replaceChildren(heading, list);
  }

  dispose(): void {
    this._chat?.dispose();
    super.dispose();
  }

  private _problem: IProblemContext | null = null;
  private _chat: TutorChat | null = null;
  private _reply: ChatReply | null = null;
  private _bubble: HTMLElement | null = null;
  private _replyProblem: string | null = null;
  private _asked: { problem: string; text: string; typed: string } | null = null;
  private _count: HTMLDivElement;
  private _reviewing = false;
  private _context: HTMLDivElement;
  private _log: HTMLDivElement;
  private _input: HTMLTextAreaElement;
  private _send: HTMLButtonElement;
  private _hint: HTMLButtonElement;
  private _stop: HTMLButtonElement;
  private _review: HTMLButtonElement;
  private _notice: HTMLDivElement;
  private _findings: HTMLDivElement;
}

function severityLabel(trans: TranslationBundle, severity: string): string {
  switch (severity) {
    case 'error':
      return trans.__('error');
    case 'warning':
      return trans.__('warning');
    case 'info':
      return trans.__('info');
    default:
      return severity;
  }
}
