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
    // The deployment turns the monthly status report on (STATUS_REPORTS=on); local runs, whose
    // reports would be stamped with the wall clock, leave it off (`txlake report` makes one).
    statusReport:
      runtime.env.STATUS_REPORTS === 'on'
        ? {
            timeZone: runtime.env.SCHEDULE_TIME_ZONE ?? 'UTC',
            environment: runtime.env.TXLAKE_ENV,
            warn: (message: string) => console.warn(message),
          }
        : undefined,
  });
}

export const handler = makeHandler('record-run', handle);
