/**
 * What a student's problem notebook does besides submitting: bring back the
 * last verdict after a reload (and resume the live stream of a submission
 * still being judged), reset the notebook to the problem's starter keeping a
 * copy, and stay unmodified when only the kernel's metadata changed.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';

import { CodeTutorAPI } from './api';
import { isPending, latestSubmission } from './progress';
import { VerdictCard } from './verdict';

/**
 * Show the problem's history in `card` and its latest submission: judged, its
 * verdict; still queued or running, its live stream until the verdict. Resolves
 * true when it followed a submission to its verdict (false: none was pending).
 * `stillWanted` is asked before each change of the card (false: the student
 * submitted again meanwhile).
 */
export async function restoreLatest(
  api: CodeTutorAPI,
  problem: string,
  card: VerdictCard,
  stillWanted: () => boolean
): Promise<boolean> {
  const subs = await api.submissions(problem);
  card.setHistory(subs);
  const latest = latestSubmission(subs);
  if (!latest || !stillWanted()) {
    return false;
  }
  if (!isPending(latest)) {
    const full = await api.submission(latest.id);
    if (stillWanted()) {
      card.showSubmission(full);
    }
    return false;
  }
  card.showSubmission(latest);
  const judged = await api.follow(latest.id, (_kind, sub) => {
    if (stillWanted()) {
      card.showSubmission(sub);
    }
  });
  const final = judged ?? (await api.submission(latest.id));
  if (stillWanted()) {
    card.showSubmission(final);
  }
  card.setHistory(await api.submissions(problem));
  return final.status === 'judged';
}

/** The notebook as JSON, without what a kernel writes into its metadata on start. */
function comparable(model: INotebookModel): string {
  const nb = model.toJSON() as { metadata?: { [key: string]: unknown } };
  const metadata = { ...(nb.metadata ?? {}) };
  delete metadata.language_info;
  delete metadata.kernelspec;
  return JSON.stringify({ ...nb, metadata });
}

/**
 * Keep the notebook of `context` unmodified while only its kernel's metadata
 * (language_info, kernelspec) changes: opening an untouched problem starts a
 * kernel, which would otherwise mark it modified.
 */
export function ignoreKernelMetadata(context: DocumentRegistry.IContext<INotebookModel>): void {
  let saved = '';
  const snapshot = () => {
    saved = comparable(context.model);
  };
  void context.ready.then(() => {
    snapshot();
    context.saveState.connect((_sender, state) => {
      if (state === 'completed') {
        snapshot();
      }
    });
    context.fileChanged.connect(snapshot);
    context.model.stateChanged.connect((_model, change) => {
      if (change.name === 'dirty' && change.newValue === true) {
        // after the change that made it dirty has fully applied
        setTimeout(() => {
          if (context.model.dirty && comparable(context.model) === saved) {
            context.model.dirty = false;
          }
        }, 0);
      }
    });
  });
}

/**
 * Ask, then reset the notebook of `context` to the problem's starter: what the
 * student has now (saved first) is kept as a copy next to it. Resolves with the
 * copy's path, or null when the student said no.
 */
export async function resetToStarter(
  api: CodeTutorAPI,
  trans: TranslationBundle,
  context: DocumentRegistry.IContext<INotebookModel>,
  problem: string,
  lang: string
): Promise<string | null> {
  const answer = await showDialog({
    title: trans.__('Reset to the starter?'),
    body: trans.__(
      'This notebook goes back to the problem as it was given. Your current notebook is kept as a copy next to it.'
    ),
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.warnButton({ label: trans.__('Reset') })
    ]
  });
  if (!answer.button.accept) {
    return null;
  }
  try {
    await context.save();
    const reset = await api.reset(problem, context.path, lang);
    await context.revert();
    Notification.success(
      trans.__('Reset to the starter. Your old notebook is kept as %1.', reset.backup),
      { autoClose: 8000 }
    );
    return reset.backup;
  } catch (error) {
    Notification.error(trans.__('Could not reset: %1', (error as Error).message), {
      autoClose: false
    });
    throw error;
  }
}
