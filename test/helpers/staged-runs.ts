import type { ObjectStore } from '../../lambdas/shared/object-store';
import { publish } from '../../lambdas/publish/core';
import { commitRun } from '../../lambdas/shared/journal';
import { ALL_BUCKETS, BUCKETS, tempStoreLake } from './lake';

/**
 * Runs of the pipeline's steps on an object-store lake (the Lambda cores' tests): objects seeded
 * through the store, a run's staging area as validate-landing and the Glue job leave it, publish
 * and commit as the state machine and record-run do them, and crashes (a store that dies before its
 * k-th mutation). The lakes themselves come from ./lake, their contents are read with ./lake-state.
 */

/** Writes `files` (bucket → key → content) through the store. */
export async function seed(store: ObjectStore, files: Record<string, Record<string, string>>): Promise<void> {
  for (const [bucket, objects] of Object.entries(files)) {
    for (const [key, value] of Object.entries(objects)) await store.put(bucket, key, value);
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

export const rejectionsJson = (date: string, runId: string, names: string[]) =>
  JSON.stringify({ ingest_date: date, run_id: runId, files: names.map((n) => rejection(date, n)) }, null, 2);

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

// ---- crashes: a store that dies before its k-th mutation ----

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
  const probe = tempStoreLake();
  try {
    await copyLake(store, probe.store);
    const counting = new CrashingStore(probe.store, Infinity);
    await op(counting);
    return counting.log;
  } finally {
    probe.cleanup();
  }
}
