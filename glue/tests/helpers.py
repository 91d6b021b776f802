"""Shared helpers: run the real transforms on in-memory files and published state."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from txlake_glue.classify import classify
from txlake_glue.contract import quarantine_schema, records_schema, silver_schema
from txlake_glue.csv_parse import records_from_rows

RUN_DATE = "2024-01-16"
RUN_ID = "run-test"
H = [
    "TransactionID",
    "CustomerID",
    "TransactionAmount",
    "Currency",
    "TransactionTimestamp",
]


def records_df(spark, contract, files: dict[str, list[list[str]]]):
    """files: name -> rows (header first), as a CSV parser would return them."""
    names = [c["name"] for c in contract.source_columns]
    recs = []
    for name, rows in files.items():
        recs.extend(records_from_rows(name, rows, names))
    return spark.createDataFrame(recs, records_schema(contract))


def silver_df(spark, contract, rows: list[dict[str, Any]]):
    """Published silver rows; defaults fill the bookkeeping columns."""
    full = []
    for r in rows:
        full.append(
            {
                "customer_id": "C1",
                "currency": "EUR",
                "ingest_date": dt.date(2024, 1, 10),
                "source_file": "old.csv",
                "source_record": 1,
                "run_id": "old-run",
                **r,
            }
        )
    schema = silver_schema(contract)
    return spark.createDataFrame([tuple(r[f.name] for f in schema.fields) for r in full], schema)


def quarantine_df(spark, contract, rows: list[tuple[str, str]]):
    """Published quarantine rows given as (transaction_id, ingest_date)."""
    schema = quarantine_schema(contract)
    data = [
        (
            tid,
            "C1",
            "x",
            "EUR",
            "bad",
            ["INVALID_AMOUNT"],
            "old.csv",
            i + 1,
            "old",
            dt.date.fromisoformat(day),
        )
        for i, (tid, day) in enumerate(rows)
    ]
    return spark.createDataFrame(data, schema)


def classify_rows(
    spark,
    contract,
    files: dict[str, list[list[str]]],
    silver: list[dict[str, Any]] | None = None,
    quarantine: list[tuple[str, str]] | None = None,
    ingest_date: str = RUN_DATE,
    columns: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Classify and return one dict per record, sorted by (source_file, source_record)."""
    out = classify(
        records_df(spark, contract, files),
        silver_df(spark, contract, silver or []),
        quarantine_df(spark, contract, quarantine or []),
        contract,
        ingest_date,
    )
    if columns:
        out = out.select("source_file", "source_record", *columns)
    rows = [r.asDict() for r in out.collect()]
    return sorted(rows, key=lambda r: (r["source_file"].encode(), r["source_record"]))


def ts(text: str) -> dt.datetime:
    """Naive UTC datetime as Spark returns it with a UTC session time zone."""
    return dt.datetime.fromisoformat(text)


def dec(text: str) -> Decimal:
    return Decimal(text)
