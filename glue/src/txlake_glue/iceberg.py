"""The job's Iceberg I/O through Spark: tables, branches, commits and their snapshots.

Every statement names its branch explicitly (``<table>.branch_<name>``): Spark's
``spark.wap.branch`` silently writes to ``main`` when a table lacks ``write.wap.enabled``.
Identifiers are quoted (run ids hold ``-``); snapshot ids are 64-bit and leave as decimal strings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, DataFrameWriterV2, SparkSession

# Snapshot properties on the job's commits: which run made it, for which date, and why.
RUN_ID_PROPERTY = "txlake.run-id"
INGEST_DATE_PROPERTY = "txlake.ingest-date"
OPERATION_PROPERTY = "txlake.operation"
# The empty commit that gives a new table the snapshot a branch must start from.
INIT_OPERATION = "init"


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True)
class Table:
    catalog: str
    database: str
    name: str

    @property
    def ident(self) -> str:
        return ".".join(quote(p) for p in (self.catalog, self.database, self.name))

    def branch(self, branch: str) -> str:
        """The identifier that reads and writes one branch of the table."""
        return f"{self.ident}.{quote('branch_' + branch)}"

    def metadata(self, name: str) -> str:
        return f"{self.ident}.{quote(name)}"

    @property
    def procedure_arg(self) -> str:
        """The table as the catalog's procedures take it (within the catalog)."""
        return literal(f"{quote(self.database)}.{quote(self.name)}")

    def call(self, spark: SparkSession, procedure: str, *args: str) -> list:
        arguments = ", ".join([f"table => {self.procedure_arg}", *args])
        return spark.sql(f"CALL {quote(self.catalog)}.system.{procedure}({arguments})").collect()


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: int
    parent_id: int | None
    operation: str
    summary: dict[str, str]
    # Epoch milliseconds: Python's datetimes from Spark are in the process's own time zone.
    committed_ms: int

    def records(self, key: str) -> int:
        return int(self.summary.get(key) or 0)


def commit_properties(run_id: str | None, ingest_date: str | None, operation: str) -> dict:
    props = {OPERATION_PROPERTY: operation}
    if run_id:
        props[RUN_ID_PROPERTY] = run_id
    if ingest_date:
        props[INGEST_DATE_PROPERTY] = ingest_date
    return props


def _java_table(spark: SparkSession, table: Table):
    """The table's current metadata through Iceberg's Java API: a catalog lookup, no Spark job."""
    return spark._jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(
        spark._jsparkSession, table.ident
    )


def branches(spark: SparkSession, table: Table) -> dict[str, int]:
    """The table's branches (``main`` included once it has a snapshot) and their heads: the
    ``refs`` metadata table's branches, read without a Spark job (a run asks about twenty times)."""
    heads = {}
    for entry in _java_table(spark, table).refs().entrySet():
        ref = entry.getValue()
        if ref.isBranch():
            heads[str(entry.getKey())] = int(ref.snapshotId())
    return heads


def snapshots(spark: SparkSession, table: Table) -> dict[int, Snapshot]:
    """Every snapshot the table's metadata holds (the ``snapshots`` metadata table), by id.

    Read as the table's metadata document (one call into the JVM): walking the Java snapshots
    took some twenty calls per snapshot, about a second a call by the time a lake holds a few
    hundred snapshots, and a run asks several times.
    """
    jvm = spark._jvm
    current = _java_table(spark, table).operations().current()
    metadata = json.loads(jvm.org.apache.iceberg.TableMetadataParser.toJson(current))
    out = {}
    for snap in metadata.get("snapshots") or []:
        summary = {str(k): str(v) for k, v in (snap.get("summary") or {}).items()}
        # The document keeps the operation in the summary; the Java API reads it apart from it.
        operation = summary.pop("operation", None)
        parent = snap.get("parent-snapshot-id")
        out[int(snap["snapshot-id"])] = Snapshot(
            int(snap["snapshot-id"]),
            None if parent is None else int(parent),
            operation,
            summary,
            int(snap["timestamp-ms"]),
        )
    return out


def lineage(snaps: dict[int, Snapshot], head: int, base: int | None) -> list[Snapshot] | None:
    """The snapshots from ``head`` back to ``base`` (excluded); None if base is no ancestor."""
    chain, current = [], head
    while current != base:
        snap = snaps.get(current)
        if snap is None:
            return None
        chain.append(snap)
        current = snap.parent_id
    return chain


def _writer(rows: DataFrame, target: str, properties: dict) -> DataFrameWriterV2:
    """A write to ``target`` whose commit carries ``properties`` in its snapshot summary."""
    writer = rows.writeTo(target)
    for key, value in properties.items():
        writer = writer.option(f"snapshot-property.{key}", value)
    return writer


