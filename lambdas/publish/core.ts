import { landingSummaryKey, rejectedFilesPrefix, rejectionsKey, stagedRejectedKey } from '../../core/lake-layout';
import type { ObjectStore } from '../shared/object-store';
import type { LakeBuckets } from '../shared/runtime';

export interface PublishResult {
  readonly ingest_date: string;
  readonly run_id: string;
  readonly published: {
    readonly rejected_files: number;
  };
}

/**
 * Publish of the date's rejected files, once its tables are committed (after the gold publish, so
 * that a date failing before then publishes nothing): byte-identical, with their reasons, they
 * replace the ones an earlier run of the date published. Idempotent: a retried step leaves the
 * same objects and returns the same result.
 */
export async function publish(
  input: { ingestDate: string; runId: string },
  deps: { store: ObjectStore; buckets: Pick<LakeBuckets, 'staging' | 'quarantine'> },
): Promise<PublishResult> {
  const { store, buckets } = deps;
  const { ingestDate, runId } = input;
  // Rejected files, byte-identical: this run's set replaces the date's earlier one.
  const stagedRejectedPrefix = stagedRejectedKey(runId, '');
  const targetPrefix = rejectedFilesPrefix(ingestDate);
  const staged = await store.list(buckets.staging, stagedRejectedPrefix);
  const names = new Set<string>();
  for (const entry of staged) {
    const name = entry.key.slice(stagedRejectedPrefix.length);
    names.add(name);
    await store.copy(buckets.staging, entry.key, buckets.quarantine, `${targetPrefix}${name}`);
  }
  const earlier = (await store.list(buckets.quarantine, targetPrefix))
    .map((e) => e.key)
    .filter((key) => !names.has(key.slice(targetPrefix.length)));
  if (earlier.length > 0) await store.delete(buckets.quarantine, earlier);

  // The reasons they were rejected, from the landing check's summary.
  const manifest = JSON.parse((await store.getText(buckets.staging, landingSummaryKey(runId))) ?? '{}') as {
    rejected?: unknown[];
  };
  const rejected = manifest.rejected ?? [];
  if (rejected.length > 0) {
    await store.put(
      buckets.quarantine,
      rejectionsKey(ingestDate),
      JSON.stringify({ ingest_date: ingestDate, run_id: runId, files: rejected }, null, 2),
    );
  } else {
    await store.delete(buckets.quarantine, [rejectionsKey(ingestDate)]);
  }

  return {
    ingest_date: ingestDate,
    run_id: runId,
    published: { rejected_files: staged.length },
  };
}
