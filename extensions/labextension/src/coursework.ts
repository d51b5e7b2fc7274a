/**
 * The Assignments panel (left sidebar): the student's assignments from all
 * their courses (`GET /codetutor/api/assignments`), each with its problems and
 * points, the due time in the student's own time zone and the credit in force
 * now; Open and Submit per problem, a submission counting for the assignment.
 *
 * An exam shows a Start button; once started, the panel shows only that exam
 * with a countdown and the receipt (SHA-256 of the notebook) of each
 * submission. While an exam runs, `document.body.dataset.codetutorExam` is
 * `COURSE/ID`: style/coursework.css hides the tutor panel and its tab, and the
 * tutor service itself refuses chat and review (403).
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ITranslator } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { APIError, CodeTutorAPI } from './api';
import {
  IAssignment,
  creditLabel,
  examRemaining,
  formatCountdown,
  formatDue,
  shortReceipt
} from './assignments';
import { button, h } from './dom';
import { languageOf } from './logic';

/** An assignment as the extension lists it (with its course's title). */
export interface IListedAssignment extends IAssignment {
  course_title?: string;
}

/** What a submission for an assignment answers (the judge's 202, shortened). */
interface ICountedSubmission {
  id: number;
  problem: string;
  assignment?: { credit: number; practice: boolean; receipt: string | null };
}

type Lang = 'ko' | 'en';

/** The running exam among `assignments` (started, not yet over), or null. */
export function runningExam(
  assignments: IListedAssignment[],
  fetchedAt: number,
  localNow: number
): IListedAssignment | null {
  for (const a of assignments) {
    const left = examRemaining(a, fetchedAt, localNow);
    if (left !== null && left > 0) {
      return a;
    }
  }
  return null;
}

const assignmentsIcon = new LabIcon({
  name: 'codetutor:assignments',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
    '<path class="jp-icon3" fill="#616161" d="M7 2v2H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h14a2 2 0 0 0' +
    ' 2-2V6a2 2 0 0 0-2-2h-2V2h-2v2H9V2zm-2 7h14v11H5zm2 2v2h4v-2z"/></svg>'
});

export interface ICourseworkOptions {
  api: CodeTutorAPI;
  lang: Lang;
  /** Open `problem`'s notebook (the student's copy) and answer its path. */
  openProblem: (problem: string) => Promise<string>;
  /** Save the open notebook at `path`, if it is open, before it is submitted. */
  saveNotebook: (path: string) => Promise<void>;
  /** Called when an exam starts or ends (`null`), after the body's flag is set. */
  onExam?: (exam: IListedAssignment | null) => void;
}

/** The Assignments sidebar panel. */
export class CourseworkPanel extends Widget {
  constructor(readonly options: ICourseworkOptions) {
    super();
    this.id = 'codetutor-coursework';
    this.addClass('jp-codetutor-coursework');
    this.title.icon = assignmentsIcon;
    this.title.caption = this.t('과제', 'Assignments');
    this.node.append(
      h('div', { class: 'jp-codetutor-header' },
        h('h2', { class: 'jp-codetutor-heading' }, this.t('과제', 'Assignments')),
        button(this.t('새로 고침', 'Refresh'), () => void this.refresh())
      ),
      this.status,
      this.list
    );
    this.timer = window.setInterval(() => this.tick(), 1000);
  }

  dispose(): void {
    window.clearInterval(this.timer);
    super.dispose();
  }

  /** Fetch the assignments again and show them. */
  async refresh(): Promise<void> {
    if (this.refreshing) {
      return;
    }
    this.refreshing = true;
    try {
      const answer = await this.options.api.json<{ assignments: IListedAssignment[] }>(
        'assignments'
      );
      this.assignments = answer.assignments;
      this.fetchedAt = Date.now();
      this.say('');
    } catch (error) {
      this.say((error as Error).message);
    } finally {
      this.refreshing = false;
    }
    this.render();
  }

  private t(ko: string, en: string): string {
    return this.options.lang === 'ko' ? ko : en;
  }

  private say(text: string): void {
    this.status.textContent = text;
  }

  private get locale(): string | undefined {
    return this.options.lang === 'ko' ? 'ko-KR' : undefined;
  }

