/**
 * Benchmark (b) of issue #7: the balance history of one quarter at up to 100 M silver transactions,
 * the gold snapshot path (sql/gold_monthly_balances.sql, published like publish-gold does, then
 * sql/balance_history.sql over the quarter's gold partitions and the tail partition) against the
 * case study's naive window query over all of silver (sql/transactions_view.sql +
 * sql/balance_history_case_shape.sql). Both run through LocalAthena (the local Athena stand-in,
 * DuckDB) with the tables of the data contract, like `txlake balance-history` does.
 *
 *   npx ts-node --transpile-only bench/balance-history.ts --rows 100000000 --work /tmp/bh
 *
 * prints one JSON document on stdout; progress goes to stderr. Options: --rows N, --work DIR,
 * --iterations N (snapshot timed runs, default 20), --naive-iterations N (default 5), --quarter
 * YYYY-Qn (default 2024-Q1), --accounts N (default min(1 M, rows / 100)), --memory-limit SIZE
 * (DuckDB, default 8GB), --reuse-gold (keep a gold snapshot built earlier for the same silver).
 *
 * Silver is generated with DuckDB SQL (range() and hash(), so deterministic) in the silver layout
 * of SPEC section 4 and cached in the work dir: a later run with the same rows, accounts and
 * generator version reuses it (its manifest.json says so) and reports no silver build time.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DuckDBConnection, DuckDBInstance, DuckDBResultReader } from '@duckdb/node-api';
import contract from '../contract/transactions.v1.json';
import { LocalAthena, LocalTable } from '../runner/local/local-athena';
import { balanceHistoryValues, parseQuarter } from '../core/quarter';
import { loadSql } from '../core/sql-files';
import { publishGold } from '../lambdas/publish-gold/core';
import { FsObjectStore } from '../lambdas/shared/object-store';
import type { LakeBuckets } from '../lambdas/shared/runtime';

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

export interface BenchOptions {
  /** silver transactions to generate */
  readonly rows: number;
  /** work directory: the lake (`<workDir>/lake/<bucket>/...`), DuckDB spill files, the manifest */
  readonly workDir: string;
  /** timed runs of the snapshot path (default 20) */
  readonly iterations?: number;
  /** timed runs of the naive path (default 5) */
  readonly naiveIterations?: number;
  /** default 2024-Q1 */
  readonly quarter?: string;
  /** distinct accounts (customer_id); default min(1 000 000, max(1, rows / 100)) */
  readonly accounts?: number;
  /** DuckDB memory_limit for every instance the bench opens (default '8GB'); spills to the work dir */
  readonly memoryLimit?: string;
  /** reuse the gold snapshot of an earlier run over the same silver instead of rebuilding it */
  readonly reuseGold?: boolean;
  /** progress lines (default: none) */
  readonly log?: (line: string) => void;
}

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

export interface SnapshotDiagnostics {
  /** LocalAthena.execute('SELECT 1'): re-creating the views of every table (directory walks, stats) */
  readonly view_refresh_ms: number;
  /** the same with a LocalAthena over the gold table only */
  readonly view_refresh_gold_only_ms: number;
  /** the first execute on a fresh LocalAthena: also reads the footer of every Parquet file of every table */
  readonly cold_first_execute_ms: number;
  /** the query on LocalAthena's DuckDB connection, result materialized inside DuckDB only */
  readonly duckdb_run_ms: number;
  /** the same, plus reading every result chunk into JS (runAndReadAll) */
  readonly duckdb_read_all_ms: number;
  /** getRows() + String() of every value: LocalAthena's text rendering of the result */
  readonly rows_to_text_ms: number;
  /** getRowsJson() instead (decimals as strings, converted in the bindings' JSON converter) */
  readonly rows_to_json_ms: number;
  /**
   * the statement wrapped in `SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (...)`, run, read and getRows():
   * DuckDB renders the text, JS only receives strings
   */
  readonly duckdb_varchar_read_ms: number;
  /** that rendering gives exactly LocalAthena's text rows */
  readonly duckdb_varchar_identical: boolean;
}

