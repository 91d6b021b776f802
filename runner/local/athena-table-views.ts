import * as fs from 'node:fs';
import * as path from 'node:path';
import { quoteIdent, quoteLiteral } from './duckdb-quoting';

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
  /** absolute local directory (the table's S3 prefix in the local lake) */
  readonly location: string;
  readonly columns: LocalTableColumn[];
  readonly partitionKeys: LocalTableColumn[];
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

/** `read_parquet(<files or the table's glob>, ...)` with the table's Hive partitioning. */
function readParquetSql(table: LocalTable, files?: readonly string[]): string {
  const source = files
    ? `[${files.map(quoteLiteral).join(', ')}]`
    : quoteLiteral(`${table.location.replace(/[\\/]+$/, '')}/**/*.parquet`);
  const hiveTypes = table.partitionKeys.map((k) => `${quoteLiteral(k.name)}: ${quoteLiteral(duckdbType(k.type))}`);
  const options = [`hive_partitioning = ${table.partitionKeys.length > 0 ? 'true' : 'false'}`];
  if (hiveTypes.length > 0) options.push(`hive_types = {${hiveTypes.join(', ')}}`);
  return `read_parquet(${source}, ${options.join(', ')})`;
}

/** Files of a table that hold the same subset of its Glue columns. */
export interface FileGroup {
  /** lower-cased Glue columns present in these files */
  readonly columns: ReadonlySet<string>;
  readonly files: readonly string[];
}

/**
 * The view of a Glue table; `groups` undefined when it has no Parquet files yet.
 *
 * Columns are read by name, as Athena reads Parquet: a Glue column that a file lacks (a file written
 * before a contract version added the column, see docs/schema-evolution.md) reads as NULL. DuckDB
 * binds a scan's schema from its first file, so files with different column sets are scanned
 * separately and combined with UNION ALL. `union_by_name` would do the same, but it opens every
 * file when binding, and partitions outside a query's filter must never be read. A table whose
 * files all hold the same columns (the usual case) is one scan over the table's glob.
 */
export function viewSql(table: LocalTable, groups: readonly FileGroup[] | undefined): string {
  const all = [...table.columns, ...table.partitionKeys];
  if (!groups || groups.length === 0) {
    const cols = all.map((c) => `CAST(NULL AS ${duckdbType(c.type)}) AS ${quoteIdent(c.name)}`);
    return `CREATE OR REPLACE VIEW ${quoteIdent(table.name)} AS SELECT ${cols.join(', ')} WHERE false`;
  }
  const partitionKeys = new Set(table.partitionKeys.map((k) => k.name.toLowerCase()));
  const scans = groups.map((g) => {
    const cols = all.map((c) => {
      const present = partitionKeys.has(c.name.toLowerCase()) || g.columns.has(c.name.toLowerCase());
      return `CAST(${present ? quoteIdent(c.name) : 'NULL'} AS ${duckdbType(c.type)}) AS ${quoteIdent(c.name)}`;
    });
    const source = groups.length === 1 ? readParquetSql(table) : readParquetSql(table, g.files);
    return `SELECT ${cols.join(', ')} FROM ${source}`;
  });
  return `CREATE OR REPLACE VIEW ${quoteIdent(table.name)} AS ${scans.join(' UNION ALL ')}`;
}