  private render(): void {
    const exam = runningExam(this.assignments, this.fetchedAt, Date.now());
    this.setExam(exam);
    const shown = exam ? [exam] : this.assignments;
    this.list.replaceChildren(...shown.map(a => this.card(a)));
    if (!shown.length) {
      this.list.append(
        h('p', { class: 'jp-codetutor-empty' }, this.t('과제가 없습니다.', 'No assignments.'))
      );
    }
    this.tick();
  }

  private setExam(exam: IListedAssignment | null): void {
    const flag = exam ? `${exam.course}/${exam.id}` : undefined;
    if (document.body.dataset.codetutorExam === flag) {
      return;
    }
    if (flag) {
      document.body.dataset.codetutorExam = flag;
    } else {
      delete document.body.dataset.codetutorExam;
    }
    this.options.onExam?.(exam);
  }

  private card(a: IListedAssignment): HTMLElement {
    const lang = this.options.lang;
    const isExam = a.exam_minutes !== null;
    const started = !!a.exam?.started_at;
    const node = h('section', { class: 'jp-codetutor-assignment', 'data-assignment': a.id },
      h('div', { class: 'jp-codetutor-problemTop' },
        h('span', { class: 'jp-codetutor-problemTitle' }, a.title || a.id),
        h('span', { class: 'jp-codetutor-credit', title: this.t('지금 받는 점수 비율', 'Credit now') },
          creditLabel(a, lang))
      ),
      h('div', { class: 'jp-codetutor-muted' },
        `${a.course_title ?? a.course} · ${this.t('마감', 'Due')} ${formatDue(a, this.locale)}`
      )
    );
    if (isExam) {
      const minutes = Math.round((a.exam_minutes ?? 0) * (a.extension?.time_multiplier ?? 1));
      node.append(h('div', { class: 'jp-codetutor-muted' },
        this.t(`시험 · ${minutes}분`, `Exam · ${minutes} minutes`)));
      if (!started) {
        node.append(button(this.t('시험 시작', 'Start exam'), () => void this.start(a), {
          accept: true,
          className: 'jp-codetutor-startExam'
        }));
      } else if (a.exam?.ends_at) {
        node.append(h('div', { class: 'jp-codetutor-countdown', 'data-ends': a.exam.ends_at }));
      }
    }
    const problems = h('ul', { class: 'jp-codetutor-problemList' });
    for (const p of a.problems) {
      const result = h('div', { class: 'jp-codetutor-submitResult' });
      problems.append(h('li', { class: 'jp-codetutor-problem', 'data-problem': p.problem },
        h('div', { class: 'jp-codetutor-problemTop' },
          h('span', {}, p.problem),
          h('span', { class: 'jp-codetutor-points' }, this.t(`${p.points}점`, `${p.points} pts`))
        ),
        h('div', { class: 'jp-codetutor-actions' },
          button(this.t('열기', 'Open'), () => void this.open(p.problem)),
          button(this.t('제출', 'Submit'), () => void this.submit(a, p.problem, result), {
            accept: true,
            className: 'jp-codetutor-assignmentSubmit'
          })
        ),
        result
      ));
    }
    node.append(problems);
    const receipts = a.exam?.receipts ?? [];
    if (receipts.length) {
      node.append(h('div', { class: 'jp-codetutor-subheading' }, this.t('영수증', 'Receipts')),
        h('ul', { class: 'jp-codetutor-receipts' }, ...receipts.map(r =>
          h('li', { title: r.sha256 ?? '' },
            `#${r.submission} ${r.problem} · ${r.sha256 ? shortReceipt(r.sha256) : '—'}`))));
    }
    return node;
  }

  private tick(): void {
    const exam = runningExam(this.assignments, this.fetchedAt, Date.now());
    for (const el of Array.from(this.node.querySelectorAll<HTMLElement>('.jp-codetutor-countdown'))) {
      const a = this.assignments.find(x => x.exam?.ends_at === el.dataset.ends);
      const left = a ? examRemaining(a, this.fetchedAt, Date.now()) ?? 0 : 0;
      el.textContent = this.t(`남은 시간 ${formatCountdown(left)}`, `Time left ${formatCountdown(left)}`);
    }
    if (!exam && document.body.dataset.codetutorExam) {
      // the window just ended: show every assignment again
      void this.refresh();
    }
  }

