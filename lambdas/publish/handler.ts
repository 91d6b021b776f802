import { z } from 'zod';
import { ISO_DATE } from '../../core/calendar';
import { makeHandler } from '../shared/powertools';
import { type HandlerRuntime, requireEnv } from '../shared/runtime';
import { publish } from './core';

const event = z.object({ ingest_date: z.string().regex(ISO_DATE), run_id: z.string().min(1) });

/** Publishes a committed date's rejected files and plans its gold refresh. */
export async function handle(raw: unknown, runtime: HandlerRuntime): Promise<unknown> {
  const parsed = event.parse(raw);
  return publish(
    { ingestDate: parsed.ingest_date, runId: parsed.run_id },
    {
      store: runtime.store,
      buckets: { staging: requireEnv(runtime, 'STAGING_BUCKET'), quarantine: requireEnv(runtime, 'QUARANTINE_BUCKET') },
    },
  );
}

export const handler = makeHandler('publish', handle);