export interface BalanceHistoryBench {
  readonly rows: number;
  readonly accounts: number;
  /** (account, currency) pairs in silver */
  readonly pairs: number;
  readonly silver: {
    readonly files: number;
    readonly bytes: number;
    readonly partitions: number;
    readonly build_seconds?: number;
  };
  readonly gold: {
    readonly files: number;
    readonly bytes: number;
    readonly rows: number;
    readonly partitions: number;
    /** UNLOAD through LocalAthena + publish-gold, full rebuild from the first month */
    readonly build_seconds: number;
    readonly unload_seconds: number;
    readonly publish_seconds: number;
    readonly reused?: boolean;
  };
  readonly quarter: string;
  readonly snapshot: PathBench & { readonly diagnostics: SnapshotDiagnostics };
  readonly naive: PathBench;
  /** naive.bytes_read / snapshot.bytes_read */
  readonly bytes_ratio: number;
  /** naive.p50_ms / snapshot.p50_ms */
  readonly speedup_p50: number;
  readonly same_result: true;
  readonly environment: {
    readonly duckdb: string;
    readonly node: string;
    readonly threads: number;
    readonly memory_limit: string;
    readonly cpus: number;
    /** os.loadavg() (1, 5, 15 min) when the measurements started and ended: the machine is shared */
    readonly load_average: { readonly start: number[]; readonly end: number[] };
  };
}

// ---------------------------------------------------------------------------------------------
// Lake layout and tables (the data contract's Glue tables, located in the local lake)
// ---------------------------------------------------------------------------------------------

/** Bumped whenever the generated silver changes: a manifest of another version is rebuilt. */
const GENERATOR_VERSION = 2;
const BUCKETS: LakeBuckets = {
  bronze: 'bronze',
  silver: 'silver',
  gold: 'gold',
  quarantine: 'quarantine',
  condemned: 'condemned',
  staging: 'staging',
};
/** history of the generated silver: 2020-01-01 .. 2024-12-31 (UTC) */
const START_MS = Date.UTC(2020, 0, 1);
const END_MS = Date.UTC(2025, 0, 1);
const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF'];

type TableName = keyof typeof contract.tables;

interface Lake {
  readonly root: string;
  readonly silver: string;
  readonly gold: string;
  readonly staging: string;
}

function lakeOf(workDir: string): Lake {
  const root = path.join(workDir, 'lake');
  return {
    root,
    silver: path.join(root, BUCKETS.silver, contract.tables.silver_transactions.prefix),
    gold: path.join(root, BUCKETS.gold, contract.tables.gold_monthly_balances.prefix),
    staging: path.join(root, BUCKETS.staging),
  };
}

/** Every table of the contract, as the CLI's LocalAthena sees them (`<lake>/<layer>/<prefix>`). */
function lakeTables(lake: Lake, only?: readonly TableName[]): LocalTable[] {
  return (Object.keys(contract.tables) as TableName[])
    .filter((name) => !only || only.includes(name))
    .map((name) => {
      const t = contract.tables[name];
      return {
        name,
        location: path.join(lake.root, t.layer, t.prefix),
        columns: t.columns,
        partitionKeys: t.partitionKeys,
      };
    });
}

/** s3://bucket/key → `<lake>/bucket/key` (lib/local/local-runner.ts's localPath). */
const resolverFor =
  (lake: Lake) =>
  (uri: string): string => {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
    if (!m) throw new Error(`not an S3 URI: ${uri}`);
    return path.join(lake.root, m[1], m[2]);
  };

/**
 * A fresh LocalAthena over the lake's tables, with session settings only (the SQL files are
 * untouched): bounded memory, spill files in the work dir. `firstExecuteMs` is the time of its
 * first execute, which reads the footer of every Parquet file of every table.
 */
