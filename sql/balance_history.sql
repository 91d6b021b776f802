-- Balance history for one quarter (SPEC section 4, the case study's Task 3).
-- Runs unchanged on Athena engine v3 (Trino) and locally on DuckDB (lib/local/local-athena.ts).
--
-- Reads only the gold snapshot gold_monthly_balances, and only the quarter's partitions plus the
-- tail partition year='9999', month='12' (filter on the partition columns year and month).
-- The tail holds one row per (account, currency) pair with month_start = the snapshot's horizon
-- (the latest month with silver data) and the pair's balance at the horizon
-- (sql/gold_monthly_balances.sql).
-- One row per (account, currency) pair with any silver transaction before the end of the quarter
-- times each of the quarter's three months. balance is the month-end balance, NULL when the pair
-- has no transaction before the end of that month:
--   - a quarter month up to the horizon: the pair's row of that month's partition; when a quarter
--     month's partition does not exist, the balance of the latest available month of the quarter
--     before it is carried forward;
--   - a quarter month after the horizon (silver data ends before or within the quarter): the
--     pair's tail balance, carried forward; then every pair of the tail is listed.
-- Without a tail partition (a snapshot written before it existed) quarter months after the
-- horizon are only covered by the within-quarter carry-forward.
--
-- Parameters (Athena ExecutionParameters, positional, all strings), in this order; the helper
-- balanceHistoryValues('YYYY-Qn') in lib/quarter.ts returns them:
--   1, 2   : year 'YYYY', month 'MM' of the quarter's first month
--   3, 4   : year 'YYYY', month 'MM' of the quarter's second month
--   5, 6   : year 'YYYY', month 'MM' of the quarter's third month
--   7      : year 'YYYY' (partition filter)
--   8, 9, 10: the three months 'MM' (partition filter)
-- e.g. 2024-Q1: '2024', '01', '2024', '02', '2024', '03', '2024', '01', '02', '03'
--
-- Output: account_id, currency, month ('YYYY-MM'), balance (decimal, 2 decimals), sorted by all
-- of them; varchar ordering is by code point in Trino and binary (byte order) in LocalAthena.
WITH quarter_months (quarter_year, quarter_month) AS (
  VALUES (?, ?), (?, ?), (?, ?)
),
gold AS (
  SELECT account_id, currency, month_start, balance, year, month
  FROM gold_monthly_balances
  WHERE (year = ? AND month IN (?, ?, ?)) OR (year = '9999' AND month = '12')
),
snapshot AS (
  SELECT
    account_id AS snapshot_account_id,
    currency AS snapshot_currency,
    month AS snapshot_month,
    balance AS snapshot_balance
  FROM gold
  WHERE year <> '9999'
),
tail AS (
  SELECT
    account_id AS tail_account_id,
    currency AS tail_currency,
    month_start AS tail_month_start,
    balance AS tail_balance
  FROM gold
  WHERE year = '9999'
),
horizon AS (
  SELECT max(tail_month_start) AS horizon_month
  FROM tail
),
available_months AS (
  SELECT DISTINCT snapshot_month AS available_month
  FROM snapshot
),
source_months AS (
  SELECT
    q.quarter_year,
    q.quarter_month,
    max(a.available_month) AS source_month,
    coalesce(CAST(q.quarter_year || '-' || q.quarter_month || '-01' AS date) > h.horizon_month, false)
      AS after_horizon
  FROM quarter_months q
  CROSS JOIN horizon h
  LEFT JOIN available_months a ON a.available_month <= q.quarter_month
  GROUP BY q.quarter_year, q.quarter_month, h.horizon_month
),
pairs AS (
  SELECT snapshot_account_id AS pair_account_id, snapshot_currency AS pair_currency
  FROM snapshot
  UNION
  SELECT tail_account_id AS pair_account_id, tail_currency AS pair_currency
  FROM tail
  WHERE EXISTS (SELECT 1 FROM source_months WHERE after_horizon)
)
SELECT
  p.pair_account_id AS account_id,
  p.pair_currency AS currency,
  s.quarter_year || '-' || s.quarter_month AS month,
  CAST(CASE WHEN s.after_horizon THEN t.tail_balance ELSE g.snapshot_balance END AS decimal(38, 2)) AS balance
FROM pairs p
CROSS JOIN source_months s
LEFT JOIN snapshot g
  ON g.snapshot_account_id = p.pair_account_id
  AND g.snapshot_currency = p.pair_currency
  AND g.snapshot_month = s.source_month
LEFT JOIN tail t
  ON t.tail_account_id = p.pair_account_id
  AND t.tail_currency = p.pair_currency
ORDER BY account_id, currency, month, balance
