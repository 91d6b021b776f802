-- Balance history for one quarter in the case study's own shape (SPEC section 4, Task 3): the
-- canonical window query over the view `transactions` (sql/transactions_view.sql), an
-- alternative to the gold snapshot path (sql/gold_monthly_balances.sql, then
-- sql/balance_history.sql) that gives the same rows.
-- Runs unchanged on Athena engine v3 (Trino) and locally on DuckDB (lib/local/local-athena.ts).
--
-- One row per (account_id, currency) pair with any transaction before the end of the quarter,
-- times each of the quarter's three months. balance is the new_balance of the pair's last
-- transaction (by tx_date, then id) before the first instant (UTC) of the following month: NULL
-- before the pair's first transaction, carried forward over months without transactions.
-- Unlike the snapshot path, this reads all of silver (through the view) and does not depend on
-- the gold partitions: a quarter after the last month with data still lists the carried balances.
--
-- Parameters (Athena ExecutionParameters, positional, all strings), in this order; they are the
-- first six of sql/balance_history.sql, i.e. quarterParameters('YYYY-Qn').slice(0, 6) from
-- lib/local/local-athena.ts:
--   1, 2: year 'YYYY', month 'MM' of the quarter's first month
--   3, 4: year 'YYYY', month 'MM' of the quarter's second month
--   5, 6: year 'YYYY', month 'MM' of the quarter's third month
-- e.g. 2024-Q1: '2024', '01', '2024', '02', '2024', '03'
--
-- Output: account_id, currency, month ('YYYY-MM'), balance (decimal(38,2)), sorted by all of
-- them; varchar ordering is by code point in Trino and binary (byte order) in LocalAthena.
-- Plain row_number() instead of last_value(...) IGNORE NULLS, which DuckDB and Trino spell
-- differently.
WITH quarter_months (quarter_year, quarter_month) AS (
  VALUES (?, ?), (?, ?), (?, ?)
),
months AS (
  SELECT
    quarter_year || '-' || quarter_month AS month,
    CAST(CAST(quarter_year || '-' || quarter_month || '-01' AS date) + INTERVAL '1' MONTH AS timestamp)
      AS next_month_start
  FROM quarter_months
),
quarter_end AS (
  SELECT max(next_month_start) AS quarter_end
  FROM months
),
pairs AS (
  SELECT DISTINCT t.account_id AS pair_account_id, t.currency AS pair_currency
  FROM transactions t
  CROSS JOIN quarter_end q
  WHERE t.tx_date < q.quarter_end
),
ranked AS (
  SELECT
    p.pair_account_id,
    p.pair_currency,
    m.month AS pair_month,
    t.new_balance,
    row_number() OVER (
      PARTITION BY p.pair_account_id, p.pair_currency, m.month
      ORDER BY t.tx_date DESC, t.id DESC
    ) AS recency
  FROM pairs p
  CROSS JOIN months m
  LEFT JOIN transactions t
    ON t.account_id = p.pair_account_id
    AND t.currency = p.pair_currency
    AND t.tx_date < m.next_month_start
)
SELECT
  pair_account_id AS account_id,
  pair_currency AS currency,
  pair_month AS month,
  CAST(new_balance AS decimal(38, 2)) AS balance
FROM ranked
WHERE recency = 1
ORDER BY account_id, currency, month, balance
