/**
 * Code Tutor in JupyterLab: the Problems panel (left), the Tutor panel
 * (right), a Submit button and a live verdict card on problem notebooks, the
 * code review, and the instructors' Publish command.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, ToolbarButton, WidgetTracker } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';

import { APIError, CodeTutorAPI } from './api';
import { authoringPlugin, problemEvents } from './authoring';
import { courseworkPlugin } from './coursework';
import { ICellLike, languageOf, locateLine, studentCode } from './logic';
import { ProblemsPanel } from './problems';
import { ignoreKernelMetadata, resetToStarter, restoreLatest } from './student';
import { SubmissionsView } from './submissions';
import { IProblemContext, TutorPanel } from './tutor';
import { VerdictCard } from './verdict';

/** The translation domain: the catalog is `locale/<lang>/LC_MESSAGES/codetutor.json`. */
export const DOMAIN = 'codetutor';

export namespace CommandIDs {
  export const submit = 'codetutor:submit';
  export const publish = 'codetutor:publish';
  export const review = 'codetutor:review';
  export const problems = 'codetutor:show-problems';
  export const tutor = 'codetutor:show-tutor';
  export const mySubmissions = 'codetutor:my-submissions';
  export const reset = 'codetutor:reset-to-starter';
}

const problemsIcon = new LabIcon({
  name: 'codetutor:problems',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
    '<path class="jp-icon3" fill="#616161" d="M4 4h16v2H4zm0 5h10v2H4zm0 5h16v2H4zm0 5h10v2H4z' +
    'M17.5 7.5l1.4 1.4-3.2 3.2-2-2 1.4-1.4.6.6z"/></svg>'
});

const tutorIcon = new LabIcon({
  name: 'codetutor:tutor',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
    '<path class="jp-icon3" fill="#616161" d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4' +
    'a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 5v2h10V8zm0 4v2h7v-2z"/></svg>'
});

/** The problem id of a notebook (`metadata.codetutor.id`), or null. */
function problemIdOf(panel: NotebookPanel | null): string | null {
  const meta = panel?.context.model?.getMetadata('codetutor') as { id?: unknown } | undefined;
  return meta && typeof meta.id === 'string' && meta.id ? meta.id : null;
}

/** Whether a notebook is an instructor's authoring notebook (it has a solution cell). */
function isAuthoring(panel: NotebookPanel): boolean {
  const cells = panel.context.model?.cells;
  if (!cells) {
    return false;
  }
  for (let i = 0; i < cells.length; i++) {
    const tags = cells.get(i).getMetadata('tags');
    if (Array.isArray(tags) && tags.includes('solution')) {
      return true;
    }
  }
  return false;
}

function cellsOf(panel: NotebookPanel): ICellLike[] {
  const cells = panel.context.model?.cells;
  const out: ICellLike[] = [];
  for (let i = 0; cells && i < cells.length; i++) {
    const cell = cells.get(i);
    out.push({
      cell_type: cell.type,
      source: cell.sharedModel.getSource(),
      metadata: { tags: cell.getMetadata('tags') }
    });
  }
  return out;
}

/** Select cell `index` of the notebook, put the cursor on `line` (1-based) and show it. */
async function revealCell(panel: NotebookPanel, index: number, line: number | null): Promise<void> {
  const notebook = panel.content;
  if (index < 0 || index >= notebook.widgets.length) {
    return;
  }
  notebook.activeCellIndex = index;
  const cell = notebook.widgets[index];
  await notebook.scrollToCell(cell);
  if (line !== null && cell.editor) {
    notebook.mode = 'edit';
    const lineCount = cell.editor.lineCount;
    cell.editor.setCursorPosition({ line: Math.min(Math.max(line - 1, 0), lineCount - 1), column: 0 });
    cell.editor.focus();
  }
}

