import { z } from 'zod';
import { makeHandler } from '../shared/powertools';
import { type HandlerRuntime, requireEnv } from '../shared/runtime';
import { landingSummarySchema } from '../../core/run-record';
import { qualityGate } from './core';

const event = z.object({ run_id: z.string().min(1), landing: landingSummarySchema.passthrough() });

/** Audits the staged outputs of the Glue job (its counts and audit branches) before anything is published. */
export async function handle(raw: unknown, runtime: HandlerRuntime): Promise<unknown> {
  const parsed = event.parse(raw);
  const ratio = Number(requireEnv(runtime, 'MAX_QUARANTINE_RATIO'));
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) throw new Error('MAX_QUARANTINE_RATIO must be within 0..1');
  return qualityGate(
    { runId: parsed.run_id, landing: parsed.landing },
    {
      store: runtime.store,
      stagingBucket: requireEnv(runtime, 'STAGING_BUCKET'),
      maxQuarantineRatio: ratio,
      // Emitted before the verdict, so the alarm also sees the dates the gate stops.
      onCounts: (counts) => {
        runtime.metric?.(
          'QuarantineRatio',
          'Percent',
          counts.read === 0 ? 0 : (100 * counts.quarantined) / counts.read,
        );
        runtime.metric?.('RowsRead', 'Count', counts.read);
      },
    },
  );
}

export const handler = makeHandler('quality-gate', handle);
