/**
 * Test helpers for the SQL in `sql/`: silver Parquet fixtures written by DuckDB, Glue tables from the
 * contract, and the gold refresh and balance history run on LocalAthena. (Scratch roots: tempDirs in ./lake.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import contract from '../../contract/transactions.v1.json';
import { FULL_REBUILD_READ_MONTH, goldRefreshParameters } from '../../core/gold-plan';
import { GOLD_REFRESH_PREFIX } from '../../core/lake-layout';
import { directoryTable, LocalAthena, type LocalTable, quarterParameters } from '../../runner/local/local-athena';

export const STAGING_BUCKET = 'txlake-test-staging';

export interface SilverTx {
  readonly id: string;
  readonly account: string;
  readonly currency: string;
  /** decimal text, e.g. "-174.00" */
  readonly amount: string;
  /** ISO instant in UTC, millisecond precision, e.g. "2024-02-01T00:00:00.000Z" */
  readonly ts: string;
}

const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** The lineage columns of the rows one {@link writeSilver} call writes (one ingest batch). */
export interface SilverBatch {
  readonly ingestDate: string;
  readonly sourceFile: string;
  readonly runId: string;
  /**
   * DuckDB's FILENAME_PATTERN for the Parquet files (e.g. `ingest1_{i}`), so that batches appended to
   * one table get files of their own. @default DuckDB's `data_{i}`
   */
  readonly fileNames?: string;
}

/** The batch of a silver fixture written at once. */
const FIXTURE_BATCH: SilverBatch = { ingestDate: '2024-04-01', sourceFile: 'fixture.csv', runId: 'run-test' };

/**
 * Writes silver_transactions Parquet with DuckDB: the contract's silver columns (TIMESTAMPTZ in UTC),
 * in Hive directories year=YYYY/month=MM whose values are not columns of the files (read them with
 * {@link table}, which ignores the directory names, as the Iceberg table's data files are read).
 */
