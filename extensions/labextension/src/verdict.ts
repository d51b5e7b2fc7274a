/**
 * The verdict card shown above a problem notebook's cells: the live stage of
 * the latest submission (submitting → queued → running → verdict), then the
 * verdict with score, time and a row per case (public cases with expected and
 * actual values, hidden cases with their status only), the student's error
 * with a link to its cell, and the history of submissions of this problem.
 * Also shows publishing errors (instructors) with a link to the cell.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { closeIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { caseNameLabel, caseStatusLabel, h, verdictLabel } from './dom';
import {
  formatScore,
  formatTime,
  ICaseResult,
  IJudgeResult,
  ISubmission,
  Stage,
  stageOf,
  verdictTone
} from './logic';

export interface IVerdictCardOptions {
  trans: TranslationBundle;
  /** Show submission `id` in the card (from the history). */
  showSubmission: (id: number) => void;
  /** Select notebook cell `cell` (0-based among judged cells) and `line` (1-based). */
  revealJudgedCell: (cell: number, line: number | null) => void;
  /** Select notebook cell `cell` (0-based among all cells) and `line`. */
  revealCell: (cell: number, line: number | null) => void;
}

export class VerdictCard extends Widget {
  constructor(private readonly options: IVerdictCardOptions) {
    super();
    const { trans } = options;
    this.addClass('jp-codetutor-card');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('Verdict'));
    const close = h('button', {
      class: 'jp-Button jp-mod-minimal jp-codetutor-close',
      type: 'button',
      title: trans.__('Hide'),
      'aria-label': trans.__('Hide')
    });
    close.appendChild(closeIcon.element({ tag: 'span' }));
    close.addEventListener('click', () => this.hide());
    this._body = h('div', { class: 'jp-codetutor-cardBody', 'aria-live': 'polite' });
    this._history = h('details', { class: 'jp-codetutor-history' });
    this._history.addEventListener('toggle', () => this.fitContent());
    this._inner = h('div', { class: 'jp-codetutor-cardInner' }, close, this._body, this._history);
    this.node.append(this._inner);
    this.hide();
  }

  /**
   * Size the card to its content (at most 40% of the window): the notebook
   * panel lays its header out with Lumino's BoxLayout, which reads min-height.
   */
  fitContent(): void {
    if (this.isHidden || !this.isAttached) {
      return;
    }
    const natural = this._inner.offsetHeight + 12;
    const height = Math.min(natural, Math.round(window.innerHeight * 0.4));
    if (height !== this._height) {
      this._height = height;
      this.node.style.minHeight = `${height}px`;
      this.node.style.maxHeight = `${height}px`;
      this.parent?.fit();
    }
  }

  /** A new width wraps the content differently: measure again (stable once it fits). */
  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this.fitContent();
  }

  protected onAfterShow(): void {
    this.fitContent();
  }

  protected onAfterAttach(): void {
    this.fitContent();
  }

  /** The stage shown now (for tests and the toolbar). */
  get stage(): Stage | null {
    return this._stage;
  }

  /** Show that a submission is being sent. */
  showSubmitting(): void {
    this.show();
    this._stage = 'submitting';
    this._shown = null;
    delete this.node.dataset.submission;
    this.renderStage(this.options.trans.__('Submitting…'), 'submitting');
  }

  /** Show a failure to submit or follow (not a verdict). */
  showFailure(message: string): void {
    this.show();
    this._stage = 'failed';
    this._body.replaceChildren(
      h(
        'div',
        { class: 'jp-codetutor-cardHead jp-codetutor-tone-bad' },
        h('span', { class: 'jp-codetutor-verdict' }, this.options.trans.__('Not submitted')),
        h('span', { class: 'jp-codetutor-cardMessage' }, message)
      )
    );
    this.fitContent();
  }

  /**
   * Show a submission in whatever stage it is. With `withCode`, an earlier
   * submission is shown with its own code (not the notebook's), and the error's
   * place refers to that code.
   */
  showSubmission(sub: ISubmission, withCode = false): void {
    const { trans } = this.options;
    this.show();
    this._withCode = withCode;
    this._shown = sub.id;
    this.node.dataset.submission = String(sub.id);
    this._stage = stageOf(sub.status);
    if (sub.status === 'queued') {
      this.renderStage(trans.__('Queued…'), 'queued');
    } else if (sub.status === 'running') {
      this.renderStage(trans.__('Running the tests…'), 'running');
    } else if (sub.status === 'judged' && sub.result) {
      this.renderResult(sub, sub.result);
    } else if (sub.status === 'judged') {
      this.renderResult(sub, {
        verdict: sub.verdict ?? 'internal_error',
        score: sub.score ?? 0,
        time_ms: sub.time_ms ?? 0,
        cases: []
      });
    } else {
      this.showFailure(trans.__('Submission %1 is %2', sub.id, sub.status));
    }
  }

  /** Show a publishing result: an error at `cell`/`line`, or success. */
  showPublished(ok: boolean, message: string, cell?: number | null, line?: number | null): void {
    const { trans } = this.options;
    this.show();
    const head = h(
      'div',
      { class: `jp-codetutor-cardHead jp-codetutor-tone-${ok ? 'good' : 'bad'}` },
      h(
        'span',
        { class: 'jp-codetutor-verdict' },
        ok ? trans.__('Published') : trans.__('Not published')
      ),
      h('span', { class: 'jp-codetutor-cardMessage' }, message)
    );
    const body: Node[] = [head];
    if (!ok && cell !== null && cell !== undefined) {
      const where =
        line !== null && line !== undefined
          ? trans.__('Cell %1, line %2', cell + 1, line)
          : trans.__('Cell %1', cell + 1);
      const link = h('button', { class: 'jp-codetutor-link', type: 'button' }, where);
      link.addEventListener('click', () => this.options.revealCell(cell, line ?? null));
      body.push(h('div', { class: 'jp-codetutor-errorWhere' }, link));
    }
    this._body.replaceChildren(...body);
    this.fitContent();
  }

  /** Fill the history list with the problem's submissions (newest first). */
  setHistory(subs: ISubmission[]): void {
    const { trans } = this.options;
    this._history.replaceChildren(
      h('summary', {}, trans.__('Submissions of this problem (%1)', subs.length))
    );
    const list = h('ol', { class: 'jp-codetutor-historyList' });
    for (const sub of subs) {
      const when = sub.created_at ? new Date(sub.created_at).toLocaleString() : '';
      const item = h(
        'li',
        { 'data-submission': String(sub.id) },
        h(
          'button',
          {
            class: 'jp-codetutor-link',
            type: 'button',
            title: trans.__('Show submission %1 with its code', sub.id)
          },
          `#${sub.id}`
        ),
        ' ',
        h(
          'span',
          { class: `jp-codetutor-verdictBadge jp-codetutor-tone-${verdictTone(sub.verdict)}` },
          sub.status === 'judged' ? verdictLabel(trans, sub.verdict) : trans.__('Pending')
        ),
        ' ',
        h('span', { class: 'jp-codetutor-muted' }, `${formatScore(sub.score)} · ${when}`)
      );
      item
        .querySelector('button')!
        .addEventListener('click', () => this.options.showSubmission(sub.id));
      list.append(item);
    }
    this._history.append(list);
    this.fitContent();
  }

  private renderStage(text: string, stage: string): void {
    const { trans } = this.options;
    const steps = ['queued', 'running', 'judged'].map(step =>
      h(
        'li',
        {
          class:
            'jp-codetutor-step' +
            (step === stage ? ' jp-mod-current' : '') +
            (['queued', 'running', 'judged'].indexOf(step) <
            ['queued', 'running', 'judged'].indexOf(stage)
              ? ' jp-mod-done'
              : '')
        },
        step === 'queued'
          ? trans.__('Queued')
          : step === 'running'
            ? trans.__('Running')
            : trans.__('Verdict')
      )
    );
    this._body.replaceChildren(
      h(
        'div',
        { class: 'jp-codetutor-cardHead jp-codetutor-tone-neutral' },
        h('span', { class: 'jp-codetutor-spinner', 'aria-hidden': 'true' }),
        h('span', { class: 'jp-codetutor-verdict' }, text)
      ),
      h('ol', { class: 'jp-codetutor-steps', 'aria-label': trans.__('Progress') }, ...steps)
    );
    this.fitContent();
  }

  private renderResult(sub: ISubmission, result: IJudgeResult): void {
    const { trans } = this.options;
    const tone = verdictTone(result.verdict);
    const passed = result.cases.filter(c => c.status === 'passed').length;
    const head = h(
      'div',
      { class: `jp-codetutor-cardHead jp-codetutor-tone-${tone}` },
      h(
        'span',
        { class: 'jp-codetutor-verdict', 'data-verdict': result.verdict },
        verdictLabel(trans, result.verdict)
      ),
      h(
        'span',
        { class: 'jp-codetutor-cardStats' },
        trans.__(
          'Score %1 · %2 of %3 tests passed · %4',
          formatScore(result.score),
          passed,
          result.cases.length,
          formatTime(result.time_ms)
        )
      ),
      h('span', { class: 'jp-codetutor-muted' }, `#${sub.id}`)
    );
    const body: Node[] = [head];
    if (result.error) {
      const error = result.error;
      const box = h(
        'div',
        { class: 'jp-codetutor-error' },
        h('div', { class: 'jp-codetutor-errorMessage' }, error.message)
      );
      if (this._withCode && error.cell !== undefined && error.cell !== null) {
        box.append(
          h(
            'div',
            { class: 'jp-codetutor-muted' },
            error.line !== undefined && error.line !== null
              ? trans.__('In code cell %1, line %2 of this submission', error.cell + 1, error.line)
              : trans.__('In code cell %1 of this submission', error.cell + 1)
          )
        );
      } else if (error.cell !== undefined && error.cell !== null) {
        const where =
          error.line !== undefined && error.line !== null
            ? trans.__('In your code cell %1, line %2', error.cell + 1, error.line)
            : trans.__('In your code cell %1', error.cell + 1);
        const link = h('button', { class: 'jp-codetutor-link', type: 'button' }, where);
        link.addEventListener('click', () =>
          this.options.revealJudgedCell(error.cell!, error.line ?? null)
        );
        box.append(link);
      }
      if (error.traceback) {
        box.append(h('pre', { class: 'jp-codetutor-traceback' }, error.traceback));
      }
      body.push(box);
    }
    if (result.cases.length) {
      body.push(this.casesTable(result.cases));
    }
    if (this._withCode && typeof sub.code === 'string') {
      body.push(submittedCode(trans, sub));
    }
    this._body.replaceChildren(...body);
    this.fitContent();
  }

  private casesTable(cases: ICaseResult[]): HTMLTableElement {
    const { trans } = this.options;
    const head = h(
      'tr',
      {},
      h('th', { scope: 'col' }, trans.__('Test')),
      h('th', { scope: 'col' }, trans.__('Status')),
      h('th', { scope: 'col' }, trans.__('Expected')),
      h('th', { scope: 'col' }, trans.__('Actual')),
      h('th', { scope: 'col' }, trans.__('Time'))
    );
    const rows = cases.map(c => {
      const hidden = c.visibility === 'hidden';
      const detail = (text: string | undefined) =>
        hidden
          ? h('td', { class: 'jp-codetutor-muted' }, trans.__('hidden'))
          : h('td', {}, text !== undefined ? h('code', {}, text) : '');
      const actual = c.actual ?? c.message;
      return h(
        'tr',
        { class: `jp-codetutor-case jp-codetutor-case-${c.status}` },
        h(
          'td',
          {},
          caseNameLabel(trans, c.name),
          hidden ? h('span', { class: 'jp-codetutor-hiddenMark' }, ` (${trans.__('hidden')})`) : ''
        ),
        h(
          'td',
          { class: `jp-codetutor-tone-${c.status === 'passed' ? 'good' : 'bad'}` },
          caseStatusLabel(trans, c.status)
        ),
        detail(c.expected),
        detail(actual),
        h('td', { class: 'jp-codetutor-num' }, formatTime(c.time_ms))
      );
    });
    return h(
      'table',
      { class: 'jp-codetutor-cases', 'aria-label': trans.__('Test results') },
      h('thead', {}, head),
      h('tbody', {}, ...rows)
    );
  }

  /** The submission shown now, or null. */
  get shown(): number | null {
    return this._shown;
  }

  private _stage: Stage | null = null;
  private _shown: number | null = null;
  private _withCode = false;
  private _height = -1;
  private _inner: HTMLDivElement;
  private _body: HTMLDivElement;
  private _history: HTMLDetailsElement;
}

/** An earlier submission's code, with line numbers, under its verdict. */
export function submittedCode(trans: TranslationBundle, sub: ISubmission): HTMLElement {
  const when = sub.created_at ? new Date(sub.created_at).toLocaleString() : '';
  const lines = (sub.code ?? '').split('\n');
  const width = String(lines.length).length;
  const numbered = lines.map((line, i) => `${String(i + 1).padStart(width)}  ${line}`).join('\n');
  return h(
    'section',
    { class: 'jp-codetutor-submittedCode', 'aria-label': trans.__('Submitted code') },
    h(
      'div',
      { class: 'jp-codetutor-muted' },
      trans.__('The code of submission #%1 (%2), not your notebook now:', sub.id, when)
    ),
    h('pre', { class: 'jp-codetutor-code' }, numbered)
  );
}
