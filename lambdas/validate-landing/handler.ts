import { z } from 'zod';
import { ISO_DATE } from '../../core/calendar';
import { makeHandler } from '../shared/powertools';
import { type HandlerRuntime, requireEnv } from '../shared/runtime';
import { validateLanding } from './core';

const event = z.object({ ingest_date: z.string().regex(ISO_DATE), run_id: z.string().min(1) });

/** File-level checks of the files landed for a date (SPEC §3), before any row is read. */
export async function handle(raw: unknown, runtime: HandlerRuntime): Promise<unknown> {
  const parsed = event.parse(raw);
  const result = await validateLanding(
    { ingestDate: parsed.ingest_date, runId: parsed.run_id },
    {
      store: runtime.store,
      buckets: { bronze: requireEnv(runtime, 'BRONZE_BUCKET'), staging: requireEnv(runtime, 'STAGING_BUCKET') },
    },
  );
  runtime.metric?.('FilesLanded', 'Count', result.files_total);
  runtime.metric?.('FilesRejected', 'Count', result.rejected);
  return result;
}

export const handler = makeHandler('validate-landing', handle);