async function openAthena(
  lake: Lake,
  opts: Required<Pick<BenchOptions, 'memoryLimit' | 'workDir'>>,
  only?: TableName[],
): Promise<{ athena: LocalAthena; firstExecuteMs: number }> {
  const athena = await LocalAthena.create({ tables: lakeTables(lake, only), resolveUri: resolverFor(lake) });
  try {
    const first = await timed(() => athena.execute(`SET memory_limit = ${lit(opts.memoryLimit)}`));
    await athena.execute(`SET temp_directory = ${lit(path.join(opts.workDir, 'duckdb-tmp'))}`);
    return { athena, firstExecuteMs: first.ms };
  } catch (error) {
    athena.close();
    throw error;
  }
}

/** LocalAthena's DuckDB connection (private), for the diagnostics only. */
const connectionOf = (athena: LocalAthena): DuckDBConnection =>
  (athena as unknown as { connection: DuckDBConnection }).connection;

const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

interface FileInfo {
  readonly file: string;
  readonly size: number;
}

function parquetFiles(dir: string): FileInfo[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.parquet'))
    .map((f) => path.join(dir, f))
    .filter((f) => fs.statSync(f).isFile())
    .sort()
    .map((file) => ({ file, size: fs.statSync(file).size }));
}

const memory = (): string => {
  const m = process.memoryUsage();
  return `rss ${Math.round(m.rss / 2 ** 20)} MiB, JS heap ${Math.round(m.heapUsed / 2 ** 20)} MiB`;
};
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const partitionsOf = (files: readonly FileInfo[]): number => new Set(files.map((f) => path.dirname(f.file))).size;

// ---------------------------------------------------------------------------------------------
// Silver: generated with DuckDB, cached in the work dir
// ---------------------------------------------------------------------------------------------

interface SilverManifest {
  readonly generator: number;
  readonly rows: number;
  readonly accounts: number;
  readonly pairs: number;
  readonly build_seconds: number;
}

/**
 * One row per transaction i in range(rows), every value from h(i, k) = hash(16 i + k) or from its
 * account's h(account, k) (one key k per use: DuckDB's multi-argument hash(i, k) combines hashes
 * in a way that leaves the low bits of hash(i, 1) and hash(i, 8) dependent, so it is not used):
 *  - account = h(i, 1) mod accounts; 30 % of the accounts are open since 2020-01-01, the others
 *    open at a uniformly drawn instant of 2020-01 .. 2024-11; a transaction's instant is uniform
 *    between its account's opening and 2025-01-01 (millisecond precision), so a quarter such as
 *    2024-Q1 is mid-history and some accounts only start after it;
 *  - currency: the account's home currency (EUR, USD, GBP or CHF); 20 % of the accounts also use a
 *    second currency, for a quarter of their transactions;
 *  - amount: -1000.00 .. 1000.00; ingest_date: the day after transaction_ts; source_file,
 *    source_record and run_id as a daily ingest would write them.
 * Columns, order and types of silver_transactions (contract/transactions.v1.json), Hive partitions
 * year=YYYY/month=MM of transaction_ts (UTC). transaction_ts is written like the test fixtures do
 * (TIMESTAMPTZ, i.e. Parquet TIMESTAMP adjusted to UTC) with millisecond values.
 */
