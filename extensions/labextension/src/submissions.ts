/**
 * "My submissions" (main area): every submission of the student, newest first,
 * with its problem, verdict, score and time; a click shows that submission's
 * verdict and its own code (never the notebook's current code). Submissions
 * the judge is still working on are followed live.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';
import { Panel, Widget } from '@lumino/widgets';

import { CodeTutorAPI } from './api';
import { h, verdictLabel } from './dom';
import { formatScore, formatTime, IProblem, ISubmission, localized, verdictTone } from './logic';
import { isPending } from './progress';
import { VerdictCard } from './verdict';

export interface ISubmissionsViewOptions {
  api: CodeTutorAPI;
  trans: TranslationBundle;
  lang: string;
}

/** How many submissions the view lists (the judge's largest page). */
const LIMIT = 500;

export class SubmissionsView extends Panel {
  constructor(private readonly options: ISubmissionsViewOptions) {
    super();
    const { trans } = options;
    this.id = 'codetutor-my-submissions';
    this.addClass('jp-codetutor-submissionsView');
    this.title.label = trans.__('My submissions');
    this.title.closable = true;

    this._problem = h('select', {
      class: 'jp-mod-styled jp-codetutor-submissionsProblem',
      'aria-label': trans.__('Filter by problem')
    });
    this._problem.addEventListener('change', () => this.renderList());
    const refresh = h('button', {
      class: 'jp-Button jp-mod-minimal jp-codetutor-refresh',
      type: 'button',
      title: trans.__('Refresh'),
      'aria-label': trans.__('Refresh')
    });
    refresh.appendChild(refreshIcon.element({ tag: 'span' }));
    refresh.addEventListener('click', () => void this.refresh());
    this._status = h('div', { class: 'jp-codetutor-status', role: 'status' });
    this._list = h('tbody', {});
    const top = new Widget({
      node: h(
        'div',
        { class: 'jp-codetutor-submissionsTop' },
        h(
          'header',
          { class: 'jp-codetutor-header' },
          h('h2', { class: 'jp-codetutor-heading' }, trans.__('My submissions')),
          h('span', { class: 'jp-codetutor-headerActions' }, this._problem, refresh)
        ),
        this._status,
        h(
          'table',
          { class: 'jp-codetutor-submissionsTable', 'aria-label': trans.__('My submissions') },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...[
                '#',
                trans.__('Problem'),
                trans.__('Verdict'),
                trans.__('Score'),
                trans.__('Time'),
                trans.__('Submitted')
              ].map(text => h('th', { scope: 'col' }, text))
            )
          ),
          this._list
        )
      )
    });
    this.card = new VerdictCard({
      trans,
      showSubmission: id => void this.select(id),
      revealJudgedCell: () => undefined,
      revealCell: () => undefined
    });
    this.addWidget(top);
    this.addWidget(this.card);
  }

  /** The verdict card that shows the selected submission. */
  readonly card: VerdictCard;

  /** The submissions listed, after the last refresh. */
  get submissions(): ISubmission[] {
    return this._subs;
  }

  /** Reload the list (and the problem titles); follow any submission still being judged. */
  async refresh(): Promise<void> {
    const { api, trans } = this.options;
    this._status.textContent = trans.__('Loading…');
    try {
      const [subs, problems] = await Promise.all([
        api.submissions(undefined, LIMIT),
        api.problems().catch((): IProblem[] => [])
      ]);
      this._subs = subs;
      this._problems = new Map(problems.map(p => [p.id, p]));
      this._status.textContent = subs.length
        ? ''
        : trans.__('You have not submitted anything yet.');
    } catch (error) {
      this._status.textContent = trans.__(
        'Could not load your submissions: %1',
        (error as Error).message
      );
    }
    this.renderProblems();
    this.renderList();
    for (const sub of this._subs.filter(isPending)) {
      void this.follow(sub.id);
    }
  }

  /** Show submission `id` with its verdict and its own code. */
  async select(id: number): Promise<void> {
    const { api } = this.options;
    this._selected = id;
    for (const row of Array.from(this._list.querySelectorAll('tr'))) {
      row.classList.toggle('jp-mod-selected', row.dataset.submission === String(id));
    }
    try {
      this.card.showSubmission(await api.submission(id), true);
    } catch (error) {
      this.card.showFailure((error as Error).message);
    }
  }

  private async follow(id: number): Promise<void> {
    if (this._following.has(id)) {
      return;
    }
    this._following.add(id);
    try {
      const judged = await this.options.api.follow(id, (_kind, sub) => this.updateRow(sub));
      this.updateRow(judged ?? (await this.options.api.submission(id)));
    } catch {
      // the list keeps the last state it knew; Refresh asks again
    } finally {
      this._following.delete(id);
    }
  }

  private updateRow(sub: ISubmission): void {
    const index = this._subs.findIndex(s => s.id === sub.id);
    if (index >= 0) {
      this._subs[index] = { ...this._subs[index], ...sub };
      this.renderList();
    }
    if (this._selected === sub.id) {
      this.card.showSubmission(sub, true);
    }
  }

  private title_(problem: string): string {
    return localized(this._problems.get(problem)?.title, this.options.lang, problem);
  }

  private renderProblems(): void {
    const { trans } = this.options;
    const current = this._problem.value;
    const ids = [...new Set(this._subs.map(s => s.problem))].sort((a, b) =>
      this.title_(a).localeCompare(this.title_(b))
    );
    this._problem.replaceChildren(
      h('option', { value: '' }, trans.__('All problems')),
      ...ids.map(id => h('option', { value: id }, this.title_(id)))
    );
    this._problem.value = ids.includes(current) ? current : '';
  }

  private renderList(): void {
    const { trans } = this.options;
    const problem = this._problem.value;
    const shown = this._subs.filter(s => !problem || s.problem === problem);
    this._list.replaceChildren(
      ...shown.map(sub => {
        const open = h(
          'button',
          {
            class: 'jp-codetutor-link',
            type: 'button',
            title: trans.__('Show submission %1 with its code', sub.id)
          },
          `#${sub.id}`
        );
        open.addEventListener('click', () => void this.select(sub.id));
        const row = h(
          'tr',
          {
            class: 'jp-codetutor-submissionRow',
            'data-submission': String(sub.id),
            'data-problem': sub.problem
          },
          h('td', {}, open),
          h('td', {}, this.title_(sub.problem)),
          h(
            'td',
            {},
            h(
              'span',
              {
                class: `jp-codetutor-verdictBadge jp-codetutor-tone-${verdictTone(sub.verdict)}`,
                'data-verdict': sub.verdict ?? sub.status
              },
              sub.status === 'judged' ? verdictLabel(trans, sub.verdict) : trans.__('Pending')
            )
          ),
          h('td', { class: 'jp-codetutor-num' }, formatScore(sub.score)),
          h('td', { class: 'jp-codetutor-num' }, formatTime(sub.time_ms)),
          h('td', {}, sub.created_at ? new Date(sub.created_at).toLocaleString() : '')
        );
        row.classList.toggle('jp-mod-selected', sub.id === this._selected);
        row.addEventListener('click', event => {
          if (event.target !== open) {
            void this.select(sub.id);
          }
        });
        return row;
      })
    );
  }

  private _subs: ISubmission[] = [];
  private _problems = new Map<string, IProblem>();
  private _selected: number | null = null;
  private _following = new Set<number>();
  private _problem: HTMLSelectElement;
  private _status: HTMLDivElement;
  private _list: HTMLTableSectionElement;
}
