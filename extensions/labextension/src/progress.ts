/**
 * Pure logic of the student's workflow (no DOM, no JupyterLab imports; tested in
 * test/progress.spec.ts): progress per problem and the problems panel's filters
 * and sorts, the latest submission of a notebook (to resume it after a reload),
 * generated case names, the tutor's message limit, and stored chat transcripts.
 */
import { IProblem, ISubmission, localized } from './logic';

/** Where a student stands on a problem. */
export type ProblemState = 'solved' | 'tried' | 'new';

/** A student's progress on one problem. */
export interface IProgress {
  state: ProblemState;
  /** How many times they submitted it. */
  attempts: number;
}

/** The progress per problem id, from the student's submissions. */
export function progressByProblem(subs: ISubmission[]): Map<string, IProgress> {
  const out = new Map<string, IProgress>();
  for (const sub of subs) {
    const current = out.get(sub.problem) ?? { state: 'tried' as ProblemState, attempts: 0 };
    current.attempts += 1;
    if (sub.verdict === 'accepted') {
      current.state = 'solved';
    }
    out.set(sub.problem, current);
  }
  return out;
}

/** The state of `problem` in `progress` (`new` when never submitted). */
export function stateOf(progress: Map<string, IProgress>, problem: string): ProblemState {
  return progress.get(problem)?.state ?? 'new';
}

/** Which problems to show: all, solved, not solved yet (tried or new), tried and not solved. */
export type StateFilter = 'all' | 'solved' | 'unsolved' | 'tried';

/** How to order the problems. */
export type ProblemSort = 'easiest' | 'hardest' | 'title' | 'progress';

export const STATE_FILTERS: StateFilter[] = ['all', 'solved', 'unsolved', 'tried'];
export const PROBLEM_SORTS: ProblemSort[] = ['easiest', 'hardest', 'title', 'progress'];

/** The panel's choices besides search and tag. */
export interface IProblemView {
  /** Only this difficulty (1..5), or 0 for any. */
  difficulty: number;
  state: StateFilter;
  sort: ProblemSort;
}

export const DEFAULT_VIEW: IProblemView = { difficulty: 0, state: 'all', sort: 'easiest' };

/** Whether a problem in `state` passes `filter`. */
export function matchesState(state: ProblemState, filter: StateFilter): boolean {
  switch (filter) {
    case 'solved':
      return state === 'solved';
    case 'unsolved':
      return state !== 'solved';
    case 'tried':
      return state === 'tried';
    default:
      return true;
  }
}

// unfinished work first: tried and not solved, then new, then solved
const PROGRESS_ORDER: { [state in ProblemState]: number } = { tried: 0, new: 1, solved: 2 };

/**
 * `problems` (already searched) narrowed to `view`'s difficulty and state, in
 * `view`'s order; ties go by title in `lang`, then id.
 */
export function arrangeProblems(
  problems: IProblem[],
  progress: Map<string, IProgress>,
  view: IProblemView,
  lang: string
): IProblem[] {
  const title = (p: IProblem) => localized(p.title, lang, p.id);
  const level = (p: IProblem) => p.difficulty ?? 1;
  const byTitle = (a: IProblem, b: IProblem) =>
    title(a).localeCompare(title(b)) || a.id.localeCompare(b.id);
  const order: { [sort in ProblemSort]: (a: IProblem, b: IProblem) => number } = {
    easiest: (a, b) => level(a) - level(b) || byTitle(a, b),
    hardest: (a, b) => level(b) - level(a) || byTitle(a, b),
    title: byTitle,
    progress: (a, b) =>
      PROGRESS_ORDER[stateOf(progress, a.id)] - PROGRESS_ORDER[stateOf(progress, b.id)] ||
      level(a) - level(b) ||
      byTitle(a, b)
  };
  return problems
    .filter(p => !view.difficulty || level(p) === view.difficulty)
    .filter(p => matchesState(stateOf(progress, p.id), view.state))
    .sort(order[view.sort]);
}

/** Whether the judge is still working on a submission (its live stream can be resumed). */
export function isPending(sub: ISubmission): boolean {
  return sub.status === 'queued' || sub.status === 'running';
}

/** The newest submission (the highest id), or null. */
export function latestSubmission(subs: ISubmission[]): ISubmission | null {
  let latest: ISubmission | null = null;
  for (const sub of subs) {
    if (!latest || sub.id > latest.id) {
      latest = sub;
    }
  }
  return latest;
}

/** A case name the judge made up (`public 1`, `hidden 5`): its kind and number, else null. */
export function generatedCaseName(
  name: string
): { visibility: 'public' | 'hidden'; number: number } | null {
  const found = /^(public|hidden) (\d+)$/.exec(name);
  return found
    ? { visibility: found[1] as 'public' | 'hidden', number: Number(found[2]) }
    : null;
}

/** How long a message is as the tutor counts it (Unicode code points, as Python's `len`). */
export function messageLength(text: string): number {
  return Array.from(text).length;
}

/** The tutor's limit on one message (`Tutor.max_message_chars`). */
export const MAX_MESSAGE_CHARS = 4000;

/** The count shown under the message box, and whether the message may be sent. */
export function messageBudget(
  text: string,
  max = MAX_MESSAGE_CHARS
): { count: number; max: number; over: boolean } {
  const count = messageLength(text.trim());
  return { count, max, over: count > max };
}

/** One message of a stored conversation with the tutor. */
export interface IStoredMessage {
  who: 'student' | 'tutor';
  text: string;
  /** The notes under a reply (its hint rung, where it came from, …), as shown. */
  notes?: string[];
}

/** How many messages of a conversation are kept. */
export const MAX_STORED_MESSAGES = 100;

/** The storage key of the conversation about `problem` on the server at `baseUrl`. */
export function chatKey(baseUrl: string, problem: string): string {
  return `codetutor:chat:${baseUrl}:${problem}`;
}

/** A stored conversation read back: only well-formed messages, at most the last `max`. */
export function parseConversation(
  raw: string | null,
  max = MAX_STORED_MESSAGES
): IStoredMessage[] {
  if (!raw) {
    return [];
  }
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(data)) {
    return [];
  }
  const messages: IStoredMessage[] = [];
  for (const item of data) {
    if (
      item &&
      typeof item === 'object' &&
      (item.who === 'student' || item.who === 'tutor') &&
      typeof item.text === 'string'
    ) {
      const notes = Array.isArray(item.notes)
        ? item.notes.filter((n: unknown): n is string => typeof n === 'string')
        : [];
      messages.push({ who: item.who, text: item.text, ...(notes.length ? { notes } : {}) });
    }
  }
  return messages.slice(-max);
}

/** `messages` with `message` added, the oldest dropped past `max`. */
export function appendMessage(
  messages: IStoredMessage[],
  message: IStoredMessage,
  max = MAX_STORED_MESSAGES
): IStoredMessage[] {
  return [...messages, message].slice(-max);
}
