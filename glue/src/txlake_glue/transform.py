"""Mode ``transform``, the write step of write-audit-publish: one ingest date's landed files to
the run's audit branch of silver, quarantine and condemned, and the counts the gate audits.

No reader of a table's ``main`` sees the branch; publishing (mode ``publish``) makes it current.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from txlake_glue import iceberg
from txlake_glue.classify import CONDEMNED, QUARANTINE, SILVER, classify
from txlake_glue.contract import Contract, load_contract, table_schema
from txlake_glue.csv_reader import read_records
from txlake_glue.iceberg import Table
from txlake_glue.layout import audit_branch, checked_date, lake_tables, staging_path
from txlake_glue.outputs import (
    compute_counts,
    rejected_output,
    silver_history,
    silver_output,
    staged_rows,
    to_table_columns,
)
from txlake_glue.session import session_conf
from txlake_glue.storage import delete_tree, join_path, read_json, write_text

# The counts document's object under the run's counts prefix (named as a Spark text write names it).
COUNTS_OBJECT = "part-00000.json"

# The counts document's name for each destination's row count.
COUNT_KEYS = {SILVER: SILVER, QUARANTINE: "quarantined", CONDEMNED: CONDEMNED}

# A write task's share of a destination's rows (about 5 MB of Parquet for silver), below which
# fewer tasks write: see ``write_tasks``.
ROWS_PER_WRITE_TASK = 250_000

# Spark settings while the run's rows are classified, cached and written:
# - no compression of the cached rows (read when the cache is planned, at persist): Spark's
#   in-memory column compression costs more CPU than any other step of the run (hash maps per
#   column of every batch to choose an encoding), for rows that are read back four times;
# - whole-stage code generation only for methods the JVM compiles (HotSpot interprets a method
#   of more than 8,000 bytes of bytecode; Spark documents this value for HotSpot): a larger
#   stage runs as separate operators instead of as one interpreted method.
STAGE_CONF = {
    "spark.sql.inMemoryColumnarStorage.compressed": "false",
    "spark.sql.codegen.hugeMethodLimit": "8000",
}


def check_columns(spark: SparkSession, table: Table, contract_schema: T.StructType) -> None:
    """Fails before any work when the table lacks a column of the run's contract."""
    have = set(spark.table(table.ident).schema.fieldNames())
    missing = [name for name in contract_schema.fieldNames() if name not in have]
    if missing:
        raise ValueError(f"table {table.name} lacks the columns {missing}: evolve the table first")


def start_branch(spark: SparkSession, table: Table, branch: str, properties: dict) -> int:
    """A fresh ``branch`` from ``main`` (a retried run starts over); returns its base snapshot."""
    base = iceberg.ensure_main(spark, table, properties)
    if iceberg.drop_branch(spark, table, branch):
        print(f"{table.name}: dropped {branch} of an earlier attempt", file=sys.stderr)
    iceberg.create_branch(spark, table, branch, base)
    return base


def replace_date(
    spark: SparkSession,
    table: Table,
    branch: str,
    ingest_date: str,
    rows: DataFrame | None,
    row_count: int,
    properties: dict,
) -> None:
    """On the branch: the date's earlier rows deleted (a rerun replaces them), the run's added."""
    target = table.branch(branch)
    of_date = f"ingest_date = DATE '{ingest_date}'"
    # Commits only when there is something to change: most dates are new (and the table's
    # metadata says so without a query).
    earlier = iceberg.may_hold(spark, table, branch, "ingest_date", ingest_date)
    if earlier and iceberg.has_rows(spark, target, of_date):
        iceberg.delete_rows(spark, target, of_date)
    if rows is not None:
        columns = spark.table(target).schema
        rows = to_table_columns(rows, columns, table.name).coalesce(write_tasks(row_count))
        iceberg.append(rows, target, properties, fanout=True)


