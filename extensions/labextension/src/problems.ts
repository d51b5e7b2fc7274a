/**
 * The Problems panel (left sidebar): recommended next problems with their
 * reasons (and what their predicted success means) above the published
 * problems with difficulty, tags and the student's best verdict; search,
 * filters by tag, difficulty and progress (solved, not solved, tried), and
 * sorts; a click opens the problem notebook (or the student's existing copy).
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { APIError, CodeTutorAPI } from './api';
import { h, tagLabel, verdictLabel } from './dom';
import {
  allTags,
  bestByProblem,
  filterProblems,
  formatScore,
  IProblem,
  IRecommendation,
  ISubmission,
  localized,
  verdictTone
} from './logic';
import {
  arrangeProblems,
  DEFAULT_VIEW,
  IProblemView,
  IProgress,
  PROBLEM_SORTS,
  ProblemSort,
  progressByProblem,
  STATE_FILTERS,
  StateFilter,
  stateOf
} from './progress';

export interface IProblemsPanelOptions {
  api: CodeTutorAPI;
  trans: TranslationBundle;
  lang: string;
  /** Open the problem: resolves once its notebook is shown. */
  openProblem: (problem: string) => Promise<void>;
  /** Show the student's submissions of every problem. */
  openSubmissions: () => void;
}

export class ProblemsPanel extends Widget {
  constructor(private readonly options: IProblemsPanelOptions) {
    super();
    const { trans } = options;
    this.id = 'codetutor-problems';
    this.addClass('jp-codetutor-problems');
    this.title.caption = trans.__('Code Tutor problems');

    this._search = h('input', {
      class: 'jp-mod-styled jp-codetutor-search',
      type: 'search',
      placeholder: trans.__('Search problems'),
      'aria-label': trans.__('Search problems')
    });
    this._search.addEventListener('input', () => this.renderList());
    this._tag = h('select', {
      class: 'jp-mod-styled jp-codetutor-tag',
      'aria-label': trans.__('Filter by tag')
    });
    this._tag.addEventListener('change', () => this.renderList());
    this._difficulty = h(
      'select',
      {
        class: 'jp-mod-styled jp-codetutor-difficultyFilter',
        'aria-label': trans.__('Filter by difficulty')
      },
      h('option', { value: '0' }, trans.__('Any difficulty')),
      ...[1, 2, 3, 4, 5].map(level =>
        h('option', { value: String(level) }, trans.__('Difficulty %1 of 5', level))
      )
    );
    this._state = h(
      'select',
      {
        class: 'jp-mod-styled jp-codetutor-stateFilter',
        'aria-label': trans.__('Filter by progress')
      },
      ...STATE_FILTERS.map(state => h('option', { value: state }, stateFilterLabel(trans, state)))
    );
    this._sort = h(
      'select',
      { class: 'jp-mod-styled jp-codetutor-sort', 'aria-label': trans.__('Sort problems') },
      ...PROBLEM_SORTS.map(sort => h('option', { value: sort }, sortLabel(trans, sort)))
    );
    for (const select of [this._difficulty, this._state, this._sort]) {
      select.addEventListener('change', () => this.renderList());
    }

    const refresh = h('button', {
      class: 'jp-Button jp-mod-minimal jp-codetutor-refresh',
      type: 'button',
      title: trans.__('Refresh'),
      'aria-label': trans.__('Refresh')
    });
    refresh.appendChild(refreshIcon.element({ tag: 'span' }));
    refresh.addEventListener('click', () => void this.refresh());
    const mine = h(
      'button',
      { class: 'jp-codetutor-link jp-codetutor-mySubmissions', type: 'button' },
      trans.__('My submissions')
    );
    mine.addEventListener('click', () => this.options.openSubmissions());

    this._status = h('div', { class: 'jp-codetutor-status', role: 'status' });
    this._list = h('ul', {
      class: 'jp-codetutor-problemList',
      'aria-label': trans.__('Problems')
    });
    this._recommended = h('ul', {
      class: 'jp-codetutor-recommendations',
      'aria-label': trans.__('Recommended next')
    });
    this.node.append(
      h(
        'header',
        { class: 'jp-codetutor-header' },
        h('h2', { class: 'jp-codetutor-heading' }, trans.__('Problems')),
        refresh
      ),
      h('div', { class: 'jp-codetutor-panelLinks' }, mine),
      h('h3', { class: 'jp-codetutor-subheading' }, trans.__('Recommended next')),
      this._recommended,
      h(
        'p',
        { class: 'jp-codetutor-muted jp-codetutor-predictedHelp' },
        trans.__(
          '"Predicted 64%" is the estimated chance that your next submission of that problem is accepted, from your results so far (overall and in its topics) and how hard it has been for the class. The list picks problems you are likely, but not certain, to solve. It is an estimate, not a grade.'
        )
      ),
      h('h3', { class: 'jp-codetutor-subheading' }, trans.__('All problems')),
      h('div', { class: 'jp-codetutor-filters' }, this._search, this._tag),
      h(
        'div',
        { class: 'jp-codetutor-filters jp-codetutor-viewFilters' },
        this._difficulty,
        this._state,
        this._sort
      ),
      this._status,
      this._list
    );
  }

