/**
 * DuckDB macros standing in for Trino functions that DuckDB does not have: LocalAthena runs the
 * SQL files' text unchanged, so the Trino dialect is met on DuckDB's side.
 */

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
