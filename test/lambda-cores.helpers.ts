import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsObjectStore, type ObjectEntry, type ObjectStore } from '../lambdas/shared/object-store';
import type { LakeBuckets } from '../lambdas/shared/runtime';

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

/** The objects of one bucket under `prefix` as key → content, via the store. */
export async function contents(store: ObjectStore, bucket: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await store.list(bucket, prefix)) out[entry.key] = (await store.getBytes(bucket, entry.key)).toString('utf8');
  return out;
}

/** Objects of the published layers (everything but staging), as `bucket/key` → content. */
export async function publishedState(store: ObjectStore): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const bucket of ALL_BUCKETS.filter((b) => b !== 'staging')) {
    for (const [key, value] of Object.entries(await contents(store, bucket))) out[`${bucket}/${key}`] = value;
  }
  return out;
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