def write_tasks(rows: int) -> int:
    """How many tasks write a destination's rows: one per ``ROWS_PER_WRITE_TASK`` started.

    The fanout writer leaves a file per task and month, so a small day written by every task of
    the job (4 locally, the shuffle's partitions in Glue) would add that many files per month to
    the table, each read again by every later run until maintenance compacts them. Fewer tasks
    only merge the cached rows (``coalesce``: no shuffle); a large day keeps all of its tasks.
    """
    return max(1, -(-rows // ROWS_PER_WRITE_TASK))


def write_counts(spark: SparkSession, path: str, counts: dict) -> None:
    # One JSON line in one object under the counts prefix (the gate reads the prefix's objects).
    # Written through the file system, not as a Spark job: a job for one line cost ~0.8 s a date.
    # The prefix is emptied first, so a retried run leaves exactly one document.
    delete_tree(spark, path)
    write_text(spark, join_path(path, COUNTS_OBJECT), json.dumps(counts, sort_keys=True) + "\n")


def run_transform(spark: SparkSession, args: Mapping[str, str]) -> dict:
    contract = load_contract(args["contract"])
    run_id, ingest_date = args["run_id"], checked_date(args["ingest_date"])
    tables = lake_tables(args)
    landing = read_json(spark, staging_path(args, "landing_summary_key", run_id))
    files = landing.get("files") or []
    branch = audit_branch(run_id)
    properties = iceberg.commit_properties(run_id, ingest_date, "transform")
    by_dest = {SILVER: tables.silver, QUARANTINE: tables.quarantine, CONDEMNED: tables.condemned}

    for dest, table in by_dest.items():
        check_columns(spark, table, table_schema(contract, f"{dest}_transactions"))
    # Branches first: the run classifies against exactly the snapshots its branches start from.
    bases = {dest: start_branch(spark, t, branch, properties) for dest, t in by_dest.items()}
    try:
        counts = stage_rows(spark, args, contract, files, by_dest, bases)
    except Exception:
        # A failed run leaves no half-written branch behind (main was never touched).
        for table in by_dest.values():
            iceberg.drop_branch(spark, table, branch)
        raise
    counts["staged"] = {
        dest: iceberg.branch_changes(spark, table, branch, bases[dest])
        for dest, table in by_dest.items()
    }
    write_counts(spark, staging_path(args, "counts_prefix", run_id), counts)
    return counts


def stage_rows(
    spark: SparkSession,
    args: Mapping[str, str],
    contract: Contract,
    files: list[dict],
    by_dest: dict[str, Table],
    bases: dict[str, int],
) -> dict:
    """Classifies the run's records and writes them to the branches; returns the counts."""
    run_id, ingest_date = args["run_id"], args["ingest_date"]
    branch = audit_branch(run_id)
    properties = iceberg.commit_properties(run_id, ingest_date, "transform")
    published_silver = iceberg.read_snapshot(spark, by_dest[SILVER], bases[SILVER])
    published_quarantine = iceberg.read_snapshot(spark, by_dest[QUARANTINE], bases[QUARANTINE])
    records = read_records(spark, args["bronze_root"], files, contract)
    classified = classify(records, published_silver, published_quarantine, contract, ingest_date)
    # Cached once, narrowed to what the counts and the three outputs read of it.
    with session_conf(spark, STAGE_CONF):
        staged = staged_rows(classified, contract).persist()
        try:
            counts = compute_counts(staged, contract, [f["name"] for f in files])
            outputs = {
                SILVER: silver_output(staged, contract, ingest_date, run_id),
                QUARANTINE: rejected_output(staged, contract, QUARANTINE, ingest_date, run_id),
                CONDEMNED: rejected_output(staged, contract, CONDEMNED, ingest_date, run_id),
            }
            for dest, table in by_dest.items():
                count = counts[COUNT_KEYS[dest]]
                rows = outputs[dest] if count else None
                replace_date(spark, table, branch, ingest_date, rows, count, properties)
        finally:
            staged.unpersist()
    date_published = iceberg.may_hold(
        spark, by_dest[SILVER], bases[SILVER], "ingest_date", ingest_date
    )
    return {**counts, **silver_history(published_silver, contract, ingest_date, date_published)}
