"""Mode ``maintain``: Iceberg upkeep of the lake's tables, and condemned's row retention.

Per table: audit branches left by runs that never published or restored are dropped once older
than the snapshot retention, data files are compacted, snapshots older than the retention are
expired (always keeping the last ``--snapshots_to_keep``) and files no snapshot references are
removed once older than ``--orphan_file_age_hours`` (Iceberg refuses less than 24 hours: a
younger file may belong to a commit in progress). Condemned rows are kept for
``--condemned_retention_years`` after their ingest date: a row retention, independent of how
long snapshots are kept.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

from pyspark.sql import SparkSession

from txlake_glue import iceberg
from txlake_glue.iceberg import Table, literal
from txlake_glue.layout import AUDIT_BRANCH_PREFIX, RUN_ID_PLACEHOLDER, checked_date, lake_tables
from txlake_glue.storage import join_path, write_text


def years_before(day: dt.date, years: int) -> dt.date:
    # 29 February has no counterpart in most years: the day before it stands in.
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def timestamp(instant: dt.datetime) -> str:
    """A Spark SQL timestamp literal of a naive UTC instant (the session's time zone is UTC)."""
    return f"TIMESTAMP {literal(instant.strftime('%Y-%m-%d %H:%M:%S.%f'))}"


def drop_stale_branches(spark: SparkSession, table: Table, older_than: dt.datetime) -> list[str]:
    """Drops the audit branches whose head is older than ``older_than`` (UTC).

    A branch whose head is main's holds nothing main lacks (a run that staged no rows): it may
    belong to a run in progress, so it stays until main moves on.
    """
    limit_ms = int(older_than.replace(tzinfo=dt.UTC).timestamp() * 1000)
    snaps = iceberg.snapshots(spark, table)
    heads = iceberg.branches(spark, table)
    stale = [
        name
        for name, head in heads.items()
        if name.startswith(AUDIT_BRANCH_PREFIX)
        and head != heads.get("main")
        and snaps[head].committed_ms < limit_ms
    ]
    for name in stale:
        iceberg.drop_branch(spark, table, name)
    return sorted(stale)


def apply_condemned_retention(spark: SparkSession, table: Table, cutoff: dt.date) -> int:
    """Deletes condemned rows whose ingest date is before ``cutoff``; returns how many."""
    older = f"ingest_date < DATE '{cutoff.isoformat()}'"
    count = spark.sql(f"SELECT count(*) FROM {table.ident} WHERE {older}").first()[0]
    if count:
        iceberg.delete_rows(spark, table.ident, older)
    return int(count)


def upkeep(spark: SparkSession, table: Table, args: Mapping[str, str], now: dt.datetime) -> dict:
    retention = now - dt.timedelta(days=float(args["snapshot_retention_days"]))
    orphan_age = now - dt.timedelta(hours=float(args["orphan_file_age_hours"]))
    dropped = drop_stale_branches(spark, table, retention)
    rewrite = table.call(spark, "rewrite_data_files")[0]
    expire = table.call(
        spark,
        "expire_snapshots",
        f"older_than => {timestamp(retention)}",
        f"retain_last => {int(args['snapshots_to_keep'])}",
    )[0]
    orphans = table.call(spark, "remove_orphan_files", f"older_than => {timestamp(orphan_age)}")
    return {
        "audit_branches_dropped": dropped,
        "rewritten_data_files": int(rewrite["rewritten_data_files_count"]),
        "added_data_files": int(rewrite["added_data_files_count"]),
        "expired_data_files": int(expire["deleted_data_files_count"]),
        "expired_manifest_lists": int(expire["deleted_manifest_lists_count"]),
        "orphan_files_removed": len(orphans),
        "snapshots": len(iceberg.snapshots(spark, table)),
    }


def run_maintain(spark: SparkSession, args: Mapping[str, str]) -> dict:
    tables = lake_tables(args)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    # The run's ingest date stands for "today" when given (a backfill's maintenance, tests).
    given = args.get("ingest_date")
    today = dt.date.fromisoformat(checked_date(given)) if given else now.date()
    cutoff = years_before(today, int(args["condemned_retention_years"]))
    # The row retention first: its commit is then compacted and expired like any other.
    deleted = apply_condemned_retention(spark, tables.condemned, cutoff)
    summary = {
        "as_of": now.isoformat(timespec="milliseconds") + "Z",
        "condemned_retention": {"before": cutoff.isoformat(), "deleted_records": deleted},
        "tables": {t.name: upkeep(spark, t, args, now) for t in tables.all},
    }
    text = json.dumps(summary, sort_keys=True)
    print(text)
    path = result_path(args)
    if path:
        write_text(spark, path, text)
    return summary


def result_path(args: Mapping[str, str]) -> str | None:
    """Where the summary goes (``--maintain_result_key``, optional; ``{run_id}`` filled in)."""
    key = args.get("maintain_result_key")
    if not key:
        return None
    if RUN_ID_PLACEHOLDER in key:
        if not args.get("run_id"):
            raise ValueError(f"--maintain_result_key holds {RUN_ID_PLACEHOLDER}: give --run_id")
        key = key.replace(RUN_ID_PLACEHOLDER, args["run_id"])
    return join_path(args["staging_root"], key)
