/**
 * Authoring a problem, without the DOM: the bilingual template notebook that
 * "New problem" creates (SPEC.md section 3, every tagged cell explained in
 * place), and the problem's metadata (`metadata.codetutor`) as the sidebar
 * form reads and checks it, with the judge's own bounds (judge/problem.py).
 */

/** The problem's settings, as the form edits them. */
export interface IProblemMeta {
  id: string;
  title: { en: string; ko: string };
  difficulty: number;
  tags: string[];
  mode: 'function' | 'stdio';
  time_limit_s: number;
  memory_limit_mb: number;
  float_tolerance: number;
}

/** The form's fields as text (what the inputs hold). */
export interface IMetaForm {
  id: string;
  titleEn: string;
  titleKo: string;
  difficulty: string;
  tags: string;
  mode: string;
  timeLimit: string;
  memoryLimit: string;
  tolerance: string;
}

/** The judge's problem id: a slug of at most 64 characters. */
export const SLUG = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Bounds the judge accepts (judge/problem.py `ProblemMeta`). */
export const LIMITS = {
  time_limit_s: [0.05, 60],
  memory_limit_mb: [32, 16384],
  float_tolerance: [0, 0.5]
} as const;

export const DEFAULT_META: IProblemMeta = {
  id: 'new-problem',
  title: { en: 'Sum of two numbers', ko: '두 수의 합' },
  difficulty: 1,
  tags: ['basics'],
  mode: 'function',
  time_limit_s: 2,
  memory_limit_mb: 256,
  float_tolerance: 1e-6
};

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** A notebook's `metadata.codetutor` (anything) with the SPEC's defaults filled in. */
export function readMeta(raw: unknown): IProblemMeta {
  const meta = (raw && typeof raw === 'object' ? raw : {}) as { [key: string]: unknown };
  const title = meta.title;
  let en = '';
  let ko = '';
  if (typeof title === 'string') {
    en = title;
  } else if (title && typeof title === 'object') {
    const t = title as { [key: string]: unknown };
    en = typeof t.en === 'string' ? t.en : '';
    ko = typeof t.ko === 'string' ? t.ko : '';
  }
  return {
    id: typeof meta.id === 'string' ? meta.id : '',
    title: { en, ko },
    difficulty: numberOr(meta.difficulty, 1),
    tags: Array.isArray(meta.tags)
      ? meta.tags.filter((t): t is string => typeof t === 'string')
      : [],
    mode: meta.mode === 'stdio' ? 'stdio' : 'function',
    time_limit_s: numberOr(meta.time_limit_s, 2),
    memory_limit_mb: numberOr(meta.memory_limit_mb, 256),
    float_tolerance: numberOr(meta.float_tolerance, 1e-6)
  };
}

/** The form's text for `meta`. */
export function toForm(meta: IProblemMeta): IMetaForm {
  return {
    id: meta.id,
    titleEn: meta.title.en,
    titleKo: meta.title.ko,
    difficulty: String(meta.difficulty),
    tags: meta.tags.join(', '),
    mode: meta.mode,
    timeLimit: String(meta.time_limit_s),
    memoryLimit: String(meta.memory_limit_mb),
    tolerance: String(meta.float_tolerance)
  };
}

/** Which field is wrong and why (English; the caller translates the message key). */
export interface IFieldError {
  field: keyof IMetaForm;
  /** a message id, translated by the caller */
  message: string;
}

function parseNumber(
  text: string,
  field: keyof IMetaForm,
  [low, high]: readonly [number, number],
  errors: IFieldError[],
  integer = false
): number {
  const value = Number(text.trim());
  if (
    !text.trim() ||
    !Number.isFinite(value) ||
    value < low ||
    value > high ||
    (integer && !Number.isInteger(value))
  ) {
    errors.push({
      field,
      message: integer ? 'a whole number from %1 to %2' : 'a number from %1 to %2'
    });
  }
  return value;
}

/**
 * The form checked as the judge checks `metadata.codetutor`: the metadata to
 * write, or the errors (field and message id; `%1`/`%2` are the bounds).
 */
export function checkForm(form: IMetaForm): { meta: IProblemMeta | null; errors: IFieldError[] } {
  const errors: IFieldError[] = [];
  const id = form.id.trim();
  if (!SLUG.test(id)) {
    errors.push({
      field: 'id',
      message: 'lowercase letters, digits, - and _ (at most 64), starting with a letter or digit'
    });
  }
  const en = form.titleEn.trim();
  const ko = form.titleKo.trim();
  if (!en && !ko) {
    errors.push({ field: 'titleEn', message: 'a title in English or Korean' });
  }
  const difficulty = parseNumber(form.difficulty, 'difficulty', [1, 5], errors, true);
  const tags = [
    ...new Set(
      form.tags
        .split(',')
        .map(t => t.trim())
        .filter(t => t)
    )
  ];
  if (form.mode !== 'function' && form.mode !== 'stdio') {
    errors.push({ field: 'mode', message: 'function or stdio' });
  }
  const time = parseNumber(form.timeLimit, 'timeLimit', LIMITS.time_limit_s, errors);
  const memory = parseNumber(form.memoryLimit, 'memoryLimit', LIMITS.memory_limit_mb, errors, true);
  const tolerance = parseNumber(form.tolerance, 'tolerance', LIMITS.float_tolerance, errors);
  if (errors.length) {
    return { meta: null, errors };
  }
  const title: { en: string; ko: string } = { en, ko };
  return {
    meta: {
      id,
      title,
      difficulty,
      tags,
      mode: form.mode as 'function' | 'stdio',
      time_limit_s: time,
      memory_limit_mb: memory,
      float_tolerance: tolerance
    },
    errors
  };
}

