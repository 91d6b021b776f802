/** Test helpers for the SQL in `sql/`: silver Parquet fixtures written by DuckDB, Glue tables from the contract. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import contract from '../../contract/transactions.v1.json';
import { LocalAthena, LocalTable } from '../../runner/local/local-athena';

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

export function tempDir(prefix = 'txlake-sql-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes silver_transactions Parquet (Hive partitions year=YYYY/month=MM, TIMESTAMPTZ in UTC) with DuckDB. */
export async function writeSilver(dir: string, txs: readonly SilverTx[]): Promise<void> {
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
          DATE '2024-04-01' AS ingest_date,
          'fixture.csv' AS source_file,
          CAST(rec AS BIGINT) AS source_record,
          'run-test' AS run_id,
          strftime(CAST(ts AS TIMESTAMPTZ), '%Y') AS year,
          strftime(CAST(ts AS TIMESTAMPTZ), '%m') AS month
        FROM (VALUES ${values}) AS v(id, account, amount, currency, ts, rec)
      ) TO ${lit(dir)} (FORMAT parquet, PARTITION_BY (year, month), OVERWRITE_OR_IGNORE)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

type TableName = keyof typeof contract.tables;

export function table(name: TableName, location: string): LocalTable {
  const t = contract.tables[name];
  return { name, location, columns: t.columns, partitionKeys: t.partitionKeys };
}

export function readSql(file: string): string {
  const text = fs.readFileSync(path.join(__dirname, '..', '..', 'sql', file), 'utf8');
  return text.replace(/\{\{STAGING_BUCKET\}\}/g, STAGING_BUCKET);
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
 * Full local flow: silver fixture → gold_monthly_balances.sql (UNLOAD to a staging dir) →
 * balance_history.sql over that gold output. Returns the gold dir and the history rows.
 */
export async function refreshGold(root: string, fromMonth: string): Promise<string> {
  const athena = await LocalAthena.create({
    tables: [table('silver_transactions', path.join(root, 'silver', 'transactions'))],
    resolveUri: resolverFor(path.join(root, 'staging')),
  });
  try {
    await athena.execute(readSql('gold_monthly_balances.sql'), [fromMonth]);
  } finally {
    athena.close();
  }
  return path.join(root, 'staging', 'gold-refresh');
}

export function toCsv(rows: (string | null)[][]): string[] {
  return rows.map((r) => r.map((v) => v ?? '').join(','));
}
