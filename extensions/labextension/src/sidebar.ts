/**
 * The Problem sidebar (instructors): the form for a problem notebook's settings
 * (`metadata.codetutor`, checked as the judge checks them: ./template.ts), and
 * Validate (every case's expected value from the reference solution, before
 * publishing), Publish, Unpublish. `problemEvents.changed` fires after a publish
 * or an unpublish, for the Problems panel to refresh itself.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';
import { LabIcon } from '@jupyterlab/ui-components';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { APIError, CodeTutorAPI } from './api';
import { button, h } from './dom';
import { boundsOf, checkForm, IMetaForm, metadataOf, readMeta, toForm } from './template';

export namespace AuthoringCommandIDs {
  export const newProblem = 'codetutor:new-problem';
  export const validate = 'codetutor:validate-problem';
  export const unpublish = 'codetutor:unpublish-problem';
  export const settings = 'codetutor:show-problem-settings';
}

/** Problems published or unpublished from this JupyterLab (the problem's id). */
class ProblemEvents {
  readonly changed = new Signal<ProblemEvents, string>(this);
}

export const problemEvents = new ProblemEvents();

export const authoringIcon = new LabIcon({
  name: 'codetutor:authoring',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">' +
    '<path class="jp-icon3" fill="#616161" d="M5 3h10l4 4v6h-2V8h-3V5H5v14h6v2H5a2 2 0 0 1-2-2V5' +
    'a2 2 0 0 1 2-2zm2 6h8v2H7zm0 4h5v2H7zm11.6 1.2 1.4 1.4-4.6 4.6H14v-1.4z"/></svg>'
});

/** One case of `POST /codetutor/api/validate` (judge/publish.py `validation_view`). */
export interface IValidatedCase {
  name: string;
  visibility: 'public' | 'hidden';
  kind: string;
  cell: number;
  line: number;
  source: string;
  stdin: string | null;
  expected: string | null;
}

/** Whether a notebook is being authored: it has problem metadata or a solution cell. */
export function isProblemNotebook(panel: NotebookPanel | null): boolean {
  const model = panel?.context.model;
  if (!model) {
    return false;
  }
  if (model.getMetadata('codetutor')) {
    for (let i = 0; i < model.cells.length; i++) {
      const tags = model.cells.get(i).getMetadata('tags');
      if (Array.isArray(tags) && tags.includes('solution')) {
        return true;
      }
    }
  }
  return false;
}

async function revealCell(panel: NotebookPanel, index: number, line: number | null): Promise<void> {
  const notebook = panel.content;
  const cell = notebook.widgets[index];
  if (!cell) {
    return;
  }
  notebook.activeCellIndex = index;
  await notebook.scrollToCell(cell);
  if (line !== null && cell.editor) {
    notebook.mode = 'edit';
    const last = cell.editor.lineCount - 1;
    cell.editor.setCursorPosition({ line: Math.min(Math.max(line - 1, 0), last), column: 0 });
    cell.editor.focus();
  }
}

const FIELDS: (keyof IMetaForm)[] = [
  'id',
  'titleKo',
  'titleEn',
  'difficulty',
  'tags',
  'mode',
  'timeLimit',
  'memoryLimit',
  'tolerance'
];

/** The Problem sidebar: the metadata form and Validate, Publish, Unpublish. */
export class AuthoringPanel extends Widget {
  constructor(
    private readonly app: JupyterFrontEnd,
    private readonly tracker: INotebookTracker,
    private readonly api: CodeTutorAPI,
    private readonly trans: TranslationBundle
  ) {
    super();
    this.id = 'codetutor-authoring';
    this.addClass('jp-codetutor-authoring');
    this.title.icon = authoringIcon;
    this.title.caption = trans.__('Problem settings (instructors)');
    tracker.currentChanged.connect(this.onCurrent, this);
    this.onCurrent();
  }

  /** Show the current notebook, again once its content is loaded. */
  private onCurrent(): void {
    const current = this.tracker.currentWidget;
    this.render();
    void current?.context.ready.then(() => {
      if (this.tracker.currentWidget === current) {
        this.render();
      }
    });
  }

  get notebook(): NotebookPanel | null {
    const current = this.tracker.currentWidget;
    return isProblemNotebook(current) ? current : null;
  }

