import * as fs from 'node:fs';
import * as path from 'node:path';
import { type DuckDBResultReader, VARCHAR } from '@duckdb/node-api';
import { formatRows } from '../cli/format';
import { TABLES } from '../core/lake-layout';
import type { LocalAthena } from '../runner/local/local-athena';
import { connectionOf, internalsOf, type Lake, openAthena } from './balance-history-lake';
import { median, round, timed } from './balance-history-stats';

/**
 * Where the snapshot path's time goes: the views' upkeep before the statement, DuckDB's own run,
 * and turning the result into text: by DuckDB's CSV writer (`executeCsv`, what the CLI prints and
 * the timed runs measure) or in JS (`execute` + formatRows, the CLI's path before).
 */

export interface SnapshotDiagnostics {
  /**
   * the views' upkeep before each statement when nothing changed, as every timed run pays it: the
   * tables the statement names (gold only), each listed (a plain directory) or its version read (an
   * Iceberg table); no view re-created
   */
  readonly view_check_ms: number;
  /** re-creating the views of all four tables (files listed, footers cached): what every statement paid before */
  readonly view_refresh_all_ms: number;
  /** the same for the gold table only: what a statement naming gold pays once gold changed */
  readonly view_refresh_gold_only_ms: number;
  /**
   * a fresh LocalAthena's first executeCsv of the statement: gold's footers read, its view made, the
   * CSV plan made (DESCRIBE): what one `txlake balance-history` pays besides starting the process
   */
  readonly cold_first_query_ms: number;
  /** the query on LocalAthena's DuckDB connection, result materialized inside DuckDB only */
  readonly duckdb_run_ms: number;
  /** the same, plus reading every result chunk into JS (runAndReadAll) */
  readonly duckdb_read_all_ms: number;
  /** getRows() + String() of every value: LocalAthena.execute's text rendering of the result */
  readonly rows_to_text_ms: number;
  /** getRowsJson() instead (decimals as strings, converted in the bindings' JSON converter) */
  readonly rows_to_json_ms: number;
  /** LocalAthena.execute + formatRows: the CSV as the CLI made it before executeCsv (views unchanged) */
  readonly execute_format_ms: number;
  /** the COPY (…) TO '<file>' (FORMAT csv) that executeCsv runs, and reading the file into a string */
  readonly duckdb_csv_ms: number | null;
  /** LocalAthena.executeCsv, as each timed run */
  readonly execute_csv_ms: number;
  /** executeCsv had DuckDB write the CSV (its columns are all ones DuckDB renders as execute does) */
  readonly csv_written_by_duckdb: boolean;
  /** executeCsv's text is exactly formatRows of execute's rows: the CLI's output did not change */
  readonly csv_identical: boolean;
}

/** Measures the snapshot statement (`snapshotSql` with `snapshotParams`) step by step on `athena`. */
export async function snapshotDiagnostics(
  athena: LocalAthena,
  lake: Lake,
  settings: { readonly workDir: string; readonly memoryLimit: string },
  snapshot: { readonly sql: string; readonly params: string[] },
): Promise<SnapshotDiagnostics> {
  const { sql: snapshotSql, params: snapshotParams } = snapshot;
  const internals = internalsOf(athena);
  const types = snapshotParams.map(() => VARCHAR);
  const times = async (n: number, fn: () => Promise<unknown>): Promise<number> => {
    const ms: number[] = [];
    for (let i = 0; i < n; i++) ms.push((await timed(fn)).ms);
    return round(median(ms));
  };

  const viewCheck = await times(10, () => internals.refreshViews(snapshotSql));
  const refreshOf = (tables: readonly string[]) => async (): Promise<void> => {
    internals.views.clear(); // as if each table had changed: listed again and its view re-created
    await internals.refreshViews(tables.join(' '));
  };
  const refreshAll = await times(5, refreshOf(Object.values(TABLES)));
  const refreshGold = await times(5, refreshOf([TABLES.gold]));
  await internals.refreshViews(Object.values(TABLES).join(' ')); // every view known again

  const { athena: fresh } = await openAthena(lake, settings);
  let coldFirst: number;
  try {
    coldFirst = (await timed(() => fresh.executeCsv(snapshotSql, snapshotParams))).ms;
  } finally {
    fresh.close();
  }

  const connection = connectionOf(athena);
  const duckRun: number[] = [];
  const duckReadAll: number[] = [];
  const toText: number[] = [];
  const toJson: number[] = [];
  for (let i = 0; i < 3; i++) {
    // one result at a time in the JS heap
    duckRun.push((await timed(() => connection.run(snapshotSql, snapshotParams, types))).ms);
    let readAll: { ms: number; value: DuckDBResultReader } | undefined = await timed(() =>
      connection.runAndReadAll(snapshotSql, snapshotParams, types),
    );
    duckReadAll.push(readAll.ms);
    const reader = readAll.value;
    toJson.push((await timed(async () => reader.getRowsJson().length)).ms);
    toText.push(
      (await timed(async () => reader.getRows().map((row) => row.map((v) => (v === null ? null : String(v)))).length))
        .ms,
    );
    readAll = undefined;
  }

  const viaExecute = async (): Promise<string> => {
    const result = await athena.execute(snapshotSql, snapshotParams);
    return formatRows(result.columns, result.rows, false);
  };
  const executeFormat = await times(3, viaExecute);
  const executeCsv = await times(5, () => athena.executeCsv(snapshotSql, snapshotParams));
  const plan = internals.csvPlans.get(snapshotSql);
  const duckdbCsv = plan
    ? await times(5, async () => {
        await connection.run(plan.copy, snapshotParams, types);
        return fs.readFileSync(path.join(internals.resultDir!, 'result.csv'), 'utf8').length;
      })
    : null;
  const csvIdentical = (await athena.executeCsv(snapshotSql, snapshotParams)) === (await viaExecute());
  return {
    view_check_ms: viewCheck,
    view_refresh_all_ms: refreshAll,
    view_refresh_gold_only_ms: refreshGold,
    cold_first_query_ms: round(coldFirst),
    duckdb_run_ms: round(median(duckRun)),
    duckdb_read_all_ms: round(median(duckReadAll)),
    rows_to_text_ms: round(median(toText)),
    rows_to_json_ms: round(median(toJson)),
    execute_format_ms: executeFormat,
    duckdb_csv_ms: duckdbCsv,
    execute_csv_ms: executeCsv,
    csv_written_by_duckdb: plan !== undefined,
    csv_identical: csvIdentical,
  };
}
