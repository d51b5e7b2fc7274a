/**
 * Authoring problems in JupyterLab (instructors): "New problem" (a Launcher card
 * and a palette command) creates the bilingual template notebook
 * (./template.ts); the Problem sidebar (./sidebar.ts) edits its settings and
 * offers Validate, Publish and Unpublish. Shown only to users the Hub lets
 * publish (`GET /codetutor/api/authoring`).
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { CodeTutorAPI } from './api';
import { AuthoringCommandIDs, AuthoringPanel, authoringIcon, problemEvents } from './sidebar';
import { problemTemplate } from './template';

export { AuthoringCommandIDs, problemEvents } from './sidebar';

/** A free path for a new problem notebook in `folder`. */
async function freePath(app: JupyterFrontEnd, folder: string): Promise<string> {
  const prefix = folder ? `${folder.replace(/\/+$/, '')}/` : '';
  for (let n = 1; n < 1000; n++) {
    const path = `${prefix}new-problem${n === 1 ? '' : `-${n}`}.ipynb`;
    try {
      await app.serviceManager.contents.get(path, { content: false });
    } catch {
      return path;
    }
  }
  throw new Error('no free name for a new problem');
}

export const authoringPlugin: JupyterFrontEndPlugin<void> = {
  id: '@codetutor/labextension:authoring',
  description: 'Code Tutor authoring: New problem template, problem settings, Validate, Unpublish.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ITranslator, ICommandPalette, ILauncher],
  activate: async (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    translator: ITranslator | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null
  ): Promise<void> => {
    const trans = (translator ?? nullTranslator).load('codetutor');
    const api = new CodeTutorAPI();
    // a publish (the notebook's Publish button, the Problem sidebar or the palette)
    // changes the problem list
    app.commands.commandExecuted.connect((_, executed) => {
      if (executed.id === 'codetutor:publish') {
        void Promise.resolve(executed.result).then(() => problemEvents.changed.emit(''));
      }
    });
    // the authoring tools are for those the Hub lets publish (instructors)
    let instructor = false;
    try {
      instructor = (await api.json<{ instructor: boolean }>('authoring')).instructor;
    } catch {
      instructor = false;
    }
    if (!instructor) {
      return;
    }
    const panel = new AuthoringPanel(app, tracker, api, trans);
    app.shell.add(panel, 'right', { rank: 160 });

    app.commands.addCommand(AuthoringCommandIDs.newProblem, {
      label: args =>
        args.isLauncher ? trans.__('New Problem') : trans.__('New Problem from the Template'),
      caption: trans.__('A problem notebook with every tagged cell explained (Korean and English)'),
      icon: args => (args.isPalette ? undefined : authoringIcon),
      execute: async args => {
        const path = await freePath(app, typeof args.cwd === 'string' ? args.cwd : '');
        const id = path.replace(/^.*\//, '').replace(/\.ipynb$/, '');
        await app.serviceManager.contents.save(path, {
          type: 'notebook',
          format: 'json',
          content: problemTemplate(id)
        });
        await app.commands.execute('docmanager:open', { path, factory: 'Notebook' });
        app.shell.activateById(panel.id);
        return path;
      }
    });
    app.commands.addCommand(AuthoringCommandIDs.validate, {
      label: trans.__('Validate Problem (expected values)'),
      isEnabled: () => panel.notebook !== null,
      execute: () => {
        app.shell.activateById(panel.id);
        return panel.validate();
      }
    });
    app.commands.addCommand(AuthoringCommandIDs.unpublish, {
      label: trans.__('Unpublish Problem'),
      isEnabled: () => panel.notebook !== null,
      execute: () => panel.unpublish()
    });
    app.commands.addCommand(AuthoringCommandIDs.settings, {
      label: trans.__('Show Problem Settings'),
      execute: () => app.shell.activateById(panel.id)
    });
    tracker.currentChanged.connect(() => app.commands.notifyCommandChanged());
    if (launcher) {
      launcher.add({
        command: AuthoringCommandIDs.newProblem,
        category: trans.__('Code Tutor'),
        rank: 1
      });
    }
    if (palette) {
      const category = trans.__('Code Tutor');
      for (const command of Object.values(AuthoringCommandIDs)) {
        palette.addItem({ command, category });
      }
    }
  }
};
