-- The case study's own table shape as a view over silver (docs: SPEC section 4; the query over it
-- is sql/balance_history_case_shape.sql). Runs unchanged on Athena engine v3 (Trino) and locally
-- on DuckDB (lib/local/local-athena.ts). No parameters, no placeholders.
--
-- transactions(id, account_id, currency, amount, new_balance, tx_date):
--   id          = silver transaction_id
--   account_id  = silver customer_id
--   currency, amount (decimal(16,2)) as in silver
--   new_balance = running balance of the (account_id, currency) pair after this transaction: the
--                 sum of the pair's amounts ordered by transaction_ts, then transaction_id
--                 (decimal(38,2)). RANGE frame: rows with the same (transaction_ts,
--                 transaction_id) are peers and all get the balance after all of them, so the
--                 value never depends on how an engine orders ties.
--   tx_date     = silver transaction_ts (timestamp, UTC, millisecond precision)
CREATE OR REPLACE VIEW transactions AS
SELECT
  transaction_id AS id,
  customer_id AS account_id,
  currency,
  amount,
  CAST(
    sum(amount) OVER (
      PARTITION BY customer_id, currency
      ORDER BY transaction_ts, transaction_id
      RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS decimal(38, 2)
  ) AS new_balance,
  transaction_ts AS tx_date
FROM silver_transactions
