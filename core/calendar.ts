/** Calendar arithmetic on `YYYY-MM-DD` dates and `YYYY-MM` months (UTC, text compares as time). */

export const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** True for a real calendar date written as YYYY-MM-DD. */
export function isCalendarDate(value: string): boolean {
  if (!ISO_DATE.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** The calendar date of `instant` in `timeZone`, as YYYY-MM-DD. */
export function dateInZone(instant: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(instant);
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')}`;
}

/**
 * Whether the wall-clock time `hour:minute` of `date` exists in `timeZone` (it does not in the hour
 * a daylight-saving change skips).
 */
export function localTimeExists(date: string, hour: number, minute: number, timeZone: string): boolean {
  const format = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  });
  const local = (instant: number): string => {
    const parts = format.formatToParts(new Date(instant));
    const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
    return `${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}`;
  };
  const wanted = `${date}T${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
  const asUtc = Date.parse(`${wanted}:00Z`);
  // The zone's offsets around that day (one, or two across a change): the time exists when one of
  // them maps it to an instant that reads back as the same wall-clock time.
  const offsets = new Set(
    [asUtc - 86_400_000, asUtc + 86_400_000].map(
      (t) => Date.parse(`${local(t)}:00Z`) - Math.floor(t / 60_000) * 60_000,
    ),
  );
  return [...offsets].some((offset) => local(asUtc - offset) === wanted);
}

/** 'YYYY-MM' → the following month. */
export function nextMonth(month: string): string {
  const [y, m] = month.split('-').map(Number);
  return m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`;
}

/** 'YYYY-MM' → the month `months` later (earlier when negative); years stay 4 digits (0000–9999). */
export function addMonths(month: string, months: number): string {
  const index = monthIndex(month) + months;
  const y = Math.floor(index / 12);
  const m = index - y * 12 + 1;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}`;
}

/** The number of months from `from` to `to` ('YYYY-MM'): 0 for the same month, negative when `to` is earlier. */
export function monthsBetween(from: string, to: string): number {
  return monthIndex(to) - monthIndex(from);
}

function monthIndex(month: string): number {
  const [y, m] = month.split('-').map(Number);
  return y * 12 + (m - 1);
}
