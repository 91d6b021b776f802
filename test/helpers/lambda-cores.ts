import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsObjectStore, type ObjectEntry, type ObjectStore } from '../../lambdas/shared/object-store';
import type { LakeBuckets } from '../../lambdas/shared/runtime';
import { publish } from '../../lambdas/publish/core';
import { commitRun } from '../../lambdas/shared/journal';

/** Shared helpers of the lambda-core tests (not a test file itself). */

export const BUCKETS: LakeBuckets = {
  bronze: 'bronze',
  silver: 'silver',
  gold: 'gold',
  quarantine: 'quarantine',
  condemned: 'condemned',
  staging: 'staging',
};

export const ALL_BUCKETS = Object.values(BUCKETS);

/** A fresh lake directory with an FsObjectStore; call `cleanup` when done. */
export interface TempLake {
  readonly root: string;
  readonly store: FsObjectStore;
  cleanup(): void;
}

export function tempLake(): TempLake {
  const root = mkdtempSync(path.join(os.tmpdir(), 'txlake-cores-'));
  return { root, store: new FsObjectStore(root), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Every file on disk under `root`, as `bucket/key` → content (utf8), read without the store. */
export async function diskFiles(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out[path.relative(root, full).split(path.sep).join('/')] = await fs.readFile(full, 'utf8');
    }
  };
  await walk(root);
  return sortedRecord(out);
}

/** Every directory on disk under `root` (relative, `/`-separated), sorted. */
export async function diskDirs(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const full = path.join(dir, entry.name);
      out.push(path.relative(root, full).split(path.sep).join('/'));
      await walk(full);
    }
  };
  await walk(root);
  return out.sort();
}

/**
 * Exact, readable rendering of an object's bytes: the utf8 text when the bytes are valid utf8
 * (they round-trip), else `base64:<bytes>`. Two renderings are equal iff the bytes are.
 */
export function renderBytes(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) && !text.startsWith('base64:')
    ? text
    : `base64:${bytes.toString('base64')}`;
}

/** The objects of one bucket under `prefix` as key → content (byte-exact, see renderBytes), via the store. */
export async function contents(store: ObjectStore, bucket: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await store.list(bucket, prefix))
    out[entry.key] = renderBytes(await store.getBytes(bucket, entry.key));
  return out;
}

/** Objects of the published layers (everything but staging), as `bucket/key` → content. */
export async function publishedState(store: ObjectStore): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const bucket of ALL_BUCKETS.filter((b) => b !== 'staging')) {
    for (const [key, value] of Object.entries(await contents(store, bucket))) out[`${bucket}/${key}`] = value;
  }
  return sortedRecord(out);
}

export const keys = (entries: readonly ObjectEntry[]): string[] => entries.map((e) => e.key);

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
}

/** Writes `files` (bucket → key → content) through the store. */
export async function seed(store: ObjectStore, files: Record<string, Record<string, string>>): Promise<void> {
  for (const [bucket, objects] of Object.entries(files)) {
    for (const [key, value] of Object.entries(objects)) await store.put(bucket, key, value);
  }
}

/** Thrown by CrashingStore at its crash point. */
export class SimulatedCrash extends Error {
  constructor(readonly op: string) {
    super(`simulated crash before ${op}`);
    this.name = 'SimulatedCrash';
  }
}

/**
 * A store that "crashes" (throws) before its `crashAt`-th mutating operation (0-based). Deletes are
 * performed one key at a time, so a crash can fall between two keys of one delete call.
 * With `crashAt` = Infinity it never crashes and just counts.
 */
export class CrashingStore implements ObjectStore {
  mutations = 0;
  readonly log: string[] = [];

  constructor(
    private readonly inner: ObjectStore,
    private readonly crashAt: number,
  ) {}

  private tick(op: string): void {
    if (this.mutations >= this.crashAt) throw new SimulatedCrash(op);
    this.mutations += 1;
    this.log.push(op);
  }

  list(bucket: string, prefix: string) {
    return this.inner.list(bucket, prefix);
  }
  getStream(bucket: string, key: string) {
    return this.inner.getStream(bucket, key);
  }
  getBytes(bucket: string, key: string) {
    return this.inner.getBytes(bucket, key);
  }
  getText(bucket: string, key: string) {
    return this.inner.getText(bucket, key);
  }
  async put(bucket: string, key: string, body: Buffer | string): Promise<void> {
    this.tick(`put ${bucket}/${key}`);
    await this.inner.put(bucket, key, body);
  }
  async putIfAbsent(bucket: string, key: string, body: Buffer | string): Promise<boolean> {
    this.tick(`putIfAbsent ${bucket}/${key}`);
    return this.inner.putIfAbsent(bucket, key, body);
  }
  async copy(sb: string, sk: string, tb: string, tk: string): Promise<void> {
    this.tick(`copy ${sb}/${sk} -> ${tb}/${tk}`);
    await this.inner.copy(sb, sk, tb, tk);
  }
  async delete(bucket: string, ks: readonly string[]): Promise<void> {
    for (const key of ks) {
      this.tick(`delete ${bucket}/${key}`);
      await this.inner.delete(bucket, [key]);
    }
  }
}