/** The bounds a field's message names (`%1`, `%2`). */
export function boundsOf(field: keyof IMetaForm): [number, number] | null {
  switch (field) {
    case 'difficulty':
      return [1, 5];
    case 'timeLimit':
      return [...LIMITS.time_limit_s];
    case 'memoryLimit':
      return [...LIMITS.memory_limit_mb];
    case 'tolerance':
      return [...LIMITS.float_tolerance];
    default:
      return null;
  }
}

/** `metadata.codetutor` as written to the notebook: an empty title language left out. */
export function metadataOf(meta: IProblemMeta): { [key: string]: unknown } {
  const title: { [lang: string]: string } = {};
  if (meta.title.en) {
    title.en = meta.title.en;
  }
  if (meta.title.ko) {
    title.ko = meta.title.ko;
  }
  return { ...meta, title };
}

interface ICell {
  cell_type: 'markdown' | 'code';
  metadata: { tags: string[] };
  source: string;
  execution_count?: null;
  outputs?: [];
}

function markdown(tag: string, source: string): ICell {
  return { cell_type: 'markdown', metadata: { tags: [tag] }, source };
}

function code(tag: string, source: string): ICell {
  return {
    cell_type: 'code',
    metadata: { tags: [tag] },
    source,
    execution_count: null,
    outputs: []
  };
}

/**
 * The template of a new problem: a working example (so that Validate and Publish
 * work at once) whose every tagged cell says, in Korean and English, what the tag
 * means and what students see of it. Statement notes are HTML comments (students
 * never see them); a code cell's notes are comments to replace.
 */
export function problemTemplate(id = DEFAULT_META.id): { [key: string]: unknown } {
  const cells: ICell[] = [
    markdown(
      'statement',
      '<!-- [statement] 학생이 보는 문제 설명(한국어)입니다. 영어 설명은 아래 칸에 씁니다. ' +
        '학생에게는 자기 언어의 칸이 먼저 보이고, 이 주석은 보이지 않습니다. -->\n' +
        '# 두 수의 합\n\n' +
        '정수 `a`와 `b`를 받아 그 합을 돌려주는 함수 `add(a, b)`를 작성하세요.\n\n' +
        '```python\n>>> add(1, 2)\n3\n```'
    ),
    markdown(
      'statement',
      '<!-- [statement] The problem text students see, in English (the Korean text is the ' +
        'cell above). Students see the cell in their language first; this comment is never shown. -->\n' +
        '# Sum of two numbers\n\n' +
        'Write a function `add(a, b)` that returns the sum of the integers `a` and `b`.\n\n' +
        '```python\n>>> add(1, 2)\n3\n```'
    ),
    code(
      'starter',
      '# [starter] 학생이 시작하는 코드입니다. 이 두 줄은 지우세요 / the code students start from; delete these two lines\n' +
        '# 주석을 "# 한국어 / English"로 쓰면 학생의 언어가 먼저 나옵니다 / comments written "# 한국어 / English" show the student\'s language first\n' +
        'def add(a, b):\n' +
        '    # 여기에 코드를 작성하세요 / write your code here\n' +
        '    pass'
    ),
    code(
      'solution',
      '# [solution] 참고 답안: 학생에게는 절대 보이지 않습니다. 게시할 때 이 코드로 모든 테스트의 기대값을 계산합니다.\n' +
        '# [solution] the reference solution: never shown to students. Publishing runs it to compute every expected value.\n' +
        'def add(a, b):\n' +
        '    return a + b'
    ),
    code(
      'public-tests',
      '# [public-tests] 학생이 보고 실행할 수 있는 테스트입니다. 식 한 줄이 케이스 하나이고, 기대값은 참고 답안이 돌려주는 값입니다.\n' +
        '# [public-tests] tests students see and can run. Each expression is one case; its expected value is what the solution returns.\n' +
        '# assert 문도 케이스입니다. 바로 위의 "# case: 이름" 주석이 케이스의 이름이 됩니다. 다른 문장(import, 대입)은 준비 코드입니다.\n' +
        '# An assert statement is a case too; a "# case: NAME" comment right above a case names it. Other statements (imports, assignments) are setup.\n' +
        '# (stdio 모드: 입력을 "---" 줄로 나눈 raw 셀 / stdio mode: a raw cell of inputs separated by "---" lines)\n' +
        '# case: small numbers\n' +
        'add(1, 2)\n' +
        '# case: negative\n' +
        'add(-3, 3)\n' +
        'assert add(2, 2) == 4'
    ),
    code(
      'hidden-tests',
      '# [hidden-tests] 채점에만 쓰는 숨은 테스트입니다: 학생은 케이스의 이름, 결과, 시간만 봅니다.\n' +
        "# [hidden-tests] tests only the judge has: students see only each case's name, status and time.\n" +
        '# case: large\n' +
        'add(10**6, 1)\n' +
        'add(0, 0)'
    )
  ];
  return {
    nbformat: 4,
    nbformat_minor: 4,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      language_info: { name: 'python' },
      codetutor: metadataOf({ ...DEFAULT_META, id })
    },
    cells
  };
}
