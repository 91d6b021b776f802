import { makeHandler } from '../shared/powertools';
import { type HandlerRuntime, requireEnv } from '../shared/runtime';
import { recordEventSchema, recordRun } from './core';

/** Writes the run record of a date (succeeded, no data or failed) and clears its staging area. */
export async function handle(raw: unknown, runtime: HandlerRuntime): Promise<unknown> {
  return recordRun(recordEventSchema.parse(raw), {
    store: runtime.store,
    stagingBucket: requireEnv(runtime, 'STAGING_BUCKET'),
    goldBucket: runtime.env.GOLD_BUCKET,
    reportQuarter: runtime.env.REPORT_QUARTER,
  });
}

export const handler = makeHandler('record-run', handle);
