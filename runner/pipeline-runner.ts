import { dateRange, type RunRequest } from '../core/run-plan';
import type { RunRecord } from '../core/run-record';

/** How an execution ended: each date's run record, and why it failed when no date recorded it. */
export interface RunOutcome {
  readonly status: 'SUCCEEDED' | 'FAILED';
  /** One per processed date, ascending. */
  readonly records: RunRecord[];
  /** Why the execution failed when no date recorded it (e.g. invalid input). */
  readonly error?: { readonly code: string; readonly detail: string };
}

/** How a state of the state machine ended (or was retried, or caught), as the history says. */
export type StateOutcome = 'ok' | 'failed' | 'retry' | 'caught';

/**
 * What a runner reports while an execution goes on (SPEC §5: progress goes to stderr; the CLI
 * decides how to show it).
 * - `plan`: the dates the run covers are known.
 * - `entered`: a state of the state machine began.
 * - `state`: a state of the state machine ended (`date`: the date it worked on, when one had begun).
 * - `date`: a date's run record was written (RecordSucceeded, RecordNoData, RecordFailed or
 *   RecordCommitted ended): the date is done; a date may be reported again if it is recorded again.
 * - `note`: anything else; `detail` notes (quota figures, notifications, the execution's end) are
 *   for a verbose display only.
 */
export type ProgressEvent =
  | { readonly kind: 'plan'; readonly total: number; readonly from: string; readonly to: string }
  | { readonly kind: 'entered'; readonly date?: string; readonly state: string }
  | {
      readonly kind: 'state';
      readonly date?: string;
      readonly state: string;
      readonly outcome: StateOutcome;
      readonly seconds?: number;
      /** When the state ended (epoch ms, as the history has it). */
      readonly at?: number;
      /** The error of a failed state. */
      readonly detail?: string;
    }
  | { readonly kind: 'date'; readonly record: RunRecord }
  | { readonly kind: 'note'; readonly level: 'info' | 'detail'; readonly text: string };

export type Progress = (event: ProgressEvent) => void;

/** The states that write a date's run record: their exit is the end of the date. */
export const RECORD_STATES: ReadonlySet<string> = new Set([
  'RecordSucceeded',
  'RecordNoData',
  'RecordFailed',
  'RecordCommitted',
]);

/**
 * The text line of an event, as the runners have always printed it (`state` and `note` events;
 * `plan` and `date` have none): `<date or -> <state> <outcome> <seconds>s [error]`.
 */
export function progressLine(event: ProgressEvent): string | undefined {
  switch (event.kind) {
    case 'state': {
      const seconds = event.seconds === undefined ? '' : ` ${event.seconds.toFixed(2)}s`;
      const detail = event.detail ? ` ${event.detail}` : '';
      return `${(event.date || '-').padEnd(10)} ${event.state.padEnd(16)} ${event.outcome.padEnd(7)}${seconds}${detail}`;
    }
    case 'note':
      return event.text;
    default:
      return undefined;
  }
}

/** The `plan` event of a request: its dates, counted (undefined for a request no run accepts). */
export function planOf(request: RunRequest): ProgressEvent | undefined {
  const [from, to] = 'date' in request ? [request.date, request.date] : [request.from, request.to];
  try {
    return { kind: 'plan', total: dateRange(from, to).length, from, to };
  } catch {
    return undefined;
  }
}

/**
 * One progress sink out of a line printer (today's text lines) and an event listener, either
 * optional; undefined when neither is given.
 */
export function progressSink(
  lines: ((line: string) => void) | undefined,
  events: Progress | undefined,
): Progress | undefined {
  if (!lines && !events) return undefined;
  return (event) => {
    events?.(event);
    if (lines) {
      const line = progressLine(event);
      if (line !== undefined) lines(line);
    }
  };
}

/**
 * Runs the pipeline's state machine over the dates of a request and follows it to the end: on the
 * deployed environment (runner/aws) or on a local lake (runner/local), with the same outcome.
 * `progress` hears of the plan, each state, each date's record and the rest as they happen.
 */
export interface PipelineRunner {
  run(request: RunRequest, progress: Progress): Promise<RunOutcome>;
}
