"""Mode ``publish-gold``: the gold refresh (Athena's UNLOAD of ``sql/gold_monthly_balances.sql``
into staging) becomes gold's state from ``--from_month`` on, in one Iceberg commit.

The refresh output is Parquet in Hive directories ``year=YYYY/month=MM/`` (the two columns only
in the directory names). Months from ``from_month`` on are replaced whole: a month the refresh no
longer produces disappears, earlier months stay untouched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from txlake_glue import iceberg
from txlake_glue.iceberg import OPERATION_PROPERTY, RUN_ID_PROPERTY, Table
from txlake_glue.layout import checked_date, checked_month, lake_tables, staging_path
from txlake_glue.outputs import to_table_columns
from txlake_glue.publish import load_result, save_result
from txlake_glue.storage import join_path, list_files

PUBLISH_GOLD = "publish-gold"
_MONTH_DIRS = re.compile(r"/year=([0-9]{4})/month=([0-9]{2})/[^/]+$")


def is_unload_data_file(path: str) -> bool:
    """Athena names UNLOAD's data files without an extension: all but markers and side files."""
    name = path.rsplit("/", 1)[-1]
    return (
        bool(name)
        and not name.startswith((".", "_"))
        and not re.search(r"\.(crc|metadata|manifest)$|\$folder\$$", name)
    )


def month_of(path: str) -> str | None:
    match = _MONTH_DIRS.search(path)
    return f"{match[1]}-{match[2]}" if match else None


def from_month_on(from_month: str) -> Column:
    """The partitions from ``from_month`` on, on the partition columns only (whole partitions)."""
    year, month = from_month.split("-")
    return (F.col("year") > F.lit(year)) | (
        (F.col("year") == F.lit(year)) & (F.col("month") >= F.lit(month))
    )


def read_refresh(spark: SparkSession, root: str, from_month: str, table: Table) -> DataFrame:
    schema = spark.table(table.ident).schema
    files = [f for f in list_files(spark, root) if is_unload_data_file(f)]
    early = [f for f in files if (month_of(f) or "") < from_month]
    if early:
        raise ValueError(f"gold refresh output outside the months from {from_month} on: {early}")
    if not files:
        return spark.createDataFrame([], schema)
    # year and month come from the directory names (as strings: type inference is off).
    rows = spark.read.option("basePath", root).parquet(*files)
    return to_table_columns(rows, schema, table.name)


def published_by(snapshot: iceberg.Snapshot, run_id: str) -> bool:
    summary = snapshot.summary
    return (
        summary.get(RUN_ID_PROPERTY) == run_id and summary.get(OPERATION_PROPERTY) == PUBLISH_GOLD
    )


def run_publish_gold(spark: SparkSession, args: Mapping[str, str]) -> dict:
    run_id, ingest_date = args["run_id"], checked_date(args["ingest_date"])
    from_month = checked_month(args["from_month"])
    gold = lake_tables(args).gold
    path = staging_path(args, "publish_result_key", run_id)
    result = load_result(spark, path, run_id, ingest_date)
    properties = {
        **iceberg.commit_properties(run_id, ingest_date, PUBLISH_GOLD),
        "txlake.from-month": from_month,
    }
    current = iceberg.ensure_main(spark, gold, properties)
    snapshot = iceberg.snapshots(spark, gold)[current]
    if published_by(snapshot, run_id):
        # A retry after the commit: only the result may be missing its last write.
        entry = result["tables"].setdefault(gold.name, {"before": str(snapshot.parent_id)})
        entry["after"] = str(current)
        save_result(spark, path, result)
        return result

    # Where a restore returns gold to, written before the commit.
    entry = result["tables"][gold.name] = {"before": str(current)}
    save_result(spark, path, result)
    rows = read_refresh(
        spark, join_path(args["staging_root"], args["gold_refresh_prefix"]), from_month, gold
    )
    iceberg.overwrite(rows, gold.ident, from_month_on(from_month), properties)
    entry["after"] = str(iceberg.branches(spark, gold)["main"])
    save_result(spark, path, result)
    return result
