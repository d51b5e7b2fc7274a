/** Small DOM helpers shared by the widgets. */
import { TranslationBundle } from '@jupyterlab/translation';

import { generatedCaseName } from './progress';

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

/** A topic tag in the student's language (tags the problem set uses; others as they are). */
export function tagLabel(trans: TranslationBundle, tag: string): string {
  const known: { [tag: string]: () => string } = {
    arithmetic: () => trans.__('arithmetic'),
    bfs: () => trans.__('bfs'),
    'binary-search': () => trans.__('binary-search'),
    conditionals: () => trans.__('conditionals'),
    dfs: () => trans.__('dfs'),
    dicts: () => trans.__('dicts'),
    dp: () => trans.__('dp'),
    functions: () => trans.__('functions'),
    graphs: () => trans.__('graphs'),
    greedy: () => trans.__('greedy'),
    hashing: () => trans.__('hashing'),
    io: () => trans.__('io'),
    lists: () => trans.__('lists'),
    loops: () => trans.__('loops'),
    math: () => trans.__('math'),
    'prefix-sums': () => trans.__('prefix-sums'),
    queues: () => trans.__('queues'),
    recursion: () => trans.__('recursion'),
    searching: () => trans.__('searching'),
    sets: () => trans.__('sets'),
    sorting: () => trans.__('sorting'),
    stacks: () => trans.__('stacks'),
    strings: () => trans.__('strings'),
    'two-pointers': () => trans.__('two-pointers'),
    variables: () => trans.__('variables')
  };
  return Object.prototype.hasOwnProperty.call(known, tag) ? known[tag]() : tag;
}

/** A case's name as shown: the judge's generated names (`public 1`, `hidden 5`) translated. */
export function caseNameLabel(trans: TranslationBundle, name: string): string {
  const found = generatedCaseName(name);
  if (!found) {
    return name;
  }
  return found.visibility === 'public'
    ? trans.__('public %1', found.number)
    : trans.__('hidden %1', found.number);
}
