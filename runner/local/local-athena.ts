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
 *    with the same columns and zero rows. Before each statement, the view of every table the
 *    statement names (as a word of its text, or of the text of a view or macro it names that
 *    statements created) is brought up to date: a table whose `version` (an Iceberg table's current
 *    metadata location) is what it was when its view was made keeps its view; any other has its
 *    files listed again, and its view re-created when they changed. So a commit made since the last
 *    query, by any process, is seen, and an unchanged table costs one catalog read (see
 *    `refreshViews`).
 *  - Trino functions that DuckDB lacks are provided as DuckDB macros (see `MACROS`, trino-macros.ts); the
 *    SQL text itself is never rewritten ...
 *  - ... with ONE exception: Athena's
 *      `UNLOAD (<query>) TO 's3://bucket/prefix/' WITH (format = 'PARQUET', partitioned_by = ARRAY['year', 'month'])`
 *    wrapper is translated to DuckDB's
 *      `COPY (<query>) TO '<local dir>' (FORMAT parquet, PARTITION_BY (year, month))`
 *    (the inner query text is untouched; the S3 URI is mapped with `resolveUri`). Like Athena,
 *    the target location must be empty (or absent): a non-empty target throws; and an UNLOAD that
 *    writes more than 100 partitions (distinct partition-value combinations) fails with an Error
 *    named `HIVE_TOO_MANY_OPEN_PARTITIONS` (Athena's message, then the target and the count in
 *    parentheses). That is checked after the COPY has written: the output stays in the target,
 *    as a failed Athena query may leave partial output.
 *  - positional `?` parameters: Athena's ExecutionParameters are SQL literals (`'2024-01'`);
 *    locally they are bound as VARCHAR values of a prepared statement.
 *  - the session runs with `TimeZone = 'UTC'` (Glue `timestamp` columns hold UTC instants;
 *    Parquet TIMESTAMP adjusted-to-UTC is read as TIMESTAMPTZ and cast to TIMESTAMP in the view,
 *    which gives the UTC wall-clock time exactly like Athena) and binary (byte order) collation,
 *    which is Trino's varchar ordering (by code point).
 *  - `timestamp` columns read at Athena engine v3's millisecond precision: the view truncates
 *    finer values (`date_trunc('millisecond', …)`, still of type TIMESTAMP), so a file's
 *    `23:59:59.999999` reads as `23:59:59.999`, in the same month, as Athena reads it.
 *
 * Results are rendered as text like Athena's CSV result set: decimals with their scale
 * ("326.00"), dates `YYYY-MM-DD`, timestamps `YYYY-MM-DD HH:MM:SS[.fff]`, NULL as `null`.
 * `executeCsv` returns the same result as CSV text, written by DuckDB itself where it renders every
 * column the same way (see `executeCsv`).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ATHENA_MAX_WRITTEN_PARTITIONS } from '../../core/gold-plan';
import { balanceHistoryValues } from '../../core/quarter';
import { DuckDBConnection, DuckDBInstance, type DuckDBResultReader, VARCHAR } from '@duckdb/node-api';
import { type FileGroup, type LocalTable, viewSql } from './athena-table-views';
import { assertEmptyTarget, assertPartitionLimit, copySql, parseUnload } from './athena-unload';
import { quoteIdent, quoteLiteral } from './duckdb-quoting';
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
export { parseUnload, type UnloadStatement, writtenPartitions } from './athena-unload';
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
  /**
   * The most partitions one UNLOAD may write, Athena's limit. Only a test that needs an answer
   * Athena would refuse (to compare with) lifts it. @default ATHENA_MAX_WRITTEN_PARTITIONS (100)
   */
  readonly maxUnloadPartitions?: number;
}

/** `YYYY-Qn` → the parameters of `sql/balance_history.sql`, in order (see its header). */
export function quarterParameters(quarter: string): string[] {
  return balanceHistoryValues(quarter);
}

/**
 * A result as CSV text, the CLI's (cli/format.ts `formatRows`): a header line of the column names
 * as they are, then one line per row, every line ending with a newline; NULL is an empty field, a
 * field holding `"`, `,`, CR or LF is quoted with `"` doubled.
 */
