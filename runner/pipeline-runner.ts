import type { RunRequest } from '../core/run-plan';
import type { RunRecord } from '../core/run-record';

/** How an execution ended: each date's run record, and why it failed when no date recorded it. */
export interface RunOutcome {
  readonly status: 'SUCCEEDED' | 'FAILED';
  /** One per processed date, ascending. */
  readonly records: RunRecord[];
  /** Why the execution failed when no date recorded it (e.g. invalid input). */
  readonly error?: { readonly code: string; readonly detail: string };
}

/**
 * Runs the pipeline's state machine over the dates of a request and follows it to the end: on the
 * deployed environment (runner/aws) or on a local lake (runner/local), with the same outcome.
 */
export interface PipelineRunner {
  run(request: RunRequest, progress: (line: string) => void): Promise<RunOutcome>;
}
