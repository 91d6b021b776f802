import { z } from 'zod';
import { addDays, dateInZone, isCalendarDate } from './calendar';
import { INVALID_RUN_INPUT, PipelineError } from './errors';

/**
 * What a run means, in one place: the inputs an execution may be started with, the dates they
 * name, and the ids of the execution and of each date's run. ResolveRun applies it in the state
 * machine; the runners use it to name and follow executions.
 */

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

/** The input a runner starts an execution with: one date or a range. */
export type RunRequest = { readonly date: string } | { readonly from: string; readonly to: string };

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

/** A date interval, both ends inclusive (YYYY-MM-DD compares as text). */
export interface DateSpan {
  readonly from: string;
  readonly to: string;
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

/** The run id of one date of an execution. */
export const runIdFor = (ingestDate: string, executionId: string): string => `${ingestDate}_${executionId}`;

/** A schedule tick (or an empty start) means the previous day in the schedule's zone. */
export const scheduledDate = (tick: Date, timeZone: string): string => addDays(dateInZone(tick, timeZone), -1);

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
    dates = [scheduledDate(new Date(value.scheduled_time ?? context.startTime), context.timeZone)];
  }
  const executionId = sanitizeId(context.executionName);
  return {
    execution_id: executionId,
    dates,
    run_ids: dates.map((d) => runIdFor(d, executionId)),
    count: dates.length,
    index: 0,
  };
}

/**
 * The dates an execution input names, leniently (an input of a running execution, read back):
 * `{date}`, `{from, to}`, or, for a schedule tick (or an empty start), the day before the tick in
 * the schedule's zone. Undefined when it cannot be told.
 */
export function inputDates(
  input: unknown,
  startDate: Date | undefined,
  timeZone: string | undefined,
): DateSpan | undefined {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return undefined;
  const value = input as Record<string, unknown>;
  if (typeof value.date === 'string') return { from: value.date, to: value.date };
  if (typeof value.from === 'string' && typeof value.to === 'string') return { from: value.from, to: value.to };
  if (!timeZone) return undefined;
  const tick = typeof value.scheduled_time === 'string' ? new Date(value.scheduled_time) : startDate;
  if (!tick || Number.isNaN(tick.getTime())) return undefined;
  try {
    const day = scheduledDate(tick, timeZone);
    return { from: day, to: day };
  } catch {
    return undefined;
  }
}

/** `cli-<dates>-<yyyymmddHHMMSS>`: readable, unique per second, within Step Functions' 80 characters. */
export function executionName(requested: DateSpan, now: Date): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const dates = requested.from === requested.to ? requested.from : `${requested.from}_${requested.to}`;
  return sanitizeId(`cli-${dates}-${stamp}`);
}
