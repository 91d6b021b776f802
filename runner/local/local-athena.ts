/**
 * LocalAthena — the local stand-in for Amazon Athena (engine v3, Trino dialect).
 *
 * The SQL files in `sql/` run unchanged on Athena and, locally, on DuckDB through this class:
 *
 *  - every table becomes a DuckDB view (same unqualified name, same column names and types)
 *    over `read_parquet([<the table's files>], hive_partitioning = false)`. An Iceberg table's
 *    files are the live data files of its snapshot, listed from the local catalog
 *    (`icebergTable`, iceberg-catalog.ts): Iceberg data files hold every column, partition
 *    sources included. Plain directories (test fixtures, UNLOAD output: `directoryTable`) may
 *    name Hive partition columns, read from the directory names with their Glue type (string
 *    partitions stay VARCHAR, so `month=01` is `'01'` as in Athena). Columns are read by name,
 *    like Athena reads Parquet: a column missing from some (or all) files reads as NULL there, so
 *    files written before a contract version added a column stay readable (see `viewSql`,
 *    athena-table-views.ts). A table without files (an Iceberg table never written) gives a view
 *    with the same columns and zero rows. Views are re-created on every `execute` from the
 *    table's files as of then, so commits made since the last query are seen.
 *  - Trino functions that DuckDB lacks are provided as DuckDB macros (see `MACROS`, trino-macros.ts); the
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
import { balanceHistoryValues } from '../../core/quarter';
import { DuckDBConnection, DuckDBInstance, DuckDBType, VARCHAR } from '@duckdb/node-api';
import { type FileGroup, type LocalTable, viewSql } from './athena-table-views';
import { assertEmptyTarget, copySql, parseUnload } from './athena-unload';
import { quoteLiteral } from './duckdb-quoting';
import { MACROS } from './trino-macros';

// Callers import LocalAthena's whole surface from here; the parts live beside it.
export {
  directoryTable,
  duckdbType,
  type FileGroup,
  icebergTable,
  type LocalTable,
  type LocalTableColumn,
} from './athena-table-views';
export { parseUnload, type UnloadStatement } from './athena-unload';
export { MACROS } from './trino-macros';

/** Every value rendered as text; SQL NULL as `null`. */
export interface QueryResult {
  readonly columns: string[];
  readonly rows: (string | null)[][];
}

export interface LocalAthenaOptions {
  readonly tables: readonly LocalTable[];
  /** maps `s3://bucket/key` to a local path (used for UNLOAD targets) */
  readonly resolveUri: (s3Uri: string) => string;
}

/** `YYYY-Qn` → the parameters of `sql/balance_history.sql`, in order (see its header). */
export function quarterParameters(quarter: string): string[] {
  return balanceHistoryValues(quarter);
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
    const files = await table.files();
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
