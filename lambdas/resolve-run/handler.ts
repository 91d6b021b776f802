import { z } from 'zod';
import { recoverPendingJournals } from '../shared/journal';
import { makeHandler } from '../shared/powertools';
import { type HandlerRuntime, lakeBuckets } from '../shared/runtime';
import { resolveExecution } from './core';

const event = z.object({
  input: z.unknown(),
  execution_name: z.string().min(1),
  start_time: z.string().min(1),
});

/** Resolves the execution input into the ordered list of ingest dates to process. */
export async function handle(raw: unknown, runtime: HandlerRuntime): Promise<unknown> {
  const parsed = event.parse(raw);
  const staging = lakeBuckets(runtime).staging;
  // A run cut off mid-publish (killed, or its failure path never ran) is rolled back before anything
  // new is read; runs younger than the recovery age may still be in flight and are left alone.
  const minAgeMinutes = Number(runtime.env.JOURNAL_RECOVERY_MIN_AGE_MINUTES ?? '1440');
  const context = {
    executionName: parsed.execution_name,
    startTime: parsed.start_time,
    timeZone: runtime.env.SCHEDULE_TIME_ZONE ?? 'UTC',
  };
  return resolveExecution(parsed.input, context, {
    store: runtime.store,
    stagingBucket: staging,
    beforeClaim: () => recoverPendingJournals(runtime.store, staging, minAgeMinutes * 60_000),
  });
}

export const handler = makeHandler('resolve-run', handle);
