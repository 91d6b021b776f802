"""Whole transform runs through main([...]) on a temporary Iceberg lake: the run's rows on its
audit branch, every table's main untouched, and the counts document."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import txlake_job as job
from helpers import quarantine_df, silver_df
from lakes import (
    CONDEMNED,
    DATABASE,
    QUARANTINE,
    SILVER,
    create_lake,
    ident,
    job_args,
    lake_session,
    outside_catalog,
    read_table,
    refs,
    rows_of,
    run_job,
    write,
)

DATE = "2024-01-16"
RUN_ID = "run-1"
HEADER = "TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp"

# a.csv: BOM, CRLF, blank lines, quoted newline/comma, reordered header + extra column.
A_CSV = (
    "\ufeff Currency ,Note,TransactionTimestamp,CustomerID,TransactionAmount,TransactionID\r\n"
    "eur,x,2024-01-16T10:00:00.123456+01:00,C1, 10.5 ,A1\r\n"
    "\r\n"
    'USD,"multi\nline, note",2024-02-01 00:00:00,C2,-3,A2\r\n'
    "GBP,x,2024-02-30T00:00:00Z,C3,abc,A3\r\n"
    "EUR,x,2024-01-16T09:00:00.123Z,C1,10.50,A1\r\n"  # identical to record 1
    "EUR,only-two\r\n"  # malformed
).encode()
# "b c,[1].csv": glob/comma characters in the name; old-silver duplicates and attempts.
B_NAME = "b c,[1].csv"
B_CSV = (
    f"{HEADER}\n"
    "OLD1,C9,1.00,EUR,2023-12-31T23:00:00Z\n"  # identical to published silver
    "OLD2,C9,2.00,EUR,2023-12-31T23:00:00Z\n"  # conflicting id with published silver
    "Q1,C9,bad,EUR,2024-01-01T00:00:00Z\n"  # third attempt
    "A2,C2,-3.00,usd,2024-02-01T00:00:00Z\n"  # identical to a.csv record 2
).encode()

# The Iceberg types of the contract's column types (docs/decisions/0001-iceberg-lake.md).
ICEBERG_TYPES = {
    "string": "string",
    "bigint": "long",
    "date": "date",
    "timestamp": "timestamptz",
    "decimal(16,2)": "decimal(16, 2)",
    "decimal(38,2)": "decimal(38, 2)",
    "array<string>": "list<string>",
}


def contract_args(contract_dict: dict) -> dict[str, str]:
    return {"contract": json.dumps(contract_dict)}


def transform(lake: Path, contract_dict: dict, run_id: str = RUN_ID, date: str = DATE) -> dict:
    return run_job(lake, "transform", run_id, date, **contract_args(contract_dict))


def landing(lake: Path, run_id: str, names: list[str], date: str = DATE) -> None:
    doc = {
        "ingest_date": date,
        "run_id": run_id,
        "files": [
            {"name": n, "key": f"transactions/ingest_date={date}/{n}", "records": 0} for n in names
        ],
        "rejected": [{"name": "bad.txt", "reason": "UNSUPPORTED_FILE_TYPE"}],
    }
    write(lake / "staging" / "runs" / run_id / "landing.json", json.dumps(doc).encode())


def read_counts(lake: Path, run_id: str) -> dict:
    folder = lake / "staging" / "runs" / run_id / "counts"
    # what the quality gate reads: the prefix's objects but hidden ones (".…crc", "_SUCCESS")
    parts = [p for p in folder.iterdir() if not p.name.startswith(("_", "."))]
    assert len(parts) == 1
    lines = parts[0].read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def iceberg_columns(contract_dict: dict, table: str) -> list[tuple[str, str]]:
    return [
        (c["name"], ICEBERG_TYPES[c["type"]]) for c in contract_dict["tables"][table]["columns"]
    ]


def table_columns(lake: Path, table: str) -> list[tuple[str, str]]:
    loaded = outside_catalog(lake).load_table(f"{DATABASE}.{table}")
    return [(f.name, str(f.field_type)) for f in loaded.schema().fields]


def seed_published(lake: Path, contract) -> None:
    """Published silver (two rows of an earlier date) and quarantine (Q1 on two dates)."""
    ts = dt.datetime(2023, 12, 31, 23, 0, 0)
    old = [("OLD1", Decimal("1.00")), ("OLD2", Decimal("9.00"))]
    rows = [
        {"transaction_id": t, "customer_id": "C9", "amount": a, "transaction_ts": ts}
        for t, a in old
    ]
    with lake_session(lake) as spark:
        silver_df(spark, contract, rows).writeTo(ident(SILVER)).append()
        quarantine = [("Q1", "2024-01-01"), ("Q1", "2024-01-02")]
        quarantine_df(spark, contract, quarantine).writeTo(ident(QUARANTINE)).append()


@pytest.fixture(scope="module")
def lake(spark, contract, contract_dict, tmp_path_factory):
    lake = create_lake(tmp_path_factory.mktemp("lake"), contract_dict)
    bronze = lake / "bronze" / "transactions" / f"ingest_date={DATE}"
    write(bronze / "a.csv", A_CSV)
    write(bronze / B_NAME, B_CSV)
    write(bronze / "bad.txt", b"not listed, never read")
    seed_published(lake, contract)
    landing(lake, RUN_ID, ["a.csv", B_NAME])
    return lake


@pytest.fixture(scope="module")
def mains(lake) -> dict[str, list[dict]]:
    """Every table's main before any run of the module."""
    return {t: rows_of(read_table(lake, t)) for t in (SILVER, QUARANTINE, CONDEMNED)}


