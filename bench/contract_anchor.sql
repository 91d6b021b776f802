-- Benchmark anchor (not part of the pipeline): data contract v1 (SPEC §3) on one landed file as a
-- single DuckDB statement: trim, row rules with their codes, duplicates and id conflicts within
-- the run, and the three outputs written as Parquet partitioned by destination. It runs on an
-- empty lake (no silver or quarantine of other dates to compare with), like the Glue job it is
-- compared with in the benchmark. Placeholders: {{FILE}}, {{OUT}}, {{CURRENCIES}},
-- {{AMOUNT_PATTERN}}, {{TIMESTAMP_PATTERN}}.
COPY (
  WITH raw AS (
    SELECT
      row_number() OVER () AS source_record,
      nullif(trim(TransactionID, ' ' || chr(9)), '') AS transaction_id,
      nullif(trim(CustomerID, ' ' || chr(9)), '') AS customer_id,
      nullif(trim(TransactionAmount, ' ' || chr(9)), '') AS transaction_amount,
      nullif(trim(Currency, ' ' || chr(9)), '') AS currency,
      nullif(trim(TransactionTimestamp, ' ' || chr(9)), '') AS transaction_timestamp
    FROM read_csv('{{FILE}}', header = true, all_varchar = true, delim = ',', quote = '"', escape = '"')
  ),
  typed AS (
    SELECT
      *,
      CASE WHEN length(transaction_id) <= 64 AND NOT regexp_matches(transaction_id, '[\x00-\x1F\x7F]')
        THEN transaction_id END AS v_transaction_id,
      CASE WHEN length(customer_id) <= 64 AND NOT regexp_matches(customer_id, '[\x00-\x1F\x7F]')
        THEN customer_id END AS v_customer_id,
      CASE WHEN regexp_full_match(transaction_amount, '{{AMOUNT_PATTERN}}')
        THEN CAST(transaction_amount AS DECIMAL(16, 2)) END AS v_amount,
      CASE WHEN upper(currency) IN ({{CURRENCIES}}) THEN upper(currency) END AS v_currency,
      CASE WHEN regexp_full_match(transaction_timestamp, '{{TIMESTAMP_PATTERN}}')
        THEN date_trunc('millisecond', TRY_CAST(transaction_timestamp AS TIMESTAMPTZ)) END AS v_transaction_ts
    FROM raw
  ),
  coded AS (
    SELECT
      *,
      list_filter([
        CASE WHEN transaction_id IS NULL THEN 'MISSING_TRANSACTION_ID'
          WHEN v_transaction_id IS NULL THEN 'INVALID_TRANSACTION_ID' END,
        CASE WHEN customer_id IS NULL THEN 'MISSING_CUSTOMER_ID'
          WHEN v_customer_id IS NULL THEN 'INVALID_CUSTOMER_ID' END,
        CASE WHEN transaction_amount IS NULL THEN 'MISSING_AMOUNT' WHEN v_amount IS NULL THEN 'INVALID_AMOUNT' END,
        CASE WHEN currency IS NULL THEN 'MISSING_CURRENCY' WHEN v_currency IS NULL THEN 'INVALID_CURRENCY' END,
        CASE WHEN transaction_timestamp IS NULL THEN 'MISSING_TIMESTAMP'
          WHEN v_transaction_ts IS NULL THEN 'INVALID_TIMESTAMP' END
      ], x -> x IS NOT NULL) AS row_codes
    FROM typed
  ),
  ranked AS (
    SELECT
      *,
      len(row_codes) = 0 AS valid,
      row_number() OVER (
        PARTITION BY len(row_codes) = 0, v_transaction_id, v_customer_id, v_amount, v_currency, v_transaction_ts
        ORDER BY source_record
      ) AS same_row,
      row_number() OVER (PARTITION BY len(row_codes) = 0, v_transaction_id ORDER BY source_record) AS same_id
    FROM coded
  )
  SELECT
    source_record,
    transaction_id,
    customer_id,
    transaction_amount,
    currency,
    transaction_timestamp,
    v_transaction_id,
    v_customer_id,
    v_amount,
    v_currency,
    v_transaction_ts,
    CASE WHEN NOT valid THEN row_codes
      WHEN same_row > 1 THEN ['DUPLICATE_ROW']
      WHEN same_id > 1 THEN ['DUPLICATE_TRANSACTION_ID']
      ELSE [] END AS error_codes,
    CASE WHEN NOT valid THEN 'quarantine'
      WHEN same_row > 1 THEN 'condemned'
      WHEN same_id > 1 THEN 'quarantine'
      ELSE 'silver' END AS destination
  FROM ranked
) TO '{{OUT}}' (FORMAT parquet, PARTITION_BY (destination))
