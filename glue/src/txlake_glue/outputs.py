"""The run's staged outputs: silver, quarantine and condemned Parquet, and the counts."""

from __future__ import annotations

import json

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from txlake_glue.classify import CONDEMNED, QUARANTINE, SILVER
from txlake_glue.contract import Contract, optional_record_column, quarantine_schema, silver_schema
from txlake_glue.layout import RunPaths


def silver_output(classified: DataFrame, contract: Contract, ingest_date: str, run_id: str):
    silver_names = {c["silver"]: f"v_{c['silver']}" for c in contract.source_columns}
    ts_name = contract.column("timestamp")["silver"]
    ts = F.col(silver_names[ts_name])
    # Optional columns: the trimmed value; an empty one is missing (NULL) like any empty field.
    optional = {c["silver"]: F.col(optional_record_column(c)) for c in contract.optional_columns}
    extra = {
        "ingest_date": F.lit(ingest_date).cast("date"),
        "source_file": F.col("source_file"),
        "source_record": F.col("source_record").cast("bigint"),
        "run_id": F.lit(run_id),
        # Session time zone is UTC, so these are the UTC year and month.
        "year": F.date_format(ts, "yyyy"),
        "month": F.date_format(ts, "MM"),
    }
    schema = silver_schema(contract)
    cols = []
    for field in schema.fields:
        if field.name in silver_names:
            expr = F.col(silver_names[field.name])
        elif field.name in optional:
            expr = F.when(optional[field.name] != "", optional[field.name])
        else:
            expr = extra[field.name]
        cols.append(expr.cast(field.dataType).alias(field.name))
    return classified.where(F.col("destination") == SILVER).select(*cols)


def rejected_output(
    classified: DataFrame,
    contract: Contract,
    destination: str,
    ingest_date: str,
    run_id: str,
) -> DataFrame:
    table = f"{destination}_transactions"
    extra = {
        "error_codes": F.col("error_codes"),
        "source_file": F.col("source_file"),
        "source_record": F.col("source_record"),
        "run_id": F.lit(run_id),
        "ingest_date": F.lit(ingest_date),
        # Optional columns: the raw (trimmed) value, like the required fields.
        **{c["field"]: F.col(optional_record_column(c)) for c in contract.optional_columns},
    }
    schema = quarantine_schema(contract, table)
    cols = [
        (F.col(f.name) if f.name in contract.fields else extra[f.name])
        .cast(f.dataType)
        .alias(f.name)
        for f in schema.fields
    ]
    return classified.where(F.col("destination") == destination).select(*cols)


def compute_counts(classified: DataFrame, contract: Contract, file_names: list[str]) -> dict:
    """The counts document the quality gate reconciles against (SPEC section 3)."""
    by_dest = {r[0]: r[1] for r in classified.groupBy("destination").count().collect()}
    reasons = {
        r[0]: r[1]
        for r in classified.select(F.explode("error_codes").alias("code"))
        .groupBy("code")
        .count()
        .collect()
    }
    by_file = {r[0]: r[1] for r in classified.groupBy("source_file").count().collect()}
    ts = F.col(f"v_{contract.column('timestamp')['silver']}")
    months = [
        r[0]
        for r in classified.where(F.col("destination") == SILVER)
        .select(F.date_format(ts, "yyyy-MM").alias("m"))
        .distinct()
        .collect()
    ]
    return {
        "read": sum(by_dest.values()),
        SILVER: by_dest.get(SILVER, 0),
        "quarantined": by_dest.get(QUARANTINE, 0),
        CONDEMNED: by_dest.get(CONDEMNED, 0),
        "reasons": dict(sorted(reasons.items())),
        "read_by_file": {n: by_file.get(n, 0) for n in sorted(set(file_names) | set(by_file))},
        "silver_months": sorted(months),
    }


def write_outputs(
    spark: SparkSession,
    classified: DataFrame,
    contract: Contract,
    paths: RunPaths,
    ingest_date: str,
    run_id: str,
    file_names: list[str],
) -> dict:
    # One file per partition: a date's rows of a month are few, and small files slow every reader.
    silver_keys = [p["name"] for p in contract.table_partitions("silver_transactions")]
    silver_output(classified, contract, ingest_date, run_id).repartition(*silver_keys).write.mode(
        "overwrite"
    ).partitionBy(*silver_keys).parquet(paths.staged_silver)
    for dest, path in ((QUARANTINE, paths.staged_quarantine), (CONDEMNED, paths.staged_condemned)):
        keys = [p["name"] for p in contract.table_partitions(f"{dest}_transactions")]
        rejected_output(classified, contract, dest, ingest_date, run_id).repartition(
            *keys
        ).write.mode("overwrite").partitionBy(*keys).parquet(path)
    counts = compute_counts(classified, contract, file_names)
    spark.createDataFrame([(json.dumps(counts, sort_keys=True),)], "value string").coalesce(
        1
    ).write.mode("overwrite").text(paths.counts)
    return counts
