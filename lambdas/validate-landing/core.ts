import { landingPrefix, landingSummaryKey, stagedRejectedKey } from '../../core/lake-layout';
import { REQUIRED_COLUMNS } from '../../core/contract';
import type { ObjectStore } from '../shared/object-store';
import { checkFile } from './check-file';

/**
 * File-level checks on the files landed for one ingest date (SPEC §3, "File-level rules").
 *
 * Every direct child of `bronze/transactions/ingest_date=<D>/` is a landed file. Objects in
 * deeper "sub-folders" (`.../ingest_date=<D>/sub/x.csv`) are not landed files and are ignored,
 * as are folder-marker keys ending in `/`. Each file is read once, as a stream (files can be
 * gigabytes): the UTF-8 check, a strict RFC 4180 quote scanner and csv-parse all consume the
 * same chunks. Rejected files are copied byte-identical to `staging/runs/<runId>/rejected/<name>`
 * (the publish step moves them into quarantine); the manifest goes to
 * `staging/runs/<runId>/landing.json`. Bronze is only read.
 */

export interface LandingBuckets {
  readonly bronze: string;
  readonly staging: string;
}

/** An accepted file. `key` is its bronze key. */
export interface LandingFile {
  readonly name: string;
  readonly key: string;
  readonly records: number;
}

/** A rejected file. `key` is its bronze key; its copy is at `runs/<runId>/rejected/<name>` in staging. */
export interface RejectedFile {
  readonly name: string;
  readonly key: string;
  readonly code: string;
  readonly detail: string;
}

export interface LandingManifest {
  readonly ingest_date: string;
  readonly run_id: string;
  readonly files: LandingFile[];
  readonly rejected: RejectedFile[];
}

export interface LandingResult {
  readonly ingest_date: string;
  readonly run_id: string;
  readonly files_total: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly records: number;
  readonly reasons: Record<string, number>;
}

export { type CheckResult, checkFile } from './check-file';
export { MAX_RECORD_BYTES } from './csv-parser';

/** File-level codes, in precedence order (the contract's `codes.file`). */
export const FILE_CODES = [
  'UNSUPPORTED_FILE_TYPE',
  'EMPTY_FILE',
  'INVALID_ENCODING',
  'MISSING_COLUMNS',
  'DUPLICATE_COLUMNS',
  'MALFORMED_CSV',
] as const;

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Checks every file landed for `ingestDate`, copies the rejected ones to
 * `staging/runs/<runId>/rejected/<name>`, writes `staging/runs/<runId>/landing.json` and returns
 * the counts. Re-running with the same run id gives the same staging content (stale rejected
 * copies of that run id are removed).
 */
export async function validateLanding(
  input: { ingestDate: string; runId: string },
  deps: { store: ObjectStore; buckets: LandingBuckets; requiredColumns?: readonly string[] },
): Promise<LandingResult> {
  const { ingestDate, runId } = input;
  const { store, buckets } = deps;
  if (!DATE.test(ingestDate)) throw new Error(`ingestDate must be YYYY-MM-DD, got ${JSON.stringify(ingestDate)}`);
  if (runId === '' || runId.includes('/') || runId === '.' || runId === '..') {
    throw new Error(`invalid runId ${JSON.stringify(runId)}`);
  }
  const prefix = landingPrefix(ingestDate);
  const landed = (await store.list(buckets.bronze, prefix))
    .map((entry) => ({ ...entry, name: entry.key.slice(prefix.length) }))
    // Only direct children are landed files (deeper keys and folder markers are ignored).
    .filter((entry) => entry.name !== '' && !entry.name.includes('/'))
    .sort((a, b) => byteOrder(a.name, b.name));

  const files: LandingFile[] = [];
  const rejected: RejectedFile[] = [];
  for (const entry of landed) {
    const verdict = await checkFile(
      entry.name,
      entry.size,
      () => store.getStream(buckets.bronze, entry.key),
      deps.requiredColumns ?? REQUIRED_COLUMNS,
    );
    if (verdict.ok) {
      files.push({ name: entry.name, key: entry.key, records: verdict.records });
    } else {
      await store.copy(buckets.bronze, entry.key, buckets.staging, stagedRejectedKey(runId, entry.name));
      rejected.push({ name: entry.name, key: entry.key, code: verdict.code, detail: verdict.detail });
    }
  }

  // Drop rejected copies left by an earlier attempt of the same run that are not rejected now.
  const keep = new Set(rejected.map((r) => stagedRejectedKey(runId, r.name)));
  const stale = (await store.list(buckets.staging, stagedRejectedKey(runId, '')))
    .map((entry) => entry.key)
    .filter((key) => !keep.has(key));
  if (stale.length > 0) await store.delete(buckets.staging, stale);

  const manifest: LandingManifest = { ingest_date: ingestDate, run_id: runId, files, rejected };
  await store.put(buckets.staging, landingSummaryKey(runId), `${JSON.stringify(manifest, null, 2)}\n`);

  const reasons: Record<string, number> = {};
  const codes = [...FILE_CODES, ...rejected.map((r) => r.code)];
  for (const code of codes) {
    const count = rejected.filter((r) => r.code === code).length;
    if (count > 0) reasons[code] = count;
  }
  return {
    ingest_date: ingestDate,
    run_id: runId,
    files_total: landed.length,
    accepted: files.length,
    rejected: rejected.length,
    records: files.reduce((sum, f) => sum + f.records, 0),
    reasons,
  };
}
