"""The run's cached rows (``staged_rows``) give the same outputs and counts as the classified
rows, and the one-job counts equal one query per figure."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from pyspark.sql import functions as F
from test_properties import (
    files_strategy,
    quarantine_strategy,
    silver_rows,
    silver_strategy,
    to_bytes,
)

from helpers import RUN_DATE, RUN_ID, quarantine_df, records_df, silver_df
from txlake_glue.classify import CONDEMNED, QUARANTINE, SILVER, classify
from txlake_glue.csv_parse import csv_records
from txlake_glue.outputs import compute_counts, rejected_output, silver_output, staged_rows


def counts_by_queries(classified, contract, file_names):
    """The counts document as one query per figure (the job's counts before one job did all)."""
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


def rows(df):
    return sorted((tuple(r) for r in df.collect()), key=repr)


@settings(
    max_examples=8,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(files=files_strategy, silver=silver_strategy, quarantine=quarantine_strategy)
def test_staged_rows_give_the_same_outputs_and_counts(spark, contract, files, silver, quarantine):
    parsed = {n: csv_records(to_bytes(rows)) for n, rows in files.items()}
    classified = classify(
        records_df(spark, contract, parsed),
        silver_df(spark, contract, silver_rows(silver)),
        quarantine_df(spark, contract, quarantine),
        contract,
        RUN_DATE,
    ).cache()
    staged = staged_rows(classified, contract)
    names = [*files, "empty.csv"]

    assert compute_counts(staged, contract, names) == counts_by_queries(classified, contract, names)
    assert rows(silver_output(staged, contract, RUN_DATE, RUN_ID)) == rows(
        silver_output(classified, contract, RUN_DATE, RUN_ID)
    )
    for dest in (QUARANTINE, CONDEMNED):
        assert rows(rejected_output(staged, contract, dest, RUN_DATE, RUN_ID)) == rows(
            rejected_output(classified, contract, dest, RUN_DATE, RUN_ID)
        )
    classified.unpersist()
