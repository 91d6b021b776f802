import * as fs from 'node:fs';
import * as path from 'node:path';
import { quoteIdent, quoteLiteral } from './duckdb-quoting';
import type { IcebergCatalog, SnapshotSelector } from './iceberg-catalog';

/**
 * Glue tables as DuckDB views for LocalAthena: Glue column types in DuckDB terms, the table's
 * Parquet files, and the view that reads them by column name like Athena does.
 */

/** Glue/Hive column type: string, bigint, int, double, boolean, date, timestamp, decimal(p,s), array<T>. */
export interface LocalTableColumn {
  readonly name: string;
  readonly type: string;
}

export interface LocalTable {
  readonly name: string;
  /** every column of the table, in order (Glue types) */
  readonly columns: readonly LocalTableColumn[];
  /**
   * The table's Parquet files as of now (absolute paths). Called by every `execute` that names the
   * table (unless `version` says nothing changed), so a commit made since the last query is seen.
   */
  readonly files: () => Promise<readonly string[]>;
  /**
   * What identifies the table's current state, cheaply (an Iceberg table: its current metadata
   * file, which every commit replaces). While it returns what it returned when LocalAthena last made
   * the table's view, the view is kept and `files` is not called. Without it, the files are listed
   * for every query that names the table.
   */
  readonly version?: () => Promise<string>;
  /**
   * Columns whose values live only in the files' Hive directory names (`year=2024/`), read with
   * DuckDB's `hive_partitioning`; a name also in `columns` keeps its place there, others follow.
   * Only for plain directories (test fixtures, Athena UNLOAD output): Iceberg data files hold every
   * column, and their `data/<partition>=…/` directory names must not override the file's values.
   */
  readonly hivePartitionColumns?: readonly LocalTableColumn[];
}

/** A plain directory of Parquet files (every `*.parquet` beneath it, read on every query). */
export function directoryTable(
  name: string,
  dir: string,
  columns: readonly LocalTableColumn[],
  hivePartitionColumns?: readonly LocalTableColumn[],
): LocalTable {
  return {
    name,
    columns,
    files: () => Promise.resolve(parquetFiles(dir)),
    ...(hivePartitionColumns && hivePartitionColumns.length > 0 ? { hivePartitionColumns } : {}),
  };
}

/**
 * An Iceberg table of the local catalog: the live data files of main's head (re-resolved on every
 * query), of main as of `asOf`, or of a branch/tag `ref`. A table without a snapshot yet has no
 * files (the empty view); a missing table, a snapshot with delete files or an instant before the
 * first snapshot throw the catalog's errors from the query. Its version is the current metadata
 * location: Iceberg writes a new metadata file for every commit and never rewrites one, so the
 * files the selector names change only with it.
 */
export function icebergTable(
  catalog: IcebergCatalog,
  tableName: string,
  columns: readonly LocalTableColumn[],
  selector: SnapshotSelector = {},
  /** the view's name @default tableName */
  viewName: string = tableName,
): LocalTable {
  return {
    name: viewName,
    columns,
    files: async () => {
      const { metadata, files } = await catalog.tableFiles(tableName, selector);
      const other = files.find((f) => f.fileFormat !== 'PARQUET');
      if (other) {
        throw new Error(`LocalAthena: ${metadata.identifier} has a ${other.fileFormat} data file (${other.path})`);
      }
      return files.map((f) => f.path);
    },
    version: async () => (await catalog.metadataLocation(tableName)) ?? '',
  };
}

/** The view's columns: the table's columns, then Hive partition columns that are not among them. */
export function viewColumns(table: LocalTable): LocalTableColumn[] {
  const names = new Set(table.columns.map((c) => c.name.toLowerCase()));
  return [...table.columns, ...(table.hivePartitionColumns ?? []).filter((c) => !names.has(c.name.toLowerCase()))];
}

