import type { ObjectStore } from './object-store';
import { runPrefix } from '../../core/lake-layout';

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
 * A publish plan, written before any published object changes. Every object it deletes or
 * overwrites is first backed up in the run's staging area, so until the date is committed the
 * change can be undone exactly: a date that fails after (or while) publishing leaves the layers as
 * they were, and a crashed run is rolled back by the next one.
 */
export interface PublishJournal {
  readonly name: string;
  readonly runId: string;
  readonly copies: JournalCopy[];
  /** Objects replaced by this publish; every one of them exists when the journal is written. */
  readonly deletes: JournalDelete[];
}

interface StoredJournal extends PublishJournal {
  readonly startedAt: string;
}

export const JOURNAL_PREFIX = 'journal/';
const runJournalPrefix = (runId: string): string => `${JOURNAL_PREFIX}${runId}/`;
const backupKey = (runId: string, bucket: string, key: string): string =>
  `${runPrefix(runId)}superseded/${bucket}/${key}`;

/**
 * Written by `commitRun` before it drops a run's journals: one PUT is atomic where dropping several
 * journals is not, so a commit interrupted half way is finished, never half undone.
 */
const COMMIT_MARKER = 'COMMITTED';
const commitMarkerKey = (runId: string): string => `${runJournalPrefix(runId)}${COMMIT_MARKER}`;

async function journalsOf(store: ObjectStore, stagingBucket: string, runId: string): Promise<string[]> {
  return (await store.list(stagingBucket, runJournalPrefix(runId)))
    .map((e) => e.key)
    .filter((key) => !key.endsWith(`/${COMMIT_MARKER}`));
}

/** Whether a commit of the run has started (it is then finished, never rolled back). */
export async function isCommitted(store: ObjectStore, stagingBucket: string, runId: string): Promise<boolean> {
  return (await store.getText(stagingBucket, commitMarkerKey(runId))) !== undefined;
}

/** Finishes a started commit: drops the journals, then the marker. */
async function finishCommit(store: ObjectStore, stagingBucket: string, runId: string): Promise<void> {
  const keys = await journalsOf(store, stagingBucket, runId);
  if (keys.length > 0) await store.delete(stagingBucket, keys);
  await store.delete(stagingBucket, [commitMarkerKey(runId)]);
}