@pytest.fixture(scope="module")
def first_run(lake, mains, contract_dict) -> dict:
    return transform(lake, contract_dict)


EXPECTED_COUNTS = {
    "read": 9,
    "silver": 2,
    "quarantined": 3,
    "condemned": 4,
    "reasons": {
        "DUPLICATE_ROW": 3,
        "DUPLICATE_TRANSACTION_ID": 1,
        "INVALID_AMOUNT": 1,
        "INVALID_TIMESTAMP": 1,
        "MALFORMED_ROW": 1,
        "MAX_ATTEMPTS_EXCEEDED": 1,
    },
    "read_by_file": {"a.csv": 5, B_NAME: 4},
    "silver_months": ["2024-01", "2024-02"],
    # Published silver holds no row of the date yet; its latest month is December 2023.
    "replaced_silver_months": [],
    "latest_silver_month": "2023-12",
}
UTC = dt.UTC
EXPECTED_SILVER = [
    {
        "transaction_id": "A1",
        "customer_id": "C1",
        "amount": Decimal("10.50"),
        "currency": "EUR",
        "transaction_ts": dt.datetime(2024, 1, 16, 9, 0, 0, 123000, tzinfo=UTC),
        "ingest_date": dt.date(2024, 1, 16),
        "source_file": "a.csv",
        "source_record": 1,
        "run_id": RUN_ID,
    },
    {
        "transaction_id": "A2",
        "customer_id": "C2",
        "amount": Decimal("-3.00"),
        "currency": "USD",
        "transaction_ts": dt.datetime(2024, 2, 1, tzinfo=UTC),
        "ingest_date": dt.date(2024, 1, 16),
        "source_file": "a.csv",
        "source_record": 2,
        "run_id": RUN_ID,
    },
]
EXPECTED_REJECTED = {
    QUARANTINE: [
        (
            "a.csv",
            3,
            ["A3", "C3", "abc", "GBP", "2024-02-30T00:00:00Z"],
            ["INVALID_AMOUNT", "INVALID_TIMESTAMP"],
        ),
        ("a.csv", 5, [None, None, None, "EUR", None], ["MALFORMED_ROW"]),
        (
            B_NAME,
            2,
            ["OLD2", "C9", "2.00", "EUR", "2023-12-31T23:00:00Z"],
            ["DUPLICATE_TRANSACTION_ID"],
        ),
    ],
    CONDEMNED: [
        ("a.csv", 4, ["A1", "C1", "10.50", "EUR", "2024-01-16T09:00:00.123Z"], ["DUPLICATE_ROW"]),
        (B_NAME, 1, ["OLD1", "C9", "1.00", "EUR", "2023-12-31T23:00:00Z"], ["DUPLICATE_ROW"]),
        (B_NAME, 3, ["Q1", "C9", "bad", "EUR", "2024-01-01T00:00:00Z"], ["MAX_ATTEMPTS_EXCEEDED"]),
        (B_NAME, 4, ["A2", "C2", "-3.00", "usd", "2024-02-01T00:00:00Z"], ["DUPLICATE_ROW"]),
    ],
}
RAW = ("transaction_id", "customer_id", "transaction_amount", "currency", "transaction_timestamp")


def rejected(rows: list[dict]) -> list[tuple]:
    return [
        (r["source_file"], r["source_record"], [r[c] for c in RAW], r["error_codes"])
        for r in rows_of(rows)
    ]


def test_counts_document(lake, first_run):
    assert {k: v for k, v in first_run.items() if k != "staged"} == EXPECTED_COUNTS
    assert read_counts(lake, RUN_ID) == first_run


