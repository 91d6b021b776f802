import { runRecordKey, scheduleTickKey } from '../../core/lake-layout';
import {
  type BatchRun,
  batchRun,
  type DateBatch,
  executionPlan,
  type ExecutionPlan,
  type ResolveContext,
  resolveRun,
} from '../../core/run-plan';
import { runRecordSchema } from '../../core/run-record';
import { acquireLakeLease, type IsExecutionRunning, type LeaseAcquisition } from '../shared/lake-lease';
import type { ObjectStore } from '../shared/object-store';

/**
 * ResolveRun: the execution input becomes the ordered list of dates to process (core/run-plan),
 * and the execution takes the lake lease before it changes anything (SPEC §1 concurrency): while
 * another running execution holds it, this one fails with LAKE_BUSY having changed nothing.
 * EventBridge Scheduler delivers at least once, so the first execution of a schedule tick claims
 * it in staging; a duplicate delivery of the same tick resolves to no dates (without the lease:
 * it changes nothing).
 */
export async function resolveExecution(
  input: unknown,
  context: ResolveContext,
  deps: {
    store: ObjectStore;
    stagingBucket: string;
    /** The execution's id (`$$.Execution.Id`, its ARN in AWS): the lease holder. */
    executionId: string;
    isExecutionRunning: IsExecutionRunning;
    /** Sees how the lease was taken (the handler logs a take-over). */
    onLease?: (lease: LeaseAcquisition) => void;
  },
): Promise<ExecutionPlan> {
  const resolved = resolveRun(input, context);
  const tick = (input as { scheduled_time?: unknown } | null)?.scheduled_time;
  const claimKey = typeof tick === 'string' ? scheduleTickKey(tick) : undefined;
  const ownerOf = async (key: string): Promise<string | undefined> =>
    (JSON.parse((await deps.store.getText(deps.stagingBucket, key)) ?? '{}') as { execution_id?: string }).execution_id;
  const plan = executionPlan(resolved);
  const nothing: ExecutionPlan = { ...plan, batches: [], count: 0 };
  // A tick another execution claimed already: a duplicate delivery, which needs no lease.
  if (claimKey) {
    const owner = await ownerOf(claimKey);
    if (owner !== undefined && owner !== resolved.execution_id) return nothing;
  }
  deps.onLease?.(
    await acquireLakeLease(deps.executionId, {
      store: deps.store,
      stagingBucket: deps.stagingBucket,
      isExecutionRunning: deps.isExecutionRunning,
    }),
  );
  if (!claimKey) return plan;
  const claimed = await deps.store.putIfAbsent(
    deps.stagingBucket,
    claimKey,
    JSON.stringify({ scheduled_time: tick, execution_id: resolved.execution_id, dates: resolved.dates }),
  );
  // A retry of this very step finds its own claim: that is not a duplicate delivery.
  return claimed || (await ownerOf(claimKey)) === resolved.execution_id ? plan : nothing;
}

/**
 * The start of a child execution (one batch of the entry execution's dates): the entry execution
 * holds the lease, which is confirmed (or taken again, after a redrive of an execution whose lease
 * was released or taken over meanwhile; LAKE_BUSY when another running execution holds it), and
 * the dates the entry execution has finished already (a run record SUCCEEDED or NO_DATA) are
 * skipped, so a redriven execution continues where it stopped.
 */
export async function resolveBatch(
  batch: DateBatch,
  deps: { store: ObjectStore; stagingBucket: string; isExecutionRunning: IsExecutionRunning },
): Promise<BatchRun> {
  await acquireLakeLease(batch.lease_holder, deps);
  const finished = new Set<string>();
  for (const date of batch.dates) {
    const text = await deps.store.getText(deps.stagingBucket, runRecordKey(batch.execution_id, date));
    if (text === undefined) continue;
    const record = runRecordSchema.safeParse(JSON.parse(text));
    if (record.success && record.data.status !== 'FAILED') finished.add(date);
  }
  return batchRun(batch, finished);
}
