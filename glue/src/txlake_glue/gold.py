"""Mode ``publish-gold``: the gold refresh (Athena's UNLOADs of ``sql/gold_monthly_balances.sql``
into staging) becomes gold's state from ``--from_month`` on, in one Iceberg commit.

Athena writes at most 100 partitions per query, so a refresh runs as one or more queries over
consecutive month ranges (core/gold-plan.ts), each UNLOADed to a target of its own:
``--gold_refresh_targets`` is the JSON array of those staging key prefixes, each under
``--gold_refresh_prefix``. Each target holds Parquet in Hive directories ``year=YYYY/month=MM/``
(the two columns only in the directory names); their union is the refresh. The ranges never
overlap, so a partition in two targets is refused; whatever else lies under the prefix (the partial
output of a failed query) is not read. Months from ``from_month`` on are replaced whole: a month
the refresh no longer produces disappears, earlier months stay untouched. Gold holds no month after
its horizon (the month of the refreshed tail): when a rerun removed silver's latest rows, the
months between the new horizon and ``from_month`` go in the same commit (no tail at all: silver
is empty, and so is gold).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import reduce

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


def replaced_from(rows: DataFrame, from_month: str) -> str:
    """The first gold month the commit replaces: ``from_month``, or the month after the refreshed
    horizon (the tail's month) when that is earlier, since gold holds no month past its horizon;
    '0000-01' (every month) when the refresh is empty: silver is."""
    tail = (F.col("year") == "9999") & (F.col("month") == "12")
    horizon, count = rows.agg(
        F.date_format(F.max(F.when(tail, F.col("month_start"))), "yyyy-MM"), F.count(F.lit(1))
    ).first()
    if count == 0:
        return "0000-01"
    if horizon is None:
        return from_month
    year, month = (int(p) for p in horizon.split("-"))
    after = f"{year + month // 12:04d}-{month % 12 + 1:02d}"
    return min(from_month, after)


def refresh_targets(args: Mapping[str, str]) -> list[str]:
    """``--gold_refresh_targets``: a non-empty JSON array of staging key prefixes, each strictly
    under ``--gold_refresh_prefix``, none inside another (its files would be read twice)."""
    text = args["gold_refresh_targets"]
    try:
        targets = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"--gold_refresh_targets must be a JSON array, got {text!r}") from error
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        raise ValueError(
            f"--gold_refresh_targets must be a non-empty JSON array of strings, got {text!r}"
        )
    prefix = args["gold_refresh_prefix"].strip("/") + "/"
    keys = []
    for target in targets:
        key = target.rstrip("/") + "/"
        inside = key[len(prefix) :].rstrip("/").split("/")
        if not key.startswith(prefix) or any(p in ("", ".", "..") for p in inside):
            raise ValueError(
                f"gold refresh target {target!r} is not under --gold_refresh_prefix {prefix!r}"
            )
        keys.append(key)
    for i, key in enumerate(keys):
        for other in keys[i + 1 :]:
            if key.startswith(other) or other.startswith(key):
                raise ValueError(f"gold refresh targets {other!r} and {key!r} overlap")
    return keys


def read_refresh(spark: SparkSession, roots: list[str], from_month: str, table: Table) -> DataFrame:
    """The union of the refresh outputs under ``roots`` (one per refresh query)."""
    schema = spark.table(table.ident).schema
    frames = []
    written: dict[str, str] = {}
    for root in roots:
        files = [f for f in list_files(spark, root) if is_unload_data_file(f)]
        early = [f for f in files if (month_of(f) or "") < from_month]
        if early:
            raise ValueError(
                f"gold refresh output outside the months from {from_month} on: {early}"
            )
        for month in sorted({month_of(f) or "" for f in files}):
            if month in written:
                raise ValueError(
                    f"gold refresh partition {month} is in two targets: {written[month]} and {root}"
                )
            written[month] = root
        if files:
            # year and month come from the directory names (as strings: type inference is off).
            rows = spark.read.option("basePath", root).parquet(*files)
            frames.append(to_table_columns(rows, schema, table.name))
    if not frames:
        return spark.createDataFrame([], schema)
    return reduce(DataFrame.unionByName, frames)


def published_by(snapshot: iceberg.Snapshot, run_id: str) -> bool:
    summary = snapshot.summary
    return (
        summary.get(RUN_ID_PROPERTY) == run_id and summary.get(OPERATION_PROPERTY) == PUBLISH_GOLD
    )


def run_publish_gold(spark: SparkSession, args: Mapping[str, str]) -> dict:
    run_id, ingest_date = args["run_id"], checked_date(args["ingest_date"])
    from_month = checked_month(args["from_month"])
    targets = refresh_targets(args)
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
    roots = [join_path(args["staging_root"], target) for target in targets]
    rows = read_refresh(spark, roots, from_month, gold).cache()
    try:
        replaced = from_month_on(replaced_from(rows, from_month))
        iceberg.overwrite(rows, gold.ident, replaced, properties)
    finally:
        rows.unpersist()
    entry["after"] = str(iceberg.branches(spark, gold)["main"])
    save_result(spark, path, result)
    return result