export function csvText(result: QueryResult): string {
  const field = (v: string | null): string => (v === null ? '' : /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [result.columns.join(','), ...result.rows.map((r) => r.map(field).join(','))].join('\n') + '\n';
}

/**
 * DuckDB types (as DESCRIBE names them) whose text in DuckDB (CAST … AS VARCHAR, the CSV writer's)
 * is exactly `execute`'s `String(value)`. Not so for DOUBLE and FLOAT (`1.0` against `1`), DATE and
 * TIMESTAMP (infinity), nested types; results holding those are rendered in JS.
 */
const DUCKDB_TEXT_TYPES =
  /^(VARCHAR|BOOLEAN|TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|DECIMAL\(\d+,\d+\))$/;

/**
 * The expression `executeCsv` has DuckDB's CSV writer write for a result column of a type of
 * `DUCKDB_TEXT_TYPES`. An empty string is written as NULL: both are empty fields, and the CSV
 * writer would quote the former. A DECIMAL wider than 18 digits (stored as a 128-bit integer, which
 * DuckDB turns into text several times slower) is written through DECIMAL(18, scale) when its value
 * fits: the same digits, the same text.
 */
function csvField(column: string, type: string): string {
  if (type === 'VARCHAR') return `nullif(${column}, '')`;
  const decimal = /^DECIMAL\((\d+),(\d+)\)$/.exec(type);
  if (!decimal || Number(decimal[1]) <= 18) return column;
  const scale = Number(decimal[2]);
  if (scale > 18) return column;
  const max = `${'9'.repeat(18 - scale) || '0'}${scale > 0 ? `.${'9'.repeat(scale)}` : ''}`;
  return (
    `CASE WHEN ${column} BETWEEN -${max} AND ${max} ` +
    `THEN CAST(CAST(${column} AS DECIMAL(18, ${scale})) AS VARCHAR) ELSE CAST(${column} AS VARCHAR) END`
  );
}

/** How `executeCsv` writes the result of one statement text: DuckDB's COPY, after `header`. */
interface CsvPlan {
  readonly header: string;
  /** `COPY (<the statement>) TO <the result file> (FORMAT csv …)`, the statement's `?` unchanged */
  readonly copy: string;
}

/** Statements that create, replace or drop nothing (so the session's views and macros stay as they are). */
const QUERY_KEYWORDS = new Set(['SELECT', 'WITH', 'FROM', 'VALUES', 'DESCRIBE', 'SHOW', 'SUMMARIZE', 'SET', 'RESET']);

/**
 * Whether `sql` is one statement that only reads: its first word (after comments and opening
 * parentheses) is one of `QUERY_KEYWORDS`, and no semicolon outside comments, strings and quoted
 * identifiers is followed by more code.
 */
function isQueryStatement(sql: string): boolean {
  let firstWord: string | undefined;
  let ended = false;
  for (let i = 0; i < sql.length;) {
    const c = sql[i];
    if (c === '-' && sql[i + 1] === '-') {
      const eol = sql.indexOf('\n', i);
      i = eol < 0 ? sql.length : eol + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close < 0 ? sql.length : close + 2;
    } else if (/\s/.test(c)) {
      i++;
    } else if (ended) {
      return false; // code after a semicolon: several statements
    } else if (c === ';') {
      ended = true;
      i++;
    } else if (c === "'" || c === '"') {
      // a string or quoted identifier; a doubled quote stays inside
      let j = i + 1;
      while (j < sql.length && !(sql[j] === c && sql[j + 1] !== c)) j += sql[j] === c ? 2 : 1;
      firstWord ??= '';
      i = j + 1;
    } else if (firstWord === undefined && /[A-Za-z]/.test(c)) {
      const word = /^[A-Za-z]+/.exec(sql.slice(i, i + 20))![0];
      firstWord = word.toUpperCase();
      i += word.length;
    } else {
      if (c !== '(') firstWord ??= '';
      i++;
    }
  }
  return firstWord !== undefined && QUERY_KEYWORDS.has(firstWord);
}

/** `name` as a word of `text` (case-insensitively, as DuckDB identifiers are). */
function mentions(text: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\p{L}\\p{N}_$])${escaped}(?![\\p{L}\\p{N}_$])`, 'iu').test(text);
}

export class LocalAthena {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly footers = new Map<
    string,
    { readonly mtimeMs: number; readonly size: number; readonly columns: ReadonlySet<string> | undefined }
  >();
  /** per table (lower-cased name): its version and the view statement when its DuckDB view was made */
  private readonly views = new Map<string, { readonly version: string | undefined; readonly sql: string }>();
  /** views and macros that statements created (name → definition); undefined: to be read again */
  private sessionObjects: ReadonlyMap<string, string> | undefined;
  /** per statement text: how `executeCsv` writes it; undefined: rendered in JS */
  private readonly csvPlans = new Map<string, CsvPlan | undefined>();
  /** the directory of `executeCsv`'s result file, made on first use, removed by `close` */
  private resultDir: string | undefined;

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
    return this.enqueue(() => this.statement(sql, () => this.executeNow(sql, parameters)));
  }

  /**
   * Runs one statement like `execute` and returns its result as {@link csvText} would render
   * `execute`'s, byte for byte. When the statement is one query whose columns DuckDB renders as
   * `execute` does (strings, integers, decimals, booleans: `DUCKDB_TEXT_TYPES`), DuckDB writes the
   * CSV itself (`COPY (<the statement>) TO <file> (FORMAT csv)`, empty strings as NULL since both are
   * empty fields) and JS only reads the file: no value is converted in JS. Otherwise (other types,
   * UNLOAD, several statements) the rows of `execute` are rendered in JS.
   */
  executeCsv(sql: string, parameters: string[] = []): Promise<string> {
    return this.enqueue(() => this.statement(sql, () => this.executeCsvNow(sql, parameters)));
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
    if (this.resultDir) fs.rmSync(this.resultDir, { recursive: true, force: true });
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs `work` (one statement) after bringing the views of the tables `sql` names up to date. A
   * statement that may create, replace or drop something (anything but a query) makes LocalAthena
   * read the session's views and macros again, and re-make the views of the tables it names.
   */
  private async statement<T>(sql: string, work: () => Promise<T>): Promise<T> {
    const named = await this.refreshViews(sql);
    try {
      return await work();
    } finally {
      if (!isQueryStatement(sql)) {
        this.sessionObjects = undefined;
        this.csvPlans.clear();
        for (const table of named) this.views.delete(table.name.toLowerCase());
      }
    }
  }

  /**
   * Brings the view of every table `sql` names up to date (see the header) and returns those tables.
   * A table with a `version` that has not changed since its view was made keeps it without listing
   * its files; otherwise its files are listed, and its view re-created when its statement changed.
   */
  private async refreshViews(sql: string): Promise<LocalTable[]> {
    const named = await this.tablesNamedBy(sql);
    for (const table of named) {
      const key = table.name.toLowerCase();
      const version = table.version ? await table.version() : undefined;
      const made = this.views.get(key);
      if (made && version !== undefined && made.version === version) continue;
      const view = viewSql(table, await this.fileGroups(table));
      if (made?.sql !== view) await this.connection.run(view);
      this.views.set(key, { version, sql: view });
    }
    return named;
  }

  /**
   * The tables whose names are words of `sql`, or of the definition of a view or macro of the
   * session (created by earlier statements) that `sql` names, directly or through another one.
   * A word in a comment or a string counts too: that only refreshes a view needlessly.
   */
  private async tablesNamedBy(sql: string): Promise<LocalTable[]> {
    const objects = await this.sessionObjectDefinitions();
    let text = sql;
    const included = new Set<string>();
    for (let grew = true; grew;) {
      grew = false;
      for (const [name, definition] of objects) {
        if (included.has(name) || !mentions(text, name)) continue;
        included.add(name);
        text += `\n${definition}`;
        grew = true;
      }
    }
    return this.options.tables.filter((table) => mentions(text, table.name));
  }

  /** The session's views and macros but the tables' views: name → definition. */
  private async sessionObjectDefinitions(): Promise<ReadonlyMap<string, string>> {
    if (this.sessionObjects) return this.sessionObjects;
    const reader = await this.connection.runAndReadAll(
      `SELECT view_name, sql FROM duckdb_views() WHERE NOT internal
       UNION ALL
       SELECT function_name, macro_definition FROM duckdb_functions()
       WHERE function_type IN ('macro', 'table_macro') AND NOT internal AND macro_definition IS NOT NULL`,
    );
    const tables = new Set(this.options.tables.map((t) => t.name.toLowerCase()));
    const objects = new Map<string, string>();
    for (const [name, definition] of reader.getRows()) {
      const key = String(name);
      if (tables.has(key.toLowerCase())) continue;
      objects.set(key, `${objects.get(key) ?? ''}\n${String(definition)}`);
    }
    this.sessionObjects = objects;
    return objects;
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

  private get maxUnloadPartitions(): number {
    return this.options.maxUnloadPartitions ?? ATHENA_MAX_WRITTEN_PARTITIONS;
  }

  private run(statement: string, parameters: readonly string[]): Promise<DuckDBResultReader> {
    return parameters.length > 0
      ? this.connection.runAndReadAll(
          statement,
          [...parameters],
          parameters.map(() => VARCHAR),
        )
      : this.connection.runAndReadAll(statement);
  }

  private async executeCsvNow(sql: string, parameters: string[]): Promise<string> {
    const plan = await this.csvPlan(sql, parameters);
    if (!plan) return csvText(await this.executeNow(sql, parameters));
    const file = path.join(this.resultDir!, 'result.csv');
    try {
      await this.run(plan.copy, parameters);
      return plan.header + fs.readFileSync(file, 'utf8');
    } finally {
      fs.rmSync(file, { force: true });
    }
  }

  /**
   * How `executeCsv` writes `sql`'s result: known from DESCRIBE (the columns' names and types, the
   * same for any VARCHAR parameters), once per statement text. Undefined when JS renders it: a
   * column type outside `DUCKDB_TEXT_TYPES`, an UNLOAD, or anything DESCRIBE or the wrapping refuse.
   */
  private async csvPlan(sql: string, parameters: readonly string[]): Promise<CsvPlan | undefined> {
    if (this.csvPlans.has(sql)) return this.csvPlans.get(sql);
    if (parseUnload(sql)) return undefined;
    let columns: { name: string; type: string }[];
    try {
      const described = await this.run(`DESCRIBE ${sql}`, parameters);
      columns = described.getRows().map((row) => ({ name: String(row[0]), type: String(row[1]) }));
    } catch {
      return undefined; // not one query (or it fails): execute says why
    }
    let plan: CsvPlan | undefined;
    if (columns.length > 0 && columns.every((c) => DUCKDB_TEXT_TYPES.test(c.type))) {
      this.resultDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'txlake-athena-'));
      const aliases = columns.map((_, i) => quoteIdent(`c${i}`));
      const fields = columns.map((c, i) => csvField(aliases[i], c.type));
      const copy =
        `COPY (SELECT ${fields.join(', ')} FROM (${sql.replace(/;\s*$/, '')}\n) AS t (${aliases.join(', ')})) ` +
        `TO ${quoteLiteral(path.join(this.resultDir, 'result.csv'))} ` +
        `(FORMAT csv, HEADER false, DELIMITER ',', QUOTE '"', ESCAPE '"', NULLSTR '')`;
      // a statement that ends in a comment after its semicolon does not wrap: rendered in JS
      const wraps = await this.connection.extractStatements(copy).then(
        (statements) => statements.count === 1,
        () => false,
      );
      if (wraps) plan = { header: `${columns.map((c) => c.name).join(',')}\n`, copy };
    }
    if (this.csvPlans.size >= 64) this.csvPlans.clear();
    this.csvPlans.set(sql, plan);
    return plan;
  }

  private async executeNow(sql: string, parameters: string[]): Promise<QueryResult> {
    const unload = parseUnload(sql);
    let statement = sql;
    const dir = unload ? this.options.resolveUri(unload.uri) : undefined;
    if (unload && dir !== undefined) {
      assertEmptyTarget(dir, unload.uri);
      statement = copySql(unload, dir);
    }
    const reader = await this.run(statement, parameters);
    if (unload && dir !== undefined) {
      assertPartitionLimit(unload, dir, this.maxUnloadPartitions);
      return { columns: [], rows: [] };
    }
    const rows = reader.getRows().map((row) => row.map((v) => (v === null ? null : String(v))));
    return { columns: reader.columnNames(), rows };
  }
}
