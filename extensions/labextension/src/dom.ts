/** Small DOM helpers shared by the widgets. */
import { TranslationBundle } from '@jupyterlab/translation';

/** An element with classes, attributes and children (strings become text). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: { [name: string]: string | undefined } = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined) {
      continue;
    }
    if (name === 'class') {
      el.className = value;
    } else {
      el.setAttribute(name, value);
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    el.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return el;
}

/** A JupyterLab-styled button. */
export function button(
  label: string,
  onClick: () => void,
  options: { className?: string; title?: string; accept?: boolean } = {}
): HTMLButtonElement {
  const classes = ['jp-Button', 'jp-mod-styled', 'jp-codetutor-button'];
  classes.push(options.accept ? 'jp-mod-accept' : 'jp-mod-reject');
  if (options.className) {
    classes.push(options.className);
  }
  const el = h('button', { class: classes.join(' '), type: 'button', title: options.title }, label);
  el.addEventListener('click', onClick);
  return el;
}

/** The translated, human name of a verdict. */
export function verdictLabel(trans: TranslationBundle, verdict: string | null): string {
  switch (verdict) {
    case 'accepted':
      return trans.__('Accepted');
    case 'wrong_answer':
      return trans.__('Wrong Answer');
    case 'runtime_error':
      return trans.__('Runtime Error');
    case 'time_limit_exceeded':
      return trans.__('Time Limit Exceeded');
    case 'memory_limit_exceeded':
      return trans.__('Memory Limit Exceeded');
    case 'output_limit_exceeded':
      return trans.__('Output Limit Exceeded');
    case 'syntax_error':
      return trans.__('Syntax Error');
    case 'internal_error':
      return trans.__('Internal Error');
    case null:
      return trans.__('Not judged');
    default:
      return verdict;
  }
}

/** The translated name of a case status. */
export function caseStatusLabel(trans: TranslationBundle, status: string): string {
  switch (status) {
    case 'passed':
      return trans.__('Passed');
    case 'failed':
      return trans.__('Failed');
    case 'error':
      return trans.__('Error');
    case 'timeout':
      return trans.__('Timed out');
    case 'memory_limit':
      return trans.__('Memory limit');
    case 'output_limit':
      return trans.__('Output limit');
    case 'skipped':
      return trans.__('Skipped');
    default:
      return status;
  }
}
