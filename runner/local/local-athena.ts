/**
 * LocalAthena — the local stand-in for Amazon Athena (engine v3, Trino dialect).
 *
 * The SQL files in `sql/` run unchanged on Athena and, locally, on DuckDB through this class:
 *
 *  - every Glue table becomes a DuckDB view (same unqualified name, same column names and
 *    types) over `read_parquet('<location>/**\/*.parquet', hive_partitioning = true,
 *    hive_types = {...})`; partition keys keep their Glue type (string partitions stay VARCHAR,
 *    so `month=01` is `'01'` as in Athena). Columns are read by name, like Athena reads Parquet: a
 *    Glue column missing from some (or all) files reads as NULL there, so files written before a
 *    contract version added a column stay readable (see `viewSql`). A location without
 *    Parquet files yet gives a view with the same columns and zero rows. Views are re-created on
 *    every `execute`, so files written since the last query are seen.
 *  - Trino functions that DuckDB lacks are provided as DuckDB macros (see `MACROS` below); the
 *    SQL text itself is never rewritten ...
 *  - ... with ONE exception: Athena's
 *      `UNLOAD (<query>) TO 's3://bucket/prefix/' WITH (format = 'PARQUET', partitioned_by = ARRAY['year', 'month'])`
 *    wrapper is translated to DuckDB's
 *      `COPY (<query>) TO '<local dir>' (FORMAT parquet, PARTITION_BY (year, month))`
 *    (the inner query text is untouched; the S3 URI is mapped with `resolveUri`). Like Athena,
 *    the target location must be empty (or absent): a non-empty target throws.
 *  - positional `?` parameters: Athena's ExecutionParameters are SQL literals (`'2024-01'`);
 *    locally they are bound as VARCHAR values of a prepared statement.
 *  - the session runs with `TimeZone = 'UTC'` (Glue `timestamp` columns hold UTC instants;
 *    Parquet TIMESTAMP adjusted-to-UTC is read as TIMESTAMPTZ and cast to TIMESTAMP in the view,
 *    which gives the UTC wall-clock time exactly like Athena) and binary (byte order) collation,
 *    which is Trino's varchar ordering (by code point).
 *
 * Results are rendered as text like Athena's CSV result set: decimals with their scale
 * ("326.00"), dates `YYYY-MM-DD`, timestamps `YYYY-MM-DD HH:MM:SS[.fff]`, NULL as `null`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { balanceHistoryValues } from '../../core/quarter';
import { DuckDBConnection, DuckDBInstance, DuckDBType, VARCHAR } from '@duckdb/node-api';

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

/** Every value rendered as text; SQL NULL as `null`. */
export interface QueryResult {
  readonly columns: string[];
  readonly rows: (string | null)[][];
}

export interface LocalAthenaOptions {
  readonly tables: LocalTable[];
  /** maps `s3://bucket/key` to a local path (used for UNLOAD targets) */
  readonly resolveUri: (s3Uri: string) => string;
}

/**
 * DuckDB macros standing in for Trino functions that DuckDB does not have.
 *
 * sequence(start, stop)
 *   Trino: `sequence(bigint, bigint)` → array(bigint), step 1 (inclusive bounds).
 *   DuckDB: `generate_series(start, stop)` (inclusive bounds, BIGINT[]).
 *
 * sequence(start, stop, step)
 *   Trino: `sequence(date, date, interval)` → array(date), inclusive bounds, e.g.
 *   `sequence(DATE '2024-01-01', DATE '2024-03-01', INTERVAL '1' MONTH)`.
 *   DuckDB: `generate_series` over TIMESTAMPs (DuckDB's date series returns TIMESTAMP[]), each
 *   element cast back to DATE, so the result is DATE[] as in Trino.
 *   Limitation: this 3-argument form supports only the date/interval variant (the one the SQL in
 *   `sql/` uses), not Trino's `sequence(bigint, bigint, bigint)` or timestamp sequences.
 */
export const MACROS: readonly string[] = [
  `CREATE OR REPLACE MACRO sequence(start_value, stop_value) AS generate_series(start_value, stop_value),
     (start_value, stop_value, step) AS list_transform(
       generate_series(CAST(start_value AS TIMESTAMP), CAST(stop_value AS TIMESTAMP), step),
       x -> CAST(x AS DATE))`,
];

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

