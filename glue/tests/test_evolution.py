"""Schema evolution: an optional source column added by contract v2 flows through the real job.

The v2 contract is the fixture the jest protocol test checks against v1
(test/fixtures/contract/transactions.v2.json): v1 plus the optional input column
``Channel`` -> silver ``channel`` and quarantine/condemned ``channel`` (strings).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_job import DATE, args, landing, read_counts, rows_of, write

import txlake_job as job
from conftest import REPO_DIR
from helpers import file_columns, silver_df
from txlake_glue.contract import load_contract, records_schema, silver_schema
from txlake_glue.csv_parse import records_from_rows

V2_PATH = REPO_DIR / "test" / "fixtures" / "contract" / "transactions.v2.json"
V1_SILVER = file_columns("silver_transactions")
V1_REJECTED = {dest: file_columns(f"{dest}_transactions") for dest in ("quarantine", "condemned")}

# A v2 producer: the optional column (padded name, reordered header), blanks around values.
NEW_CSV = (
    b"TransactionID,CustomerID, Channel ,TransactionAmount,Currency,TransactionTimestamp\n"
    b"N1,C1,web,10.00,EUR,2024-01-16T10:00:00Z\n"
    b"N2,C1,\t app ,20.00,EUR,2024-01-16T11:00:00Z\n"
    b"N3,C2,,30.00,USD,2024-01-16T12:00:00Z\n"  # empty channel: NULL in silver
    b"N4,C2,branch,abc,USD,2024-01-16T13:00:00Z\n"  # invalid amount: quarantined with its channel
    b"OLD1,C9,phone,1.00,EUR,2023-12-31T23:00:00Z\n"  # identical to v1 silver: channel is no key
)
# An older producer that does not send the column.
OLD_CSV = (
    b"TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n"
    b"P1,C3,5.00,GBP,2024-01-16T09:00:00Z\n"
    b"P2,C3,,GBP,2024-01-16T09:30:00Z\n"  # missing amount
)


@pytest.fixture(scope="module")
def v2_dict() -> dict:
    return json.loads(V2_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def lake(spark, contract, tmp_path_factory):
    """Bronze files of both producers, and silver published under contract v1 (no channel)."""
    lake = tmp_path_factory.mktemp("evolution")
    bronze = lake / "bronze" / "transactions" / f"ingest_date={DATE}"
    write(bronze / "new.csv", NEW_CSV)
    write(bronze / "old.csv", OLD_CSV)
    silver_df(
        spark,
        contract,
        [
            {
                "transaction_id": "OLD1",
                "customer_id": "C9",
                "amount": Decimal("1.00"),
                "transaction_ts": dt.datetime(2023, 12, 31, 23, 0, 0),
            }
        ],
    ).write.partitionBy("year", "month").parquet(str(lake / "silver" / "transactions"))
    for run_id in ("v1-run", "v2-run"):
        landing(lake, run_id, ["new.csv", "old.csv"])
    return lake


@pytest.fixture(scope="module")
def runs(lake, contract_dict, v2_dict) -> dict[str, dict]:
    return {
        "v1": job.main(args(lake, contract_dict, run_id="v1-run")),
        "v2": job.main(args(lake, v2_dict, run_id="v2-run")),
    }


def out_dir(lake: Path, version: str) -> Path:
    return lake / "staging" / "runs" / f"{version}-run"


def file_schema(directory: Path) -> list[tuple[str, pa.DataType]]:
    return [(f.name, f.type) for f in pq.read_schema(next(directory.rglob("*.parquet")))]


def test_v2_contract_loads_with_its_optional_column(spark, v2_dict, contract):
    v2 = load_contract(v2_dict)
    assert [c["name"] for c in v2.optional_columns] == ["Channel"]
    assert [f.name for f in silver_schema(v2).fields][-3:] == ["channel", "year", "month"]
    assert contract.optional_columns == []
    assert records_schema(contract).fieldNames() == [
        "source_file",
        "source_record",
        "malformed",
        *contract.fields,
    ]


def test_optional_column_never_changes_codes_or_destinations(runs):
    assert runs["v2"] == runs["v1"]
    assert runs["v2"]["read"] == 7
    assert runs["v2"]["reasons"] == {"DUPLICATE_ROW": 1, "INVALID_AMOUNT": 1, "MISSING_AMOUNT": 1}


def test_channel_flows_to_silver_and_is_null_for_files_without_it(lake, runs):
    out = out_dir(lake, "v2")
    assert read_counts(out) == runs["v2"]
    assert file_schema(out / "silver") == [*V1_SILVER, ("channel", pa.string())]
    silver = rows_of(pq.read_table(out / "silver", partitioning="hive"))
    assert [(r["transaction_id"], r["source_file"], r["channel"]) for r in silver] == [
        ("N1", "new.csv", "web"),
        ("N2", "new.csv", "app"),
        ("N3", "new.csv", None),
        ("P1", "old.csv", None),
    ]


def test_channel_flows_raw_to_quarantine_and_condemned(lake, runs):
    out = out_dir(lake, "v2")
    got = {}
    for dest in ("quarantine", "condemned"):
        assert file_schema(out / dest) == [*V1_REJECTED[dest], ("channel", pa.string())]
        got[dest] = [
            (r["transaction_id"], r["transaction_amount"], r["error_codes"], r["channel"])
            for r in rows_of(pq.read_table(out / dest, partitioning=None))
        ]
    assert got == {
        "quarantine": [
            ("N4", "abc", ["INVALID_AMOUNT"], "branch"),
            ("P2", "", ["MISSING_AMOUNT"], None),
        ],
        "condemned": [("OLD1", "1.00", ["DUPLICATE_ROW"], "phone")],
    }


def test_v1_run_output_is_unchanged(lake, runs):
    out = out_dir(lake, "v1")
    assert file_schema(out / "silver") == V1_SILVER
    assert file_schema(out / "quarantine") == V1_REJECTED["quarantine"]
    assert file_schema(out / "condemned") == V1_REJECTED["condemned"]


def test_v1_and_v2_silver_read_together_with_null_for_old_rows(spark, lake, runs, v2_dict):
    # One table prefix holding silver written under v1 (the published 2023-12 partition and
    # the v1 run's 2024-01 files) and under v2 (the v2 run's 2024-01 files, same partition).
    table = lake / "mixed" / "transactions"
    shutil.copytree(lake / "silver" / "transactions", table)
    for version in ("v1", "v2"):
        shutil.copytree(out_dir(lake, version) / "silver", table, dirs_exist_ok=True)
    # By name with the v2 table schema (what Athena and the job's read_published do) ...
    by_schema = spark.read.schema(silver_schema(load_contract(v2_dict))).parquet(str(table))
    # ... and with Spark's own schema merging.
    merged = spark.read.option("mergeSchema", "true").parquet(str(table))
    assert merged.columns == [*(n for n, _ in V1_SILVER), "channel", "year", "month"]
    for df in (by_schema, merged):
        got = sorted(
            (r["run_id"], r["transaction_id"], r["channel"], f"{r['year']}-{r['month']}")
            for r in df.collect()
        )
        assert got == [
            ("old-run", "OLD1", None, "2023-12"),
            ("v1-run", "N1", None, "2024-01"),
            ("v1-run", "N2", None, "2024-01"),
            ("v1-run", "N3", None, "2024-01"),
            ("v1-run", "P1", None, "2024-01"),
            ("v2-run", "N1", "web", "2024-01"),
            ("v2-run", "N2", "app", "2024-01"),
            ("v2-run", "N3", None, "2024-01"),
            ("v2-run", "P1", None, "2024-01"),
        ]


def test_records_without_optional_names_keep_v1_shape():
    rows = [["TransactionID", "Channel"], ["A", " x "], ["B"]]
    assert records_from_rows("f.csv", rows, ["TransactionID"]) == [
        ("f.csv", 1, False, "A"),
        ("f.csv", 2, True, "B"),
    ]
    assert records_from_rows("f.csv", rows, ["TransactionID"], ["Channel", "Branch"]) == [
        ("f.csv", 1, False, "A", "x", None),
        ("f.csv", 2, True, "B", None, None),
    ]


def test_optional_column_may_not_reuse_a_required_one(contract_dict):
    bad = {
        **contract_dict,
        "optionalSourceColumns": [
            {"name": "Currency", "field": "ccy", "silver": "ccy", "type": "string"}
        ],
    }
    with pytest.raises(ValueError, match="reuse a source column name"):
        load_contract(bad)
