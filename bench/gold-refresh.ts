import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import contract from '../contract/transactions.v1.json';
import { addMonths } from '../core/calendar';
import { FULL_REBUILD_READ_MONTH, goldPlan, goldRefreshChunks } from '../core/gold-plan';
import { GOLD_REFRESH_PREFIX } from '../core/lake-layout';
import { loadSql } from '../core/sql-files';
import { directoryTable, LocalAthena } from '../runner/local/local-athena';
import { round, sum, timed } from './balance-history-stats';

/**
 * Bench (e): the gold refresh's reads per daily run as the lake ages. Silver is generated with
 * DuckDB (24 months from 2023-01, `rowsPerDay` transactions a day, 1 % of them late by 1–40 days),
 * in the silver layout (Hive `year=/month=` directories of transaction_ts); gold is built from it
 * once with sql/gold_monthly_balances.sql (a full rebuild). Then, for the daily run of the last day
 * of month 1, 12 and 24 (the lake holding months 1..m), the refresh as core/gold-plan.ts plans it
 * (incremental: silver from the first changed month on, gold's month before) and, for contrast,
 * the full rebuild every run used to be: the bytes each reads as Athena bills it (the partitions its
 * predicates select — silver months from the read month on, gold's opening month — and only the
 * column chunks it reads, from the Parquet footers), DuckDB's time for the query, and a check that
 * both give the same gold for the months they write.
 */

export interface GoldRefreshPoint {
  readonly month_index: number;
  readonly month: string;
  readonly silver_rows: number;
  readonly silver_files: number;
  readonly read_from_month: string;
  readonly incremental_bytes: number;
  readonly incremental_ms: number;
  readonly full_bytes: number;
  readonly full_ms: number;
  readonly same_gold: boolean;
}

export interface GoldRefreshBench {
  readonly rows_per_day: number;
  readonly accounts: number;
  readonly generated_rows: number;
  readonly generate_seconds: number;
  readonly points: GoldRefreshPoint[];
}

const FIRST_MONTH = '2023-01';
const MONTHS = 24;
const STAGING_BUCKET = 'staging';
/** What the refresh reads of each table (its projection). */
const SILVER_COLUMNS = ['customer_id', 'currency', 'amount', 'transaction_ts'];
const GOLD_COLUMNS = ['account_id', 'currency', 'balance'];

const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** `<dir>/year=YYYY/month=MM/*.parquet` → month → files. */
function filesByMonth(dir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!fs.existsSync(dir)) return out;
  for (const y of fs.readdirSync(dir).sort()) {
    for (const m of fs.readdirSync(path.join(dir, y)).sort()) {
      const d = path.join(dir, y, m);
      out.set(
        `${y.slice(5)}-${m.slice(6)}`,
        fs.readdirSync(d).map((f) => path.join(d, f)),
      );
    }
  }
  return out;
}