/** Per notebook: the Submit and Publish buttons and the verdict card. */
class ProblemNotebook implements IDisposable {
  constructor(
    readonly panel: NotebookPanel,
    private readonly api: CodeTutorAPI,
    private readonly trans: TranslationBundle,
    private readonly onJudged: () => void,
    private readonly lang = 'en'
  ) {
    ignoreKernelMetadata(panel.context);
    this.card = new VerdictCard({
      trans,
      showSubmission: id => void this.show(id),
      revealJudgedCell: (cell, line) => {
        const student = studentCode(cellsOf(panel));
        const index = student.cells[cell];
        if (index !== undefined) {
          void revealCell(panel, index, line);
        }
      },
      revealCell: (cell, line) => void revealCell(panel, cell, line)
    });
    panel.contentHeader.addWidget(this.card);
    this.submitButton = new ToolbarButton({
      label: trans.__('Submit'),
      tooltip: trans.__('Submit this notebook to the judge'),
      className: 'jp-codetutor-submitButton',
      onClick: () => void this.submit()
    });
    this.publishButton = new ToolbarButton({
      label: trans.__('Publish problem'),
      tooltip: trans.__('Publish this problem notebook (instructors)'),
      className: 'jp-codetutor-publishButton',
      onClick: () => void this.publish()
    });
    this.resetButton = new ToolbarButton({
      label: trans.__('Reset'),
      tooltip: trans.__('Start this problem over from its starter (your notebook is kept as a copy)'),
      className: 'jp-codetutor-resetButton',
      onClick: () => void this.reset()
    });
    panel.toolbar.insertItem(10, 'codetutor-submit', this.submitButton);
    panel.toolbar.insertItem(10, 'codetutor-reset', this.resetButton);
    this.resetButton.hide();
    panel.toolbar.insertItem(11, 'codetutor-publish', this.publishButton);
    this.submitButton.hide();
    this.publishButton.hide();
    void panel.context.ready.then(() => {
      this.update();
      panel.context.model.metadataChanged.connect(this.update, this);
      panel.context.model.cells.changed.connect(this.update, this);
    });
  }

  get problem(): string | null {
    return problemIdOf(this.panel);
  }

  /** Show the buttons that fit this notebook. */
  update(): void {
    if (this.isDisposed) {
      return;
    }
    const problem = this.problem;
    const authoring = problem !== null && isAuthoring(this.panel);
    this.submitButton.setHidden(problem === null || authoring);
    this.resetButton.setHidden(problem === null || authoring);
    this.publishButton.setHidden(!authoring);
  }

  /** The context the tutor panel needs, or null for other notebooks. */
  tutorContext(): IProblemContext | null {
    const problem = this.problem;
    if (!problem) {
      return null;
    }
    const panel = this.panel;
    return {
      path: panel.context.path,
      problem,
      save: () => panel.context.save(),
      code: () => {
        const student = studentCode(cellsOf(panel));
        return {
          code: student.code,
          reveal: (line: number) => {
            const where = locateLine(student, line);
            if (where) {
              void revealCell(panel, where.cell, where.line);
            }
            return where !== null;
          }
        };
      }
    };
  }

  /** Save, submit, follow the verdict live; refresh the history. */
  async submit(): Promise<void> {
    const problem = this.problem;
    if (!problem || this.submitting) {
      return;
    }
    this.submitting = true;
    this.submitButton.enabled = false;
    this.card.showSubmitting();
    try {
      await this.panel.context.save();
      const queued = await this.api.submit(this.panel.context.path);
      this.card.showSubmission(queued);
      const judged = await this.api.follow(queued.id, (_kind, sub) =>
        this.card.showSubmission(sub)
      );
      if (!judged) {
        // the live stream ended early (a proxy timeout): ask once for where it stands
        this.card.showSubmission(await this.api.submission(queued.id));
      }
      this.onJudged();
    } catch (error) {
      this.card.showFailure((error as Error).message);
    } finally {
      this.submitting = false;
      this.submitButton.enabled = true;
      await this.loadHistory();
    }
  }

