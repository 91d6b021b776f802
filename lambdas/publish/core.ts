import { nextMonth } from '../../core/calendar';
import {
  GOLD_REFRESH_PREFIX,
  landingSummaryKey,
  rejectedFilesPrefix,
  rejectionsKey,
  stagedRejectedKey,
} from '../../core/lake-layout';
import type { JobCounts } from '../../core/run-record';
import type { ObjectStore } from '../shared/object-store';
import type { LakeBuckets } from '../shared/runtime';
import { readJobCounts } from '../shared/staged-counts';

export interface PublishResult {
  readonly ingest_date: string;
  readonly run_id: string;
  /** Earliest month whose balances may have changed ('YYYY-MM'), or null when silver did not change. */
  readonly from_month: string | null;
  /** The gold refresh query's execution parameters (Athena literals). */
  readonly gold_parameters: string[];
  readonly published: {
    readonly rejected_files: number;
  };
}

/**
 * The first month whose gold balances the run may change, from the job's counts: the months of
 * the date's new silver rows and of the rows they replace; and since gold carries every pair up to
 * the latest month of silver, data past that month also creates the months in between, so the
 * refresh then starts right after the previous latest month. Null when neither set has a month.
 */
export function goldFromMonth(
  counts: Pick<JobCounts, 'silver_months' | 'replaced_silver_months' | 'latest_silver_month'>,
): string | null {
  const months = new Set([...counts.silver_months, ...counts.replaced_silver_months]);
  const newest = [...counts.silver_months].sort().pop();
  const latest = counts.latest_silver_month;
  if (latest && newest && newest > latest) months.add(nextMonth(latest));
  return [...months].sort()[0] ?? null;
}

/**
 * Publish, after the Glue job has committed the date's tables (`--mode publish`): the date's
 * rejected files (byte-identical, with their reasons) replace the ones an earlier run of the date
 * published, and the gold plan is derived from the job's counts. Idempotent: a retried step
 * leaves the same objects and returns the same result.
 */
export async function publish(
  input: { ingestDate: string; runId: string },
  deps: { store: ObjectStore; buckets: Pick<LakeBuckets, 'staging' | 'quarantine'> },
): Promise<PublishResult> {
  const { store, buckets } = deps;
  const { ingestDate, runId } = input;
  const counts = await readJobCounts(store, buckets.staging, runId);
  if (!counts) throw new Error(`the job left no counts for run ${runId}`);

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

  // Athena's UNLOAD (RefreshGold, next) refuses a non-empty target: clear what an earlier refresh left.
  const leftovers = await store.list(buckets.staging, GOLD_REFRESH_PREFIX);
  if (leftovers.length > 0) {
    await store.delete(
      buckets.staging,
      leftovers.map((e) => e.key),
    );
  }

  const fromMonth = goldFromMonth(counts);
  return {
    ingest_date: ingestDate,
    run_id: runId,
    from_month: fromMonth,
    gold_parameters: fromMonth ? [`'${fromMonth}'`] : [],
    published: { rejected_files: staged.length },
  };
}
