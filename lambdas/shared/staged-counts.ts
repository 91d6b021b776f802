import { jobCountsPrefix } from '../../core/lake-layout';
import { type JobCounts, parseJobCounts } from '../../core/run-record';
import type { ObjectStore } from './object-store';

/** The counts the Glue job staged for a run, or undefined when it left none. */
export async function readJobCounts(
  store: ObjectStore,
  stagingBucket: string,
  runId: string,
): Promise<JobCounts | undefined> {
  const prefix = jobCountsPrefix(runId);
  for (const entry of await store.list(stagingBucket, prefix)) {
    const name = entry.key.slice(prefix.length);
    if (name.startsWith('_') || name.startsWith('.') || entry.size === 0) continue;
    const counts = parseJobCounts((await store.getText(stagingBucket, entry.key)) ?? '');
    if (counts) return counts;
  }
  return undefined;
}
