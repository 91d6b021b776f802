"""Whole-job runs through main([...]) on a temporary local lake."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import txlake_job as job
from helpers import LAYOUT_ARGS, file_columns, quarantine_df, silver_df

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


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def args(lake: Path, contract_dict: dict, run_id: str = RUN_ID) -> list[str]:
    return [
        "--run_id",
        run_id,
        "--ingest_date",
        DATE,
        "--bronze_root",
        str(lake / "bronze"),
        "--silver_root",
        str(lake / "silver"),
        "--quarantine_root",
        str(lake / "quarantine"),
        "--staging_root",
        str(lake / "staging"),
        *[part for name, value in LAYOUT_ARGS.items() for part in (f"--{name}", value)],
        "--contract",
        json.dumps(contract_dict),
    ]


def landing(lake: Path, run_id: str, names: list[str]) -> None:
    doc = {
        "ingest_date": DATE,
        "run_id": run_id,
        "files": [
            {"name": n, "key": f"transactions/ingest_date={DATE}/{n}", "records": 0} for n in names
        ],
        "rejected": [{"name": "bad.txt", "reason": "UNSUPPORTED_FILE_TYPE"}],
    }
    write(lake / "staging" / "runs" / run_id / "landing.json", json.dumps(doc).encode())


def read_counts(out: Path) -> dict:
    parts = [p for p in (out / "counts").iterdir() if p.name.startswith("part-")]
    assert len(parts) == 1
    lines = parts[0].read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def rows_of(table) -> list[dict]:
    return sorted(table.to_pylist(), key=lambda r: (r["source_file"].encode(), r["source_record"]))


@pytest.fixture(scope="module")
def lake(spark, contract, tmp_path_factory):
    lake = tmp_path_factory.mktemp("lake")
    bronze = lake / "bronze" / "transactions" / f"ingest_date={DATE}"
    write(bronze / "a.csv", A_CSV)
    write(bronze / B_NAME, B_CSV)
    write(bronze / "bad.txt", b"not listed, never read")
    ts = dt.datetime(2023, 12, 31, 23, 0, 0)
    silver_df(
        spark,
        contract,
        [
            {
                "transaction_id": "OLD1",
                "customer_id": "C9",
                "amount": Decimal("1.00"),
                "transaction_ts": ts,
            },
            {
                "transaction_id": "OLD2",
                "customer_id": "C9",
                "amount": Decimal("9.00"),
                "transaction_ts": ts,
            },
        ],
    ).write.partitionBy("year", "month").parquet(str(lake / "silver" / "transactions"))
    quarantine_df(spark, contract, [("Q1", "2024-01-01"), ("Q1", "2024-01-02")]).write.partitionBy(
        "ingest_date"
    ).parquet(str(lake / "quarantine" / "transactions"))
    landing(lake, RUN_ID, ["a.csv", B_NAME])
    return lake


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
}


def test_job_outputs(spark, lake, contract_dict):
    counts = job.main(args(lake, contract_dict))
    out = lake / "staging" / "runs" / RUN_ID
    assert counts == EXPECTED_COUNTS
    assert read_counts(out) == EXPECTED_COUNTS
    assert not list(out.rglob("*.crc"))

    silver = pq.read_table(out / "silver", partitioning="hive")
    file_schema = pq.read_schema(next((out / "silver").rglob("*.parquet")))
    assert [(f.name, f.type) for f in file_schema] == file_columns("silver_transactions")
    assert sorted(
        p.relative_to(out / "silver").as_posix() for p in (out / "silver").glob("*/*")
    ) == [
        "year=2024/month=01",
        "year=2024/month=02",
    ]
    utc = dt.UTC
    got = [{k: v for k, v in r.items() if k not in ("year", "month")} for r in rows_of(silver)]
    assert got == [
        {
            "transaction_id": "A1",
            "customer_id": "C1",
            "amount": Decimal("10.50"),
            "currency": "EUR",
            "transaction_ts": dt.datetime(2024, 1, 16, 9, 0, 0, 123000, tzinfo=utc),
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
            "transaction_ts": dt.datetime(2024, 2, 1, tzinfo=utc),
            "ingest_date": dt.date(2024, 1, 16),
            "source_file": "a.csv",
            "source_record": 2,
            "run_id": RUN_ID,
        },
    ]

    for dest, expected in {
        "quarantine": [
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
        "condemned": [
            (
                "a.csv",
                4,
                ["A1", "C1", "10.50", "EUR", "2024-01-16T09:00:00.123Z"],
                ["DUPLICATE_ROW"],
            ),
            (B_NAME, 1, ["OLD1", "C9", "1.00", "EUR", "2023-12-31T23:00:00Z"], ["DUPLICATE_ROW"]),
            (
                B_NAME,
                3,
                ["Q1", "C9", "bad", "EUR", "2024-01-01T00:00:00Z"],
                ["MAX_ATTEMPTS_EXCEEDED"],
            ),
            (B_NAME, 4, ["A2", "C2", "-3.00", "usd", "2024-02-01T00:00:00Z"], ["DUPLICATE_ROW"]),
        ],
    }.items():
        schema = pq.read_schema(next((out / dest).rglob("*.parquet")))
        assert [(f.name, f.type) for f in schema] == file_columns(f"{dest}_transactions")
        assert [p.name for p in (out / dest).glob("ingest_date=*")] == [f"ingest_date={DATE}"]
        table = pq.read_table(out / dest, partitioning=None)
        got = [
            (
                r["source_file"],
                r["source_record"],
                [
                    r["transaction_id"],
                    r["customer_id"],
                    r["transaction_amount"],
                    r["currency"],
                    r["transaction_timestamp"],
                ],
                r["error_codes"],
            )
            for r in rows_of(table)
        ]
        assert got == expected, dest
        assert {r["run_id"] for r in table.to_pylist()} == {RUN_ID}


def test_job_rerun_overwrites_with_same_result(spark, lake, contract_dict):
    first = job.main(args(lake, contract_dict))
    out = lake / "staging" / "runs" / RUN_ID
    before = rows_of(pq.read_table(out / "silver", partitioning="hive"))
    assert job.main(args(lake, contract_dict)) == first
    assert rows_of(pq.read_table(out / "silver", partitioning="hive")) == before
    assert read_counts(out) == first


def test_job_with_no_files_writes_empty_counts(spark, contract_dict, tmp_path):
    landing(tmp_path, "empty-run", [])
    counts = job.main(args(tmp_path, contract_dict, run_id="empty-run"))
    expected = {
        "read": 0,
        "silver": 0,
        "quarantined": 0,
        "condemned": 0,
        "reasons": {},
        "read_by_file": {},
        "silver_months": [],
    }
    assert counts == expected
    out = tmp_path / "staging" / "runs" / "empty-run"
    assert read_counts(out) == expected
    assert not list((out / "silver").glob("year=*"))


def test_job_file_with_header_only_counts_zero(spark, contract_dict, tmp_path):
    write(
        tmp_path / "bronze" / "transactions" / f"ingest_date={DATE}" / "h.csv",
        f"{HEADER}\n\n".encode(),
    )
    landing(tmp_path, "hdr", ["h.csv"])
    counts = job.main(args(tmp_path, contract_dict, run_id="hdr"))
    assert counts["read"] == 0
    assert counts["read_by_file"] == {"h.csv": 0}


def test_job_fails_when_listed_file_is_missing(spark, contract_dict, tmp_path):
    (tmp_path / "bronze" / "transactions" / f"ingest_date={DATE}").mkdir(parents=True)
    landing(tmp_path, "gone", ["gone.csv"])
    with pytest.raises(FileNotFoundError):
        job.main(args(tmp_path, contract_dict, run_id="gone"))


def test_job_reads_files_hadoop_would_hide(spark, contract_dict, tmp_path):
    # Hadoop input formats skip names starting with '_' or '.'; the job must still read them.
    folder = tmp_path / "bronze" / "transactions" / f"ingest_date={DATE}"
    write(folder / "_under.csv", f"{HEADER}\nH-1,C,1.00,EUR,2024-01-16T10:00:00Z\n".encode())
    write(folder / ".dot.csv", f"{HEADER}\nH-2,C,2.00,EUR,2024-01-16T10:00:00Z\n".encode())
    write(folder / "plain.csv", f"{HEADER}\nH-3,C,3.00,EUR,2024-01-16T10:00:00Z\n".encode())
    landing(tmp_path, "hidden", ["_under.csv", ".dot.csv", "plain.csv"])
    counts = job.main(args(tmp_path, contract_dict, run_id="hidden"))
    assert counts["read_by_file"] == {"_under.csv": 1, ".dot.csv": 1, "plain.csv": 1}
    assert counts["silver"] == 3
