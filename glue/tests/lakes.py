"""Test lakes: a temporary lake directory whose tables live in its own Iceberg catalog
(``<lake>/catalog.db``), created from the contract like the local runner creates them, and the
job run through ``main`` with the deployment's arguments."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog

import txlake_job as job
from local_catalog import ensure_tables
from txlake_glue.session import SPARK_CONF_ENV, end_run, get_spark

CATALOG = "txlake"
DATABASE = "txlake_test"
SILVER, QUARANTINE, CONDEMNED, GOLD = (
    "silver_transactions",
    "quarantine_transactions",
    "condemned_transactions",
    "gold_monthly_balances",
)
TABLE_PROPERTIES = {
    "format-version": "2",
    "write.delete.mode": "copy-on-write",
    "write.update.mode": "copy-on-write",
    "write.merge.mode": "copy-on-write",
    "write.parquet.compression-codec": "zstd",
    "commit.manifest.min-count-to-merge": "10",
}

# The Glue job's default arguments (lib/constructs/ingestion-job.ts, keys from core/lake-layout),
# with Glue's own options, which the job ignores locally.
DEPLOYMENT_ARGS = {
    "catalog_name": CATALOG,
    "database": DATABASE,
    "silver_table": SILVER,
    "quarantine_table": QUARANTINE,
    "condemned_table": CONDEMNED,
    "gold_table": GOLD,
    "landing_summary_key": "runs/{run_id}/landing.json",
    "counts_prefix": "runs/{run_id}/counts/",
    "publish_result_key": "runs/{run_id}/published.json",
    "gold_refresh_prefix": "gold-refresh/",
    "snapshot_retention_days": "30",
    "snapshots_to_keep": "10",
    "orphan_file_age_hours": "72",
    "condemned_retention_years": "7",
    "datalake-formats": "iceberg",
    "conf": "spark.sql.catalog.txlake=org.apache.iceberg.spark.SparkCatalog",
}


def spark_conf(lake: Path) -> dict[str, str]:
    """The run's Spark SQL settings on a local lake (what runner/local/local-iceberg.ts sends)."""
    key = f"spark.sql.catalog.{CATALOG}"
    return {
        key: "org.apache.iceberg.spark.SparkCatalog",
        f"{key}.catalog-impl": "org.apache.iceberg.jdbc.JdbcCatalog",
        f"{key}.uri": f"jdbc:sqlite:{lake}/catalog.db",
        f"{key}.jdbc.schema-version": "V1",
        f"{key}.warehouse": str(lake),
        f"{key}.cache-enabled": "false",
    }


@contextmanager
def on_lake(lake: Path) -> Iterator[None]:
    """Job runs and sessions on ``lake`` (as the local Glue host sets it for a run)."""
    saved = os.environ.get(SPARK_CONF_ENV)
    os.environ[SPARK_CONF_ENV] = json.dumps(spark_conf(lake))
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(SPARK_CONF_ENV, None)
        else:
            os.environ[SPARK_CONF_ENV] = saved


@contextmanager
def lake_session(lake: Path):
    with on_lake(lake):
        spark = get_spark()
        try:
            yield spark
        finally:
            end_run(spark)


def ident(table: str, branch: str | None = None) -> str:
    base = f"{CATALOG}.{DATABASE}.{table}"
    return f"{base}.`branch_{branch}`" if branch else base


def table_definitions(contract_dict: dict, lake: Path) -> list[dict[str, Any]]:
    """The contract's tables as the deployment defines them, located in the local lake."""
    return [
        {
            "name": name,
            "location": str(lake / t["layer"] / t["prefix"]),
            "columns": t["columns"],
            "partitionSpec": t["partitionSpec"],
            "properties": TABLE_PROPERTIES,
        }
        for name, t in contract_dict["tables"].items()
    ]


def create_lake(lake: Path, contract_dict: dict) -> Path:
    lake.mkdir(parents=True, exist_ok=True)
    with lake_session(lake) as spark:
        ensure_tables(spark, CATALOG, DATABASE, table_definitions(contract_dict, lake))
    return lake


def job_args(lake: Path, mode: str, run_id: str, date: str | None, **extra: str) -> list[str]:
    args = {
        **DEPLOYMENT_ARGS,
        "bronze_root": str(lake / "bronze"),
        "staging_root": str(lake / "staging"),
        "job_mode": mode,
        "run_id": run_id,
        **({"ingest_date": date} if date else {}),
        **extra,
    }
    return [part for name, value in args.items() for part in (f"--{name}", value)]


def run_job(lake: Path, mode: str, run_id: str, date: str | None, **extra: str) -> dict:
    with on_lake(lake):
        return job.main(job_args(lake, mode, run_id, date, **extra))


def outside_catalog(lake: Path) -> SqlCatalog:
    """pyiceberg's own view of the lake's catalog: an outside reader, not the job's code."""
    return SqlCatalog(CATALOG, uri=f"sqlite:///{lake}/catalog.db", warehouse=f"file://{lake}")


def read_table(lake: Path, table: str, ref: str = "main") -> pa.Table:
    """A branch of a table (``main``: what every reader sees) as pyiceberg reads it."""
    loaded = outside_catalog(lake).load_table(f"{DATABASE}.{table}")
    head = loaded.metadata.refs.get(ref)
    if head is None:
        if ref != "main":
            raise KeyError(f"{table} has no branch {ref}")
        return loaded.schema().as_arrow().empty_table()
    return loaded.scan(snapshot_id=head.snapshot_id).to_arrow()


def refs(lake: Path, table: str) -> dict[str, int]:
    loaded = outside_catalog(lake).load_table(f"{DATABASE}.{table}")
    return {name: ref.snapshot_id for name, ref in loaded.metadata.refs.items()}


def snapshot_count(lake: Path, table: str) -> int:
    return len(outside_catalog(lake).load_table(f"{DATABASE}.{table}").snapshots())


def rows_of(rows: pa.Table | list[dict]) -> list[dict]:
    """Rows of a transactions table in (file name bytes, record) order."""
    listed = rows.to_pylist() if isinstance(rows, pa.Table) else rows
    return sorted(listed, key=lambda r: (r["source_file"].encode(), r["source_record"]))


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
