import { z } from 'zod';
import { makeHandler } from '../shared/powertools';
import { executionPort, type HandlerRuntime, requireEnv } from '../shared/runtime';
import { dateBatchSchema } from '../../core/run-plan';
import { resolveBatch, resolveExecution } from './core';

/** ResolvePlan of a child execution: `{batch}`, the child's input (one batch of dates). */
const batchEvent = z.object({ batch: dateBatchSchema }).strict();

/** ResolveRun of the entry execution: the execution input and its context. */
const event = z.object({
  input: z.unknown(),
  /** `$$.Execution.Id` (the execution's ARN in AWS): the lake lease's holder. */
  execution_id: z.string().min(1),
  execution_name: z.string().min(1),
  start_time: z.string().min(1),
});

/**
 * Takes the lake lease and resolves the execution input into the ordered list of ingest dates, in
 * monthly batches; in a child execution, confirms the lease and resolves the batch's dates.
 */
export async function handle(raw: unknown, runtime: HandlerRuntime): Promise<unknown> {
  if (raw !== null && typeof raw === 'object' && 'batch' in raw) {
    return resolveBatch(batchEvent.parse(raw).batch, {
      store: runtime.store,
      stagingBucket: requireEnv(runtime, 'STAGING_BUCKET'),
      isExecutionRunning: executionPort(runtime),
    });
  }
  const parsed = event.parse(raw);
  const context = {
    executionName: parsed.execution_name,
    startTime: parsed.start_time,
    timeZone: runtime.env.SCHEDULE_TIME_ZONE ?? 'UTC',
  };
  return resolveExecution(parsed.input, context, {
    store: runtime.store,
    stagingBucket: requireEnv(runtime, 'STAGING_BUCKET'),
    executionId: parsed.execution_id,
    isExecutionRunning: executionPort(runtime),
    // A lease taken over from an execution that died holding it is worth an operator's look.
    onLease: (lease) => {
      if (lease.outcome === 'taken_over') runtime.metric?.('LakeLeaseTakenOver', 'Count', 1);
    },
  });
}

export const handler = makeHandler('resolve-run', handle);
