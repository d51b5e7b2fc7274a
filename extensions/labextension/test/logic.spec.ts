import * as fs from 'fs';
import * as path from 'path';

import {
  allTags,
  bestByProblem,
  ChatReply,
  EventStreamParser,
  filterProblems,
  formatScore,
  formatTime,
  IProblem,
  ISubmission,
  languageOf,
  locateLine,
  localized,
  replyOrigin,
  stageOf,
  studentCode,
  verdictTone
} from '../src/logic';

const problems: IProblem[] = [
  { id: 'leap-year', title: { en: 'Leap year', ko: '윤년' }, difficulty: 2, tags: ['math'] },
  { id: 'two-sum', title: { en: 'Two sum', ko: '두 수의 합' }, difficulty: 1, tags: ['array'] },
  { id: 'bfs', title: 'BFS distances', difficulty: 4, tags: ['graph', 'array'] }
];

function sub(id: number, problem: string, verdict: string | null, score: number | null): ISubmission {
  return {
    id,
    problem,
    status: verdict ? 'judged' : 'queued',
    verdict,
    score,
    time_ms: 1
  };
}

describe('languageOf', () => {
  it('maps JupyterLab language codes to the tutor language', () => {
    expect(languageOf('ko_KR')).toBe('ko');
    expect(languageOf('ko-KR')).toBe('ko');
    expect(languageOf('en')).toBe('en');
    expect(languageOf('fr_FR')).toBe('en');
    expect(languageOf(undefined)).toBe('en');
  });
});

describe('localized', () => {
  it('picks the language, then English, then any', () => {
    expect(localized({ en: 'Leap year', ko: '윤년' }, 'ko')).toBe('윤년');
    expect(localized({ en: 'Leap year' }, 'ko')).toBe('Leap year');
    expect(localized({ fr: 'Bissextile' }, 'ko')).toBe('Bissextile');
    expect(localized('plain', 'ko')).toBe('plain');
    expect(localized(undefined, 'ko', 'id')).toBe('id');
  });
});

describe('filterProblems', () => {
  it('sorts by difficulty then title', () => {
    expect(filterProblems(problems, '', '', 'en').map(p => p.id)).toEqual([
      'two-sum',
      'leap-year',
      'bfs'
    ]);
  });
  it('searches ids, both titles and tags, ignoring case', () => {
    expect(filterProblems(problems, '윤년', '', 'en').map(p => p.id)).toEqual(['leap-year']);
    expect(filterProblems(problems, 'TWO', '', 'en').map(p => p.id)).toEqual(['two-sum']);
    expect(filterProblems(problems, 'graph', '', 'en').map(p => p.id)).toEqual(['bfs']);
  });
  it('filters by tag', () => {
    expect(filterProblems(problems, '', 'array', 'en').map(p => p.id)).toEqual(['two-sum', 'bfs']);
    expect(filterProblems(problems, 'bfs', 'math', 'en')).toEqual([]);
  });
  it('lists every tag once, sorted', () => {
    expect(allTags(problems)).toEqual(['array', 'graph', 'math']);
  });
});

describe('bestByProblem', () => {
  it('prefers accepted, then the higher score, and ignores unjudged', () => {
    const best = bestByProblem([
      sub(5, 'leap-year', 'wrong_answer', 0.5),
      sub(4, 'leap-year', 'accepted', 1),
      sub(3, 'leap-year', 'runtime_error', 0.9),
      sub(2, 'two-sum', 'wrong_answer', 0.25),
      sub(1, 'two-sum', 'time_limit_exceeded', 0.75),
      sub(6, 'bfs', null, null)
    ]);
    expect(best.get('leap-year')!.id).toBe(4);
    expect(best.get('two-sum')!.id).toBe(1);
    expect(best.has('bfs')).toBe(false);
  });
});

describe('studentCode and locateLine', () => {
  const cells = [
    { cell_type: 'markdown', source: '# Leap year' },
    { cell_type: 'code', source: 'def is_leap(y):\n    return y % 4 == 0\n', metadata: {} },
    { cell_type: 'code', source: ['is_leap(2000)\n', 'is_leap(1900)'], metadata: { tags: ['public-tests'] } },
    { cell_type: 'code', source: '   \n' },
    { cell_type: 'code', source: 'x = 1\ny = 2' }
  ];
  const student = studentCode(cells);

  it('joins the judged cells as the judge does', () => {
    expect(student.code).toBe('def is_leap(y):\n    return y % 4 == 0\n\n\nx = 1\ny = 2');
    expect(student.cells).toEqual([1, 4]);
  });

  it('maps lines of the joined code back to cell and line', () => {
    const lines = student.code.split('\n');
    expect(lines[1 - 1]).toBe('def is_leap(y):');
    expect(locateLine(student, 1)).toEqual({ cell: 1, line: 1 });
    expect(locateLine(student, 2)).toEqual({ cell: 1, line: 2 });
    expect(lines[5 - 1]).toBe('x = 1');
    expect(locateLine(student, 5)).toEqual({ cell: 4, line: 1 });
    expect(locateLine(student, 6)).toEqual({ cell: 4, line: 2 });
    // the blank line between two cells belongs to neither
    expect(locateLine(student, 4)).toBeNull();
    expect(locateLine(student, 0)).toBeNull();
  });
});

