import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import contract from '../contract/transactions.v1.json';
import { localPath, parseS3Uri } from '../runner/local/lake-paths';
import { LAKE_LAYERS, type LakeLayer, monthOfKey, TABLES } from '../core/lake-layout';
import type { LakeBuckets } from '../lambdas/shared/runtime';
import { directoryTable, LocalAthena, type LocalTable } from '../runner/local/local-athena';

/**
 * The balance-history bench's local lake (`<workDir>/lake/<bucket>/...`) and its tables: the data
 * contract's Glue tables, located in the lake, behind a LocalAthena like the CLI's.
 */

/** Local mode: every bucket is the lake folder of its layer. */
export const BUCKETS: LakeBuckets = Object.fromEntries(LAKE_LAYERS.map((layer) => [layer, layer])) as Record<
  LakeLayer,
  string
>;

export type TableName = keyof typeof contract.tables;

export interface Lake {
  readonly root: string;
  readonly silver: string;
  readonly gold: string;
  readonly staging: string;
}

/** A table's directory in the lake: `<lake>/<layer>/<prefix>` (its location in the contract). */
const tableDir = (root: string, name: TableName): string =>
  path.join(root, contract.tables[name].layer, contract.tables[name].prefix);

export function lakeOf(workDir: string): Lake {
  const root = path.join(workDir, 'lake');
  return {
    root,
    silver: tableDir(root, TABLES.silver),
    gold: tableDir(root, TABLES.gold),
    staging: path.join(root, BUCKETS.staging),
  };
}

/**
 * Columns that the bench lake's plain directories hold only in Hive directory names: gold is the
 * gold refresh's UNLOAD output (`year=YYYY/month=MM/`), quarantine and condemned the old
 * `ingest_date=D/` layout. Silver's files hold every silver column.
 */
const HIVE_COLUMNS: Partial<Record<TableName, readonly string[]>> = {
  gold_monthly_balances: ['year', 'month'],
  quarantine_transactions: ['ingest_date'],
  condemned_transactions: ['ingest_date'],
};

/** Every table of the contract over its plain directory `<lake>/<layer>/<prefix>` (not an Iceberg table). */
function lakeTables(lake: Lake, only?: readonly TableName[]): LocalTable[] {
  return (Object.keys(contract.tables) as TableName[])
    .filter((name) => !only || only.includes(name))
    .map((name) => {
      const columns = contract.tables[name].columns;
      const hive = HIVE_COLUMNS[name] ?? [];
      return directoryTable(
        name,
        tableDir(lake.root, name),
        columns,
        columns.filter((c) => hive.includes(c.name)),
      );
    });
}

/** s3://bucket/key → `<lake>/bucket/key` (the local runner's localPath, but strict: anything else throws). */
const resolverFor =
  (lake: Lake) =>
  (uri: string): string => {
    if (!parseS3Uri(uri)) throw new Error(`not an S3 URI: ${uri}`);
    return localPath(lake.root, uri);
  };

/**
 * A fresh LocalAthena over the lake's tables, with session settings only (the SQL files are
 * untouched): bounded memory, spill files in the work dir. No view is made yet: the first statement
 * that names a table makes its view (reading the footer of every Parquet file of the table).
 */
export async function openAthena(
  lake: Lake,
  opts: { readonly memoryLimit: string; readonly workDir: string },
  only?: TableName[],
): Promise<{ athena: LocalAthena }> {
  const athena = await LocalAthena.create({ tables: lakeTables(lake, only), resolveUri: resolverFor(lake) });
  try {
    await athena.execute(`SET memory_limit = ${lit(opts.memoryLimit)}`);
    await athena.execute(`SET temp_directory = ${lit(path.join(opts.workDir, 'duckdb-tmp'))}`);
    return { athena };
  } catch (error) {
    athena.close();
    throw error;
  }
}

/** LocalAthena's DuckDB connection (private), for the diagnostics only. */
export const connectionOf = (athena: LocalAthena): DuckDBConnection =>
  (athena as unknown as { connection: DuckDBConnection }).connection;

/**
 * LocalAthena's private parts that the diagnostics time on their own, for the diagnostics only: the
 * views' upkeep before a statement (`refreshViews`, and `views`, what it knows of the views it
 * made) and the COPY `executeCsv` runs for a statement (`csvPlans`, the file in `resultDir`).
 */
export interface AthenaInternals {
  readonly views: Map<string, unknown>;
  readonly csvPlans: Map<string, { readonly header: string; readonly copy: string } | undefined>;
  readonly resultDir: string | undefined;
  refreshViews(sql: string): Promise<unknown>;
}
export const internalsOf = (athena: LocalAthena): AthenaInternals => athena as unknown as AthenaInternals;

export const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;

export interface FileInfo {
  readonly file: string;
  readonly size: number;
}

export function parquetFiles(dir: string): FileInfo[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.parquet'))
    .map((f) => path.join(dir, f))
    .filter((f) => fs.statSync(f).isFile())
    .sort()
    .map((file) => ({ file, size: fs.statSync(file).size }));
}

export const partitionsOf = (files: readonly FileInfo[]): number =>
  new Set(files.map((f) => path.dirname(f.file))).size;

/** The `YYYY-MM` of the `year=YYYY/month=MM` partition of a file of a table's directory, or undefined. */
export const monthOfFile = (tableDir: string, file: string): string | undefined =>
  monthOfKey(path.relative(tableDir, file).split(path.sep).join('/'));
