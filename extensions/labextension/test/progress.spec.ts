import { IProblem, ISubmission } from '../src/logic';
import {
  appendMessage,
  arrangeProblems,
  chatKey,
  DEFAULT_VIEW,
  generatedCaseName,
  isPending,
  latestSubmission,
  matchesState,
  messageBudget,
  messageLength,
  parseConversation,
  progressByProblem,
  stateOf
} from '../src/progress';

const problems: IProblem[] = [
  { id: 'leap-year', title: { en: 'Leap year', ko: '윤년' }, difficulty: 1 },
  { id: 'two-sum', title: { en: 'Two sum', ko: '두 수의 합' }, difficulty: 2 },
  { id: 'bfs', title: 'BFS distances', difficulty: 4 },
  { id: 'anagrams', title: { en: 'Anagram groups', ko: '애너그램' }, difficulty: 2 }
];

function sub(id: number, problem: string, verdict: string | null, status = 'judged'): ISubmission {
  return { id, problem, status, verdict, score: verdict === 'accepted' ? 1 : 0, time_ms: 1 };
}

// leap-year solved after a wrong answer, two-sum tried twice, bfs and anagrams never submitted
const subs = [
  sub(1, 'leap-year', 'wrong_answer'),
  sub(2, 'leap-year', 'accepted'),
  sub(3, 'two-sum', 'runtime_error'),
  sub(4, 'two-sum', null, 'queued')
];
const progress = progressByProblem(subs);
const ids = (list: IProblem[]) => list.map(p => p.id);

describe('progressByProblem', () => {
  it('counts attempts and knows solved, tried and new', () => {
    expect(progress.get('leap-year')).toEqual({ state: 'solved', attempts: 2 });
    expect(progress.get('two-sum')).toEqual({ state: 'tried', attempts: 2 });
    expect(stateOf(progress, 'bfs')).toBe('new');
  });
  it('an accepted submission anywhere in the history solves the problem', () => {
    const later = progressByProblem([sub(9, 'x', 'wrong_answer'), sub(8, 'x', 'accepted')]);
    expect(later.get('x')!.state).toBe('solved');
  });
});

describe('matchesState', () => {
  it('unsolved is tried or new; tried is only tried', () => {
    expect(['solved', 'tried', 'new'].map(s => matchesState(s as never, 'unsolved'))).toEqual([
      false,
      true,
      true
    ]);
    expect(['solved', 'tried', 'new'].map(s => matchesState(s as never, 'tried'))).toEqual([
      false,
      true,
      false
    ]);
    expect(matchesState('new', 'all')).toBe(true);
  });
});

describe('arrangeProblems', () => {
  it('sorts easiest first by default, ties by title', () => {
    expect(ids(arrangeProblems(problems, progress, DEFAULT_VIEW, 'en'))).toEqual([
      'leap-year',
      'anagrams',
      'two-sum',
      'bfs'
    ]);
  });
  it('sorts hardest first, by title in the language, and unfinished first', () => {
    const view = { ...DEFAULT_VIEW };
    expect(ids(arrangeProblems(problems, progress, { ...view, sort: 'hardest' }, 'en'))).toEqual([
      'bfs',
      'anagrams',
      'two-sum',
      'leap-year'
    ]);
    expect(ids(arrangeProblems(problems, progress, { ...view, sort: 'title' }, 'ko'))).toEqual([
      'bfs',
      'two-sum',
      'anagrams',
      'leap-year'
    ]);
    expect(ids(arrangeProblems(problems, progress, { ...view, sort: 'progress' }, 'en'))).toEqual([
      'two-sum',
      'anagrams',
      'bfs',
      'leap-year'
    ]);
  });
  it('filters by difficulty and by progress', () => {
    const view = { ...DEFAULT_VIEW };
    expect(ids(arrangeProblems(problems, progress, { ...view, difficulty: 2 }, 'en'))).toEqual([
      'anagrams',
      'two-sum'
    ]);
    expect(ids(arrangeProblems(problems, progress, { ...view, state: 'solved' }, 'en'))).toEqual([
      'leap-year'
    ]);
    expect(ids(arrangeProblems(problems, progress, { ...view, state: 'tried' }, 'en'))).toEqual([
      'two-sum'
    ]);
    expect(
      ids(arrangeProblems(problems, progress, { ...view, state: 'unsolved', difficulty: 4 }, 'en'))
    ).toEqual(['bfs']);
  });
  it('does not change the list it is given', () => {
    const copy = [...problems];
    arrangeProblems(problems, progress, { ...DEFAULT_VIEW, sort: 'hardest' }, 'en');
    expect(problems).toEqual(copy);
  });
});

describe('latest submission', () => {
  it('is the highest id, pending while queued or running', () => {
    expect(latestSubmission(subs)!.id).toBe(4);
    expect(latestSubmission([])).toBeNull();
    expect(isPending(sub(1, 'x', null, 'queued'))).toBe(true);
    expect(isPending(sub(1, 'x', null, 'running'))).toBe(true);
    expect(isPending(sub(1, 'x', 'accepted'))).toBe(false);
  });
});

describe('generatedCaseName', () => {
  it('recognises only the names the judge makes up', () => {
    expect(generatedCaseName('public 1')).toEqual({ visibility: 'public', number: 1 });
    expect(generatedCaseName('hidden 12')).toEqual({ visibility: 'hidden', number: 12 });
    expect(generatedCaseName('century year')).toBeNull();
    expect(generatedCaseName('public 1 extra')).toBeNull();
  });
});

describe('message budget', () => {
  it('counts code points as the tutor does, after trimming', () => {
    expect(messageLength('윤년')).toBe(2);
    expect(messageLength('😀')).toBe(1);
    expect(messageBudget('  abc  ', 3)).toEqual({ count: 3, max: 3, over: false });
    expect(messageBudget('abcd', 3).over).toBe(true);
    expect(messageBudget('x'.repeat(4001)).over).toBe(true);
    expect(messageBudget('x'.repeat(4000)).over).toBe(false);
  });
});

describe('stored conversations', () => {
  it('are kept per server and problem', () => {
    expect(chatKey('/user/a/', 'leap-year')).not.toBe(chatKey('/user/a/', 'two-sum'));
    expect(chatKey('/user/a/', 'leap-year')).not.toBe(chatKey('/user/b/', 'leap-year'));
  });
  it('read back only well-formed messages', () => {
    const raw = JSON.stringify([
      { who: 'student', text: 'hi' },
      { who: 'tutor', text: 'hello', notes: ['Hint 1', 3] },
      { who: 'someone', text: 'x' },
      { who: 'tutor' },
      'junk'
    ]);
    expect(parseConversation(raw)).toEqual([
      { who: 'student', text: 'hi' },
      { who: 'tutor', text: 'hello', notes: ['Hint 1'] }
    ]);
    expect(parseConversation('not json')).toEqual([]);
    expect(parseConversation('{"who": "tutor"}')).toEqual([]);
    expect(parseConversation(null)).toEqual([]);
  });
  it('keep the newest messages only', () => {
    let messages = parseConversation(null);
    for (let i = 0; i < 5; i++) {
      messages = appendMessage(messages, { who: 'student', text: String(i) }, 3);
    }
    expect(messages.map(m => m.text)).toEqual(['2', '3', '4']);
    expect(parseConversation(JSON.stringify(messages), 2).map(m => m.text)).toEqual(['3', '4']);
  });
});