def append(rows: DataFrame, target: str, properties: dict, *, fanout: bool = False) -> None:
    """Appends ``rows`` in one commit.

    ``fanout``: each task writes its rows to every partition they fall in (one open file per
    partition), instead of the table's default hash distribution, which first shuffles all rows
    by partition. For a day's rows, already spread over the job's tasks, that shuffle was a fifth of
    the job at 5 M rows; the price is up to one file per task and partition, which maintenance
    compacts.
    """
    writer = _writer(rows, target, properties)
    if fanout:
        writer = writer.option("distribution-mode", "none").option("fanout-enabled", "true")
    writer.append()


def overwrite(rows: DataFrame, target: str, condition: Column, properties: dict) -> None:
    """One commit replacing the rows that match ``condition`` (whole partitions) by ``rows``."""
    _writer(rows, target, properties).overwrite(condition)


def ensure_main(spark: SparkSession, table: Table, properties: dict) -> int:
    """``main``'s head, after an empty commit if the table has no snapshot yet.

    A branch starts from a snapshot, and a restore returns to one: the empty commit leaves the
    table's content unchanged.
    """
    head = branches(spark, table).get("main")
    if head is None:
        # (no partitions: no task runs, so no Python worker starts for the empty rows)
        schema = spark.table(table.ident).schema
        empty = spark.createDataFrame(spark.sparkContext.emptyRDD(), schema)
        append(empty, table.ident, {**properties, OPERATION_PROPERTY: INIT_OPERATION})
        head = branches(spark, table)["main"]
    return head


def drop_branch(spark: SparkSession, table: Table, branch: str) -> bool:
    if branch == "main" or branch not in branches(spark, table):
        return False
    spark.sql(f"ALTER TABLE {table.ident} DROP BRANCH IF EXISTS {quote(branch)}")
    return True


def create_branch(spark: SparkSession, table: Table, branch: str, snapshot_id: int) -> None:
    spark.sql(
        f"ALTER TABLE {table.ident} CREATE BRANCH {quote(branch)} AS OF VERSION {snapshot_id}"
    )


def read_snapshot(spark: SparkSession, table: Table, snapshot_id: int) -> DataFrame:
    """The table as of one snapshot (fixed: later commits to any branch do not change it)."""
    return spark.read.option("snapshot-id", str(snapshot_id)).table(table.ident)


def has_rows(spark: SparkSession, target: str, condition: str) -> bool:
    return bool(spark.sql(f"SELECT 1 FROM {target} WHERE {condition} LIMIT 1").collect())


def may_hold(spark: SparkSession, table: Table, at: str | int, column: str, value: str) -> bool:
    """Whether a data file of the table at ``at`` (a branch, or a snapshot id) may hold a row with
    ``column = value``: Iceberg's scan planning over partitions and column statistics, no Spark job.

    False is certain (no file can match); True only says a query must look. Most ingest dates are
    new to a table, so the job's checks for a date's earlier rows mostly end here.
    """
    expressions = spark._jvm.org.apache.iceberg.expressions.Expressions
    scan = _java_table(spark, table).newScan()
    scan = scan.useSnapshot(at) if isinstance(at, int) else scan.useRef(at)
    tasks = scan.filter(expressions.equal(column, value)).planFiles()
    try:
        return bool(tasks.iterator().hasNext())
    finally:
        tasks.close()


def delete_rows(spark: SparkSession, target: str, condition: str) -> None:
    # SQL DELETE carries no snapshot properties in Iceberg 1.7.1 (only DataFrame writes do);
    # the run's delete is known by its place between the branch's base and the run's append.
    spark.sql(f"DELETE FROM {target} WHERE {condition}")


def fast_forward(spark: SparkSession, table: Table, branch: str) -> None:
    """``main`` moves to ``branch``'s head (one commit); refused if main is no ancestor of it."""
    table.call(spark, "fast_forward", f"branch => 'main', to => {literal(branch)}")


def set_main(spark: SparkSession, table: Table, snapshot_id: int) -> None:
    table.call(spark, "set_current_snapshot", f"snapshot_id => {snapshot_id}")


def branch_changes(spark: SparkSession, table: Table, branch: str, base: int) -> dict[str, Any]:
    """What a branch holds over its base, from its snapshots' summaries (the audit's evidence).

    ``added_records``: rows the run appended; ``deleted_records``: rows its deletes removed (a
    copy-on-write delete re-adds the untouched rows of the files it rewrites: those are netted
    out). Checked against the difference of the two snapshots' total records.
    """
    snaps = snapshots(spark, table)
    head = branches(spark, table)[branch]
    chain = lineage(snaps, head, base)
    if chain is None:
        raise RuntimeError(f"{table.name}: {branch} does not descend from {base}")
    added = sum(s.records("added-records") for s in chain if s.operation == "append")
    deleted = sum(
        s.records("deleted-records") - s.records("added-records")
        for s in chain
        if s.operation != "append"
    )
    total = snaps[head].records("total-records") - snaps[base].records("total-records")
    if total != added - deleted:
        raise RuntimeError(
            f"{table.name}: {branch} holds {total:+d} records over its base, its commits "
            f"say {added} added and {deleted} deleted"
        )
    return {
        "branch": branch,
        "base_snapshot_id": str(base),
        "snapshot_id": str(head),
        "added_records": added,
        "deleted_records": deleted,
    }
