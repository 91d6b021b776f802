import { z } from 'zod';
import { makeHandler } from '../shared/powertools';
import type { HandlerRuntime } from '../shared/runtime';
import { resolveRun, sanitizeId } from './core';
import { recoverPendingJournals } from '../shared/journal';
import { lakeBuckets } from '../shared/runtime';

/** Where the first execution of a schedule tick leaves its claim. */
export const scheduleTickKey = (scheduledTime: string): string => `schedule-ticks/${sanitizeId(scheduledTime)}.json`;

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
  // A run cut off mid-publish (killed, or its failure path never ran) is rolled back before anything
  // new is read; runs younger than the recovery age may still be in flight and are left alone.
  const staging = lakeBuckets(runtime).staging;
  const minAgeMinutes = Number(runtime.env.JOURNAL_RECOVERY_MIN_AGE_MINUTES ?? '1440');
  await recoverPendingJournals(runtime.store, staging, minAgeMinutes * 60_000);
  // EventBridge Scheduler delivers at least once: the first execution of a tick claims it, a
  // duplicate delivery of the same tick processes nothing.
  const tick = (parsed.input as { scheduled_time?: unknown } | null)?.scheduled_time;
  if (typeof tick === 'string') {
    const claimed = await runtime.store.putIfAbsent(
      staging,
      scheduleTickKey(tick),
      JSON.stringify({ scheduled_time: tick, execution_id: resolved.execution_id, dates: resolved.dates }),
    );
    if (!claimed) {
      // A retry of this very step finds its own claim: that is not a duplicate delivery.
      const owner = JSON.parse((await runtime.store.getText(staging, scheduleTickKey(tick))) ?? '{}') as {
        execution_id?: string;
      };
      if (owner.execution_id !== resolved.execution_id) return { ...resolved, dates: [], run_ids: [], count: 0 };
    }
  }
  return resolved;
}

export const handler = makeHandler('resolve-run', handle);
