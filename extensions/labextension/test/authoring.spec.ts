import * as fs from 'fs';
import * as path from 'path';

import {
  boundsOf,
  checkForm,
  DEFAULT_META,
  metadataOf,
  problemTemplate,
  readMeta,
  SLUG,
  toForm
} from '../src/template';

interface ICell {
  cell_type: string;
  metadata: { tags: string[] };
  source: string;
}

describe('the new problem template', () => {
  const nb = problemTemplate('my-problem') as {
    metadata: { codetutor: { [key: string]: unknown } };
    cells: ICell[];
  };
  const tagged = (tag: string) => nb.cells.filter(c => c.metadata.tags.includes(tag));

  it('has every role of SPEC section 3, each explained in place in Korean and English', () => {
    for (const tag of ['statement', 'starter', 'solution', 'public-tests', 'hidden-tests']) {
      const cells = tagged(tag);
      expect(cells.length).toBeGreaterThan(0);
      const text = cells.map(c => c.source).join('\n');
      expect(text).toContain(`[${tag}]`);
      expect(text).toMatch(/[\uac00-\ud7a3]/); // Korean
      expect(text).toMatch(/\b(the|The)\b/); // English
    }
  });

  it('has one statement per language, the notes hidden from students', () => {
    const [ko, en] = tagged('statement');
    expect(ko.cell_type).toBe('markdown');
    expect(ko.source).toMatch(/^<!-- \[statement\][^]*?-->\n# 두 수의 합/);
    expect(en.source).toMatch(/^<!-- \[statement\][^]*?-->\n# Sum of two numbers/);
  });

  it('writes two-language comments as "# 한국어 / English" and names its cases', () => {
    const starter = tagged('starter')[0].source;
    expect(starter).toContain('# 여기에 코드를 작성하세요 / write your code here');
    const tests = tagged('public-tests')[0].source + '\n' + tagged('hidden-tests')[0].source;
    expect(tests).toMatch(/^# case: small numbers\nadd\(1, 2\)$/m);
    expect(tests).toMatch(/^assert add\(2, 2\) == 4$/m);
  });

  it('carries valid metadata with the given id', () => {
    const meta = readMeta(nb.metadata.codetutor);
    expect(meta.id).toBe('my-problem');
    expect(meta.title).toEqual(DEFAULT_META.title);
    expect(checkForm(toForm(meta)).errors).toEqual([]);
  });
});

describe('the problem settings form', () => {
  const good = toForm(DEFAULT_META);

  it('reads any metadata with the defaults of SPEC section 3', () => {
    expect(readMeta(undefined)).toEqual({
      id: '',
      title: { en: '', ko: '' },
      difficulty: 1,
      tags: [],
      mode: 'function',
      time_limit_s: 2,
      memory_limit_mb: 256,
      float_tolerance: 1e-6
    });
    expect(readMeta({ id: 'x', title: 'Plain', mode: 'stdio', tags: ['a', 3] })).toMatchObject({
      title: { en: 'Plain', ko: '' },
      mode: 'stdio',
      tags: ['a']
    });
  });

  it('writes what the judge accepts', () => {
    const { meta, errors } = checkForm({ ...good, tags: ' loops, lists ,loops,, ', titleKo: ' ' });
    expect(errors).toEqual([]);
    expect(meta?.tags).toEqual(['loops', 'lists']);
    expect(metadataOf(meta!)).toEqual({
      ...DEFAULT_META,
      tags: ['loops', 'lists'],
      title: { en: 'Sum of two numbers' }
    });
  });

  it('names each wrong field, with the judge bounds', () => {
    const { meta, errors } = checkForm({
      ...good,
      id: 'Has Spaces',
      titleEn: '',
      titleKo: '',
      difficulty: '6',
      mode: 'gui',
      timeLimit: '0',
      memoryLimit: '12.5',
      tolerance: 'x'
    });
    expect(meta).toBeNull();
    expect(errors.map(e => e.field)).toEqual([
      'id',
      'titleEn',
      'difficulty',
      'mode',
      'timeLimit',
      'memoryLimit',
      'tolerance'
    ]);
    expect(boundsOf('timeLimit')).toEqual([0.05, 60]);
    expect(boundsOf('memoryLimit')).toEqual([32, 16384]);
    expect(boundsOf('id')).toBeNull();
  });

  it('accepts the slugs the judge accepts', () => {
    expect(SLUG.test('leap-year_2')).toBe(true);
    expect(SLUG.test('-leap')).toBe(false);
    expect(SLUG.test('a'.repeat(65))).toBe(false);
  });

  it('has Korean for the form messages built at run time', () => {
    const catalog = JSON.parse(
      fs.readFileSync(
        path.join(__dirname, '..', '..', 'locale', 'ko_KR', 'LC_MESSAGES', 'codetutor.json'),
        'utf-8'
      )
    );
    const bad = checkForm({
      ...good,
      id: '-',
      titleEn: '',
      titleKo: '',
      difficulty: '0',
      mode: '?',
      timeLimit: '',
      memoryLimit: '1',
      tolerance: '9'
    });
    for (const error of bad.errors) {
      expect([error.message, catalog[error.message]]).not.toEqual([error.message, undefined]);
    }
  });
});