/** Applies a journal: record it, back up what it replaces, copy the new objects, delete the old. */
export async function applyJournal(store: ObjectStore, stagingBucket: string, journal: PublishJournal): Promise<void> {
  const sequence = (await journalsOf(store, stagingBucket, journal.runId)).length;
  const stored: StoredJournal = { ...journal, startedAt: new Date().toISOString() };
  await store.put(
    stagingBucket,
    `${runJournalPrefix(journal.runId)}${String(sequence).padStart(3, '0')}-${journal.name}.json`,
    JSON.stringify(stored),
  );
  for (const del of journal.deletes) {
    await store.copy(del.bucket, del.key, stagingBucket, backupKey(journal.runId, del.bucket, del.key));
  }
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

/** Undoes one applied (or half-applied) journal: new objects removed, replaced ones restored. */
async function undo(store: ObjectStore, stagingBucket: string, journal: PublishJournal): Promise<void> {
  const replaced = new Set(journal.deletes.map((d) => `${d.bucket}/${d.key}`));
  const backups = new Set(
    (await store.list(stagingBucket, `${runPrefix(journal.runId)}superseded/`)).map((e) => e.key),
  );
  const restore = async (bucket: string, key: string): Promise<boolean> => {
    const backup = backupKey(journal.runId, bucket, key);
    if (!backups.has(backup)) return false;
    await store.copy(stagingBucket, backup, bucket, key);
    return true;
  };
  for (const copy of journal.copies) {
    // A target that replaced an object is restored from its backup, or was never written if the
    // backup was not taken yet (backups all precede the first copy); a new target is removed.
    if (replaced.has(`${copy.targetBucket}/${copy.targetKey}`)) await restore(copy.targetBucket, copy.targetKey);
    else await store.delete(copy.targetBucket, [copy.targetKey]);
  }
  // A replaced object without a backup was never touched: backups are all taken before any change.
  for (const del of journal.deletes) await restore(del.bucket, del.key);
}

/** Rolls back the named journal of a run, if it is pending (a retried step starts clean). */
export async function rollbackJournal(
  store: ObjectStore,
  stagingBucket: string,
  runId: string,
  name: string,
): Promise<boolean> {
  if (await isCommitted(store, stagingBucket, runId)) {
    await finishCommit(store, stagingBucket, runId);
    return false;
  }
  const keys = (await journalsOf(store, stagingBucket, runId)).filter((k) => k.endsWith(`-${name}.json`));
  for (const key of keys.reverse()) {
    const text = await store.getText(stagingBucket, key);
    if (text !== undefined) await undo(store, stagingBucket, JSON.parse(text) as PublishJournal);
    await store.delete(stagingBucket, [key]);
  }
  return keys.length > 0;
}

/** Rolls back every pending journal of a run, newest first: the layers are as before the run. */
export async function rollbackRun(store: ObjectStore, stagingBucket: string, runId: string): Promise<string[]> {
  // A run whose commit started is final: its commit is finished instead.
  if (await isCommitted(store, stagingBucket, runId)) {
    await finishCommit(store, stagingBucket, runId);
    return [];
  }
  const keys = await journalsOf(store, stagingBucket, runId);
  const names: string[] = [];
  for (const key of [...keys].reverse()) {
    const text = await store.getText(stagingBucket, key);
    if (text !== undefined) {
      const journal = JSON.parse(text) as PublishJournal;
      await undo(store, stagingBucket, journal);
      names.unshift(journal.name);
    }
    await store.delete(stagingBucket, [key]);
  }
  return names;
}

/**
 * Rolls back every pending run except `runId`. Publishing is exclusive (one run at a time works
 * on a lake: gold spans all dates), so journals of another run belong to a run that died before
 * its record step: undone before this run publishes, they can never be restored over it later.
 */
export async function rollbackOtherRuns(store: ObjectStore, stagingBucket: string, runId: string): Promise<string[]> {
  const others = new Set<string>();
  for (const entry of await store.list(stagingBucket, JOURNAL_PREFIX)) {
    const owner = entry.key.slice(JOURNAL_PREFIX.length).split('/')[0];
    if (owner !== runId) others.add(owner);
  }
  for (const other of others) await rollbackRun(store, stagingBucket, other);
  return [...others];
}

/**
 * Makes a run's publishes final: its journals are dropped (the backups go with its staging area).
 */
export async function commitRun(store: ObjectStore, stagingBucket: string, runId: string): Promise<void> {
  const keys = await journalsOf(store, stagingBucket, runId);
  if (keys.length === 0) return;
  // The marker is the commit point: once it is written nothing can undo the run, and the clean-up
  // after it cannot fail the caller (an interrupted one is finished by the next rollback/recovery).
  await store.put(stagingBucket, commitMarkerKey(runId), JSON.stringify({ committedAt: new Date().toISOString() }));
  try {
    await finishCommit(store, stagingBucket, runId);
  } catch {
    // finished later: every rollback and recovery of the run completes a marked commit
  }
}

/**
 * Rolls back runs that left journals behind (a killed process, a step that never reached its
 * failure path) and started at least `minAgeMs` ago, so a run still in flight is never touched.
 * Returns the run ids rolled back.
 */
export async function recoverPendingJournals(
  store: ObjectStore,
  stagingBucket: string,
  minAgeMs = 0,
  now: Date = new Date(),
): Promise<string[]> {
  const runs = new Map<string, number>();
  for (const entry of await store.list(stagingBucket, JOURNAL_PREFIX)) {
    const runId = entry.key.slice(JOURNAL_PREFIX.length).split('/')[0];
    if (entry.key === commitMarkerKey(runId)) {
      // an interrupted commit is finished whatever its age: it can only move forward
      runs.set(runId, Math.min(runs.get(runId) ?? Infinity, 0));
      continue;
    }
    const text = await store.getText(stagingBucket, entry.key);
    const started = text ? Date.parse((JSON.parse(text) as StoredJournal).startedAt ?? '') : NaN;
    runs.set(runId, Math.min(runs.get(runId) ?? Infinity, Number.isNaN(started) ? 0 : started));
  }
  const recovered: string[] = [];
  for (const [runId, started] of runs) {
    if (now.getTime() - started < minAgeMs) continue;
    await rollbackRun(store, stagingBucket, runId);
    recovered.push(runId);
  }
  return recovered;
}
