"""Duplicate and attempt rules: each record's destination and final error codes."""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from txlake_glue.contract import Contract
from txlake_glue.rules import apply_row_rules

# Where a record goes.
SILVER = "silver"
QUARANTINE = "quarantine"
CONDEMNED = "condemned"


def _key_names(contract: Contract) -> list[str]:
    return [f"v_{c['silver']}" for c in contract.source_columns]


def classify(
    records: DataFrame,
    published_silver: DataFrame,
    published_quarantine: DataFrame,
    contract: Contract,
    ingest_date: str,
) -> DataFrame:
    """Decide destination and final ``error_codes`` for every record of the run.

    Adds ``destination`` (silver|quarantine|condemned), ``error_codes`` and the typed
    ``v_*`` silver values. Published rows of ``ingest_date`` itself are ignored, so a
    rerun sees the same state as the first run.
    """
    # The transaction id is the contract's first identifier column.
    id_rule = contract.column("identifier")
    raw_id = id_rule["field"]
    silver_names = [c["silver"] for c in contract.source_columns]
    v_id = f"v_{id_rule['silver']}"
    keys = _key_names(contract)

    # Every comparison below is keyed on the (trimmed) raw id first, so the run's records are
    # shuffled once, by it, before the row rules: the rows cross as the raw fields only (the
    # typed values and codes are computed after the shuffle), and the windows' partitions and
    # the joins' keys all start with it. For a valid row the raw id is its silver id, so the
    # extra key changes no group that counts. (The shuffle also ends the parse's generated code
    # before the rules': one method for both would be too large for the JVM to compile.)
    rows = apply_row_rules(records.repartition(F.col(raw_id)), contract).withColumn(
        "valid", F.size("row_codes") == 0
    )

    # Silver rows of other ingest dates by id: an id is a conflict if it is there at all, and a
    # duplicate if one of its rows has the same five values.
    other_silver = published_silver.where(F.col("ingest_date") != F.lit(ingest_date).cast("date"))
    value_names = [n for n in silver_names if n != id_rule["silver"]]
    silver_by_id = other_silver.groupBy(F.col(id_rule["silver"]).alias("_silver_id")).agg(
        F.collect_set(F.struct(*[F.col(n) for n in value_names])).alias("_silver_values")
    )
    attempts = (
        published_quarantine.where(
            (F.col("ingest_date") != F.lit(ingest_date))
            & F.col(raw_id).isNotNull()
            & (F.col(raw_id) != "")
        )
        .groupBy(F.col(raw_id).alias("_attempt_id"))
        .agg(F.countDistinct("ingest_date").alias("_attempt_dates"))
        .where(F.col("_attempt_dates") >= contract.max_attempts_other_dates)
        .select("_attempt_id", F.lit(True).alias("attempts_exceeded"))
    )

    run_values = F.struct(*[F.col(f"v_{n}").alias(n) for n in value_names])
    rows = (
        rows.join(silver_by_id, F.col(raw_id) == F.col("_silver_id"), how="left")
        .withColumn("dup_id_silver", F.col("_silver_id").isNotNull())
        .withColumn(
            "dup_row_silver",
            F.col("_silver_id").isNotNull() & F.array_contains("_silver_values", run_values),
        )
        .drop("_silver_id", "_silver_values")
        .join(attempts, F.col(raw_id) == F.col("_attempt_id"), how="left")
        .drop("_attempt_id")
    )
    # (after the joins, whose shuffle by raw id already clusters the windows' partitions)
    # Earlier valid rows of the run: ordered by (file name bytes, record); Spark
    # compares strings by their UTF-8 bytes, which is the contract's byte order.
    # One sort serves both rules: an id's rows ordered by their other values, then by position.
    # A duplicate id is a row after the first position of its id; a duplicate row one whose
    # predecessor has the same values (equal values are adjacent, in position order).
    position = F.struct(F.col("source_file"), F.col("source_record"))
    others = [k for k in keys if k != v_id]
    by_id = Window.partitionBy(raw_id, "valid", v_id).orderBy(
        *others, "source_file", "source_record"
    )
    whole_id = by_id.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    # (NULL-safe, as the partition keys of a window are; a first row has no predecessor)
    same_values = [F.lag(k, 1).over(by_id).eqNullSafe(F.col(k)) for k in others]
    has_predecessor = F.row_number().over(by_id) > 1
    rows = rows.withColumns(
        {
            "dup_id_run": F.col("valid") & (position != F.min(position).over(whole_id)),
            "dup_row_run": reduce(
                lambda a, b: a & b, same_values, F.col("valid") & has_predecessor
            ),
        }
    )

    flag = lambda name: F.coalesce(F.col(name), F.lit(False))  # noqa: E731
    dup_row = F.col("valid") & (flag("dup_row_run") | flag("dup_row_silver"))
    dup_id = F.col("valid") & (flag("dup_id_run") | flag("dup_id_silver"))
    # Attempts only turn would-be quarantine rows into condemned ones (never MALFORMED_ROW).
    exceeded = flag("attempts_exceeded") & ~F.col("malformed")

    def codes(*names: str) -> Column:
        return F.array(*[F.lit(n) for n in names])

    destination = (
        F.when(F.col("malformed"), F.lit(QUARANTINE))
        .when(~F.col("valid") & exceeded, F.lit(CONDEMNED))
        .when(~F.col("valid"), F.lit(QUARANTINE))
        .when(dup_row, F.lit(CONDEMNED))
        .when(dup_id & exceeded, F.lit(CONDEMNED))
        .when(dup_id, F.lit(QUARANTINE))
        .otherwise(F.lit(SILVER))
    )
    error_codes = (
        F.when(F.col("malformed"), F.col("row_codes"))
        .when(~F.col("valid") & exceeded, codes(contract.max_attempts_exceeded))
        .when(~F.col("valid"), F.col("row_codes"))
        .when(dup_row, codes(contract.duplicate_row))
        .when(dup_id & exceeded, codes(contract.max_attempts_exceeded))
        .when(dup_id, codes(contract.duplicate_transaction_id))
        .otherwise(F.array().cast("array<string>"))
    )
    return rows.select(
        "source_file",
        "source_record",
        "malformed",
        *contract.fields,
        *contract.optional_fields,
        *keys,
        destination.alias("destination"),
        error_codes.alias("error_codes"),
    )