function silverSql(rows: number, accounts: number, target: string): string {
  const width = Math.max(7, String(accounts - 1).length);
  const openSpan = Date.UTC(2024, 11, 1) - START_MS;
  const currencies = `[${CURRENCIES.map(lit).join(', ')}]`;
  return `
    COPY (
      WITH base AS (
        SELECT i, CAST(hash(i * 16 + 1) % ${accounts} AS BIGINT) AS acct FROM range(${rows}) t(i)
      ),
      acc AS (
        SELECT
          i,
          acct,
          CASE WHEN hash(acct * 16 + 2) % 10 < 3 THEN ${START_MS}
               ELSE ${START_MS} + CAST(hash(acct * 16 + 3) % ${openSpan} AS BIGINT) END AS open_ms,
          CAST(hash(acct * 16 + 4) % 4 AS INTEGER) AS home_idx,
          hash(acct * 16 + 5) % 5 = 0 AS has_second,
          CAST(hash(acct * 16 + 6) % 3 AS INTEGER) AS second_off
        FROM base
      ),
      tx AS (
        SELECT
          i,
          acct,
          open_ms + CAST(hash(i * 16 + 7) % CAST(${END_MS} - open_ms AS UBIGINT) AS BIGINT) AS ts_ms,
          CASE WHEN has_second AND hash(i * 16 + 8) % 4 = 0 THEN (home_idx + 1 + second_off) % 4 ELSE home_idx END
            AS cur_idx,
          CAST(hash(i * 16 + 9) % 200001 AS BIGINT) - 100000 AS cents
        FROM acc
      )
      SELECT
        'TX' || lpad(CAST(i AS VARCHAR), 12, '0') AS transaction_id,
        'ACC' || lpad(CAST(acct AS VARCHAR), ${width}, '0') AS customer_id,
        CAST(cents * 0.01 AS DECIMAL(16,2)) AS amount,
        ${currencies}[cur_idx + 1] AS currency,
        CAST(epoch_ms(ts_ms) AS TIMESTAMPTZ) AS transaction_ts,
        CAST(epoch_ms(ts_ms) AS DATE) + 1 AS ingest_date,
        'transactions_' || strftime(CAST(epoch_ms(ts_ms) AS DATE) + 1, '%Y%m%d') || '.csv' AS source_file,
        CAST(i % 1000000 + 1 AS BIGINT) AS source_record,
        'run-' || strftime(CAST(epoch_ms(ts_ms) AS DATE) + 1, '%Y%m%d') AS run_id,
        strftime(epoch_ms(ts_ms), '%Y') AS year,
        strftime(epoch_ms(ts_ms), '%m') AS month
      FROM tx
    ) TO ${lit(target)} (FORMAT parquet, PARTITION_BY (year, month), FILENAME_PATTERN 'bench_{i}')`;
}

async function withDuckDB<T>(
  workDir: string,
  memoryLimit: string,
  fn: (c: DuckDBConnection) => Promise<T>,
): Promise<T> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    await connection.run(`SET memory_limit = ${lit(memoryLimit)}`);
    await connection.run(`SET temp_directory = ${lit(path.join(workDir, 'duckdb-tmp'))}`);
    return await fn(connection);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

async function scalar(connection: DuckDBConnection, sql: string): Promise<string> {
  const reader = await connection.runAndReadAll(sql);
  return String(reader.getRows()[0][0]);
}

async function ensureSilver(
  lake: Lake,
  opts: { rows: number; accounts: number; workDir: string; memoryLimit: string },
  log: (line: string) => void,
): Promise<{ manifest: SilverManifest; built: boolean }> {
  const manifestFile = path.join(opts.workDir, 'manifest.json');
  if (fs.existsSync(manifestFile)) {
    const m = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as SilverManifest;
    if (
      m.generator === GENERATOR_VERSION &&
      m.rows === opts.rows &&
      m.accounts === opts.accounts &&
      parquetFiles(lake.silver).length > 0
    ) {
      log(`silver: reusing ${lake.silver} (${m.rows} rows, built in ${m.build_seconds} s)`);
      return { manifest: m, built: false };
    }
    log(`silver: manifest ${JSON.stringify(m)} does not match, rebuilding`);
  }
  // A half-built lake is never reused: the manifest is written last.
  fs.rmSync(manifestFile, { force: true });
  fs.rmSync(lake.root, { recursive: true, force: true });
  const building = `${lake.silver}.building`;
  fs.mkdirSync(path.dirname(building), { recursive: true });
  log(`silver: generating ${opts.rows} rows over ${opts.accounts} accounts into ${lake.silver}`);
  const started = performance.now();
  const pairs = await withDuckDB(opts.workDir, opts.memoryLimit, async (c) => {
    await c.run(silverSql(opts.rows, opts.accounts, building));
    const glob = lit(`${building}/**/*.parquet`);
    return Number(
      await scalar(c, `SELECT count(*) FROM (SELECT DISTINCT customer_id, currency FROM read_parquet(${glob}))`),
    );
  });
  fs.renameSync(building, lake.silver);
  const manifest: SilverManifest = {
    generator: GENERATOR_VERSION,
    rows: opts.rows,
    accounts: opts.accounts,
    pairs,
    build_seconds: round((performance.now() - started) / 1000, 1),
  };
  fs.writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  log(`silver: built in ${manifest.build_seconds} s`);
  return { manifest, built: true };
}

