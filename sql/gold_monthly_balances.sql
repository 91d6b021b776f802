-- Gold periodic snapshot: monthly account balances (SPEC section 4, "Gold").
-- Runs unchanged on Athena engine v3 (Trino) and locally on DuckDB (lib/local/local-athena.ts).
--
-- One row per (account_id = silver customer_id, currency, month) from the pair's first month
-- with a transaction up to the latest month with data in all of silver, restricted to the months
-- from the first month to recompute on. balance is the month-end balance: the sum of the pair's
-- amounts with transaction_ts (UTC) before the first instant of the following month.
-- Output columns: account_id, currency, month_start (date), balance (decimal(38,2)),
-- then the partition columns year ('YYYY') and month ('MM').
--
-- Tail partition year='9999', month='12' (always written, whatever the first month to
-- recompute): one row per (account_id, currency) pair with month_start = the snapshot's horizon
-- (the latest month with data in all of silver) and balance = the pair's balance at the horizon
-- (the sum of all its amounts). sql/balance_history.sql carries it forward to the months after the
-- horizon. '9999-12' sorts after every real month, so publish-gold (which replaces every gold
-- partition from the first month to recompute on) swaps it in with the monthly rows.
--
-- {{STAGING_BUCKET}} and {{GOLD_REFRESH_PREFIX}} (core/lake-layout.ts) are substituted at
-- deployment time (tests substitute their own values).
-- Parameters (Athena ExecutionParameters, positional):
--   1: the first month to recompute, 'YYYY-MM' (e.g. '2024-01')
-- Earlier months are still read to compute the opening balances, only their rows are not written.
-- The target prefix must be empty (UNLOAD); at most 100 partitions (99 months + the tail) per run
-- on Athena.
-- DuckDB needs the LocalAthena macro for Trino's sequence(date, date, interval).
UNLOAD (
  WITH monthly AS (
    SELECT
      customer_id AS account_id,
      currency,
      CAST(date_trunc('month', transaction_ts) AS date) AS month_start,
      sum(amount) AS amount
    FROM silver_transactions
    GROUP BY customer_id, currency, CAST(date_trunc('month', transaction_ts) AS date)
  ),
  pairs AS (
    SELECT account_id, currency, min(month_start) AS first_month, sum(amount) AS total
    FROM monthly
    GROUP BY account_id, currency
  ),
  horizon AS (
    SELECT max(month_start) AS last_month
    FROM monthly
  ),
  grid AS (
    SELECT p.account_id, p.currency, t.month_start
    FROM pairs p
    CROSS JOIN horizon h
    CROSS JOIN UNNEST(sequence(p.first_month, h.last_month, INTERVAL '1' MONTH)) AS t (month_start)
  ),
  balances AS (
    SELECT
      g.account_id,
      g.currency,
      g.month_start,
      sum(coalesce(m.amount, 0)) OVER (
        PARTITION BY g.account_id, g.currency
        ORDER BY g.month_start
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) AS balance
    FROM grid g
    LEFT JOIN monthly m
      ON m.account_id = g.account_id
      AND m.currency = g.currency
      AND m.month_start = g.month_start
  )
  SELECT
    account_id,
    currency,
    month_start,
    CAST(balance AS decimal(38, 2)) AS balance,
    lpad(CAST(year(month_start) AS varchar), 4, '0') AS year,
    lpad(CAST(month(month_start) AS varchar), 2, '0') AS month
  FROM balances
  WHERE month_start >= CAST(? || '-01' AS date)
  UNION ALL
  SELECT
    p.account_id,
    p.currency,
    h.last_month AS month_start,
    CAST(p.total AS decimal(38, 2)) AS balance,
    '9999' AS year,
    '12' AS month
  FROM pairs p
  CROSS JOIN horizon h
)
TO 's3://{{STAGING_BUCKET}}/{{GOLD_REFRESH_PREFIX}}'
WITH (format = 'PARQUET', partitioned_by = ARRAY['year', 'month'])
