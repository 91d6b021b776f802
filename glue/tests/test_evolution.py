"""Schema evolution: an optional source column added by contract v2 flows through the real job
once the tables have it (the local catalog adds it at their end, as the deployment does).

The v2 contract is the fixture the jest protocol test checks against v1
(test/fixtures/contract/transactions.v2.json): v1 plus the optional input column
``Channel`` -> silver ``channel`` and quarantine/condemned ``channel`` (strings).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from test_job import DATE, landing, table_columns, transform

from conftest import REPO_DIR
from helpers import silver_df
from lakes import (
    CATALOG,
    CONDEMNED,
    DATABASE,
    QUARANTINE,
    SILVER,
    create_lake,
    ident,
    lake_session,
    read_table,
    rows_of,
    table_definitions,
    write,
)
from local_catalog import ensure_tables
from txlake_glue.contract import load_contract, records_schema, silver_schema
from txlake_glue.csv_parse import records_from_rows

V2_PATH = REPO_DIR / "test" / "fixtures" / "contract" / "transactions.v2.json"

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


def counts_only(counts: dict) -> dict:
    return {k: v for k, v in counts.items() if k != "staged"}


@pytest.fixture(scope="module")
def story(spark, contract, contract_dict, v2_dict, tmp_path_factory) -> dict:
    """v1 tables with silver published under v1; a v1 run; the tables evolved; v2 and v1 runs."""
    lake = create_lake(tmp_path_factory.mktemp("evolution"), contract_dict)
    bronze = lake / "bronze" / "transactions" / f"ingest_date={DATE}"
    write(bronze / "new.csv", NEW_CSV)
    write(bronze / "old.csv", OLD_CSV)
    old = {
        "transaction_id": "OLD1",
        "customer_id": "C9",
        "amount": Decimal("1.00"),
        "transaction_ts": dt.datetime(2023, 12, 31, 23, 0, 0),
        "source_record": 99,
    }
    with lake_session(lake) as session:
        silver_df(session, contract, [old]).writeTo(ident(SILVER)).append()
    for run_id in ("v1-run", "v2-early", "v2-run", "v1-after"):
        landing(lake, run_id, ["new.csv", "old.csv"])
    s: dict = {"lake": lake, "v1": transform(lake, contract_dict, "v1-run")}
    with pytest.raises(ValueError) as early:
        transform(lake, v2_dict, "v2-early")
    s["early_error"] = str(early.value)
    with lake_session(lake) as session:
        s["evolved"] = ensure_tables(session, CATALOG, DATABASE, table_definitions(v2_dict, lake))
    s["v2"] = transform(lake, v2_dict, "v2-run")
    s["v1_after"] = transform(lake, contract_dict, "v1-after")
    return s


def test_v2_contract_loads_with_its_optional_column(spark, v2_dict, contract):
    v2 = load_contract(v2_dict)
    assert [c["name"] for c in v2.optional_columns] == ["Channel"]
    assert [f.name for f in silver_schema(v2).fields][-2:] == ["run_id", "channel"]
    assert contract.optional_columns == []
    assert records_schema(contract).fieldNames() == [
        "source_file",
        "source_record",
        "malformed",
        *contract.fields,
    ]


def test_a_v2_run_on_tables_without_the_column_is_refused(story):
    assert "lacks the columns ['channel']" in story["early_error"]


def test_the_catalog_adds_the_column_at_each_table_end(story, v2_dict):
    assert story["evolved"] == {
        SILVER: "added channel",
        QUARANTINE: "added channel",
        CONDEMNED: "added channel",
        "gold_monthly_balances": "unchanged",
    }
    for table in (SILVER, QUARANTINE, CONDEMNED):
        names = [name for name, _ in table_columns(story["lake"], table)]
        assert names == [c["name"] for c in v2_dict["tables"][table]["columns"]]
        assert names[-1] == "channel"


def test_optional_column_never_changes_codes_or_destinations(story):
    assert counts_only(story["v2"]) == counts_only(story["v1"])
    assert counts_only(story["v1_after"]) == counts_only(story["v1"])
    assert story["v2"]["read"] == 7
    assert story["v2"]["reasons"] == {"DUPLICATE_ROW": 1, "INVALID_AMOUNT": 1, "MISSING_AMOUNT": 1}


def test_channel_flows_to_silver_and_is_null_for_files_without_it(story):
    silver = rows_of(read_table(story["lake"], SILVER, "audit_v2-run"))
    assert [(r["transaction_id"], r["source_file"], r["channel"]) for r in silver] == [
        ("N1", "new.csv", "web"),
        ("N2", "new.csv", "app"),
        ("N3", "new.csv", None),
        ("P1", "old.csv", None),
        ("OLD1", "old.csv", None),  # published under v1 (old.csv, record 99): NULL
    ]


def test_channel_flows_raw_to_quarantine_and_condemned(story):
    got = {
        table: [
            (r["transaction_id"], r["transaction_amount"], r["error_codes"], r["channel"])
            for r in rows_of(read_table(story["lake"], table, "audit_v2-run"))
        ]
        for table in (QUARANTINE, CONDEMNED)
    }
    assert got == {
        QUARANTINE: [
            ("N4", "abc", ["INVALID_AMOUNT"], "branch"),
            ("P2", "", ["MISSING_AMOUNT"], None),
        ],
        CONDEMNED: [("OLD1", "1.00", ["DUPLICATE_ROW"], "phone")],
    }


def test_a_v1_run_on_evolved_tables_writes_null_for_the_new_column(story):
    for table in (SILVER, QUARANTINE, CONDEMNED):
        rows = read_table(story["lake"], table, "audit_v1-after").to_pylist()
        assert rows, table
        assert {r["channel"] for r in rows} == {None}, table


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
