import type { ObjectStore } from './object-store';
import { journalKey } from './lake-layout';
import type { LakeBuckets } from './runtime';

/** One object to move into a published layer. */
export interface JournalCopy {
  readonly sourceBucket: string;
  readonly sourceKey: string;
  readonly targetBucket: string;
  readonly targetKey: string;
}

export interface JournalDelete {
  readonly bucket: string;
  readonly key: string;
}

/**
 * A publish plan written before any published object changes. Copies come from staging, which is
 * kept until the journal is gone, so replaying a journal after a crash finishes the publish: the
 * layers end exactly as a clean run leaves them.
 */
export interface PublishJournal {
  readonly name: string;
  readonly runId: string;
  readonly copies: JournalCopy[];
  readonly deletes: JournalDelete[];
}

export async function applyJournal(store: ObjectStore, stagingBucket: string, journal: PublishJournal): Promise<void> {
  await store.put(stagingBucket, journalKey(journal.name), JSON.stringify(journal));
  await replay(store, journal);
  await store.delete(stagingBucket, [journalKey(journal.name)]);
}

async function replay(store: ObjectStore, journal: PublishJournal): Promise<void> {
  // New objects first, then the superseded ones; a target that is overwritten is never deleted.
  for (const copy of journal.copies) {
    await store.copy(copy.sourceBucket, copy.sourceKey, copy.targetBucket, copy.targetKey);
  }
  const written = new Set(journal.copies.map((c) => `${c.targetBucket}/${c.targetKey}`));
  const byBucket = new Map<string, string[]>();
  for (const del of journal.deletes) {
    if (written.has(`${del.bucket}/${del.key}`)) continue;
    byBucket.set(del.bucket, [...(byBucket.get(del.bucket) ?? []), del.key]);
  }
  for (const [bucket, keys] of byBucket) await store.delete(bucket, keys);
}

/** Finishes every publish a crash left half-done. Returns the names of the journals replayed. */
export async function recoverPendingJournals(store: ObjectStore, buckets: LakeBuckets): Promise<string[]> {
  const pending = await store.list(buckets.staging, 'journal/');
  const replayed: string[] = [];
  for (const entry of pending) {
    const text = await store.getText(buckets.staging, entry.key);
    if (text === undefined) continue;
    const journal = JSON.parse(text) as PublishJournal;
    await replay(store, journal);
    await store.delete(buckets.staging, [entry.key]);
    replayed.push(journal.name);
  }
  return replayed;
}
