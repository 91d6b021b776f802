import { releaseLakeLease } from '../shared/lake-lease';
import type { ObjectStore } from '../shared/object-store';

export interface ReleaseResult {
  /** Whether this execution held the lease (and dropped it). */
  readonly released: boolean;
  /** The execution that held the lease when the step ran, null when there was none. */
  readonly holder: string | null;
}

/**
 * ReleaseLease, the last step of every path after ResolveRun: drops the lake lease if this
 * execution holds it. A lease of another execution (a duplicate schedule tick resolved to no dates
 * without taking it) or none at all (a retried step) is left as it is, so the step is safe on
 * every path.
 */
export async function releaseLease(
  input: { executionId: string },
  deps: { store: ObjectStore; stagingBucket: string },
): Promise<ReleaseResult> {
  return releaseLakeLease(input.executionId, deps);
}