// ---------------------------------------------------------------------------------------------
// Gold: sql/gold_monthly_balances.sql through LocalAthena (UNLOAD → staging), then publish-gold
// ---------------------------------------------------------------------------------------------

interface GoldManifest {
  readonly silver_build: SilverManifest;
  readonly unload_seconds: number;
  readonly publish_seconds: number;
}

async function buildGold(
  lake: Lake,
  silver: SilverManifest,
  opts: { workDir: string; memoryLimit: string; reuse: boolean },
  log: (line: string) => void,
): Promise<{ unload_seconds: number; publish_seconds: number; reused: boolean }> {
  const manifestFile = path.join(opts.workDir, 'gold-manifest.json');
  if (opts.reuse && fs.existsSync(manifestFile)) {
    const m = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as GoldManifest;
    if (JSON.stringify(m.silver_build) === JSON.stringify(silver) && parquetFiles(lake.gold).length > 0) {
      log(`gold: reusing ${lake.gold}`);
      return { unload_seconds: m.unload_seconds, publish_seconds: m.publish_seconds, reused: true };
    }
  }
  fs.rmSync(manifestFile, { force: true });
  // Full rebuild from the first month: gold and the staging area start empty.
  fs.rmSync(path.join(lake.root, BUCKETS.gold), { recursive: true, force: true });
  fs.rmSync(lake.staging, { recursive: true, force: true });
  const firstMonth = fs
    .readdirSync(lake.silver)
    .flatMap((y) => fs.readdirSync(path.join(lake.silver, y)).map((m) => `${y.slice(5)}-${m.slice(6)}`))
    .sort()[0];
  log(`gold: UNLOAD sql/gold_monthly_balances.sql from ${firstMonth} through LocalAthena`);
  const t0 = performance.now();
  const { athena } = await openAthena(lake, opts);
  try {
    await athena.execute(loadSql('gold_monthly_balances', { STAGING_BUCKET: BUCKETS.staging }), [firstMonth]);
  } finally {
    athena.close();
  }
  const t1 = performance.now();
  log(`gold: unloaded in ${round((t1 - t0) / 1000, 1)} s; publishing`);
  const published = await publishGold(
    { runId: 'bench', fromMonth: firstMonth },
    { store: new FsObjectStore(lake.root), buckets: BUCKETS },
  );
  const t2 = performance.now();
  log(`gold: published ${published.files_written} files / ${published.partitions_written} partitions`);
  const result = { unload_seconds: round((t1 - t0) / 1000, 1), publish_seconds: round((t2 - t1) / 1000, 1) };
  const manifest: GoldManifest = { silver_build: silver, ...result };
  fs.writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  return { ...result, reused: false };
}

// ---------------------------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------------------------

type Rows = (string | null)[][];

const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** Nearest-rank percentile. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

const median = (xs: readonly number[]): number =>
  percentile(
    [...xs].sort((a, b) => a - b),
    0.5,
  );

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

interface ProfiledScan {
  readonly scanning_files: string;
  readonly files_read: number;
  readonly projections: string;
  readonly files: string[];
  readonly truncated: boolean;
}