// ---- staging of a run, as validate-landing and the Glue job leave it ----

export interface StageSpec {
  /** 'YYYY-MM' → contents of the part files of that month */
  readonly silver?: Record<string, string[]>;
  readonly quarantine?: string[];
  readonly condemned?: string[];
  /** file name → bytes */
  readonly rejected?: Record<string, string>;
}

export const rejection = (date: string, name: string) => ({
  name,
  key: `transactions/ingest_date=${date}/${name}`,
  code: 'MISSING_HEADER',
  detail: `${name} has no header`,
});

/** Writes what validate-landing and the Glue job leave in `staging:runs/<run>/`, Spark markers included. */
export async function stage(store: ObjectStore, date: string, runId: string, spec: StageSpec): Promise<void> {
  const base = `runs/${runId}/`;
  const files: Record<string, string> = {
    [`${base}landing.json`]: JSON.stringify({
      ingest_date: date,
      run_id: runId,
      files: [],
      rejected: Object.keys(spec.rejected ?? {}).map((n) => rejection(date, n)),
    }),
    [`${base}silver/_SUCCESS`]: '',
    [`${base}quarantine/_SUCCESS`]: '',
    [`${base}condemned/_SUCCESS`]: '',
  };
  for (const [month, parts] of Object.entries(spec.silver ?? {})) {
    const [y, m] = month.split('-');
    parts.forEach((content, j) => {
      const name = `part-${String(j).padStart(5, '0')}-u${runId}.c000.snappy.parquet`;
      files[`${base}silver/year=${y}/month=${m}/${name}`] = content;
      files[`${base}silver/year=${y}/month=${m}/.${name}.crc`] = 'crc';
    });
  }
  for (const layer of ['quarantine', 'condemned'] as const) {
    (spec[layer] ?? []).forEach((content, j) => {
      const name = `part-${String(j).padStart(5, '0')}-u.c000.snappy.parquet`;
      files[`${base}${layer}/ingest_date=${date}/${name}`] = content;
      files[`${base}${layer}/ingest_date=${date}/.${name}.crc`] = 'crc';
    });
  }
  for (const [name, bytes] of Object.entries(spec.rejected ?? {})) files[`${base}rejected/${name}`] = bytes;
  await seed(store, { staging: files });
}

/** What record-run does after a date: the run's staging area goes (backups of replaced objects included). */
export async function clearStaging(store: ObjectStore, runId: string): Promise<void> {
  const staged = await store.list('staging', `runs/${runId}/`);
  await store.delete(
    'staging',
    staged.map((e) => e.key),
  );
}

/** What record-run does for a SUCCEEDED date: the run's journals are committed, its staging area cleared. */
export async function commitAndClear(store: ObjectStore, runId: string): Promise<void> {
  await commitRun(store, 'staging', runId);
  await clearStaging(store, runId);
}

/** Stages a run, publishes it and commits it (as a succeeded date). */
export async function stageAndPublish(store: ObjectStore, date: string, runId: string, spec: StageSpec) {
  await stage(store, date, runId, spec);
  const result = await publish({ ingestDate: date, runId }, { store, buckets: BUCKETS });
  await commitAndClear(store, runId);
  return result;
}

/** Every object of every bucket (staging included), byte-exact, as `bucket/key` → content. */
export async function wholeLake(store: ObjectStore): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const bucket of ALL_BUCKETS) {
    for (const [key, value] of Object.entries(await contents(store, bucket))) out[`${bucket}/${key}`] = value;
  }
  return sortedRecord(out);
}

/** Copies every object of `from` (all buckets) into `to`, byte for byte. */
export async function copyLake(from: ObjectStore, to: ObjectStore): Promise<void> {
  for (const bucket of ALL_BUCKETS) {
    for (const entry of await from.list(bucket, ''))
      await to.put(bucket, entry.key, await from.getBytes(bucket, entry.key));
  }
}

/**
 * Runs `op` on a store that crashes before its `crashAt`-th mutation. Resolves true when it crashed,
 * false when it finished; any other error is rethrown.
 */
export async function crashes(
  op: (store: ObjectStore) => Promise<unknown>,
  store: ObjectStore,
  crashAt: number,
): Promise<boolean> {
  try {
    await op(new CrashingStore(store, crashAt));
    return false;
  } catch (error) {
    if (error instanceof SimulatedCrash) return true;
    throw error;
  }
}

/** The mutations `op` performs on a copy of `store`'s lake (the copy is thrown away). */
export async function mutationsOf(store: ObjectStore, op: (store: ObjectStore) => Promise<unknown>): Promise<string[]> {
  const probe = tempLake();
  try {
    await copyLake(store, probe.store);
    const counting = new CrashingStore(probe.store, Infinity);
    await op(counting);
    return counting.log;
  } finally {
    probe.cleanup();
  }
}

export const rejectionsJson = (date: string, runId: string, names: string[]) =>
  JSON.stringify({ ingest_date: date, run_id: runId, files: names.map((n) => rejection(date, n)) }, null, 2);