export async function writeSilver(
  dir: string,
  txs: readonly SilverTx[],
  batch: SilverBatch = FIXTURE_BATCH,
): Promise<void> {
  if (txs.length === 0) return;
  fs.mkdirSync(dir, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    const values = txs
      .map((t, i) => `(${lit(t.id)}, ${lit(t.account)}, ${lit(t.amount)}, ${lit(t.currency)}, ${lit(t.ts)}, ${i + 1})`)
      .join(',\n');
    await connection.run(`
      COPY (
        SELECT
          id AS transaction_id,
          account AS customer_id,
          CAST(amount AS DECIMAL(16,2)) AS amount,
          currency,
          CAST(ts AS TIMESTAMPTZ) AS transaction_ts,
          DATE ${lit(batch.ingestDate)} AS ingest_date,
          ${lit(batch.sourceFile)} AS source_file,
          CAST(rec AS BIGINT) AS source_record,
          ${lit(batch.runId)} AS run_id,
          strftime(CAST(ts AS TIMESTAMPTZ), '%Y') AS year,
          strftime(CAST(ts AS TIMESTAMPTZ), '%m') AS month
        FROM (VALUES ${values}) AS v(id, account, amount, currency, ts, rec)
      ) TO ${lit(dir)} (FORMAT parquet, PARTITION_BY (year, month), OVERWRITE_OR_IGNORE${
        batch.fileNames === undefined ? '' : `, FILENAME_PATTERN ${lit(batch.fileNames)}`
      })`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

type TableName = keyof typeof contract.tables;

/**
 * Columns that the test fixtures of a table hold only in Hive directory names: gold's are the gold
 * refresh's UNLOAD output (`year=YYYY/month=MM/`, like Athena's), or copies of it.
 */
const FIXTURE_HIVE_COLUMNS: Partial<Record<TableName, readonly string[]>> = {
  gold_monthly_balances: ['year', 'month'],
};

/** A contract table over a fixture directory: every Parquet file beneath `dir`. */
export function table(name: TableName, dir: string): LocalTable {
  const columns = contract.tables[name].columns;
  const hive = FIXTURE_HIVE_COLUMNS[name] ?? [];
  return directoryTable(
    name,
    dir,
    columns,
    columns.filter((c) => hive.includes(c.name)),
  );
}

/**
 * The staging key prefix the tests' gold refresh writes to when they name none (the deployment
 * gives each refresh query a target of its own under GOLD_REFRESH_PREFIX).
 */
export const TEST_GOLD_REFRESH_TARGET = `${GOLD_REFRESH_PREFIX}test/`;

/** `sql/<file>` with the deployment placeholders filled: the tests' bucket and gold refresh target. */
export function readSql(file: string, goldRefreshTarget = TEST_GOLD_REFRESH_TARGET): string {
  const text = fs.readFileSync(path.join(__dirname, '..', '..', 'sql', file), 'utf8');
  return text
    .replace(/\{\{STAGING_BUCKET\}\}/g, STAGING_BUCKET)
    .replace(/\{\{GOLD_REFRESH_TARGET\}\}/g, goldRefreshTarget);
}

/** s3://STAGING_BUCKET/key → <root>/key; anything else is an error. */
export function resolverFor(root: string): (uri: string) => string {
  return (uri) => {
    const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
    if (!m || m[1] !== STAGING_BUCKET) throw new Error(`unexpected URI ${uri}`);
    return path.join(root, m[2]);
  };
}

/**
 * The gold refresh: gold_monthly_balances.sql over the silver table `<root>/silver/transactions`
 * for the months `fromMonth` .. `toMonth` ('9999-12': through the tail partition, as one query),
 * UNLOADed to `target` under `staging`. Returns the directory of the refreshed gold partitions.
 * A full rebuild (all of silver, no opening balances) unless `gold` names the current gold
 * directory: then incremental, reading silver from `fromMonth` on and gold's month before it.
 */
export async function refreshGold(
  root: string,
  fromMonth: string,
  staging = path.join(root, 'staging'),
  {
    toMonth = '9999-12',
    target = TEST_GOLD_REFRESH_TARGET,
    gold,
  }: { toMonth?: string; target?: string; gold?: string } = {},
): Promise<string> {
  const athena = await LocalAthena.create({
    tables: [
      table('silver_transactions', path.join(root, 'silver', 'transactions')),
      table('gold_monthly_balances', gold ?? path.join(root, 'no-gold')),
    ],
    resolveUri: resolverFor(staging),
  });
  try {
    const readFrom = gold === undefined ? FULL_REBUILD_READ_MONTH : fromMonth;
    await athena.execute(
      readSql('gold_monthly_balances.sql', target),
      goldRefreshParameters(readFrom, fromMonth, toMonth),
    );
  } finally {
    athena.close();
  }
  return path.join(staging, target);
}

/** Runs `fn` on a LocalAthena whose gold_monthly_balances table is `goldDir`. */
export async function withGold<T>(goldDir: string, fn: (athena: LocalAthena) => Promise<T>): Promise<T> {
  const athena = await LocalAthena.create({
    tables: [table('gold_monthly_balances', goldDir)],
    resolveUri: resolverFor(path.join(goldDir, '..', 'unused')),
  });
  try {
    return await fn(athena);
  } finally {
    athena.close();
  }
}

/** balance_history.sql for `quarter` over the gold table `goldDir` (the snapshot path). */
export async function balanceHistory(goldDir: string, quarter: string): Promise<(string | null)[][]> {
  return withGold(goldDir, async (athena) => {
    const result = await athena.execute(readSql('balance_history.sql'), quarterParameters(quarter));
    expect(result.columns).toEqual(['account_id', 'currency', 'month', 'balance']);
    return result.rows;
  });
}

export function toCsv(rows: (string | null)[][]): string[] {
  return rows.map((r) => r.map((v) => v ?? '').join(','));
}