describe('EventStreamParser', () => {
  it('parses events split anywhere across chunks and drops comments', () => {
    const parser = new EventStreamParser();
    const text =
      'event: status\ndata: {"status": "queued"}\n\n: ping\n\nevent: verdict\r\ndata: {"status":\r\ndata: "judged"}\r\n\r\n';
    const events = [];
    for (let i = 0; i < text.length; i += 7) {
      events.push(...parser.feed(text.slice(i, i + 7)));
    }
    expect(events).toEqual([
      { event: 'status', data: '{"status": "queued"}' },
      { event: 'verdict', data: '{"status":\n"judged"}' }
    ]);
  });
});

describe('replyOrigin', () => {
  it('names where a reply came from, so the panel can say it plainly', () => {
    expect(replyOrigin('off', ['grounded'])).toBe('grounded');
    expect(replyOrigin('completion', ['grounded', 'instructor'])).toBe('instructor');
    expect(replyOrigin('completion', ['grounded', 'model'])).toBe('base-model');
    expect(replyOrigin('chat', ['grounded', 'model'])).toBe('model');
    expect(replyOrigin(undefined, [])).toBeNull();
  });
  it('is kept by a reply from its done event', () => {
    const reply = new ChatReply();
    reply.apply({ type: 'token', text: 'The first failing public test is `is_leap(1900)`.' });
    reply.apply({ type: 'done', level: 1, mode: 'off', sources: ['grounded', 'instructor'] });
    expect(reply.mode).toBe('off');
    expect(replyOrigin(reply.mode, reply.sources)).toBe('instructor');
  });
});

describe('ChatReply', () => {
  it('streams tokens until done', () => {
    const reply = new ChatReply();
    expect(reply.apply({ type: 'token', text: 'Think ' })).toBe(false);
    expect(reply.apply({ type: 'token', text: 'about 400.' })).toBe(false);
    expect(reply.text).toBe('Think about 400.');
    expect(reply.apply({ type: 'done', level: 2 })).toBe(true);
    expect(reply.level).toBe(2);
  });
  it('replaces a withheld reply', () => {
    const reply = new ChatReply();
    reply.apply({ type: 'token', text: 'def is_leap' });
    reply.apply({ type: 'replace', text: 'Try a smaller case first.' });
    reply.apply({ type: 'done' });
    expect(reply.text).toBe('Try a smaller case first.');
    expect(reply.withheld).toBe(true);
  });
  it('knows when it was rate-limited', () => {
    const reply = new ChatReply();
    expect(reply.apply({ type: 'error', message: 'slow down', status: 429, retry_after: 3 })).toBe(
      true
    );
    expect(reply.rateLimited).toBe(true);
    expect(reply.error!.retryAfter).toBe(3);
    const other = new ChatReply();
    other.apply({ type: 'error', message: 'no such problem', status: 404 });
    expect(other.rateLimited).toBe(false);
  });
  it('records a stop', () => {
    const reply = new ChatReply();
    reply.apply({ type: 'done', stopped: true });
    expect(reply.stopped).toBe(true);
  });
});

describe('formatting', () => {
  it('formats scores, times, tones and stages', () => {
    expect(formatScore(2 / 3)).toBe('67%');
    expect(formatScore(null)).toBe('–');
    expect(formatTime(12.4)).toBe('12 ms');
    expect(formatTime(1500)).toBe('1.5 s');
    expect(formatTime(undefined)).toBe('–');
    expect(verdictTone('accepted')).toBe('good');
    expect(verdictTone('wrong_answer')).toBe('bad');
    expect(verdictTone('internal_error')).toBe('neutral');
    expect(stageOf('running')).toBe('running');
    expect(stageOf('lost')).toBe('failed');
  });
});

describe('the Korean catalog', () => {
  it('translates every message the front end shows', () => {
    const src = path.join(__dirname, '..', 'src');
    const used = new Set<string>();
    for (const file of fs.readdirSync(src)) {
      const text = fs.readFileSync(path.join(src, file), 'utf-8');
      for (const match of text.matchAll(/trans\.__\(\s*'([^']*)'/g)) {
        used.add(match[1]);
      }
    }
    expect(used.size).toBeGreaterThan(50);
    const catalog = JSON.parse(
      fs.readFileSync(
        path.join(__dirname, '..', '..', 'locale', 'ko_KR', 'LC_MESSAGES', 'codetutor.json'),
        'utf-8'
      )
    );
    expect(catalog[''].domain).toBe('codetutor');
    const missing = [...used].filter(msgid => !catalog[msgid]);
    expect(missing).toEqual([]);
    for (const msgid of used) {
      const placeholders = (s: string) => (s.match(/%\d/g) ?? []).sort().join();
      expect([msgid, placeholders(catalog[msgid][0])]).toEqual([msgid, placeholders(msgid)]);
    }
  });
});