  /** Reset this notebook to the problem's starter, keeping a copy of it. */
  async reset(): Promise<void> {
    const problem = this.problem;
    if (problem && !this.submitting) {
      await resetToStarter(this.api, this.trans, this.panel.context, problem, this.lang);
    }
  }

  /** After a reload: the last verdict again, or the live stream of one still being judged. */
  async restore(): Promise<void> {
    const problem = this.problem;
    if (!problem || this.submitting || this.card.stage !== null) {
      return;
    }
    try {
      if (await restoreLatest(this.api, problem, this.card, () => !this.submitting)) {
        this.onJudged();
      }
    } catch {
      // nothing to restore: the card stays hidden until the next submission
    }
  }

  /** Show one earlier submission in the card, with its own code. */
  async show(id: number): Promise<void> {
    try {
      this.card.showSubmission(await this.api.submission(id), true);
    } catch (error) {
      this.card.showFailure((error as Error).message);
    }
  }

  async loadHistory(): Promise<void> {
    const problem = this.problem;
    if (!problem) {
      return;
    }
    try {
      this.card.setHistory(await this.api.submissions(problem));
    } catch {
      // the history is a convenience: the verdict itself is already shown
    }
  }

  /** Publish this authoring notebook; a validation error is shown at its cell. */
  async publish(): Promise<void> {
    const trans = this.trans;
    for (const cell of this.panel.content.widgets) {
      cell.removeClass('jp-codetutor-cellError');
    }
    try {
      await this.panel.context.save();
      const published = await this.api.publish(this.panel.context.path);
      this.card.showPublished(
        true,
        published.created
          ? trans.__('%1 is published as version %2.', published.id, published.version)
          : trans.__('%1 is unchanged (version %2).', published.id, published.version)
      );
    } catch (error) {
      const body = error instanceof APIError ? error.body : {};
      const cell = typeof body.cell === 'number' ? body.cell : null;
      const line = typeof body.line === 'number' ? body.line : null;
      const message =
        error instanceof APIError && error.status === 403
          ? trans.__('Only instructors may publish problems.')
          : (error as Error).message;
      this.card.showPublished(false, message, cell, line);
      if (cell !== null) {
        this.panel.content.widgets[cell]?.addClass('jp-codetutor-cellError');
        await revealCell(this.panel, cell, line);
      }
    }
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this.card.dispose();
    this.submitButton.dispose();
    this.resetButton.dispose();
    this.publishButton.dispose();
  }

  readonly card: VerdictCard;
  readonly submitButton: ToolbarButton;
  readonly resetButton: ToolbarButton;
  readonly publishButton: ToolbarButton;
  private submitting = false;
  private _disposed = false;
}

/** Adds a {@link ProblemNotebook} to every notebook panel. */
class ProblemNotebookExtension
  implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel>
{
  constructor(
    private readonly api: CodeTutorAPI,
    private readonly trans: TranslationBundle,
    private readonly onJudged: () => void,
    private readonly onCreated: (item: ProblemNotebook) => void,
    private readonly lang = 'en'
  ) {}

  readonly items = new Map<NotebookPanel, ProblemNotebook>();