def test_staged_names_each_branch_and_what_it_adds(lake, first_run, mains):
    heads = {t: refs(lake, t) for t in (SILVER, QUARANTINE, CONDEMNED)}
    expected = {"silver": (SILVER, 2), "quarantine": (QUARANTINE, 3), "condemned": (CONDEMNED, 4)}
    assert set(first_run["staged"]) == set(expected)
    for key, (table, added) in expected.items():
        assert first_run["staged"][key] == {
            "branch": f"audit_{RUN_ID}",
            "base_snapshot_id": str(heads[table]["main"]),
            "snapshot_id": str(heads[table][f"audit_{RUN_ID}"]),
            "added_records": added,
            "deleted_records": 0,
        }


def test_branch_holds_the_run_rows(lake, first_run):
    branch = f"audit_{RUN_ID}"
    silver = rows_of(read_table(lake, SILVER, branch))
    assert [r for r in silver if r["run_id"] == RUN_ID] == EXPECTED_SILVER
    assert sorted(r["transaction_id"] for r in silver if r["run_id"] != RUN_ID) == ["OLD1", "OLD2"]
    for table, expected in EXPECTED_REJECTED.items():
        rows = [r for r in read_table(lake, table, branch).to_pylist() if r["run_id"] == RUN_ID]
        assert rejected(rows) == expected, table
        assert {r["ingest_date"] for r in rows} == {dt.date(2024, 1, 16)}


def test_main_is_unchanged_while_the_branch_holds_the_rows(lake, first_run, mains, spark):
    # pyiceberg, an outside reader of the catalog ...
    for table, before in mains.items():
        assert rows_of(read_table(lake, table)) == before, table
    assert [r["transaction_id"] for r in mains[SILVER]] == ["OLD1", "OLD2"]
    assert mains[CONDEMNED] == []
    # ... and Spark reading the tables through the catalog.
    with lake_session(lake) as session:
        for table, before in mains.items():
            assert session.table(ident(table)).count() == len(before), table


def test_tables_keep_the_contract_schema(lake, first_run, contract_dict):
    for table in (SILVER, QUARANTINE, CONDEMNED):
        assert table_columns(lake, table) == iceberg_columns(contract_dict, table)
    # Iceberg writes every column into the data files, partition sources included.
    files = list((lake / "silver" / "transactions" / "data").rglob("*.parquet"))
    assert files
    assert pq.read_schema(files[0]).names == [c for c, _ in iceberg_columns(contract_dict, SILVER)]
    assert not list(lake.rglob("*.crc"))


def test_rerun_of_the_same_run_starts_from_a_fresh_branch(lake, first_run, contract_dict):
    again = transform(lake, contract_dict)
    assert {k: v for k, v in again.items() if k != "staged"} == {
        k: v for k, v in first_run.items() if k != "staged"
    }
    for key, staged in again["staged"].items():
        before = first_run["staged"][key]
        assert staged["base_snapshot_id"] == before["base_snapshot_id"]
        assert staged["added_records"] == before["added_records"]
        assert staged["deleted_records"] == 0
    # One commit on the branch (the append): nothing of the first attempt is left on it.
    loaded = outside_catalog(lake).load_table(f"{DATABASE}.{SILVER}")
    head = loaded.snapshot_by_id(int(again["staged"]["silver"]["snapshot_id"]))
    assert str(head.parent_snapshot_id) == again["staged"]["silver"]["base_snapshot_id"]
    silver = rows_of(read_table(lake, SILVER, f"audit_{RUN_ID}"))
    assert [r for r in silver if r["run_id"] == RUN_ID] == EXPECTED_SILVER
    assert read_counts(lake, RUN_ID) == again


def test_job_with_no_files_writes_empty_counts(lake, contract_dict):
    landing(lake, "empty-run", [], date="2024-01-20")
    counts = transform(lake, contract_dict, run_id="empty-run", date="2024-01-20")
    staged = counts.pop("staged")
    assert counts == {
        "read": 0,
        "silver": 0,
        "quarantined": 0,
        "condemned": 0,
        "reasons": {},
        "read_by_file": {},
        "silver_months": [],
        "replaced_silver_months": [],
        "latest_silver_month": "2023-12",
    }
    # The branches exist and hold nothing new: their head is their base.
    for entry in staged.values():
        assert entry["snapshot_id"] == entry["base_snapshot_id"]
        assert (entry["added_records"], entry["deleted_records"]) == (0, 0)


