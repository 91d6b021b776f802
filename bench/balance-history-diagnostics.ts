import type { DuckDBResultReader } from '@duckdb/node-api';
import { TABLES } from '../core/lake-layout';
import type { LocalAthena } from '../runner/local/local-athena';
import { connectionOf, type Lake, openAthena } from './balance-history-lake';
import type { Rows } from './balance-history-measure';
import { median, round, timed } from './balance-history-stats';

/**
 * Where the snapshot path's time goes: LocalAthena's view refresh and first execute, DuckDB's own
 * run, and turning the result into JS values or text.
 */

export interface SnapshotDiagnostics {
  /** LocalAthena.execute('SELECT 1'): re-creating the views of every table (directory walks, stats) */
  readonly view_refresh_ms: number;
  /** the same with a LocalAthena over the gold table only */
  readonly view_refresh_gold_only_ms: number;
  /** the first execute on a fresh LocalAthena: also reads the footer of every Parquet file of every table */
  readonly cold_first_execute_ms: number;
  /** the query on LocalAthena's DuckDB connection, result materialized inside DuckDB only */
  readonly duckdb_run_ms: number;
  /** the same, plus reading every result chunk into JS (runAndReadAll) */
  readonly duckdb_read_all_ms: number;
  /** getRows() + String() of every value: LocalAthena's text rendering of the result */
  readonly rows_to_text_ms: number;
  /** getRowsJson() instead (decimals as strings, converted in the bindings' JSON converter) */
  readonly rows_to_json_ms: number;
  /**
   * the statement wrapped in `SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (...)`, run, read and getRows():
   * DuckDB renders the text, JS only receives strings
   */
  readonly duckdb_varchar_read_ms: number;
  /** that rendering gives exactly LocalAthena's text rows */
  readonly duckdb_varchar_identical: boolean;
}

/** Measures the snapshot statement (`snapshotSql` with `snapshotParams`) step by step on `athena`. */
export async function snapshotDiagnostics(
  athena: LocalAthena,
  lake: Lake,
  settings: { readonly workDir: string; readonly memoryLimit: string },
  snapshot: { readonly sql: string; readonly params: string[]; readonly firstExecuteMs: number },
): Promise<SnapshotDiagnostics> {
  const { sql: snapshotSql, params: snapshotParams, firstExecuteMs } = snapshot;
  const refresh: number[] = [];
  for (let i = 0; i < 5; i++) refresh.push((await timed(() => athena.execute('SELECT 1'))).ms);
  const { athena: goldOnly } = await openAthena(lake, settings, [TABLES.gold]);
  const refreshGold: number[] = [];
  try {
    for (let i = 0; i < 5; i++) refreshGold.push((await timed(() => goldOnly.execute('SELECT 1'))).ms);
  } finally {
    goldOnly.close();
  }
  const connection = connectionOf(athena);
  const duckRun: number[] = [];
  const duckReadAll: number[] = [];
  const toText: number[] = [];
  const toJson: number[] = [];
  const varcharRead: number[] = [];
  // DuckDB renders the text itself: the same statement, every column cast to VARCHAR
  const varcharSql = `SELECT CAST(COLUMNS(*) AS VARCHAR) FROM (${snapshotSql.replace(/;\s*$/, '')}\n)`;
  let varcharIdentical = true;
  for (let i = 0; i < 3; i++) {
    // one result at a time in the JS heap (at 100 M rows a result is millions of rows)
    duckRun.push((await timed(() => connection.run(snapshotSql, snapshotParams))).ms);
    let readAll: { ms: number; value: DuckDBResultReader } | undefined = await timed(() =>
      connection.runAndReadAll(snapshotSql, snapshotParams),
    );
    duckReadAll.push(readAll.ms);
    const reader = readAll.value;
    toJson.push((await timed(async () => reader.getRowsJson().length)).ms);
    const textRun = await timed(async () =>
      reader.getRows().map((row) => row.map((v) => (v === null ? null : String(v)))),
    );
    toText.push(textRun.ms);
    let text: Rows | undefined = textRun.value;
    readAll = undefined;
    const varchar = await timed(async () =>
      (await connection.runAndReadAll(varcharSql, snapshotParams)).getRows().map((row) => row.map((v) => v)),
    );
    varcharRead.push(varchar.ms);
    if (i === 0) {
      const t = text;
      varcharIdentical =
        varchar.value.length === t.length && varchar.value.every((row, r) => row.every((v, c) => v === t[r][c]));
    }
    text = undefined;
  }
  return {
    view_refresh_ms: round(median(refresh)),
    view_refresh_gold_only_ms: round(median(refreshGold)),
    cold_first_execute_ms: round(firstExecuteMs),
    duckdb_run_ms: round(median(duckRun)),
    duckdb_read_all_ms: round(median(duckReadAll)),
    rows_to_text_ms: round(median(toText)),
    rows_to_json_ms: round(median(toJson)),
    duckdb_varchar_read_ms: round(median(varcharRead)),
    duckdb_varchar_identical: varcharIdentical,
  };
}
