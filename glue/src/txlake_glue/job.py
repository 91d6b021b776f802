"""One run of the job: the landed files of one ingest date to the run's staged outputs."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping

from pyspark.sql import SparkSession

from txlake_glue.classify import classify
from txlake_glue.contract import load_contract, quarantine_schema, silver_schema
from txlake_glue.csv_reader import read_records
from txlake_glue.layout import LAYOUT_ARGS, run_paths
from txlake_glue.outputs import write_outputs
from txlake_glue.session import get_spark
from txlake_glue.storage import read_json, read_published

# Every argument of the job: the run (passed by the state machine), then the deployment's
# defaults (the lake's layout and the contract).
JOB_ARGS = ("run_id", "ingest_date", *LAYOUT_ARGS, "contract")


def run_job(spark: SparkSession, args: Mapping[str, str]) -> dict:
    contract = load_contract(args["contract"])
    run_id, ingest_date = args["run_id"], args["ingest_date"]
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", ingest_date):
        raise ValueError(f"ingest_date must be YYYY-MM-DD, got {ingest_date!r}")
    paths = run_paths(args, run_id)
    landing = read_json(spark, paths.landing_summary)
    files = landing.get("files") or []
    records = read_records(spark, paths.bronze, files, contract)
    published_silver = read_published(spark, paths.published_silver, silver_schema(contract))
    published_quarantine = read_published(
        spark, paths.published_quarantine, quarantine_schema(contract)
    )
    classified = classify(
        records, published_silver, published_quarantine, contract, ingest_date
    ).persist()
    try:
        return write_outputs(
            spark,
            classified,
            contract,
            paths,
            ingest_date,
            run_id,
            [f["name"] for f in files],
        )
    finally:
        classified.unpersist()


def run(args: Mapping[str, str]) -> dict:
    """Runs the job with its arguments (``JOB_ARGS``) and returns the counts it staged."""
    spark = get_spark()
    counts = run_job(spark, args)
    print(json.dumps(counts, sort_keys=True), file=sys.stderr)
    return counts
