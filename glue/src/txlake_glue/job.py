"""One job run: the mode (``--job_mode``; Glue reserves ``--mode``) and each mode's arguments.

Every argument arrives as ``--name value``: the deployment's defaults (tables, bucket roots,
staging key patterns, the contract, maintenance settings) and the run's own (mode, run id,
ingest date, first gold month, the gold refresh's targets). Unknown arguments (Glue's own,
``--conf``) are ignored.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pyspark.sql import SparkSession

from txlake_glue.gold import run_publish_gold
from txlake_glue.layout import TABLE_ARGS
from txlake_glue.maintain import run_maintain
from txlake_glue.publish import run_publish, run_restore
from txlake_glue.session import end_run, get_spark
from txlake_glue.transform import run_transform

DEFAULT_MODE = "transform"


@dataclass(frozen=True)
class Mode:
    run: Callable[[SparkSession, Mapping[str, str]], dict]
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


MODES: dict[str, Mode] = {
    "transform": Mode(
        run_transform,
        (
            "run_id",
            "ingest_date",
            *TABLE_ARGS,
            "bronze_root",
            "staging_root",
            "landing_summary_key",
            "counts_prefix",
            "contract",
        ),
    ),
    "publish": Mode(
        run_publish,
        (
            "run_id",
            "ingest_date",
            *TABLE_ARGS,
            "staging_root",
            "publish_result_key",
            "gold_refresh_prefix",
        ),
    ),
    "publish-gold": Mode(
        run_publish_gold,
        (
            "run_id",
            "ingest_date",
            "from_month",
            *TABLE_ARGS,
            "staging_root",
            "gold_refresh_prefix",
            "gold_refresh_targets",
            "publish_result_key",
        ),
    ),
    "restore": Mode(
        run_restore,
        ("run_id", *TABLE_ARGS, "staging_root", "publish_result_key"),
        ("ingest_date",),
    ),
    "maintain": Mode(
        run_maintain,
        (
            *TABLE_ARGS,
            "staging_root",
            "snapshot_retention_days",
            "snapshots_to_keep",
            "orphan_file_age_hours",
            "condemned_retention_years",
        ),
        ("run_id", "ingest_date", "maintain_result_key"),
    ),
}


def mode_of(args: Mapping[str, str]) -> Mode:
    name = args.get("job_mode") or DEFAULT_MODE
    if name not in MODES:
        raise ValueError(f"--job_mode must be one of {sorted(MODES)}, got {name!r}")
    return MODES[name]


def require_catalog(spark: SparkSession, name: str) -> None:
    # Without it Spark takes the name for a namespace of its own catalog: a puzzling error.
    if not spark.conf.get(f"spark.sql.catalog.{name}", None):
        raise ValueError(
            f"the Iceberg catalog {name!r} is not configured (spark.sql.catalog.{name}: Glue's "
            "--conf in AWS, TXLAKE_SPARK_CONF locally)"
        )


def run(args: Mapping[str, str]) -> dict:
    """Runs the job in its mode with its arguments; returns the mode's result document."""
    mode = mode_of(args)
    missing = [name for name in mode.required if not args.get(name)]
    if missing:
        raise ValueError(
            f"--job_mode {args.get('mode') or DEFAULT_MODE} needs --{', --'.join(missing)}"
        )
    spark = get_spark()
    try:
        require_catalog(spark, args["catalog_name"])
        result = mode.run(spark, args)
    finally:
        end_run(spark)
    print(json.dumps(result, sort_keys=True), file=sys.stderr)
    return result