/** Runs `sql` with DuckDB's JSON profiling on (session settings) and returns its Parquet scans. */
async function profiledRun(
  athena: LocalAthena,
  sql: string,
  parameters: string[],
  profileFile: string,
): Promise<{ ms: number; rows: Rows; scans: ProfiledScan[] }> {
  fs.rmSync(profileFile, { force: true });
  await athena.execute(`SET enable_profiling = 'json'`);
  await athena.execute(`SET profiling_output = ${lit(profileFile)}`);
  let run: { ms: number; value: Rows };
  try {
    run = await timed(async () => (await athena.execute(sql, parameters)).rows);
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
  return { ms: run.ms, rows: run.value, scans };
}

/** Compressed bytes of the given columns' chunks in `files` (Parquet footers). */
async function columnBytes(
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

function compareRows(snapshot: Rows, naive: Rows): void {
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

function summarize(
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

export async function benchBalanceHistory(options: BenchOptions): Promise<BalanceHistoryBench> {
  const log = options.log ?? ((): void => undefined);
  const rows = options.rows;
  if (!Number.isSafeInteger(rows) || rows < 1) throw new Error(`rows must be a positive integer, got ${rows}`);
  const accounts = options.accounts ?? Math.min(1_000_000, Math.max(1, Math.floor(rows / 100)));
  const quarter = options.quarter ?? '2024-Q1';
  const q = parseQuarter(quarter);
  const iterations = options.iterations ?? 20;
  const naiveIterations = options.naiveIterations ?? 5;
  const memoryLimit = options.memoryLimit ?? '8GB';
  const workDir = path.resolve(options.workDir);
  fs.mkdirSync(workDir, { recursive: true });
  // spill files left by a run that was killed (DuckDB removes its own on a normal close)
  fs.rmSync(path.join(workDir, 'duckdb-tmp'), { recursive: true, force: true });
  const lake = lakeOf(workDir);
  const settings = { workDir, memoryLimit };

  // 1. silver
  const silverBuild = await ensureSilver(lake, { rows, accounts, workDir, memoryLimit }, log);
  const silverFiles = parquetFiles(lake.silver);

  // 2. gold
  const goldBuild = await buildGold(
    lake,
    silverBuild.manifest,
    { ...settings, reuse: options.reuseGold ?? false },
    log,
  );
  const goldFiles = parquetFiles(lake.gold);

  // 3. both paths on one LocalAthena over every table of the contract (as `txlake balance-history`)
  const snapshotSql = loadSql('balance_history');
  const snapshotParams = balanceHistoryValues(quarter);
  const naiveSql = loadSql('balance_history_case_shape');
  const naiveParams = balanceHistoryValues(quarter).slice(0, 6);
  const partitionDirs = [...q.months.map((m) => `year=${m.slice(0, 4)}/month=${m.slice(5)}`), 'year=9999/month=12'];
  const snapshotLayout = goldFiles.filter((f) =>
    partitionDirs.some((p) => f.file.startsWith(path.join(lake.gold, p) + path.sep)),
  );

  const { athena, firstExecuteMs } = await openAthena(lake, settings);
  try {
    const environment = {
      duckdb: (await athena.execute('SELECT version()')).rows[0][0] ?? '',
      node: process.version,
      threads: Number((await athena.execute(`SELECT current_setting('threads')`)).rows[0][0]),
      memory_limit: (await athena.execute(`SELECT current_setting('memory_limit')`)).rows[0][0] ?? '',
      cpus: os.cpus().length,
      load_average: { start: os.loadavg().map((x) => round(x)), end: [] as number[] },
    };
    const goldRows = Number((await athena.execute('SELECT count(*) FROM gold_monthly_balances')).rows[0][0]);

    log(`snapshot: warm-up (profiled) ${quarter}`);
    const snapWarm = await profiledRun(
      athena,
      snapshotSql,
      snapshotParams,
      path.join(workDir, 'profile-snapshot.json'),
    );
    log(`snapshot: warm-up ${round(snapWarm.ms)} ms, ${snapWarm.rows.length} rows`);

    log('naive: creating the transactions view (sql/transactions_view.sql); warm-up (profiled)');
    await athena.execute(loadSql('transactions_view'));
    const naiveWarm = await profiledRun(athena, naiveSql, naiveParams, path.join(workDir, 'profile-naive.json'));
    log(`naive: warm-up ${round(naiveWarm.ms)} ms, ${naiveWarm.rows.length} rows`);
    compareRows(snapWarm.rows, naiveWarm.rows);
    const resultRows = snapWarm.rows.length;
    log(`same result: ${resultRows} rows; ${memory()}`);
    snapWarm.rows.length = 0;
    naiveWarm.rows.length = 0;

    const snapRuns: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const run = await timed(() => athena.execute(snapshotSql, snapshotParams));
      if (run.value.rows.length !== resultRows) throw new Error(`snapshot run ${i}: ${run.value.rows.length} rows`);
      snapRuns.push(run.ms);
      log(`snapshot: run ${i + 1}/${iterations} ${round(run.ms)} ms`);
    }

    log('snapshot: diagnostics');
    const refresh: number[] = [];
    for (let i = 0; i < 5; i++) refresh.push((await timed(() => athena.execute('SELECT 1'))).ms);
    const { athena: goldOnly } = await openAthena(lake, settings, ['gold_monthly_balances']);
    const refreshGold: number[] = [];
    try {
      for (let i = 0; i < 5; i++) refreshGold.push((await timed(() => goldOnly.execute('SELECT 1'))).ms);
    } finally {
      goldOnly.close();
    }
    const connection = connectionOf(athena);
    const duckRun: number[] = [];
    const duckReadAll: number[] = [];
    const toText: number[] = [];
    const toJson: number[] = [];
    const varcharRead: number[] = [];
    // DuckDB renders the text itself: the same statement, every column cast to VARCHAR
    const varcharSql = `SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (${snapshotSql.replace(/;\s*$/, '')}\n)`;
    let varcharIdentical = true;
    for (let i = 0; i < 3; i++) {
      // one result at a time in the JS heap (at 100 M rows a result is millions of rows)
      duckRun.push((await timed(() => connection.run(snapshotSql, snapshotParams))).ms);
      let readAll: { ms: number; value: DuckDBResultReader } | undefined = await timed(() =>
        connection.runAndReadAll(snapshotSql, snapshotParams),
      );
      duckReadAll.push(readAll.ms);
      const reader = readAll.value;
      toJson.push((await timed(async () => reader.getRowsJson().length)).ms);
      const textRun = await timed(async () =>
        reader.getRows().map((row) => row.map((v) => (v === null ? null : String(v)))),
      );
      toText.push(textRun.ms);
      let text: Rows | undefined = textRun.value;
      readAll = undefined;
      const varchar = await timed(async () =>
        (await connection.runAndReadAll(varcharSql, snapshotParams)).getRows().map((row) => row.map((v) => v)),
      );
      varcharRead.push(varchar.ms);
      if (i === 0) {
        const t = text;
        varcharIdentical =
          varchar.value.length === t.length && varchar.value.every((row, r) => row.every((v, c) => v === t[r][c]));
      }
      text = undefined;
    }
    const diagnostics: SnapshotDiagnostics = {
      view_refresh_ms: round(median(refresh)),
      view_refresh_gold_only_ms: round(median(refreshGold)),
      cold_first_execute_ms: round(firstExecuteMs),
      duckdb_run_ms: round(median(duckRun)),
      duckdb_read_all_ms: round(median(duckReadAll)),
      rows_to_text_ms: round(median(toText)),
      rows_to_json_ms: round(median(toJson)),
      duckdb_varchar_read_ms: round(median(varcharRead)),
      duckdb_varchar_identical: varcharIdentical,
    };
    log(`snapshot: diagnostics ${JSON.stringify(diagnostics)}; ${memory()}`);
    const goldColumns = contract.tables.gold_monthly_balances.columns.map((c) => c.name);
    const snapshot = {
      ...summarize(
        snapRuns,
        snapWarm.ms,
        snapshotLayout,
        await columnBytes(athena, snapshotLayout, goldColumns),
        resultRows,
        snapWarm.scans,
        goldFiles,
      ),
      diagnostics,
    };
    // the snapshot figures are complete: logged now, so a run stopped during the naive runs keeps them
    log(`snapshot: ${JSON.stringify(snapshot)}`);

    const naiveRuns: number[] = [];
    for (let i = 0; i < naiveIterations; i++) {
      const run = await timed(() => athena.execute(naiveSql, naiveParams));
      if (run.value.rows.length !== resultRows) throw new Error(`naive run ${i}: ${run.value.rows.length} rows`);
      naiveRuns.push(run.ms);
      log(`naive: run ${i + 1}/${naiveIterations} ${round(run.ms)} ms`);
    }

    const naiveColumns = ['transaction_id', 'customer_id', 'currency', 'amount', 'transaction_ts'];
    const naive = summarize(
      naiveRuns.length > 0 ? naiveRuns : [naiveWarm.ms],
      naiveWarm.ms,
      silverFiles,
      await columnBytes(athena, silverFiles, naiveColumns),
      resultRows,
      naiveWarm.scans,
      silverFiles,
    );
    return {
      rows,
      accounts,
      pairs: silverBuild.manifest.pairs,
      silver: {
        files: silverFiles.length,
        bytes: sum(silverFiles.map((f) => f.size)),
        partitions: partitionsOf(silverFiles),
        ...(silverBuild.built ? { build_seconds: silverBuild.manifest.build_seconds } : {}),
      },
      gold: {
        files: goldFiles.length,
        bytes: sum(goldFiles.map((f) => f.size)),
        rows: goldRows,
        partitions: partitionsOf(goldFiles),
        build_seconds: round(goldBuild.unload_seconds + goldBuild.publish_seconds, 1),
        unload_seconds: goldBuild.unload_seconds,
        publish_seconds: goldBuild.publish_seconds,
        ...(goldBuild.reused ? { reused: true } : {}),
      },
      quarter,
      snapshot,
      naive,
      bytes_ratio: round(naive.bytes_read / snapshot.bytes_read, 1),
      speedup_p50: round(naive.p50_ms / snapshot.p50_ms, 1),
      same_result: true,
      environment: {
        ...environment,
        load_average: { ...environment.load_average, end: os.loadavg().map((x) => round(x)) },
      },
    };
  } finally {
    athena.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Standalone
// ---------------------------------------------------------------------------------------------

function parseArgs(argv: readonly string[]): BenchOptions {
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--reuse-gold') flags.add(arg);
    else if (arg.startsWith('--') && i + 1 < argv.length) values.set(arg, argv[++i]);
    else throw new Error(`unexpected argument ${arg}`);
  }
  const known = ['--rows', '--work', '--iterations', '--naive-iterations', '--quarter', '--accounts', '--memory-limit'];
  for (const k of values.keys()) if (!known.includes(k)) throw new Error(`unknown option ${k}`);
  const int = (name: string): number | undefined => {
    const v = values.get(name);
    if (v === undefined) return undefined;
    const n = Number(v.replace(/_/g, ''));
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
    return n;
  };
  const rows = int('--rows');
  const workDir = values.get('--work');
  if (!rows || !workDir) throw new Error('usage: balance-history.ts --rows N --work DIR [options]');
  return {
    rows,
    workDir,
    iterations: int('--iterations'),
    naiveIterations: int('--naive-iterations'),
    quarter: values.get('--quarter'),
    accounts: int('--accounts'),
    memoryLimit: values.get('--memory-limit'),
    reuseGold: flags.has('--reuse-gold'),
    log: (line) => process.stderr.write(`[${new Date().toISOString()}] ${line}\n`),
  };
}

if (require.main === module) {
  let options: BenchOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(2);
  }
  benchBalanceHistory(options).then(
    (result) => process.stdout.write(`${JSON.stringify(result, null, 2)}\n`),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
