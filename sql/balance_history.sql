-- Balance history for one quarter (SPEC section 4, the case study's Task 3).
-- Runs unchanged on Athena engine v3 (Trino) and locally on DuckDB (lib/local/local-athena.ts).
--
-- Reads only the gold snapshot gold_monthly_balances, and only the quarter's partitions
-- (filter on the partition columns year and month).
-- One row per (account, currency) pair present in the quarter's snapshot (the pairs with any
-- silver transaction before the end of the quarter) times each of the quarter's three months.
-- balance is the month-end balance, NULL when the pair has no transaction before the end of
-- that month. When a quarter month's partition does not exist yet (silver data ends mid-quarter)
-- the balance of the latest available month of the quarter before it is carried forward.
--
-- Parameters (Athena ExecutionParameters, positional, all strings), in this order; the helper
-- quarterParameters('YYYY-Qn') in lib/local/local-athena.ts returns them:
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
snapshot AS (
  SELECT
    account_id AS snapshot_account_id,
    currency AS snapshot_currency,
    month AS snapshot_month,
    balance AS snapshot_balance
  FROM gold_monthly_balances
  WHERE year = ? AND month IN (?, ?, ?)
),
available_months AS (
  SELECT DISTINCT snapshot_month AS available_month
  FROM snapshot
),
pairs AS (
  SELECT DISTINCT snapshot_account_id AS pair_account_id, snapshot_currency AS pair_currency
  FROM snapshot
),
source_months AS (
  SELECT q.quarter_year, q.quarter_month, max(a.available_month) AS source_month
  FROM quarter_months q
  LEFT JOIN available_months a ON a.available_month <= q.quarter_month
  GROUP BY q.quarter_year, q.quarter_month
)
SELECT
  p.pair_account_id AS account_id,
  p.pair_currency AS currency,
  s.quarter_year || '-' || s.quarter_month AS month,
  CAST(g.snapshot_balance AS decimal(38, 2)) AS balance
FROM pairs p
CROSS JOIN source_months s
LEFT JOIN snapshot g
  ON g.snapshot_account_id = p.pair_account_id
  AND g.snapshot_currency = p.pair_currency
  AND g.snapshot_month = s.source_month
ORDER BY account_id, currency, month, balance