  /** Rebuild the panel for the current notebook. */
  render(): void {
    const { trans } = this;
    this.node.replaceChildren();
    this.inputs = {};
    const panel = this.notebook;
    const current = this.tracker.currentWidget;
    if (this.watched !== current) {
      // metadata set elsewhere (the Property Inspector, another tool) shows here too
      this.watched?.context.model?.metadataChanged.disconnect(this.onMetadata, this);
      this.watched = current;
      current?.context.model?.metadataChanged.connect(this.onMetadata, this);
    }
    this.node.append(h('h2', { class: 'jp-codetutor-title' }, trans.__('Problem')));
    if (!panel) {
      this.node.append(
        h(
          'p',
          { class: 'jp-codetutor-note' },
          trans.__(
            'Open a problem notebook (one with a solution cell), or start one from the template.'
          )
        ),
        button(
          trans.__('New problem'),
          () => void this.app.commands.execute(AuthoringCommandIDs.newProblem),
          {
            accept: true,
            className: 'jp-codetutor-newProblem'
          }
        )
      );
      return;
    }
    const form = toForm(readMeta(panel.context.model.getMetadata('codetutor')));
    const labels: { [K in keyof IMetaForm]: string } = {
      id: trans.__('Problem id'),
      titleKo: trans.__('Title (Korean)'),
      titleEn: trans.__('Title (English)'),
      difficulty: trans.__('Difficulty (1-5)'),
      tags: trans.__('Topics (comma separated)'),
      mode: trans.__('Mode'),
      timeLimit: trans.__('Time limit per case (s)'),
      memoryLimit: trans.__('Memory limit (MB)'),
      tolerance: trans.__('Float tolerance (relative)')
    };
    const formNode = h('form', { class: 'jp-codetutor-metaForm' });
    formNode.addEventListener('submit', event => {
      event.preventDefault();
      this.apply();
    });
    for (const field of FIELDS) {
      let input: HTMLInputElement | HTMLSelectElement;
      if (field === 'mode' || field === 'difficulty') {
        const options =
          field === 'mode'
            ? [
                ['function', trans.__('function: tests call functions the student writes')],
                ['stdio', trans.__('stdio: the program reads input, prints output')]
              ]
            : ['1', '2', '3', '4', '5'].map(n => [n, n]);
        input = h('select', { name: field });
        for (const [value, label] of options) {
          input.append(h('option', { value }, label));
        }
      } else {
        input = h('input', { name: field, type: 'text', spellcheck: 'false' });
      }
      input.value = form[field];
      input.addEventListener('change', () => this.apply());
      this.inputs[field] = input;
      formNode.append(
        h(
          'label',
          { class: 'jp-codetutor-field' },
          h('span', {}, labels[field]),
          input,
          h('span', { class: 'jp-codetutor-fieldError', 'data-field': field })
        )
      );
    }
    this.status = h('p', {
      class: 'jp-codetutor-note jp-codetutor-metaStatus',
      'aria-live': 'polite'
    });
    const actions = h(
      'div',
      { class: 'jp-codetutor-actions' },
      button(trans.__('Validate'), () => void this.validate(), {
        className: 'jp-codetutor-validate',
        title: trans.__(
          'Compute every expected value from the reference solution, without publishing'
        )
      }),
      button(trans.__('Publish'), () => void this.app.commands.execute('codetutor:publish'), {
        accept: true,
        className: 'jp-codetutor-publish'
      }),
      button(trans.__('Unpublish'), () => void this.unpublish(), {
        className: 'jp-codetutor-unpublish',
        title: trans.__('Hide this problem from students; their submissions are kept')
      })
    );
    this.results = h('div', { class: 'jp-codetutor-validation', 'aria-live': 'polite' });
    this.node.append(formNode, this.status, actions, this.results);
  }

  private onMetadata(): void {
    // the form writes the metadata itself; rebuild only for changes made elsewhere
    if (!this.applying && !this.node.contains(document.activeElement)) {
      this.render();
    }
  }

  /** Check the form; write `metadata.codetutor` when it is valid, else show why not. */
  apply(): boolean {
    const { trans } = this;
    const panel = this.notebook;
    if (!panel) {
      return false;
    }
    const form = {} as IMetaForm;
    for (const field of FIELDS) {
      form[field] = this.inputs[field]?.value ?? '';
    }
    const { meta, errors } = checkForm(form);
    for (const el of this.node.querySelectorAll<HTMLElement>('.jp-codetutor-fieldError')) {
      const error = errors.find(e => e.field === el.dataset.field);
      const bounds = error ? boundsOf(error.field) : null;
      el.textContent = error
        ? trans.__(
            'Expected: %1',
            bounds ? trans.__(error.message, bounds[0], bounds[1]) : trans.__(error.message)
          )
        : '';
      this.inputs[el.dataset.field as keyof IMetaForm]?.setAttribute(
        'aria-invalid',
        error ? 'true' : 'false'
      );
    }
    if (!meta) {
      this.status.textContent = trans.__('Not saved: fix the fields marked above.');
      return false;
    }
    this.applying = true;
    try {
      panel.context.model.setMetadata('codetutor', metadataOf(meta));
    } finally {
      this.applying = false;
    }
    this.status.textContent = trans.__('Saved in the notebook metadata (metadata.codetutor).');
    return true;
  }

