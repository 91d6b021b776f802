import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { type Lake, lit, parquetFiles } from './balance-history-lake';
import { round } from './balance-history-stats';

/**
 * The balance-history bench's silver: generated with DuckDB SQL (range() and hash(), so
 * deterministic) in the silver layout of SPEC section 4, and cached in the work dir.
 */

/** Bumped whenever the generated silver changes: a manifest of another version is rebuilt. */
const GENERATOR_VERSION = 2;
/** history of the generated silver: 2020-01-01 .. 2024-12-31 (UTC) */
const START_MS = Date.UTC(2020, 0, 1);
const END_MS = Date.UTC(2025, 0, 1);
const CURRENCIES = ['EUR', 'USD', 'GBP', 'CHF'];

export interface SilverManifest {
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

export async function ensureSilver(
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
