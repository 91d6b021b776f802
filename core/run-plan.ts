import { z } from 'zod';
import { addDays, dateInZone, isCalendarDate, localTimeExists } from './calendar';
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

/**
 * What the pipeline's entry execution loops over: the run's dates in batches, one calendar month
 * each, each processed by one child execution (`txlake-<env>-dates`), so that no execution's
 * history grows with the length of a backfill (Step Functions keeps 25,000 events per execution).
 */
export interface ExecutionPlan {
  readonly execution_id: string;
  readonly batches: string[][];
  readonly count: number;
  readonly index: number;
}

/** The input of a child execution: one batch of dates of the entry execution `execution_id`. */
export const dateBatchSchema = z
  .object({
    /** the entry execution's id (run ids and run records are named by it) */
    execution_id: z.string().min(1),
    /** the entry execution's `$$.Execution.Id`: the holder of the lake's lease */
    lease_holder: z.string().min(1),
    dates: z.array(isoDate).min(1).max(31),
  })
  .strict();
export type DateBatch = z.infer<typeof dateBatchSchema>;

/** What a child execution loops over: its batch's dates not yet finished, with their run ids. */
export interface BatchRun {
  readonly execution_id: string;
  readonly lease_holder: string;
  readonly dates: string[];
  readonly run_ids: string[];
  readonly count: number;
  readonly index: number;
}

/** The dates grouped by calendar month, in order. */
export function monthlyBatches(dates: readonly string[]): string[][] {
  const batches: string[][] = [];
  for (const date of dates) {
    const last = batches[batches.length - 1];
    if (last && last[0].slice(0, 7) === date.slice(0, 7)) last.push(date);
    else batches.push([date]);
  }
  return batches;
}

/** The entry execution's plan of a resolved run. */
export function executionPlan(run: ResolvedRun): ExecutionPlan {
  const batches = monthlyBatches(run.dates);
  return { execution_id: run.execution_id, batches, count: batches.length, index: 0 };
}

/**
 * A child execution's dates: the batch's, but for those the execution has finished already (a
 * redriven execution continues where it stopped).
 */
export function batchRun(batch: DateBatch, finished: ReadonlySet<string>): BatchRun {
  const dates = batch.dates.filter((d) => !finished.has(d));
  return {
    execution_id: batch.execution_id,
    lease_holder: batch.lease_holder,
    dates,
    run_ids: dates.map((d) => runIdFor(d, batch.execution_id)),
    count: dates.length,
    index: 0,
  };
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

/** The local time of the nightly schedule (in the deployment's `scheduleTimeZone`). */
export const SCHEDULE_LOCAL_TIME = { hour: 2, minute: 0 } as const;
/** The nightly schedule's EventBridge Scheduler expression (evaluated in the schedule's zone). */
export const SCHEDULE_EXPRESSION = `cron(${SCHEDULE_LOCAL_TIME.minute} ${SCHEDULE_LOCAL_TIME.hour} * * ? *)`;

/**
 * The dates a schedule tick (or an empty start) processes: the previous day in the schedule's
 * zone — and the day before it too when the tick that would have processed that one did not
 * exist: EventBridge Scheduler skips a tick whose local time a daylight-saving change skips (02:00
 * on the last Sunday of March in Europe/Zurich), so the next night's run catches up.
 */
export function scheduledDates(tick: Date, timeZone: string): string[] {
  const day = addDays(dateInZone(tick, timeZone), -1);
  const { hour, minute } = SCHEDULE_LOCAL_TIME;
  return localTimeExists(day, hour, minute, timeZone) ? [day] : [addDays(day, -1), day];
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
    dates = scheduledDates(new Date(value.scheduled_time ?? context.startTime), context.timeZone);
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
    const days = scheduledDates(tick, timeZone);
    return { from: days[0], to: days[days.length - 1] };
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
