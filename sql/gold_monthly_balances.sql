-- Gold periodic snapshot: monthly account balances (SPEC section 4, "Gold").
-- Runs unchanged on Athena engine v3 (Trino) and locally on DuckDB (runner/local/local-athena.ts).
--
-- One row per (account_id = silver customer_id, currency, month) from the pair's first month
-- with a transaction up to the latest month with data in silver, restricted to the months from
-- parameter 5 to parameter 6. balance is the month-end balance: the sum of the pair's amounts with
-- transaction_ts (UTC) before the first instant of the following month.
-- Output columns: account_id, currency, month_start (date), balance (decimal(38,2)),
-- then the partition columns year ('YYYY') and month ('MM').
--
-- Incremental: the query reads silver only from the refresh's first month R on, and gold's own
-- rows of the month before R: the pairs' balances at the end of that month, to which R's and later
-- months' amounts are added. So a daily run reads the months it changed (and one gold month), not
-- the whole history. This is exact when gold's months before R are those of all of silver (gold is
-- refreshed with every change to silver, from the first month it changes) and silver has data in
-- R or later; core/gold-plan.ts chooses R (the first month whose balances may change, never after
-- the month following gold's horizon) and, where a rerun may leave silver with nothing from R on,
-- asks for a full rebuild instead: R = '0001-01' with gold's month '0000-12' (no rows), which reads
-- all of silver.
--
-- Tail partition year='9999', month='12' (written whenever parameter 6 is '9999-12'): one row per
-- (account_id, currency) pair with month_start = the horizon (the latest month with data in
-- silver) and balance = the pair's balance at the horizon. sql/balance_history.sql carries it
-- forward to the months after the horizon. '9999-12' sorts after every real month, so
-- publish-gold (which replaces every gold partition from R on with the output of all the refresh's
-- queries) swaps it in with the monthly rows.
--
-- Deployment placeholders (each written in double braces): STAGING_BUCKET and GOLD_REFRESH_TARGET,
-- the key prefix in the staging bucket this query writes to, ending with '/', under the refresh
-- prefix of core/lake-layout.ts (GOLD_REFRESH_PREFIX). The deployment makes the target a
-- Step Functions States.Format placeholder filled per chunk, so apart from the two placeholders
-- in the TO clause this file holds no brace and no backslash; tests substitute their own values.
-- Parameters (Athena ExecutionParameters, positional, literals so that Athena prunes partitions):
--   1, 2: year 'YYYY' and month 'MM' of the month before R (gold's partition of opening balances)
--   3   : R, 'YYYY-MM' (silver's rows from its first instant on)
--   4   : R again (the first month of the pairs known from the opening balances)
--   5   : from_month, the first month to write, 'YYYY-MM' (R for the first query)
--   6   : to_month, the last month to write, 'YYYY-MM', inclusive; '9999-12' also writes the tail
-- Athena writes at most 100 partitions per query (HIVE_TOO_MANY_OPEN_PARTITIONS beyond), so a
-- refresh spanning more months runs as several queries over consecutive ranges (core/gold-plan.ts:
-- at most 99 months each, the last one through '9999-12' with the tail), each to a target of its
-- own and each reading from R. The target prefix must be empty (UNLOAD).
-- DuckDB needs the LocalAthena macro for Trino's sequence(date, date, interval).
UNLOAD (
  WITH opening AS (
    SELECT account_id, currency, balance
    FROM gold_monthly_balances
    WHERE year = ? AND month = ?
  ),
  monthly AS (
    SELECT
      customer_id AS account_id,
      currency,
      CAST(date_trunc('month', transaction_ts) AS date) AS month_start,
      sum(amount) AS amount
    FROM silver_transactions
    WHERE transaction_ts >= CAST(? || '-01' AS timestamp)
    GROUP BY customer_id, currency, CAST(date_trunc('month', transaction_ts) AS date)
  ),
  refresh_start AS (
    SELECT CAST(? || '-01' AS date) AS first_month
  ),
  pairs AS (
    SELECT account_id, currency, min(first_month) AS first_month, sum(opening) AS opening, sum(total) AS total
    FROM (
      SELECT o.account_id, o.currency, r.first_month, o.balance AS opening, CAST(0 AS decimal(38, 2)) AS total
      FROM opening o
      CROSS JOIN refresh_start r
      UNION ALL
      SELECT account_id, currency, min(month_start), CAST(0 AS decimal(38, 2)), sum(amount)
      FROM monthly
      GROUP BY account_id, currency
    ) AS both_sides
    GROUP BY account_id, currency
  ),
  horizon AS (
    SELECT max(month_start) AS last_month
    FROM monthly
  ),
  grid AS (
    SELECT p.account_id, p.currency, p.opening, t.month_start
    FROM pairs p
    CROSS JOIN horizon h
    CROSS JOIN UNNEST(sequence(p.first_month, h.last_month, INTERVAL '1' MONTH)) AS t (month_start)
  ),
  balances AS (
    SELECT
      g.account_id,
      g.currency,
      g.month_start,
      g.opening + sum(coalesce(m.amount, 0)) OVER (
        PARTITION BY g.account_id, g.currency
        ORDER BY g.month_start
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) AS balance
    FROM grid g
    LEFT JOIN monthly m
      ON m.account_id = g.account_id
      AND m.currency = g.currency
      AND m.month_start = g.month_start
  ),
  refreshed AS (
    SELECT
      account_id,
      currency,
      month_start,
      CAST(balance AS decimal(38, 2)) AS balance,
      lpad(CAST(year(month_start) AS varchar), 4, '0') AS year,
      lpad(CAST(month(month_start) AS varchar), 2, '0') AS month
    FROM balances
    UNION ALL
    SELECT
      p.account_id,
      p.currency,
      h.last_month AS month_start,
      CAST(p.opening + p.total AS decimal(38, 2)) AS balance,
      '9999' AS year,
      '12' AS month
    FROM pairs p
    CROSS JOIN horizon h
  )
  SELECT account_id, currency, month_start, balance, year, month
  FROM refreshed
  WHERE (year || '-' || month) BETWEEN ? AND ?
)
TO 's3://{{STAGING_BUCKET}}/{{GOLD_REFRESH_TARGET}}'
WITH (format = 'PARQUET', partitioned_by = ARRAY['year', 'month'])