  createNew(panel: NotebookPanel): IDisposable {
    const item = new ProblemNotebook(panel, this.api, this.trans, this.onJudged, this.lang);
    this.items.set(panel, item);
    this.onCreated(item);
    return new DisposableDelegate(() => {
      this.items.delete(panel);
      item.dispose();
    });
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: '@codetutor/labextension:plugin',
  description: 'Code Tutor: problems, submissions with live verdicts, tutor chat, review.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ITranslator, ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const trans = (translator ?? nullTranslator).load(DOMAIN);
    const lang = languageOf((translator as { languageCode?: string } | null)?.languageCode);
    const api = new CodeTutorAPI();

    const openProblem = async (problem: string): Promise<void> => {
      let path: string;
      try {
        path = (await api.open(problem, false, lang)).path;
      } catch (error) {
        // 409: the student already has a copy; open that one, never overwrite it
        if (error instanceof APIError && error.status === 409 && typeof error.body.path === 'string') {
          path = error.body.path;
        } else {
          throw error;
        }
      }
      await app.commands.execute('docmanager:open', { path, factory: 'Notebook' });
    };

    const submissionsTracker = new WidgetTracker<SubmissionsView>({
      namespace: 'codetutor-submissions'
    });
    const openSubmissions = (): void => void app.commands.execute(CommandIDs.mySubmissions);
    const problemsPanel = new ProblemsPanel({ api, trans, lang, openProblem, openSubmissions });
    problemsPanel.title.icon = problemsIcon;
    const tutorPanel = new TutorPanel({ api, trans, lang });
    tutorPanel.title.icon = tutorIcon;
    app.shell.add(problemsPanel, 'left', { rank: 150 });
    app.shell.add(tutorPanel, 'right', { rank: 150 });
    if (restorer) {
      restorer.add(problemsPanel, problemsPanel.id);
      restorer.add(tutorPanel, tutorPanel.id);
    }
    void problemsPanel.refresh();
    problemEvents.changed.connect(() => void problemsPanel.refresh());
    if (restorer) {
      void restorer.restore(submissionsTracker, {
        command: CommandIDs.mySubmissions,
        name: () => 'my-submissions'
      });
    }

    const extension = new ProblemNotebookExtension(
      api,
      trans,
      () => void problemsPanel.refresh(),
      item => {
        void item.panel.context.ready.then(() => {
          void item.restore();
          if (tracker.currentWidget === item.panel) {
            tutorPanel.setProblem(item.tutorContext());
          }
        });
      },
      lang
    );
    app.docRegistry.addWidgetExtension('Notebook', extension);

    const current = (): ProblemNotebook | null => {
      const panel = tracker.currentWidget;
      return panel ? (extension.items.get(panel) ?? null) : null;
    };
    tracker.currentChanged.connect(() => tutorPanel.setProblem(current()?.tutorContext() ?? null));

    app.commands.addCommand(CommandIDs.submit, {
      label: trans.__('Submit to the Judge'),
      caption: trans.__('Submit this notebook to the judge'),
      isEnabled: () => !!current()?.problem,
      execute: () => current()?.submit()
    });
    app.commands.addCommand(CommandIDs.publish, {
      label: trans.__('Publish Problem'),
      caption: trans.__('Publish this problem notebook (instructors)'),
      isEnabled: () => !!current()?.problem,
      execute: () => current()?.publish()
    });
    app.commands.addCommand(CommandIDs.review, {
      label: trans.__('Review My Code'),
      isEnabled: () => !!current()?.problem,
      execute: () => {
        app.shell.activateById(tutorPanel.id);
        return tutorPanel.review();
      }
    });
    app.commands.addCommand(CommandIDs.reset, {
      label: trans.__('Reset Problem to Starter'),
      isEnabled: () => !!current()?.problem,
      execute: () => current()?.reset()
    });
    app.commands.addCommand(CommandIDs.mySubmissions, {
      label: trans.__('My Submissions'),
      execute: async () => {
        let view = submissionsTracker.currentWidget;
        if (!view || view.isDisposed) {
          view = new SubmissionsView({ api, trans, lang });
          app.shell.add(view, 'main');
          await submissionsTracker.add(view);
        }
        app.shell.activateById(view.id);
        await view.refresh();
      }
    });
    app.commands.addCommand(CommandIDs.problems, {
      label: trans.__('Show Code Tutor Problems'),
      execute: () => app.shell.activateById(problemsPanel.id)
    });
    app.commands.addCommand(CommandIDs.tutor, {
      label: trans.__('Show the Tutor'),
      execute: () => app.shell.activateById(tutorPanel.id)
    });
    if (palette) {
      const category = trans.__('Code Tutor');
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category });
      }
    }
  }
};

export default [plugin, authoringPlugin, courseworkPlugin];