  private async start(a: IListedAssignment): Promise<void> {
    const ok = window.confirm(this.t(
      `${a.title || a.id}: 시작하면 ${a.exam_minutes}분 타이머가 바로 시작되고 튜터는 꺼집니다.`,
      `${a.title || a.id}: the ${a.exam_minutes}-minute timer starts now and the tutor is off.`
    ));
    if (!ok) {
      return;
    }
    try {
      await this.options.api.json(this.path(a, 'start'), 'POST', {});
    } catch (error) {
      this.say((error as Error).message);
      return;
    }
    await this.refresh();
  }

  private async open(problem: string): Promise<void> {
    try {
      await this.options.openProblem(problem);
    } catch (error) {
      this.say((error as Error).message);
    }
  }

  private async submit(a: IListedAssignment, problem: string, result: HTMLElement): Promise<void> {
    result.textContent = this.t('제출하는 중…', 'Submitting…');
    try {
      const path = await this.options.openProblem(problem);
      await this.options.saveNotebook(path);
      const queued = await this.options.api.json<ICountedSubmission>('submissions', 'POST', {
        path,
        assignment: { course: a.course, id: a.id }
      });
      const counted = queued.assignment;
      const parts = [this.t(`제출 #${queued.id}`, `Submission #${queued.id}`)];
      if (counted?.practice) {
        parts.push(this.t('연습 (점수 없음)', 'practice (no credit)'));
      } else if (counted) {
        parts.push(this.t(`점수 비율 ${Math.round(counted.credit * 100)}%`,
          `credit ${Math.round(counted.credit * 100)}%`));
      }
      result.replaceChildren(parts.join(' · '));
      if (counted?.receipt) {
        result.append(h('div', { class: 'jp-codetutor-receipt', title: counted.receipt },
          this.t('영수증 ', 'Receipt '), h('code', {}, counted.receipt)));
      }
    } catch (error) {
      const message = error instanceof APIError ? error.message : String(error);
      result.textContent = this.t(`제출 실패: ${message}`, `Not submitted: ${message}`);
      return;
    }
    // receipts and credit as the judge now has them, keeping this result on screen
    const kept = result.cloneNode(true);
    await this.refresh();
    this.node
      .querySelector(`[data-assignment="${a.id}"] [data-problem="${problem}"] .jp-codetutor-submitResult`)
      ?.replaceWith(kept);
  }

  private path(a: IAssignment, tail = ''): string {
    const base = `courses/${encodeURIComponent(a.course)}/assignments/${encodeURIComponent(a.id)}`;
    return tail ? `${base}/${tail}` : base;
  }

  private assignments: IListedAssignment[] = [];
  private fetchedAt = Date.now();
  private refreshing = false;
  private timer: number;
  private status = h('div', { class: 'jp-codetutor-status' });
  private list = h('div', { class: 'jp-codetutor-assignmentList' });
}

/** The Assignments panel in the left sidebar. */
export const courseworkPlugin: JupyterFrontEndPlugin<void> = {
  id: '@codetutor/labextension:coursework',
  description: "Code Tutor: the student's assignments, due dates, credit, exams and receipts.",
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ITranslator],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker, translator: ITranslator | null) => {
    const lang = languageOf((translator as { languageCode?: string } | null)?.languageCode);
    const api = new CodeTutorAPI();
    const openProblem = async (problem: string): Promise<string> => {
      let path: string;
      try {
        path = (await api.open(problem, false, lang)).path;
      } catch (error) {
        // the student's copy exists: open it, never overwrite it
        if (error instanceof APIError && error.status === 409 && typeof error.body.path === 'string') {
          path = error.body.path;
        } else {
          throw error;
        }
      }
      await app.commands.execute('docmanager:open', { path, factory: 'Notebook' });
      return path;
    };
    const saveNotebook = async (path: string): Promise<void> => {
      const panel = tracker.find(p => p.context.path === path);
      if (panel && panel.context.model.dirty) {
        await panel.context.save();
      }
    };
    const panel = new CourseworkPanel({
      api,
      lang,
      openProblem,
      saveNotebook,
      onExam: exam => {
        if (exam) {
          // the tutor (right) and the full problem list are hidden by style/coursework.css
          (app.shell as { collapseRight?: () => void }).collapseRight?.();
          app.shell.activateById(panel.id);
        }
      }
    });
    app.shell.add(panel, 'left', { rank: 160 });
    void panel.refresh();
  }
};
