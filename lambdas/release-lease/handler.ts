import { z } from 'zod';
import { makeHandler } from '../shared/powertools';
import { type HandlerRuntime, requireEnv } from '../shared/runtime';
import { releaseLease } from './core';

/** `execution_id` is `$$.Execution.Id`, as given to ResolveRun. */
const event = z.object({ execution_id: z.string().min(1) });

/** Releases the lake lease this execution took in ResolveRun. */
export async function handle(raw: unknown, runtime: HandlerRuntime): Promise<unknown> {
  const parsed = event.parse(raw);
  return releaseLease(
    { executionId: parsed.execution_id },
    { store: runtime.store, stagingBucket: requireEnv(runtime, 'STAGING_BUCKET') },
  );
}

export const handler = makeHandler('release-lease', handle);
