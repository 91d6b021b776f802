import { applyJournal, type JournalCopy, type JournalDelete, rollbackJournal } from '../shared/journal';
import { GOLD_BALANCES_PREFIX, GOLD_REFRESH_PREFIX, isUnloadDataFile, monthOfKey } from '../../core/lake-layout';
import type { ObjectStore } from '../shared/object-store';
import type { LakeBuckets } from '../shared/runtime';

export interface PublishGoldResult {
  readonly from_month: string;
  readonly partitions_written: number;
  readonly files_written: number;
}

/**
 * Swaps the gold snapshot's months from `fromMonth` on for the ones the refresh query unloaded
 * into staging: months the refresh no longer produces disappear, earlier months stay untouched.
 */
export async function publishGold(
  input: { runId: string; fromMonth: string },
  deps: { store: ObjectStore; buckets: LakeBuckets },
): Promise<PublishGoldResult> {
  const { store, buckets } = deps;
  // A retried step starts from gold as it was before its first attempt.
  await rollbackJournal(store, buckets.staging, input.runId, 'publish-gold');
  const staged = (await store.list(buckets.staging, GOLD_REFRESH_PREFIX)).filter((e) => isUnloadDataFile(e.key));
  const copies: JournalCopy[] = [];
  const partitions = new Set<string>();
  staged.forEach((entry, i) => {
    const month = monthOfKey(entry.key);
    if (!month || month < input.fromMonth) {
      throw new Error(`unexpected gold refresh output ${entry.key} (refresh starts at ${input.fromMonth})`);
    }
    partitions.add(month);
    const [year, mm] = month.split('-');
    copies.push({
      sourceBucket: buckets.staging,
      sourceKey: entry.key,
      targetBucket: buckets.gold,
      targetKey: `${GOLD_BALANCES_PREFIX}year=${year}/month=${mm}/${input.runId}_${String(i).padStart(5, '0')}.parquet`,
    });
  });
  const deletes: JournalDelete[] = [];
  for (const entry of await store.list(buckets.gold, GOLD_BALANCES_PREFIX)) {
    const month = monthOfKey(entry.key);
    if (month && month >= input.fromMonth) deletes.push({ bucket: buckets.gold, key: entry.key });
  }
  // The refresh output stays in staging: a retry of this step must find all of it again (the next
  // publish clears it before the next refresh).
  await applyJournal(store, buckets.staging, { name: 'publish-gold', runId: input.runId, copies, deletes });
  return { from_month: input.fromMonth, partitions_written: partitions.size, files_written: copies.length };
}
