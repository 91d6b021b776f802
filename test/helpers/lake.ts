import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsObjectStore } from '../../runner/local/fs-object-store';
import type { LakeBuckets } from '../../lambdas/shared/runtime';

/**
 * Lakes and scratch directories for tests, and what goes into a lake before a run (landed files,
 * CSV text). What a lake holds afterwards is read with ./lake-state.
 */

/**
 * Every directory {@link tempDir} made for the test file that loaded this module (jest loads it once
 * per file): removed after the file's tests, unless TXLAKE_TEST_KEEP_DIRS=1 keeps them to look at.
 */
const madeByThisFile: string[] = [];
afterAll(() => {
  if (process.env.TXLAKE_TEST_KEEP_DIRS === '1') return;
  for (const dir of madeByThisFile.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh, empty directory under the OS temp dir, removed after the test file (see above). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  madeByThisFile.push(dir);
  return dir;
}

/**
 * A maker of fresh temp directories that are all removed after the tests of the calling file (or
 * `describe` block): call it at that level, it registers the `afterAll`.
 */
export function tempDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = tempDir(prefix);
    dirs.push(dir);
    return dir;
  };
}

/** A fresh, empty lake directory (the `--lake` of the CLI and of the local runner), removed after the test file. */
export function tempLake(): string {
  return tempDir('txlake-lake-');
}

/** The bucket names the Lambda cores are given on a {@link StoreLake}: each bucket is the folder of its name. */
export const BUCKETS: LakeBuckets = {
  bronze: 'bronze',
  silver: 'silver',
  gold: 'gold',
  quarantine: 'quarantine',
  condemned: 'condemned',
  staging: 'staging',
};

export const ALL_BUCKETS = Object.values(BUCKETS);

/** A fresh lake directory with an FsObjectStore on it (the Lambda cores' view); call `cleanup` when done. */
export interface StoreLake {
  readonly root: string;
  readonly store: FsObjectStore;
  cleanup(): void;
}

export function tempStoreLake(): StoreLake {
  const root = tempLake();
  return { root, store: new FsObjectStore(root), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * A fresh {@link StoreLake} for every test of the calling file (or `describe` block): created before
 * each test and removed after it. Call it at that level; use the returned lake inside tests only.
 */
export function storeLakePerTest(): StoreLake {
  let lake: StoreLake | undefined;
  beforeEach(() => {
    lake = tempStoreLake();
  });
  afterEach(() => {
    lake?.cleanup();
    lake = undefined;
  });
  const current = (): StoreLake => {
    if (!lake) throw new Error('the per-test lake exists only while a test runs');
    return lake;
  };
  return {
    get root() {
      return current().root;
    },
    get store() {
      return current().store;
    },
    cleanup: () => current().cleanup(),
  };
}

/**
 * Lands files as `txlake land` does: byte-identical under the date's bronze prefix of the lake
 * directory (SPEC §3). Returns each file's path by name.
 */
export function landFiles(lake: string, date: string, files: Record<string, string | Buffer>): Record<string, string> {
  const dir = path.join(lake, 'bronze', 'transactions', `ingest_date=${date}`);
  mkdirSync(dir, { recursive: true });
  const paths: Record<string, string> = {};
  for (const [name, content] of Object.entries(files)) {
    paths[name] = path.join(dir, name);
    writeFileSync(paths[name], content);
  }
  return paths;
}

/** RFC 4180 rendering of one record (quotes only where needed). */
export function csvRecord(fields: readonly string[]): string {
  return fields.map((f) => (/[",\r\n]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',');
}

export function csvFile(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [csvRecord(header), ...rows.map(csvRecord)].join('\n') + '\n';
}
