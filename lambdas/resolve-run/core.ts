import { scheduleTickKey } from '../../core/lake-layout';
import { type ResolveContext, type ResolvedRun, resolveRun } from '../../core/run-plan';
import type { ObjectStore } from '../shared/object-store';

/**
 * ResolveRun: the execution input becomes the ordered list of dates to process (core/run-plan).
 * EventBridge Scheduler delivers at least once, so the first execution of a schedule tick claims
 * it in staging; a duplicate delivery of the same tick resolves to no dates.
 */
export async function resolveExecution(
  input: unknown,
  context: ResolveContext,
  deps: {
    store: ObjectStore;
    stagingBucket: string;
    /** Runs once the input is valid, before anything is claimed (recovery of dead runs). */
    beforeClaim?: () => Promise<unknown>;
  },
): Promise<ResolvedRun> {
  const resolved = resolveRun(input, context);
  await deps.beforeClaim?.();
  const tick = (input as { scheduled_time?: unknown } | null)?.scheduled_time;
  if (typeof tick !== 'string') return resolved;
  const claimKey = scheduleTickKey(tick);
  const claimed = await deps.store.putIfAbsent(
    deps.stagingBucket,
    claimKey,
    JSON.stringify({ scheduled_time: tick, execution_id: resolved.execution_id, dates: resolved.dates }),
  );
  if (claimed) return resolved;
  // A retry of this very step finds its own claim: that is not a duplicate delivery.
  const owner = JSON.parse((await deps.store.getText(deps.stagingBucket, claimKey)) ?? '{}') as {
    execution_id?: string;
  };
  return owner.execution_id === resolved.execution_id ? resolved : { ...resolved, dates: [], run_ids: [], count: 0 };
}