async function generateSilver(silver: string, rowsPerDay: number, accounts: number): Promise<number> {
  const days = Math.round((Date.UTC(2025, 0, 1) - Date.UTC(2023, 0, 1)) / 86_400_000);
  const start = Date.UTC(2023, 0, 1);
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    await c.run(`SET TimeZone = 'UTC'`);
    const building = `${silver}.building`;
    fs.rmSync(building, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(silver), { recursive: true });
    // one COPY per month of ingest days, so every month's partition gets files of several days
    await c.run(`
      COPY (
        WITH base AS (
          SELECT i, i // ${rowsPerDay} AS day, CAST(hash(i * 16 + 1) % ${accounts} AS BIGINT) AS acct
          FROM range(${days * rowsPerDay}) t(i)
        ),
        tx AS (
          SELECT
            i, day, acct,
            ${start} + day * 86400000 + CAST(hash(i * 16 + 2) % 86400000 AS BIGINT)
              - CASE WHEN hash(i * 16 + 3) % 100 = 0 THEN (1 + CAST(hash(i * 16 + 4) % 40 AS BIGINT)) * 86400000 ELSE 0 END
              AS ts_ms
          FROM base
        )
        SELECT
          'T' || lpad(CAST(i AS VARCHAR), 12, '0') AS transaction_id,
          'ACC' || lpad(CAST(acct AS VARCHAR), 7, '0') AS customer_id,
          CAST((CAST(hash(i * 16 + 5) % 200001 AS BIGINT) - 100000) / 100 AS DECIMAL(16,2)) AS amount,
          ['EUR', 'USD', 'GBP', 'CHF'][1 + CAST(hash(acct * 16 + 6) % 4 AS INTEGER)] AS currency,
          CAST(make_timestamp(ts_ms * 1000) AS TIMESTAMPTZ) AS transaction_ts,
          CAST(make_timestamp((${start} + day * 86400000) * 1000) AS DATE) AS ingest_date,
          'transactions_' || strftime(make_timestamp((${start} + day * 86400000) * 1000), '%Y%m%d') || '.csv' AS source_file,
          CAST(i % ${rowsPerDay} + 1 AS BIGINT) AS source_record,
          'run-' || CAST(day AS VARCHAR) AS run_id,
          strftime(make_timestamp(ts_ms * 1000), '%Y') AS year,
          strftime(make_timestamp(ts_ms * 1000), '%m') AS month
        FROM tx
        WHERE ts_ms >= ${start}
        ORDER BY transaction_ts
      ) TO ${lit(building)} (FORMAT parquet, PARTITION_BY (year, month))`);
    fs.renameSync(building, silver);
    const count = await c.runAndReadAll(`SELECT count(*) FROM read_parquet(${lit(`${silver}/**/*.parquet`)})`);
    return Number(count.getRows()[0][0]);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

async function columnBytes(athena: LocalAthena, files: readonly string[], columns: readonly string[]): Promise<number> {
  if (files.length === 0) return 0;
  const r = await athena.execute(
    `SELECT coalesce(sum(total_compressed_size), 0) FROM parquet_metadata([${files.map(lit).join(', ')}])
     WHERE path_in_schema IN (${columns.map(lit).join(', ')})`,
  );
  return Number(r.rows[0][0]);
}

const silverTable = (files: readonly string[]) => ({
  ...directoryTable('silver_transactions', '/nonexistent', contract.tables.silver_transactions.columns),
  files: () => Promise.resolve([...files]),
});
const goldTable = (dir: string) =>
  directoryTable(
    'gold_monthly_balances',
    dir,
    contract.tables.gold_monthly_balances.columns,
    contract.tables.gold_monthly_balances.columns.filter((c) => c.name === 'year' || c.name === 'month'),
  );

/** Runs the refresh's queries (one per chunk) into `target`; returns DuckDB's time in ms. */
async function refresh(
  athena: LocalAthena,
  staging: string,
  target: string,
  chunks: { from_month: string; parameters: string[] }[],
): Promise<number> {
  fs.rmSync(path.join(staging, target), { recursive: true, force: true });
  let ms = 0;
  for (const chunk of chunks) {
    const sql = loadSql('gold_monthly_balances', {
      STAGING_BUCKET,
      GOLD_REFRESH_TARGET: `${target}${chunk.from_month}/`,
    });
    ms += (
      await timed(() =>
        athena.execute(
          sql,
          chunk.parameters.map((p) => p.slice(1, -1)),
        ),
      )
    ).ms;
  }
  return ms;
}

/** Gold rows of `dir` for the months from `from` on, as sorted text (the comparison of two refreshes). */
async function goldFrom(athena: LocalAthena, dir: string, from: string): Promise<string> {
  const r = await athena.execute(
    `SELECT md5(string_agg(concat_ws(',', account_id, currency, month_start, balance, year, month), ';'
             ORDER BY year, month, account_id, currency))
     FROM read_parquet(${lit(`${dir}/**/*`)}, hive_partitioning = true, hive_types_autocast = false)
     WHERE year || '-' || month >= ${lit(from)}`,
  );
  return String(r.rows[0][0]);
}

export async function benchGoldRefresh(opts: {
  rowsPerDay: number;
  accounts: number;
  workDir: string;
  log?: (line: string) => void;
}): Promise<GoldRefreshBench> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const root = path.join(opts.workDir, `gold-refresh-${opts.rowsPerDay}-${opts.accounts}`);
  const silver = path.join(root, 'silver', 'transactions');
  const staging = path.join(root, STAGING_BUCKET);
  const manifest = path.join(root, 'manifest.json');
  let generated: { rows: number; seconds: number };
  if (fs.existsSync(manifest)) {
    generated = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { rows: number; seconds: number };
    log(`gold-refresh: reusing ${silver} (${generated.rows} rows)`);
  } else {
    fs.rmSync(root, { recursive: true, force: true });
    log(`gold-refresh: generating 24 months at ${opts.rowsPerDay} rows/day into ${silver}`);
    const t = await timed(() => generateSilver(silver, opts.rowsPerDay, opts.accounts));
    generated = { rows: t.value, seconds: round(t.ms / 1000, 1) };
    fs.writeFileSync(manifest, JSON.stringify(generated));
  }
  const months = filesByMonth(silver);
  const resolveUri = (uri: string): string => {
    const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
    if (!m || m[1] !== STAGING_BUCKET) throw new Error(`unexpected URI ${uri}`);
    return path.join(staging, m[2]);
  };

  // Gold as of the end of the history: its months before a run's read month are those the
  // run's own gold would hold (a month's balances depend on earlier data only).
  const goldDir = path.join(root, 'gold');
  if (!fs.existsSync(goldDir)) {
    log('gold-refresh: building gold (full rebuild)');
    const all = [...months.values()].flat();
    const athena = await LocalAthena.create({
      tables: [silverTable(all), goldTable(path.join(root, 'no-gold'))],
      resolveUri,
    });
    try {
      const last = addMonths(FIRST_MONTH, MONTHS - 1);
      await refresh(
        athena,
        staging,
        `${GOLD_REFRESH_PREFIX}build/`,
        goldRefreshChunks(FIRST_MONTH, last, FULL_REBUILD_READ_MONTH),
      );
    } finally {
      athena.close();
    }
    fs.mkdirSync(goldDir, { recursive: true });
    for (const chunk of fs.readdirSync(path.join(staging, GOLD_REFRESH_PREFIX, 'build'))) {
      fs.cpSync(path.join(staging, GOLD_REFRESH_PREFIX, 'build', chunk), goldDir, { recursive: true });
    }
  }
  const goldMonths = filesByMonth(goldDir);

  const points: GoldRefreshPoint[] = [];
  for (const index of [1, 12, 24]) {
    const month = addMonths(FIRST_MONTH, index - 1);
    const lakeFiles = [...months.entries()].filter(([m]) => m <= month).flatMap(([, f]) => f);
    // the run of the month's last day: its rows in the month, its late rows in the month before
    const runMonths = index === 1 ? [month] : [addMonths(month, -1), month];
    const plan = goldPlan({ silver_months: runMonths, replaced_silver_months: [], latest_silver_month: month });
    const readFrom = plan.read_from_month!;
    const athena = await LocalAthena.create({ tables: [silverTable(lakeFiles), goldTable(goldDir)], resolveUri });
    try {
      const readSilver = [...months.entries()].filter(([m]) => m >= readFrom && m <= month).flatMap(([, f]) => f);
      const readGold = goldMonths.get(addMonths(readFrom, -1)) ?? [];
      const incrementalBytes =
        (await columnBytes(athena, readSilver, SILVER_COLUMNS)) + (await columnBytes(athena, readGold, GOLD_COLUMNS));
      const fullBytes = await columnBytes(athena, lakeFiles, SILVER_COLUMNS);
      const incrementalMs = await refresh(athena, staging, `${GOLD_REFRESH_PREFIX}incr-${index}/`, plan.chunks);
      const fullChunks = goldRefreshChunks(plan.from_month!, month, FULL_REBUILD_READ_MONTH);
      const fullMs = await refresh(athena, staging, `${GOLD_REFRESH_PREFIX}full-${index}/`, fullChunks);
      const same =
        (await goldFrom(athena, path.join(staging, GOLD_REFRESH_PREFIX, `incr-${index}`), plan.from_month!)) ===
        (await goldFrom(athena, path.join(staging, GOLD_REFRESH_PREFIX, `full-${index}`), plan.from_month!));
      const rows = await athena.execute(`SELECT count(*) FROM silver_transactions`);
      const point: GoldRefreshPoint = {
        month_index: index,
        month,
        silver_rows: Number(rows.rows[0][0]),
        silver_files: lakeFiles.length,
        read_from_month: readFrom,
        incremental_bytes: incrementalBytes,
        incremental_ms: round(incrementalMs, 1),
        full_bytes: fullBytes,
        full_ms: round(fullMs, 1),
        same_gold: same,
      };
      log(`gold-refresh: ${JSON.stringify(point)}`);
      if (!same) throw new Error(`gold-refresh: the incremental refresh differs from a full rebuild at ${month}`);
      points.push(point);
    } finally {
      athena.close();
    }
  }
  return {
    rows_per_day: opts.rowsPerDay,
    accounts: opts.accounts,
    generated_rows: generated.rows,
    generate_seconds: generated.seconds,
    points,
  };
}

/** bytes → MiB with 2 decimals */
export const mib = (bytes: number): number => round(bytes / 2 ** 20, 2);
export const totalBytes = (points: readonly GoldRefreshPoint[]): number => sum(points.map((p) => p.incremental_bytes));

if (require.main === module) {
  const rowsPerDay = Number(process.argv[2] ?? 20000);
  benchGoldRefresh({ rowsPerDay, accounts: 10_000, workDir: process.argv[3] ?? '/tmp/txlake-bench' })
    .then((r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`))
    .catch((e: unknown) => {
      process.stderr.write(`${String(e instanceof Error ? e.stack : e)}\n`);
      process.exit(1);
    });
}
