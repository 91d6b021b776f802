"""Modes ``publish`` and ``restore``: the run's audit branches become the tables' ``main`` (one
commit per table), or ``main`` goes back to where it was before the run published.

The publish result (``--publish_result_key``) is written before anything moves, with each
table's ``before``, so a restore knows where to return whatever happened after; it gains each
table's ``after`` once published. Both modes are idempotent: a retry finishes or does nothing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping

from pyspark.sql import SparkSession

from txlake_glue import iceberg
from txlake_glue.iceberg import Table
from txlake_glue.layout import audit_branch, checked_date, lake_tables, staging_path
from txlake_glue.storage import delete_tree, join_path, read_text, write_text


def load_result(spark: SparkSession, path: str, run_id: str, ingest_date: str | None) -> dict:
    """The run's publish result so far, or a new one (also after a restore: that run is undone)."""
    text = read_text(spark, path)
    result = json.loads(text) if text else None
    if not result or result.get("restored"):
        result = {"run_id": run_id, "ingest_date": ingest_date, "tables": {}}
    return result


def save_result(spark: SparkSession, path: str, result: dict) -> None:
    write_text(spark, path, json.dumps(result, sort_keys=True))


def run_publish(spark: SparkSession, args: Mapping[str, str]) -> dict:
    run_id, ingest_date = args["run_id"], checked_date(args["ingest_date"])
    tables = lake_tables(args).audited
    branch = audit_branch(run_id)
    path = staging_path(args, "publish_result_key", run_id)
    result = load_result(spark, path, run_id, ingest_date)
    entries = result["tables"]
    # The gold refresh comes next, and Athena's UNLOAD refuses a non-empty target: what an earlier
    # (failed) refresh left there goes first.
    delete_tree(spark, join_path(args["staging_root"], args["gold_refresh_prefix"]))
    heads = {t.name: iceberg.branches(spark, t) for t in tables}
    pending = [t for t in tables if branch in heads[t.name]]
    for t in tables:
        # A table whose branch is gone was published by an earlier attempt (its "after" is
        # written before any branch is dropped); otherwise nothing was ever staged for it.
        if t not in pending and "after" not in entries.get(t.name, {}):
            raise RuntimeError(f"{t.name} has no branch {branch}: run {run_id} staged nothing")
    if not pending:
        return result

    for t in pending:
        entries.setdefault(t.name, {"before": str(heads[t.name]["main"])})
    save_result(spark, path, result)
    # No table moves unless every one can: main must not have moved since its branch was made.
    for t in pending:
        snaps = iceberg.snapshots(spark, t)
        if iceberg.lineage(snaps, heads[t.name][branch], heads[t.name]["main"]) is None:
            raise RuntimeError(
                f"cannot publish {t.name}: main ({heads[t.name]['main']}) moved since {branch} "
                "was made from it"
            )
    for t in pending:
        if heads[t.name]["main"] != heads[t.name][branch]:
            iceberg.fast_forward(spark, t, branch)
        entries[t.name]["after"] = str(iceberg.branches(spark, t)["main"])
    save_result(spark, path, result)
    for t in pending:
        iceberg.drop_branch(spark, t, branch)
    return result


def run_restore(spark: SparkSession, args: Mapping[str, str]) -> dict:
    run_id = args["run_id"]
    tables = lake_tables(args)
    path = staging_path(args, "publish_result_key", run_id)
    result = load_result(spark, path, run_id, args.get("ingest_date"))
    restored = {}
    for name, entry in result["tables"].items():
        table = Table(tables.silver.catalog, tables.silver.database, name)
        current = iceberg.branches(spark, table).get("main")
        before = int(entry["before"])
        if current != before:
            iceberg.set_main(spark, table, before)
            restored[name] = {"from": None if current is None else str(current), "to": str(before)}
    if result["tables"]:
        # A later publish of this run id must not take the undone result for a finished one.
        save_result(spark, path, {**result, "restored": True})
    branch = audit_branch(run_id)
    dropped = [t.name for t in tables.audited if iceberg.drop_branch(spark, t, branch)]
    summary = {"run_id": run_id, "restored": restored, "branches_dropped": dropped}
    print(json.dumps(summary, sort_keys=True), file=sys.stderr)
    return summary
