/**
 * An error whose `name` is a code of the spec (e.g. QUALITY_GATE_FAILED). Step Functions sees the
 * name as the task's error, so Retry can leave data errors alone and the failure path records it.
 */
export class PipelineError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = code;
  }
}

/** Invalid input to the state machine (bad dates, reversed range). Never retried. */
export const INVALID_RUN_INPUT = 'INVALID_RUN_INPUT';

/**
 * Another execution that is still running holds the lake's lease (SPEC §1 concurrency): this one
 * ends FAILED having changed nothing. Never retried.
 */
export const LAKE_BUSY = 'LAKE_BUSY';
