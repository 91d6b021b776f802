import { z } from 'zod';
import { makeHandler } from '../shared/powertools';
import { type HandlerRuntime, lakeBuckets } from '../shared/runtime';
import { publishGold } from './core';

const event = z.object({ run_id: z.string().min(1), from_month: z.string().regex(/^\d{4}-\d{2}$/) });

/** Publishes the refreshed gold snapshot months. */
export async function handle(raw: unknown, runtime: HandlerRuntime): Promise<unknown> {
  const parsed = event.parse(raw);
  return publishGold(
    { runId: parsed.run_id, fromMonth: parsed.from_month },
    { store: runtime.store, buckets: lakeBuckets(runtime) },
  );
}

export const handler = makeHandler('publish-gold', handle);