/** `YYYY-Qn` → the parameters of `sql/balance_history.sql`, in order (see its header). */
export function quarterParameters(quarter: string): string[] {
  return balanceHistoryValues(quarter);
}

const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const quoteLiteral = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** Every `*.parquet` file under `dir`, in path order (the order of DuckDB's `**\/*.parquet` glob). */
function parquetFiles(dir: string): string[] {
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
function viewSql(table: LocalTable, groups: readonly FileGroup[] | undefined): string {
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

/** A parsed Athena `UNLOAD (<query>) TO '<uri>' WITH (...)` statement. */
export interface UnloadStatement {
  readonly query: string;
  readonly uri: string;
  readonly format: 'PARQUET' | 'JSON';
  readonly compression?: string;
  readonly partitionedBy: string[];
}

const LEADING_COMMENTS = String.raw`(?:\s|--[^\n]*(?:\n|$)|/\*[\s\S]*?\*/)*`;
const UNLOAD_RE = new RegExp(
  String.raw`^${LEADING_COMMENTS}UNLOAD\s*\(([\s\S]*)\)\s*TO\s*'((?:[^']|'')*)'\s*WITH\s*\(([^()]*)\)\s*;?${LEADING_COMMENTS}$`,
  'i',
);

/** Splits `a = 'x', b = ARRAY['y', 'z']` at top-level commas. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let inString = false;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "'" && text[i + 1] === "'") {
        current += "''";
        i++;
        continue;
      }
      if (ch === "'") inString = false;
    } else if (ch === "'") inString = true;
    else if (ch === '[') depth++;
    else if (ch === ']') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
      continue;
    }
    current += ch;
  }
  if (current.trim() !== '') parts.push(current.trim());
  return parts;
}

const unquote = (literal: string): string => {
  const m = /^'((?:[^']|'')*)'$/.exec(literal.trim());
  if (!m) throw new Error(`LocalAthena: expected a string literal, got ${literal}`);
  return m[1].replace(/''/g, "'");
};

/** Parses an Athena UNLOAD statement; returns undefined when `sql` is not one. */
export function parseUnload(sql: string): UnloadStatement | undefined {
  const m = UNLOAD_RE.exec(sql);
  if (!m) return undefined;
  const [, query, rawUri, rawProps] = m;
  let format: string | undefined;
  let compression: string | undefined;
  let partitionedBy: string[] = [];
  for (const prop of splitTopLevel(rawProps)) {
    const kv = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*([\s\S]+)$/.exec(prop);
    if (!kv) throw new Error(`LocalAthena: cannot parse UNLOAD property '${prop}'`);
    const key = kv[1].toLowerCase();
    const value = kv[2].trim();
    if (key === 'format') format = unquote(value).toUpperCase();
    else if (key === 'compression') compression = unquote(value).toUpperCase();
    else if (key === 'partitioned_by') {
      const arr = /^ARRAY\s*\[([\s\S]*)\]$/i.exec(value);
      if (!arr) throw new Error(`LocalAthena: partitioned_by must be ARRAY[...], got ${value}`);
      partitionedBy = splitTopLevel(arr[1]).map(unquote);
    } else throw new Error(`LocalAthena: unsupported UNLOAD property '${kv[1]}'`);
  }
  if (format !== 'PARQUET' && format !== 'JSON') {
    throw new Error(`LocalAthena: unsupported UNLOAD format '${format ?? '(none)'}' (PARQUET or JSON)`);
  }
  return {
    query,
    uri: rawUri.replace(/''/g, "'"),
    format,
    compression,
    partitionedBy,
  };
}

/**
 * Athena's UNLOAD fails on a prefix that holds objects. S3 has no directories, so a local target
 * that holds only empty directories (left by a COPY killed before its first file) is empty: they
 * are removed, as DuckDB's partitioned COPY refuses any non-empty directory.
 */
function assertEmptyTarget(dir: string, uri: string): void {
  if (!fs.existsSync(dir)) return;
  const files = (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[]).filter(
    (entry) => !entry.isDirectory(),
  );
  if (files.length > 0) {
    throw new Error(`UNLOAD target ${uri} (${dir}) is not empty: Athena's UNLOAD requires an empty location`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

/** DuckDB COPY statement equivalent to an Athena UNLOAD. Creates the target directory. */
function copySql(unload: UnloadStatement, dir: string): string {
  const options = [`FORMAT ${unload.format === 'PARQUET' ? 'parquet' : 'json'}`];
  if (unload.compression) options.push(`COMPRESSION ${quoteLiteral(unload.compression.toLowerCase())}`);
  // S3 has no directories: create the (empty) target and its parents, as DuckDB does not
  fs.mkdirSync(dir, { recursive: true });
  let target: string;
  if (unload.partitionedBy.length > 0) {
    options.push(`PARTITION_BY (${unload.partitionedBy.map(quoteIdent).join(', ')})`);
    target = dir;
  } else {
    target = path.join(dir, `${randomUUID()}.${unload.format === 'PARQUET' ? 'parquet' : 'json'}`);
  }
  return `COPY (${unload.query}) TO ${quoteLiteral(target)} (${options.join(', ')})`;
}

export class LocalAthena {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly footers = new Map<
    string,
    { readonly mtimeMs: number; readonly size: number; readonly columns: ReadonlySet<string> | undefined }
  >();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly options: LocalAthenaOptions,
  ) {}

  static async create(options: LocalAthenaOptions): Promise<LocalAthena> {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      await connection.run(`SET TimeZone = 'UTC'`);
      await connection.run(`SET default_collation = 'binary'`);
      for (const macro of MACROS) await connection.run(macro);
    } catch (e) {
      connection.closeSync();
      instance.closeSync();
      throw e;
    }
    return new LocalAthena(instance, connection, options);
  }

  /** Runs one statement; `parameters` are Athena ExecutionParameters for the positional `?`. */
  execute(sql: string, parameters: string[] = []): Promise<QueryResult> {
    const run = this.queue.then(() => this.executeNow(sql, parameters));
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }

  /**
   * The table's Parquet files grouped by the Glue columns they hold (footers are read once per file
   * version). A file whose footer cannot be read joins the last group, at the end, so it only
   * fails a query that actually scans it (and never the binding of its group's schema).
   */
  private async fileGroups(table: LocalTable): Promise<FileGroup[] | undefined> {
    const files = parquetFiles(table.location);
    if (files.length === 0) return undefined;
    const glueColumns = table.columns.map((c) => c.name.toLowerCase());
    const groups = new Map<string, { columns: Set<string>; files: string[] }>();
    const unreadable: string[] = [];
    for (const file of files) {
      const columns = await this.footerColumns(file);
      if (!columns) {
        unreadable.push(file);
        continue;
      }
      const present = glueColumns.filter((c) => columns.has(c));
      const key = present.join(',');
      const group = groups.get(key) ?? { columns: new Set(present), files: [] };
      group.files.push(file);
      groups.set(key, group);
    }
    const result = [...groups.values()];
    if (result.length === 0) result.push({ columns: new Set(glueColumns), files: [] });
    result[result.length - 1].files.push(...unreadable);
    return result;
  }

  /** Lower-cased top-level column names of a Parquet file; undefined when it cannot be read. */
  private async footerColumns(file: string): Promise<ReadonlySet<string> | undefined> {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(file);
    } catch {
      return undefined;
    }
    const cached = this.footers.get(file);
    if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached.columns;
    let columns: Set<string> | undefined;
    try {
      const reader = await this.connection.runAndReadAll(
        `DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(file)}, hive_partitioning = false)`,
      );
      columns = new Set(reader.getRows().map((row) => String(row[0]).toLowerCase()));
    } catch {
      columns = undefined;
    }
    this.footers.set(file, { mtimeMs: stat.mtimeMs, size: stat.size, columns });
    return columns;
  }

  private async executeNow(sql: string, parameters: string[]): Promise<QueryResult> {
    for (const table of this.options.tables) await this.connection.run(viewSql(table, await this.fileGroups(table)));
    const unload = parseUnload(sql);
    let statement = sql;
    if (unload) {
      const dir = this.options.resolveUri(unload.uri);
      assertEmptyTarget(dir, unload.uri);
      statement = copySql(unload, dir);
    }
    const types: DuckDBType[] = parameters.map(() => VARCHAR);
    const reader =
      parameters.length > 0
        ? await this.connection.runAndReadAll(statement, [...parameters], types)
        : await this.connection.runAndReadAll(statement);
    if (unload) return { columns: [], rows: [] };
    const rows = reader.getRows().map((row) => row.map((v) => (v === null ? null : String(v))));
    return { columns: reader.columnNames(), rows };
  }
}
