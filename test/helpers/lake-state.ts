import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { ObjectStore } from '../../lambdas/shared/object-store';
import { ALL_BUCKETS, BUCKETS } from './lake';

/**
 * What a lake holds, captured to compare before and after an operation:
 * - on disk, read without any store: {@link diskFiles} (text or hashes, optionally of some top-level
 *   folders only), {@link publishedFiles} (the published layers by hash), {@link diskDirs};
 * - through an ObjectStore, byte-exact: {@link contents} (one bucket), {@link storeObjects}
 *   ({@link publishedObjects}, {@link allObjects});
 * - Parquet rows: {@link duck}.
 * Comparisons by logical content that ignore run ids belong to their tests' machinery:
 * `contentState` (./faults) and `layerState` (./kill).
 */

/** The layers a run publishes to (SPEC §4); bronze is landed, staging is the runs' scratch space. */
export const PUBLISHED_LAYERS: readonly string[] = ['silver', 'quarantine', 'condemned', 'gold'];

export const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => byteOrder(a, b)));
}

// ---- on disk ----

/** Every file under `dir`, recursively, as full paths in byte order; none when `dir` does not exist. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(full);
    }
  };
  walk(dir);
  return out.sort(byteOrder);
}

export interface DiskFilesOptions {
  /**
   * How a file is shown: `utf8`, its text (small test files: a readable diff); `sha256`, the hash
   * of its bytes (a real lake's Parquet and large CSV files). @default 'utf8'
   */
  readonly content?: 'utf8' | 'sha256';
  /** Only the files under these top-level folders of the directory (e.g. a lake's layers). @default all */
  readonly folders?: readonly string[];
}

/**
 * Every file on disk under `dir`, read without any store (so temporary or stray files show too), as
 * its `/`-separated path relative to `dir` (for a lake: `bucket/key`) → content, in byte order of
 * paths. A missing directory or folder has no files.
 */
export function diskFiles(dir: string, options: DiskFilesOptions = {}): Record<string, string> {
  const { content = 'utf8', folders } = options;
  const files = folders ? folders.flatMap((folder) => filesUnder(path.join(dir, folder))) : filesUnder(dir);
  const out: Record<string, string> = {};
  for (const file of files) {
    out[path.relative(dir, file).split(path.sep).join('/')] =
      content === 'utf8' ? readFileSync(file, 'utf8') : sha256(readFileSync(file));
  }
  return sortedRecord(out);
}

/**
 * The published layers of a lake directory (or the given top-level folders), each file by the hash
 * of its bytes: what a failed or refused run must leave exactly as it was.
 */
export function publishedFiles(lake: string, layers: readonly string[] = PUBLISHED_LAYERS): Record<string, string> {
  return diskFiles(lake, { content: 'sha256', folders: layers });
}

/** Every directory on disk under `root` (relative, `/`-separated), sorted. */
export function diskDirs(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const full = path.join(dir, entry.name);
      out.push(path.relative(root, full).split(path.sep).join('/'));
      walk(full);
    }
  };
  walk(root);
  return out.sort();
}

// ---- through an object store ----

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

/** The objects of `buckets`, via the store, as `bucket/key` → content (byte-exact, see renderBytes). */
export async function storeObjects(store: ObjectStore, buckets: readonly string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const bucket of buckets) {
    for (const [key, value] of Object.entries(await contents(store, bucket))) out[`${bucket}/${key}`] = value;
  }
  return sortedRecord(out);
}

/** Objects of every bucket but staging (the published layers, and bronze, which no step changes). */
export function publishedObjects(store: ObjectStore): Promise<Record<string, string>> {
  return storeObjects(
    store,
    ALL_BUCKETS.filter((b) => b !== BUCKETS.staging),
  );
}

/** Every object of every bucket, staging included. */
export function allObjects(store: ObjectStore): Promise<Record<string, string>> {
  return storeObjects(store, ALL_BUCKETS);
}

// ---- Parquet rows ----

/** Runs a query on DuckDB and returns rows as objects (values as JSON-friendly types). */
export async function duck(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
