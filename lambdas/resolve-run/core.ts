import { z } from 'zod';
import { INVALID_RUN_INPUT, PipelineError } from '../../core/errors';
import { isCalendarDate } from '../../core/lake-layout';

/** Most dates one execution may process (ten years of daily files). */
export const MAX_DATES_PER_RUN = 3660;

const isoDate = z.string().refine(isCalendarDate, { message: 'must be a calendar date YYYY-MM-DD' });

/** What an execution can be started with: a schedule tick, one date, or a backfill range. */
const runInput = z.union([
  z.object({ date: isoDate }).strict(),
  z.object({ from: isoDate, to: isoDate }).strict(),
  z.object({ scheduled_time: z.string().datetime({ offset: true }) }).strict(),
  z.object({}).strict(),
]);

export interface ResolvedRun {
  readonly execution_id: string;
  readonly dates: string[];
  readonly run_ids: string[];
  readonly count: number;
  readonly index: number;
}

export interface ResolveContext {
  readonly executionName: string;
  /** The execution's start time (ISO 8601); used when the input names no date. */
  readonly startTime: string;
  /** IANA time zone of the schedule: the previous day is taken in this zone. */
  readonly timeZone: string;
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

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** Every date from `from` to `to` inclusive, ascending. */
export function dateRange(from: string, to: string): string[] {
  const dates: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) {
    dates.push(d);
    if (dates.length > MAX_DATES_PER_RUN) {
      throw new PipelineError(INVALID_RUN_INPUT, `a run covers at most ${MAX_DATES_PER_RUN} dates`);
    }
  }
  return dates;
}

/** Execution names allow more than S3 keys like; keep run ids to a safe alphabet. */
export function sanitizeId(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80);
}

export function resolveRun(input: unknown, context: ResolveContext): ResolvedRun {
  const parsed = runInput.safeParse(input ?? {});
  if (!parsed.success) {
    throw new PipelineError(
      INVALID_RUN_INPUT,
      `run input must be {"date": D}, {"from": D1, "to": D2} or a schedule tick: ${parsed.error.issues
        .map((i) => `${i.path.join('.') || 'input'} ${i.message}`)
        .join('; ')}`,
    );
  }
  const value = parsed.data as Record<string, string>;
  let dates: string[];
  if (value.date) {
    dates = [value.date];
  } else if (value.from && value.to) {
    if (value.from > value.to) {
      throw new PipelineError(INVALID_RUN_INPUT, `"from" (${value.from}) is after "to" (${value.to})`);
    }
    dates = dateRange(value.from, value.to);
  } else {
    // A schedule tick (or an empty start) processes the previous day in the schedule's zone.
    const instant = new Date(value.scheduled_time ?? context.startTime);
    dates = [addDays(dateInZone(instant, context.timeZone), -1)];
  }
  const executionId = sanitizeId(context.executionName);
  return {
    execution_id: executionId,
    dates,
    run_ids: dates.map((d) => `${d}_${executionId}`),
    count: dates.length,
    index: 0,
  };
}
