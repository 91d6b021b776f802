import * as fs from 'node:fs';
import type { LocalAthena } from '../runner/local/local-athena';
import { type FileInfo, lit } from './balance-history-lake';
import { percentile, round, sum, timed } from './balance-history-stats';

/**
 * Measuring one path of the balance-history bench (snapshot or naive): a profiled warm-up run and
 * what DuckDB's profile says it read, the bytes its layout predicts, the summary of its timed runs,
 * and the check that both paths give the same result.
 */

export interface PathBench {
  readonly iterations: number;
  readonly p50_ms: number;
  readonly p95_ms: number;
  readonly min_ms: number;
  readonly max_ms: number;
  /** every timed run, in order */
  readonly runs_ms: number[];
  /** the warm-up run (the first query of the path; run with DuckDB JSON profiling on) */
  readonly warmup_ms: number;
  /** sum of the sizes of the Parquet files the path reads, from the lake layout */
  readonly bytes_read: number;
  readonly files_read: number;
  /** compressed size of the column chunks of the columns the path reads (projection pushdown) */
  readonly column_bytes_read: number;
  readonly result_rows: number;
  /** what DuckDB's profile of the warm-up run says: the files its Parquet scans opened */
  readonly profiled: {
    readonly scans: {
      readonly scanning_files: string;
      readonly files_read: number;
      readonly projections: string;
      /** the plan names a glob or a truncated list, not every file */
      readonly truncated: boolean;
    }[];
    readonly distinct_files: number;
    readonly distinct_bytes: number;
    /** the profiled file set is exactly the one the layout predicts */
    readonly matches_layout: boolean;
  };
}

export type Rows = (string | null)[][];

export interface ProfiledScan {
  readonly scanning_files: string;
  readonly files_read: number;
  readonly projections: string;
  readonly files: string[];
  readonly truncated: boolean;
}

/** Runs `sql` with DuckDB's JSON profiling on (session settings) and returns its Parquet scans. */
export async function profiledRun(
  athena: LocalAthena,
  sql: string,
  parameters: string[],
  profileFile: string,
): Promise<{ ms: number; columns: string[]; rows: Rows; scans: ProfiledScan[] }> {
  fs.rmSync(profileFile, { force: true });
  await athena.execute(`SET enable_profiling = 'json'`);
  await athena.execute(`SET profiling_output = ${lit(profileFile)}`);
  let run: { ms: number; value: { columns: string[]; rows: Rows } };
  try {
    run = await timed(() => athena.execute(sql, parameters));
  } finally {
    await athena.execute(`RESET enable_profiling`);
  }
  interface Node {
    operator_type?: string;
    extra_info?: Record<string, string | string[]>;
    children?: Node[];
  }
  const scans: ProfiledScan[] = [];
  const text = (v: string | string[] | undefined): string => (Array.isArray(v) ? v.join(', ') : (v ?? ''));
  const walk = (n: Node): void => {
    const info = n.extra_info ?? {};
    if (n.operator_type === 'TABLE_SCAN' && /parquet/i.test(text(info['Function']))) {
      scans.push({
        scanning_files: text(info['Scanning Files']),
        files_read: Number(text(info['Total Files Read']) || 0),
        projections: text(info['Projections']).replace(/\s+/g, ' '),
        files: text(info['Filename(s)'])
          .split(/,\s*/)
          .filter((f) => f.endsWith('.parquet')),
        // DuckDB lists at most a few names, then '...'
        truncated: /\.\.\./.test(text(info['Filename(s)'])),
      });
    }
    for (const c of n.children ?? []) walk(c);
  };
  walk(JSON.parse(fs.readFileSync(profileFile, 'utf8')) as Node);
  return { ms: run.ms, columns: run.value.columns, rows: run.value.rows, scans };
}

/** Compressed bytes of the given columns' chunks in `files` (Parquet footers). */
export async function columnBytes(
  athena: LocalAthena,
  files: readonly FileInfo[],
  columns: readonly string[],
): Promise<number> {
  if (files.length === 0) return 0;
  const result = await athena.execute(
    `SELECT coalesce(sum(total_compressed_size), 0) FROM parquet_metadata([${files.map((f) => lit(f.file)).join(', ')}])
     WHERE path_in_schema IN (${columns.map(lit).join(', ')})`,
  );
  return Number(result.rows[0][0]);
}

export function compareRows(snapshot: Rows, naive: Rows): void {
  const line = (r: (string | null)[] | undefined): string => (r ? JSON.stringify(r) : '(none)');
  const n = Math.max(snapshot.length, naive.length);
  for (let i = 0; i < n; i++) {
    const a = snapshot[i];
    const b = naive[i];
    if (!a || !b || a.length !== b.length || a.some((v, j) => v !== b[j])) {
      throw new Error(
        `balance history differs between the snapshot path (${snapshot.length} rows) and the naive path ` +
          `(${naive.length} rows): first difference at row ${i}: snapshot ${line(a)}, naive ${line(b)}`,
      );
    }
  }
}

/** The figures of one path: its timed runs, and what it reads by the lake layout and by DuckDB's profile. */
export function summarizePath(
  runs: readonly number[],
  warmup: number,
  layout: readonly FileInfo[],
  columnBytesRead: number,
  resultRows: number,
  scans: readonly ProfiledScan[],
  layoutAll: readonly FileInfo[],
): PathBench {
  const sorted = [...runs].sort((a, b) => a - b);
  // A scan over a whole table names its glob (`<location>/**/*.parquet`) instead of its files:
  // its files are then every file of the location (and Total Files Read says how many it opened).
  const expand = (name: string): string[] => {
    const star = name.indexOf('*');
    if (star < 0) return [name];
    const prefix = name.slice(0, star);
    return layoutAll.map((f) => f.file).filter((f) => f.startsWith(prefix));
  };
  const profiledFiles = [...new Set(scans.flatMap((s) => s.files.flatMap(expand)))].sort();
  const sizes = new Map(layoutAll.map((f) => [f.file, f.size]));
  const layoutFiles = layout.map((f) => f.file).sort();
  return {
    iterations: runs.length,
    p50_ms: round(percentile(sorted, 0.5)),
    p95_ms: round(percentile(sorted, 0.95)),
    min_ms: round(sorted[0]),
    max_ms: round(sorted[sorted.length - 1]),
    runs_ms: runs.map((r) => round(r)),
    warmup_ms: round(warmup),
    bytes_read: sum(layout.map((f) => f.size)),
    files_read: layout.length,
    column_bytes_read: columnBytesRead,
    result_rows: resultRows,
    profiled: {
      scans: scans.map(({ scanning_files, files_read, projections, files, truncated }) => ({
        scanning_files,
        files_read,
        projections,
        truncated: truncated || files.some((f) => f.includes('*')),
      })),
      distinct_files: profiledFiles.length,
      distinct_bytes: sum(profiledFiles.map((f) => sizes.get(f) ?? (fs.existsSync(f) ? fs.statSync(f).size : 0))),
      matches_layout: JSON.stringify(profiledFiles) === JSON.stringify(layoutFiles),
    },
  };
}