def test_job_file_with_header_only_counts_zero(lake, contract_dict):
    date = "2024-01-21"
    write(
        lake / "bronze" / "transactions" / f"ingest_date={date}" / "h.csv",
        f"{HEADER}\n\n".encode(),
    )
    landing(lake, "hdr", ["h.csv"], date=date)
    counts = transform(lake, contract_dict, run_id="hdr", date=date)
    assert counts["read"] == 0
    assert counts["read_by_file"] == {"h.csv": 0}


def test_job_fails_when_listed_file_is_missing(lake, contract_dict):
    date = "2024-01-22"
    (lake / "bronze" / "transactions" / f"ingest_date={date}").mkdir(parents=True)
    landing(lake, "gone", ["gone.csv"], date=date)
    with pytest.raises(FileNotFoundError):
        transform(lake, contract_dict, run_id="gone", date=date)
    # The failed run's branches are dropped again.
    for table in (SILVER, QUARANTINE, CONDEMNED):
        assert "audit_gone" not in refs(lake, table)


def test_job_reads_files_hadoop_would_hide(lake, contract_dict):
    # Hadoop input formats skip names starting with '_' or '.'; the job must still read them.
    date = "2024-01-23"
    folder = lake / "bronze" / "transactions" / f"ingest_date={date}"
    write(folder / "_under.csv", f"{HEADER}\nH-1,C,1.00,EUR,2024-01-16T10:00:00Z\n".encode())
    write(folder / ".dot.csv", f"{HEADER}\nH-2,C,2.00,EUR,2024-01-16T10:00:00Z\n".encode())
    write(folder / "plain.csv", f"{HEADER}\nH-3,C,3.00,EUR,2024-01-16T10:00:00Z\n".encode())
    landing(lake, "hidden", ["_under.csv", ".dot.csv", "plain.csv"], date=date)
    counts = transform(lake, contract_dict, run_id="hidden", date=date)
    assert counts["read_by_file"] == {"_under.csv": 1, ".dot.csv": 1, "plain.csv": 1}
    assert counts["silver"] == 3
    assert counts["staged"]["silver"]["added_records"] == 3


def test_a_run_without_the_catalog_is_refused(lake):
    # (outside on_lake: no TXLAKE_SPARK_CONF, so no catalog named txlake)
    with pytest.raises(ValueError, match="catalog 'txlake' is not configured"):
        job.main(job_args(lake, "restore", "no-catalog", DATE))


def test_unknown_mode_and_missing_arguments_are_refused(lake):
    with pytest.raises(SystemExit):
        run_job(lake, "explode", "x", DATE)
    with pytest.raises(SystemExit):
        # transform without its deployment arguments (--contract)
        run_job(lake, "transform", "x", DATE)


def test_write_tasks_one_per_share_of_rows():
    from txlake_glue.transform import ROWS_PER_WRITE_TASK, write_tasks

    assert [write_tasks(n) for n in (0, 1, ROWS_PER_WRITE_TASK)] == [1, 1, 1]
    assert write_tasks(ROWS_PER_WRITE_TASK + 1) == 2
    assert write_tasks(5_000_000) == -(-5_000_000 // ROWS_PER_WRITE_TASK)


def test_a_small_day_adds_one_file_per_partition(tmp_path, contract, contract_dict):
    # 300 rows over two months: shuffled over all of the job's tasks (4 locally), written by one.
    lake = create_lake(tmp_path / "lake", contract_dict)
    date, run_id = "2024-02-10", "small-day"
    lines = [HEADER]
    for i in range(300):
        lines.append(f"S{i},C{i % 7},{i}.25,EUR,2024-0{1 + i % 2}-0{1 + i % 9}T10:00:00Z")
    lines += ["X1,C1,abc,EUR,2024-02-01T00:00:00Z", "X2,C1,1.234,EUR,2024-02-01T00:00:00Z"]
    write(
        lake / "bronze" / "transactions" / f"ingest_date={date}" / "day.csv",
        ("\n".join(lines) + "\n").encode(),
    )
    landing(lake, run_id, ["day.csv"], date=date)
    counts = transform(lake, contract_dict, run_id=run_id, date=date)
    assert (counts["silver"], counts["quarantined"], counts["silver_months"]) == (
        300,
        2,
        ["2024-01", "2024-02"],
    )
    catalog = outside_catalog(lake)
    added = {}
    for key, table in (("silver", SILVER), ("quarantine", QUARANTINE)):
        loaded = catalog.load_table(f"{DATABASE}.{table}")
        head = loaded.snapshot_by_id(int(counts["staged"][key]["snapshot_id"]))
        added[key] = int(head.summary["added-data-files"])
    # silver is partitioned by month (two), quarantine by ingest date (one)
    assert added == {"silver": 2, "quarantine": 1}
