import { applyJournal, type JournalCopy, type JournalDelete, rollbackOtherRuns, rollbackRun } from '../shared/journal';
import { nextMonth } from '../../core/calendar';
import {
  CONDEMNED_PREFIX,
  GOLD_REFRESH_PREFIX,
  QUARANTINE_PREFIX,
  SILVER_PREFIX,
  isDataFile,
  landingSummaryKey,
  monthOfKey,
  rejectedFilesPrefix,
  rejectionsKey,
  silverFilePrefix,
  stagedOutputPrefix,
  stagedRejectedKey,
  stagedRejectionsKey,
} from '../../core/lake-layout';
import type { ObjectStore } from '../shared/object-store';
import type { LakeBuckets } from '../shared/runtime';

export interface PublishResult {
  readonly ingest_date: string;
  readonly run_id: string;
  /** Earliest month whose balances may have changed ('YYYY-MM'), or null when silver did not change. */
  readonly from_month: string | null;
  /** The gold refresh query's execution parameters (Athena literals). */
  readonly gold_parameters: string[];
  readonly published: {
    readonly silver: number;
    readonly quarantine: number;
    readonly condemned: number;
    readonly rejected_files: number;
  };
}

const fileName = (key: string): string => key.slice(key.lastIndexOf('/') + 1);

/**
 * Publish of write–audit–publish: replaces everything an earlier run of the date published in
 * silver, quarantine, condemned and the rejected files with this run's audited staging outputs.
 */
export async function publish(
  input: { ingestDate: string; runId: string },
  deps: { store: ObjectStore; buckets: LakeBuckets },
): Promise<PublishResult> {
  const { store, buckets } = deps;
  const { ingestDate, runId } = input;
  // A retried publish (after a timeout or crash) starts from the layers as they were before it,
  // and so does one that finds a dead run's publish still pending.
  await rollbackRun(store, buckets.staging, runId);
  await rollbackOtherRuns(store, buckets.staging, runId);
  const stagedSilverPrefix = stagedOutputPrefix(runId, 'silver');
  const stagedRejectedPrefix = stagedRejectedKey(runId, '');
  const copies: JournalCopy[] = [];
  const deletes: JournalDelete[] = [];
  const months = new Set<string>();

  // Silver: month partitions; this date's files are named `<date>_<run>_<n>.parquet`.
  const stagedSilver = (await store.list(buckets.staging, stagedSilverPrefix)).filter((e) => isDataFile(e.key));
  stagedSilver.forEach((entry, i) => {
    const partition = entry.key.slice(stagedSilverPrefix.length, entry.key.lastIndexOf('/') + 1);
    const targetKey = `${SILVER_PREFIX}${partition}${ingestDate}_${runId}_${String(i).padStart(5, '0')}.parquet`;
    copies.push({ sourceBucket: buckets.staging, sourceKey: entry.key, targetBucket: buckets.silver, targetKey });
    const month = monthOfKey(targetKey);
    if (month) months.add(month);
  });
  let latestMonth = '';
  for (const entry of await store.list(buckets.silver, SILVER_PREFIX)) {
    latestMonth = [latestMonth, monthOfKey(entry.key) ?? ''].sort()[1];
    if (fileName(entry.key).startsWith(silverFilePrefix(ingestDate))) {
      deletes.push({ bucket: buckets.silver, key: entry.key });
      const month = monthOfKey(entry.key);
      if (month) months.add(month);
    }
  }

  // Quarantine and condemned: the date is a partition of its own.
  const counts = { quarantine: 0, condemned: 0 };
  for (const [layer, bucket, prefix] of [
    ['quarantine', buckets.quarantine, QUARANTINE_PREFIX],
    ['condemned', buckets.condemned, CONDEMNED_PREFIX],
  ] as const) {
    const partition = `${prefix}ingest_date=${ingestDate}/`;
    const stagedFiles = (
      await store.list(buckets.staging, `${stagedOutputPrefix(runId, layer)}ingest_date=${ingestDate}/`)
    ).filter((e) => isDataFile(e.key));
    stagedFiles.forEach((entry, i) => {
      copies.push({
        sourceBucket: buckets.staging,
        sourceKey: entry.key,
        targetBucket: bucket,
        targetKey: `${partition}${runId}_${String(i).padStart(5, '0')}.parquet`,
      });
    });
    counts[layer] = stagedFiles.length;
    for (const entry of await store.list(bucket, partition)) deletes.push({ bucket, key: entry.key });
  }

  // Rejected files, byte-identical, and the reasons they were rejected.
  const rejectedStaged = await store.list(buckets.staging, stagedRejectedPrefix);
  for (const entry of rejectedStaged) {
    copies.push({
      sourceBucket: buckets.staging,
      sourceKey: entry.key,
      targetBucket: buckets.quarantine,
      targetKey: `${rejectedFilesPrefix(ingestDate)}${entry.key.slice(stagedRejectedPrefix.length)}`,
    });
  }
  for (const entry of await store.list(buckets.quarantine, rejectedFilesPrefix(ingestDate))) {
    deletes.push({ bucket: buckets.quarantine, key: entry.key });
  }
  const manifest = JSON.parse(
    (await store.getText(buckets.staging, landingSummaryKey(runId))) ?? '{"rejected": []}',
  ) as {
    rejected: unknown[];
  };
  for (const entry of await store.list(buckets.quarantine, rejectionsKey(ingestDate))) {
    deletes.push({ bucket: buckets.quarantine, key: entry.key });
  }
  if (manifest.rejected.length > 0) {
    const reasonsKey = stagedRejectionsKey(runId);
    await store.put(
      buckets.staging,
      reasonsKey,
      JSON.stringify({ ingest_date: ingestDate, run_id: runId, files: manifest.rejected }, null, 2),
    );
    copies.push({
      sourceBucket: buckets.staging,
      sourceKey: reasonsKey,
      targetBucket: buckets.quarantine,
      targetKey: rejectionsKey(ingestDate),
    });
  }

  // Athena's UNLOAD wants an empty target: clear what an earlier refresh may have left.
  const leftovers = await store.list(buckets.staging, GOLD_REFRESH_PREFIX);
  if (leftovers.length > 0)
    await store.delete(
      buckets.staging,
      leftovers.map((e) => e.key),
    );

  await applyJournal(store, buckets.staging, { name: 'publish', runId, copies, deletes });

  // Gold carries every pair up to the latest month of silver: data past that month also creates
  // the months in between, so the refresh starts right after the previous latest month.
  const newest = [...months].sort().pop();
  if (latestMonth && newest && newest > latestMonth) months.add(nextMonth(latestMonth));
  const fromMonth = [...months].sort()[0] ?? null;
  return {
    ingest_date: ingestDate,
    run_id: runId,
    from_month: fromMonth,
    gold_parameters: fromMonth ? [`'${fromMonth}'`] : [],
    published: {
      silver: stagedSilver.length,
      quarantine: counts.quarantine,
      condemned: counts.condemned,
      rejected_files: rejectedStaged.length,
    },
  };
}
