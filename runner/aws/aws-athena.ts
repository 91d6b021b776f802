import {
  type AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { TABLES } from '../../core/lake-layout';
import { oneLine } from './deployment';

/**
 * Athena's form of an instant in a time-travel clause: `TIMESTAMP 'YYYY-MM-DD HH:MM:SS.fff UTC'`
 * (millisecond precision, as the run records' snapshot times).
 */
export function athenaTimestamp(instant: Date): string {
  const iso = instant.toISOString();
  return `TIMESTAMP '${iso.slice(0, 10)} ${iso.slice(11, 23)} UTC'`;
}

/**
 * The text with every comment and string literal (or quoted identifier) replaced by spaces of the
 * same length, so offsets in it are offsets in the text.
 */
function codeOnly(sql: string): string {
  let out = '';
  for (let i = 0; i < sql.length;) {
    const c = sql[i];
    let end = i + 1;
    if (c === '-' && sql[i + 1] === '-') {
      end = sql.indexOf('\n', i);
      if (end < 0) end = sql.length;
    } else if (c === '/' && sql[i + 1] === '*') {
      end = sql.indexOf('*/', i + 2);
      end = end < 0 ? sql.length : end + 2;
    } else if (c === "'" || c === '"') {
      end = i + 1;
      while (end < sql.length && !(sql[end] === c && sql[end + 1] !== c)) end += sql[end] === c ? 2 : 1;
      end = Math.min(end + 1, sql.length);
    } else {
      out += c;
      i = end;
      continue;
    }
    out += sql.slice(i, end).replace(/[^\n]/g, ' ');
    i = end;
  }
  return out;
}

/**
 * The statement reading the gold table as it stood at `instant` (SPEC §1 history, `--as-of`):
 * each `FROM`/`JOIN` of the table gets Iceberg time travel, `FOR TIMESTAMP AS OF TIMESTAMP '… UTC'`.
 * Refuses a statement whose shape it does not know: one that names the table in any other way
 * (qualified, quoted, in a comma join, as a column's qualifier), already travels in time, or does
 * not read it at all.
 */
export function readGoldAsOf(sql: string, instant: Date, table: string = TABLES.gold): string {
  const code = codeOnly(sql);
  const escaped = table.replace(/[^\w]/g, '\\$&');
  const name = new RegExp(`(?<!\\w)${escaped}(?!\\w)`, 'gi');
  const reference = new RegExp(`\\b(?:FROM|JOIN)\\s+${escaped}(?![\\w.])`, 'gi');
  const names = [...code.matchAll(name)].map((m) => m.index);
  const references = [...code.matchAll(reference)].map((m) => m.index + m[0].length);
  const cannot = `cannot read ${table} --as-of in this statement`;
  if (names.length === 0) throw new Error(`${cannot}: it does not read ${table}`);
  if (names.length !== references.length) {
    throw new Error(`${cannot}: it names ${table} other than as FROM ${table} or JOIN ${table}`);
  }
  if (/\bFOR\s+(?:TIMESTAMP|VERSION|SYSTEM_TIME)\s+AS\s+OF\b/i.test(code)) {
    throw new Error(`${cannot}: it already reads a table as of a version or time`);
  }
  let out = sql;
  for (const end of references.reverse()) {
    out = `${out.slice(0, end)} FOR TIMESTAMP AS OF ${athenaTimestamp(instant)}${out.slice(end)}`;
  }
  return out;
}

export interface AthenaQuery {
  readonly sql: string;
  readonly parameters: readonly string[];
  readonly workGroup: string;
  readonly database: string;
}

export interface AthenaResult {
  readonly queryExecutionId: string;
  readonly columns: string[];
  /** Values as Athena gives them (VarCharValue), null for NULL. */
  readonly rows: (string | null)[][];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A query that ended FAILED or CANCELLED, with Athena's reason on one line. */
export class AthenaQueryError extends Error {
  constructor(
    readonly queryExecutionId: string,
    readonly state: string,
    reason: string,
  ) {
    super(`Athena query ${queryExecutionId} ${state}${reason ? `: ${oneLine(reason)}` : ''}`);
    this.name = 'AthenaQueryError';
  }
}

/**
 * Runs one statement in the workgroup (its enforced result location and engine) with positional
 * execution parameters, waits for it to end and returns all its rows (every page of results).
 */
export async function runAthenaQuery(
  athena: AthenaClient,
  query: AthenaQuery,
  options: { readonly progress?: (line: string) => void; readonly maxPollMs?: number } = {},
): Promise<AthenaResult> {
  const started = await athena.send(
    new StartQueryExecutionCommand({
      QueryString: query.sql,
      WorkGroup: query.workGroup,
      QueryExecutionContext: { Database: query.database },
      ...(query.parameters.length > 0 ? { ExecutionParameters: [...query.parameters] } : {}),
    }),
  );
  const id = started.QueryExecutionId;
  if (!id) throw new Error(`Athena started no query in workgroup ${query.workGroup}`);
  options.progress?.(`Athena query ${id} started in workgroup ${query.workGroup}`);
  let wait = 100;
  for (;;) {
    const { QueryExecution: execution } = await athena.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
    const state = execution?.Status?.State ?? 'UNKNOWN';
    if (state === 'SUCCEEDED') break;
    if (state === 'FAILED' || state === 'CANCELLED') {
      throw new AthenaQueryError(id, state, execution?.Status?.StateChangeReason ?? '');
    }
    await sleep(wait);
    wait = Math.min(wait * 2, options.maxPollMs ?? 2000);
  }
  options.progress?.(`Athena query ${id} SUCCEEDED`);
  return { queryExecutionId: id, ...(await readQueryResults(athena, id)) };
}

/** Every row of a query's results, page by page; the header row of the first page is not a row. */
export async function readQueryResults(
  athena: AthenaClient,
  queryExecutionId: string,
): Promise<{ columns: string[]; rows: (string | null)[][] }> {
  let columns: string[] | undefined;
  const rows: (string | null)[][] = [];
  let nextToken: string | undefined;
  let first = true;
  do {
    const page = await athena.send(
      new GetQueryResultsCommand({ QueryExecutionId: queryExecutionId, NextToken: nextToken, MaxResults: 1000 }),
    );
    columns ??= (page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? '');
    const pageRows = (page.ResultSet?.Rows ?? []).map((r) => (r.Data ?? []).map((d) => d.VarCharValue ?? null));
    // A SELECT's first page starts with the column names.
    rows.push(...(first ? pageRows.slice(1) : pageRows));
    if (first && columns.length === 0 && pageRows[0]) columns = pageRows[0].map((v) => v ?? '');
    first = false;
    nextToken = page.NextToken;
  } while (nextToken);
  return { columns: columns ?? [], rows };
}
