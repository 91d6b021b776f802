import { z } from 'zod';
import { makeHandler } from '../shared/powertools';
import type { HandlerRuntime } from '../shared/runtime';
import { resolveRun } from './core';
import { recoverPendingJournals } from '../shared/journal';
import { lakeBuckets } from '../shared/runtime';

const event = z.object({
  input: z.unknown(),
  execution_name: z.string().min(1),
  start_time: z.string().min(1),
});

/** Resolves the execution input into the ordered list of ingest dates to process. */
export async function handle(raw: unknown, runtime: HandlerRuntime): Promise<unknown> {
  const parsed = event.parse(raw);
  const resolved = resolveRun(parsed.input, {
    executionName: parsed.execution_name,
    startTime: parsed.start_time,
    timeZone: runtime.env.SCHEDULE_TIME_ZONE ?? 'UTC',
  });
  // A publish cut off mid-way (crash, timeout) is finished before anything new is read.
  await recoverPendingJournals(runtime.store, lakeBuckets(runtime));
  return resolved;
}

export const handler = makeHandler('resolve-run', handle);