  /** Validate: save, ask the judge for every case's expected value, show them. */
  async validate(): Promise<void> {
    const { trans } = this;
    const panel = this.notebook;
    if (!panel || !this.apply()) {
      return;
    }
    this.results.replaceChildren(
      h('p', { class: 'jp-codetutor-note' }, trans.__('Running the reference solution…'))
    );
    try {
      await panel.context.save();
      const answer = await this.api.json<{ id: string; cases: IValidatedCase[] }>(
        'validate',
        'POST',
        {
          path: panel.context.path
        }
      );
      this.showCases(panel, answer.cases);
    } catch (error) {
      this.showError(panel, error);
    }
  }

  private cellLink(panel: NotebookPanel, cell: number, line: number | null): HTMLElement {
    const { trans } = this;
    const label =
      line !== null ? trans.__('Cell %1, line %2', cell + 1, line) : trans.__('Cell %1', cell + 1);
    const link = h('a', { href: '#', class: 'jp-codetutor-cellLink' }, label);
    link.addEventListener('click', event => {
      event.preventDefault();
      void revealCell(panel, cell, line);
    });
    return link;
  }

  private showCases(panel: NotebookPanel, cases: IValidatedCase[]): void {
    const { trans } = this;
    const rows = cases.map(c =>
      h(
        'tr',
        { class: `jp-codetutor-validCase jp-codetutor-${c.visibility}`, 'data-case': c.name },
        h(
          'td',
          {},
          c.name,
          h(
            'div',
            { class: 'jp-codetutor-note' },
            c.visibility === 'hidden' ? trans.__('hidden') : trans.__('public'),
            ' · ',
            this.cellLink(panel, c.cell, c.line)
          )
        ),
        h('td', {}, h('code', {}, c.stdin ?? c.source)),
        h(
          'td',
          {},
          c.expected === null
            ? h('span', { class: 'jp-codetutor-note' }, trans.__('passes (assert)'))
            : h('pre', { class: 'jp-codetutor-expected' }, c.expected)
        )
      )
    );
    this.results.replaceChildren(
      h(
        'p',
        { class: 'jp-codetutor-validOk' },
        trans.__(
          'Valid: the reference solution passes all %1 cases. Nothing was published.',
          cases.length
        )
      ),
      h(
        'table',
        { class: 'jp-codetutor-validTable' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, trans.__('Case')),
            h('th', {}, trans.__('Test')),
            h('th', {}, trans.__('Expected'))
          )
        ),
        h('tbody', {}, ...rows)
      )
    );
  }

  private showError(panel: NotebookPanel, error: unknown): void {
    const { trans } = this;
    const body = error instanceof APIError ? error.body : {};
    const cell = typeof body.cell === 'number' ? body.cell : null;
    const line = typeof body.line === 'number' ? body.line : null;
    const message =
      error instanceof APIError && error.status === 403
        ? trans.__('Only instructors may validate, publish or unpublish problems.')
        : (error as Error).message;
    this.results.replaceChildren(
      h(
        'p',
        { class: 'jp-codetutor-validError' },
        trans.__('Not valid'),
        ': ',
        message,
        ' ',
        cell !== null ? this.cellLink(panel, cell, line) : null
      )
    );
    if (cell !== null) {
      void revealCell(panel, cell, line);
    }
  }

  /** Unpublish (after asking): hidden from students, submissions kept; offers to show it again. */
  async unpublish(): Promise<void> {
    const { trans } = this;
    const panel = this.notebook;
    const id = panel ? readMeta(panel.context.model.getMetadata('codetutor')).id : '';
    if (!panel || !id) {
      return;
    }
    const answer = await showDialog({
      title: trans.__('Unpublish %1?', id),
      body: trans.__(
        'Students will no longer see or submit this problem. Their submissions are kept, and publishing it again shows it again.'
      ),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({ label: trans.__('Unpublish') })
      ]
    });
    if (!answer.button.accept) {
      return;
    }
    await this.setPublished(panel, id, false);
  }

  async setPublished(panel: NotebookPanel, id: string, published: boolean): Promise<void> {
    const { trans } = this;
    try {
      await this.api.json(`problems/${encodeURIComponent(id)}/visibility`, 'POST', { published });
    } catch (error) {
      this.showError(panel, error);
      return;
    }
    problemEvents.changed.emit(id);
    const again = button(trans.__('Publish again'), () => void this.setPublished(panel, id, true), {
      className: 'jp-codetutor-republish'
    });
    this.results.replaceChildren(
      h(
        'p',
        { class: 'jp-codetutor-unpublished' },
        published
          ? trans.__('%1 is visible to students again.', id)
          : trans.__('%1 is hidden from students; their submissions are kept.', id),
        ' ',
        published ? null : again
      )
    );
  }

  private inputs: { [K in keyof IMetaForm]?: HTMLInputElement | HTMLSelectElement } = {};
  private status: HTMLElement = h('p');
  private results: HTMLElement = h('div');
  private watched: NotebookPanel | null = null;
  private applying = false;
}