/** Glue/Hive type → DuckDB type. */
export function duckdbType(glueType: string): string {
  const t = glueType.trim().toLowerCase();
  const array = /^array\s*<(.*)>$/s.exec(t);
  if (array) return `${duckdbType(array[1])}[]`;
  const decimal = /^decimal\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)$/.exec(t);
  if (decimal) return `DECIMAL(${decimal[1]},${decimal[2]})`;
  if (t === 'decimal') return 'DECIMAL(10,0)';
  if (t === 'string' || /^(varchar|char)(\s*\(\s*\d+\s*\))?$/.test(t)) return 'VARCHAR';
  const simple: Record<string, string> = {
    bigint: 'BIGINT',
    int: 'INTEGER',
    integer: 'INTEGER',
    smallint: 'SMALLINT',
    tinyint: 'TINYINT',
    double: 'DOUBLE',
    float: 'FLOAT',
    boolean: 'BOOLEAN',
    date: 'DATE',
    timestamp: 'TIMESTAMP',
    binary: 'BLOB',
  };
  const mapped = simple[t];
  if (!mapped) throw new Error(`LocalAthena: unsupported Glue column type '${glueType}'`);
  return mapped;
}

/** Every `*.parquet` file under `dir`, in path order (the order of DuckDB's `**\/*.parquet` glob). */
export function parquetFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile() && e.name.endsWith('.parquet')) out.push(full);
    }
  };
  walk(dir);
  return out.sort();
}

/** `read_parquet([files], ...)`, with Hive partitioning for the table's Hive partition columns only. */
function readParquetSql(table: LocalTable, files: readonly string[]): string {
  const hive = table.hivePartitionColumns ?? [];
  const options = [`hive_partitioning = ${hive.length > 0 ? 'true' : 'false'}`];
  if (hive.length > 0) {
    options.push(
      `hive_types = {${hive.map((k) => `${quoteLiteral(k.name)}: ${quoteLiteral(duckdbType(k.type))}`).join(', ')}}`,
    );
  }
  return `read_parquet([${files.map(quoteLiteral).join(', ')}], ${options.join(', ')})`;
}

/** Files of a table that hold the same subset of its Glue columns. */
export interface FileGroup {
  /** lower-cased Glue columns present in these files */
  readonly columns: ReadonlySet<string>;
  readonly files: readonly string[];
}

/**
 * The view of a Glue table; `groups` undefined when it has no Parquet files (yet).
 *
 * Columns are read by name, as Athena reads Parquet: a Glue column that a file lacks (a file written
 * before a contract version added the column, see docs/schema-evolution.md) reads as NULL; a
 * `timestamp` column reads at Athena engine v3's millisecond precision (truncated). DuckDB
 * binds a scan's schema from its first file, so files with different column sets are scanned
 * separately and combined with UNION ALL. `union_by_name` would do the same, but it opens every
 * file when binding, and files outside a query's filter should not be read. A table whose files
 * all hold the same columns (the usual case) is one scan over its files.
 */
export function viewSql(table: LocalTable, groups: readonly FileGroup[] | undefined): string {
  const all = viewColumns(table);
  if (!groups || groups.length === 0) {
    const cols = all.map((c) => `CAST(NULL AS ${duckdbType(c.type)}) AS ${quoteIdent(c.name)}`);
    return `CREATE OR REPLACE VIEW ${quoteIdent(table.name)} AS SELECT ${cols.join(', ')} WHERE false`;
  }
  const hive = new Set((table.hivePartitionColumns ?? []).map((k) => k.name.toLowerCase()));
  const scans = groups.map((g) => {
    const cols = all.map((c) => {
      const present = hive.has(c.name.toLowerCase()) || g.columns.has(c.name.toLowerCase());
      const type = duckdbType(c.type);
      const value = `CAST(${present ? quoteIdent(c.name) : 'NULL'} AS ${type})`;
      // Athena engine v3 reads timestamps at millisecond precision: finer digits are dropped.
      return `${present && type === 'TIMESTAMP' ? `date_trunc('millisecond', ${value})` : value} AS ${quoteIdent(c.name)}`;
    });
    return `SELECT ${cols.join(', ')} FROM ${readParquetSql(table, g.files)}`;
  });
  return `CREATE OR REPLACE VIEW ${quoteIdent(table.name)} AS ${scans.join(' UNION ALL ')}`;
}
