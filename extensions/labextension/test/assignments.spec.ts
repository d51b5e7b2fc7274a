import {
  creditLabel,
  examRemaining,
  formatCountdown,
  formatDue,
  IAssignment,
  shortReceipt
} from '../src/assignments';

function assignment(fields: Partial<IAssignment> = {}): IAssignment {
  return {
    id: 'hw1',
    course: 'cs101',
    title: 'Homework 1',
    opens_at: '2027-03-01T09:00:00+00:00',
    due_at: '2027-03-08T15:00:00+00:00',
    late_policy: { kind: 'by_date', steps: [{ hours: 48, credit: 0.8 }] },
    after_close: 'refuse',
    exam_minutes: null,
    due: '2027-03-08T15:00:00+00:00',
    closes_at: '2027-03-10T15:00:00+00:00',
    credit_now: 0.8,
    open: true,
    now: '2027-03-08T16:00:00+00:00',
    extension: null,
    exam: null,
    problems: [{ problem: 'add', points: 10 }],
    ...fields
  };
}

describe('assignments in the problems panel', () => {
  it('shows the due time in the student time zone', () => {
    const seoul = formatDue(assignment(), 'en-US', 'Asia/Seoul');
    expect(seoul).toContain('Mar 9, 2027');
    expect(seoul).toContain('12:00');
    const utc = formatDue(assignment(), 'en-US', 'UTC');
    expect(utc).toContain('Mar 8, 2027');
    expect(utc).toContain('03:00');
  });

  it('shows the credit in force now, or why there is none', () => {
    expect(creditLabel(assignment())).toBe('80%');
    expect(creditLabel(assignment({ credit_now: 0.905 }))).toBe('90.5%');
    expect(creditLabel(assignment({ open: false }))).toBe('closed');
    expect(creditLabel(assignment({ open: false }), 'ko')).toBe('마감');
    expect(creditLabel(assignment({ open: false, after_close: 'practice' }))).toBe(
      'practice only (no credit)'
    );
    expect(creditLabel(assignment({ exam_minutes: 60 }))).toBe('not started');
  });

  it('counts an exam down from the judge clock, not the local one', () => {
    const exam = assignment({
      exam_minutes: 60,
      exam: {
        minutes: 60,
        started_at: '2027-03-08T15:30:00+00:00',
        ends_at: '2027-03-08T16:30:00+00:00',
        remaining_s: 1800,
        receipts: []
      }
    });
    // the local clock is a day off; only the time since the fetch counts
    const fetched = Date.parse('2027-03-09T16:00:00Z');
    expect(examRemaining(exam, fetched, fetched)).toBe(1800);
    expect(examRemaining(exam, fetched, fetched + 61_000)).toBe(1739);
    expect(examRemaining(exam, fetched, fetched + 3_600_000)).toBe(0);
    expect(examRemaining(assignment(), fetched, fetched)).toBeNull();
  });

  it('formats countdowns and receipts', () => {
    expect(formatCountdown(3725)).toBe('1:02:05');
    expect(formatCountdown(59)).toBe('0:59');
    expect(formatCountdown(-5)).toBe('0:00');
    expect(shortReceipt('a'.repeat(64))).toBe('aaaaaaaaaaaa');
  });
});
