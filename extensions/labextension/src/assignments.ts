/**
 * Assignments as the problems panel shows them: the judge's view of an
 * assignment (`GET /services/judge/api/courses/C/assignments`, see
 * judge/openapi.yaml `Assignment`), the due time in the student's time zone,
 * the credit in force now, and an exam's countdown. Pure functions (no DOM),
 * so the panel's owners can render them wherever they fit.
 *
 * The judge computes `credit_now` and the exam window with its late-policy
 * code (judge/policy.py); the panel only formats them, and counts an exam
 * down from the judge's own `now` so that a wrong clock on the student's
 * machine changes nothing.
 */

/** The late policy as the judge sends it. */
export interface ILatePolicy {
  kind: 'none' | 'by_date' | 'per_hour';
  steps?: { hours: number; credit: number }[];
  penalty?: number;
  max_hours?: number | null;
}

/** An exam's state for the caller. */
export interface IExamWindow {
  minutes: number;
  started_at: string | null;
  ends_at: string | null;
  remaining_s: number | null;
  receipts: { submission: number; problem: string; sha256: string | null; submitted_at: string }[];
}

/** An assignment as the judge shows it to the caller. */
export interface IAssignment {
  id: string;
  course: string;
  title: string;
  opens_at: string;
  due_at: string;
  late_policy: ILatePolicy;
  after_close: 'refuse' | 'practice';
  exam_minutes: number | null;
  /** the caller's own due time (an extension's, else the assignment's) */
  due: string;
  closes_at: string | null;
  credit_now: number;
  open: boolean;
  /** the judge's time when it answered */
  now: string;
  extension: { due_at: string | null; time_multiplier: number } | null;
  exam: IExamWindow | null;
  problems: { problem: string; points: number }[];
}

/** The due time in `timeZone` (the student's, by default the browser's) and `locale`. */
export function formatDue(
  assignment: Pick<IAssignment, 'due'>,
  locale?: string,
  timeZone?: string
): string {
  return new Date(assignment.due).toLocaleString(locale, {
    timeZone,
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short'
  });
}

/** The credit in force now as a percentage ("80%"), or what stands instead of it. */
export function creditLabel(
  assignment: Pick<IAssignment, 'credit_now' | 'open' | 'after_close' | 'exam' | 'exam_minutes'>,
  lang: 'en' | 'ko' = 'en'
): string {
  const ko = lang === 'ko';
  if (assignment.exam_minutes !== null && !assignment.exam?.started_at) {
    return ko ? '시작 전' : 'not started';
  }
  if (!assignment.open) {
    if (assignment.after_close === 'practice') {
      return ko ? '연습만 (점수 없음)' : 'practice only (no credit)';
    }
    return ko ? '마감' : 'closed';
  }
  return `${Math.round(assignment.credit_now * 1000) / 10}%`;
}

/**
 * Seconds left in the caller's exam at the local moment `localNow` (ms),
 * counted from the judge's `now` when the view was fetched at `fetchedAt`
 * (ms, local clock); null when no exam window is running.
 */
export function examRemaining(
  assignment: Pick<IAssignment, 'exam' | 'now'>,
  fetchedAt: number,
  localNow: number
): number | null {
  const ends = assignment.exam?.ends_at;
  if (!ends) {
    return null;
  }
  const serverNow = Date.parse(assignment.now) + (localNow - fetchedAt);
  return Math.max(0, Math.floor((Date.parse(ends) - serverNow) / 1000));
}

/** A countdown as `H:MM:SS` (or `M:SS` under an hour). */
export function formatCountdown(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`;
}

/** The short form of a receipt's hash, as a student copies it down (first 12 hex digits). */
export function shortReceipt(sha256: string): string {
  return sha256.slice(0, 12);
}