  /** Choose the difficulty, progress filter and sort (as the selects do). */
  setView(view: Partial<IProblemView>): void {
    const next = { ...this.view, ...view };
    this._difficulty.value = String(next.difficulty);
    this._state.value = next.state;
    this._sort.value = next.sort;
    this.renderList();
  }

  /** The difficulty, progress filter and sort chosen now. */
  get view(): IProblemView {
    return {
      difficulty: Number(this._difficulty.value) || DEFAULT_VIEW.difficulty,
      state: (this._state.value as StateFilter) || DEFAULT_VIEW.state,
      sort: (this._sort.value as ProblemSort) || DEFAULT_VIEW.sort
    };
  }

  /** The problems shown, after the last refresh. */
  get problems(): IProblem[] {
    return this._problems;
  }

  /** Reload problems, the student's verdicts and recommendations. */
  async refresh(): Promise<void> {
    const { api, trans } = this.options;
    this._status.textContent = trans.__('Loading…');
    try {
      const [problems, submissions] = await Promise.all([
        api.problems(),
        api.submissions(undefined, 500).catch((): ISubmission[] => [])
      ]);
      this._problems = problems;
      this._best = bestByProblem(submissions);
      this._progress = progressByProblem(submissions);
      this._status.textContent = '';
    } catch (error) {
      this._status.textContent = trans.__(
        'Could not load the problems: %1',
        (error as Error).message
      );
    }
    this.renderTags();
    this.renderList();
    await this.refreshRecommendations();
  }

  private async refreshRecommendations(): Promise<void> {
    const { api, trans, lang } = this.options;
    this._recommended.replaceChildren();
    let recommendations: IRecommendation[] = [];
    try {
      recommendations = await api.recommendations();
    } catch (error) {
      const message =
        error instanceof APIError && error.status === 501
          ? trans.__('Recommendations are not available on this server yet.')
          : trans.__('Could not load recommendations: %1', (error as Error).message);
      this._recommended.append(h('li', { class: 'jp-codetutor-empty' }, message));
      return;
    }
    if (!recommendations.length) {
      this._recommended.append(
        h('li', { class: 'jp-codetutor-empty' }, trans.__('Nothing to recommend yet.'))
      );
      return;
    }
    for (const rec of recommendations) {
      const known = this._problems.find(p => p.id === rec.problem);
      const title = localized(rec.title ?? known?.title, lang, rec.problem);
      const item = h(
        'li',
        { class: 'jp-codetutor-recommendation' },
        h(
          'button',
          {
            class: 'jp-codetutor-link',
            type: 'button',
            title: trans.__('Open %1', title)
          },
          title
        ),
        h('div', { class: 'jp-codetutor-reason' }, localized(rec.reason, lang)),
        rec.predicted_success !== undefined
          ? h(
              'div',
              { class: 'jp-codetutor-muted jp-codetutor-predicted' },
              trans.__(
                'Predicted %1: your estimated chance of solving it',
                formatScore(rec.predicted_success)
              )
            )
          : null
      );
      item.querySelector('button')!.addEventListener('click', () => void this.open(rec.problem));
      this._recommended.append(item);
    }
  }

  private renderTags(): void {
    const { trans } = this.options;
    const current = this._tag.value;
    this._tag.replaceChildren(h('option', { value: '' }, trans.__('All tags')));
    for (const tag of allTags(this._problems)) {
      this._tag.append(h('option', { value: tag }, tagLabel(trans, tag)));
    }
    this._tag.value = allTags(this._problems).includes(current) ? current : '';
  }

  /** Draw the list for the current search and tag. */
  renderList(): void {
    const { trans, lang } = this.options;
    const shown = arrangeProblems(
      filterProblems(this._problems, this._search.value, this._tag.value, lang),
      this._progress,
      this.view,
      lang
    );
    this._list.replaceChildren();
    if (!shown.length && this._problems.length) {
      this._list.append(h('li', { class: 'jp-codetutor-empty' }, trans.__('No problem matches.')));
    }
    for (const problem of shown) {
      const best = this._best.get(problem.id);
      const title = localized(problem.title, lang, problem.id);
      const difficulty = problem.difficulty ?? 1;
      const verdict = best
        ? h(
            'span',
            {
              class: `jp-codetutor-verdictBadge jp-codetutor-tone-${verdictTone(best.verdict)}`,
              title: trans.__('Your best verdict')
            },
            verdictLabel(trans, best.verdict)
          )
        : null;
      const item = h(
        'li',
        {
          class: 'jp-codetutor-problem',
          tabindex: '0',
          role: 'button',
          'data-problem': problem.id,
          'data-state': stateOf(this._progress, problem.id),
          'data-difficulty': String(difficulty),
          'aria-label': trans.__('Open problem %1', title)
        },
        h(
          'div',
          { class: 'jp-codetutor-problemTop' },
          h('span', { class: 'jp-codetutor-problemTitle' }, title),
          verdict
        ),
        h(
          'div',
          { class: 'jp-codetutor-problemMeta' },
          h(
            'span',
            {
              class: 'jp-codetutor-difficulty',
              title: trans.__('Difficulty %1 of 5', difficulty),
              'aria-label': trans.__('Difficulty %1 of 5', difficulty)
            },
            '★'.repeat(difficulty) + '☆'.repeat(Math.max(0, 5 - difficulty))
          ),
          ...(problem.tags ?? []).map(tag =>
            h('span', { class: 'jp-codetutor-tagChip', 'data-tag': tag }, tagLabel(trans, tag))
          )
        )
      );
      const open = () => void this.open(problem.id);
      item.addEventListener('click', open);
      item.addEventListener('keydown', event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          open();
        }
      });
      this._list.append(item);
    }
  }

  private async open(problem: string): Promise<void> {
    const { trans } = this.options;
    this._status.textContent = trans.__('Opening %1…', problem);
    try {
      await this.options.openProblem(problem);
      this._status.textContent = '';
    } catch (error) {
      this._status.textContent = trans.__('Could not open %1: %2', problem, (error as Error).message);
    }
  }

  private _problems: IProblem[] = [];
  private _best = new Map<string, ISubmission>();
  private _progress = new Map<string, IProgress>();
  private _difficulty: HTMLSelectElement;
  private _state: HTMLSelectElement;
  private _sort: HTMLSelectElement;
  private _search: HTMLInputElement;
  private _tag: HTMLSelectElement;
  private _status: HTMLDivElement;
  private _list: HTMLUListElement;
  private _recommended: HTMLUListElement;
}


function stateFilterLabel(trans: TranslationBundle, state: StateFilter): string {
  switch (state) {
    case 'solved':
      return trans.__('Solved');
    case 'unsolved':
      return trans.__('Not solved yet');
    case 'tried':
      return trans.__('Tried, not solved');
    default:
      return trans.__('Any progress');
  }
}

function sortLabel(trans: TranslationBundle, sort: ProblemSort): string {
  switch (sort) {
    case 'hardest':
      return trans.__('Hardest first');
    case 'title':
      return trans.__('By title');
    case 'progress':
      return trans.__('Unfinished first');
    default:
      return trans.__('Easiest first');
  }
}
