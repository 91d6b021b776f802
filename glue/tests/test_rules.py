"""Row rules, codes, parsing and duplicate/attempt rules, run through the real transforms."""

from __future__ import annotations

import csv
import datetime as dt
import json

import pytest

from conftest import VECTORS_PATH
from helpers import RUN_DATE, H, classify_rows, dec, ts
from txlake_glue.contract import load_contract
from txlake_glue.csv_parse import csv_records, parse_file, records_from_rows
from txlake_glue.rules import java_full_match

VECTORS = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))


def row(tid, cid="C1", amt="10.00", cur="EUR", when="2024-01-16T10:00:00Z"):
    return [tid, cid, amt, cur, when]


# --------------------------------------------------------------------------- CSV parsing


def test_csv_records_bom_crlf_quotes_and_blank_lines():
    data = ('\ufeffTransactionID,CustomerID\r\n\r\n"a,1","multi\nline ""q"""\r\n\nb,2\n').encode()
    assert csv_records(data) == [
        ["TransactionID", "CustomerID"],
        ["a,1", 'multi\nline "q"'],
        ["b", "2"],
    ]


def test_csv_records_rejects_what_landing_would_reject():
    with pytest.raises(csv.Error):
        csv_records(b'a,b\n"unterminated,1\n')


def test_records_from_rows_maps_header_trims_and_numbers():
    rows = [
        [
            " Currency",
            "X",
            "TransactionTimestamp ",
            "CustomerID",
            "TransactionAmount",
            "TransactionID",
        ],
        ["eur ", "x", "\t2024-01-16T10:00:00Z", "  C1", "1", " T\u00a01 "],
        ["EUR", "x"],
        ["a", "b", "c", "d", "e", "f", "g"],
    ]
    names = H
    out = records_from_rows("f.csv", rows, names)
    assert out == [
        ("f.csv", 1, False, "T\u00a01", "C1", "1", "eur", "2024-01-16T10:00:00Z"),
        ("f.csv", 2, True, None, None, None, "EUR", None),
        ("f.csv", 3, True, "f", "d", "e", "a", "c"),
    ]


def test_parse_file_skips_empty_lines_when_numbering():
    data = (",".join(H) + "\n\nA,C,1,EUR,x\n\n\nB,C,1,EUR,x\n").encode()
    out = parse_file("a.csv", data, H)
    assert [(r[1], r[3]) for r in out] == [(1, "A"), (2, "B")]


def test_java_full_match_anchors_end_of_input():
    assert java_full_match("^a$") == "^a\\z"
    assert java_full_match("^a\\$") == "^a\\$"


# --------------------------------------------------------------------------- shared vectors


def test_row_vectors_cover_every_row_code(contract):
    seen = {c for v in VECTORS for c in v["codes"]}
    assert seen == set(contract.raw["codes"]["row"])
    assert len({v["name"] for v in VECTORS}) == len(VECTORS)
    silver_ids = [
        v["row"][[h.strip() for h in v["header"]].index("TransactionID")].strip(" \t")
        for v in VECTORS
        if v["destination"] == "silver"
    ]
    # No duplicate context between vectors, so they can share one run.
    assert len(silver_ids) == len(set(silver_ids))


@pytest.fixture(scope="module")
def vector_results(spark, contract):
    files = {f"{i:03d}-{v['name']}": [v["header"], v["row"]] for i, v in enumerate(VECTORS)}
    out = classify_rows(spark, contract, files)
    return {r["source_file"].split("-", 1)[1]: r for r in out}


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_row_vector(vector, vector_results):
    got = vector_results[vector["name"]]
    assert got["error_codes"] == vector["codes"]
    assert got["destination"] == vector["destination"]


def test_row_vectors_through_csv_bytes(spark, contract):
    """The same vectors, written as CSV text and parsed by the job's own parser."""
    import csv
    import io

    files = {}
    for i, v in enumerate(VECTORS):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows([v["header"], v["row"]])
        files[f"{i:03d}-{v['name']}"] = csv_records(buf.getvalue().encode())
    out = classify_rows(spark, contract, files)
    got = {r["source_file"].split("-", 1)[1]: (r["error_codes"], r["destination"]) for r in out}
    assert got == {v["name"]: (v["codes"], v["destination"]) for v in VECTORS}


# --------------------------------------------------------------------------- typed values


TYPED_CASES = [
    # (amount, currency, timestamp) -> (decimal, currency, UTC instant)
    (("12.34", "eur", "2024-01-16T10:00:00Z"), ("12.34", "EUR", "2024-01-16 10:00:00")),
    (("+7", "Usd", "2024-01-16 10:00:00"), ("7.00", "USD", "2024-01-16 10:00:00")),
    (
        ("-0.5", "GBP", "2024-01-16T01:30:00+02:00"),
        ("-0.50", "GBP", "2024-01-15 23:30:00"),
    ),
    (
        ("-0", "CHF", "2024-12-31T22:30:00-03:30"),
        ("0.00", "CHF", "2025-01-01 02:00:00"),
    ),
    (
        ("1.5", "EUR", "2024-01-16T10:00:00.123999Z"),
        ("1.50", "EUR", "2024-01-16 10:00:00.123"),
    ),
    (("1", "EUR", "2024-01-16T10:00:00.9"), ("1.00", "EUR", "2024-01-16 10:00:00.900")),
    (("1", "EUR", "2024-03-01T00:30:00+23:59"), ("1.00", "EUR", "2024-02-29 00:31:00")),
    (("1", "EUR", "1500-06-01T12:00:00Z"), ("1.00", "EUR", "1500-06-01 12:00:00")),
    (
        ("99999999999999.99", "EUR", "9999-12-31T23:59:59.999Z"),
        ("99999999999999.99", "EUR", "9999-12-31 23:59:59.999"),
    ),
]


def test_typed_values(spark, contract):
    files = {
        f"f{i}.csv": [H, row(f"T{i}", amt=a, cur=c, when=w)]
        for i, ((a, c, w), _) in enumerate(TYPED_CASES)
    }
    out = classify_rows(spark, contract, files)
    got = [(r["v_amount"], r["v_currency"], r["v_transaction_ts"]) for r in out]
    want = [(dec(a), c, ts(w)) for _, (a, c, w) in TYPED_CASES]
    assert got == want
    assert all(r["destination"] == "silver" for r in out)


def test_utc_range_limits(spark, contract):
    files = {
        "a.csv": [
            H,
            row("LOW-OK", when="0001-01-01T00:00:00Z"),
            row("LOW-BAD", when="0001-01-01T00:00:00+00:01"),
            row("HIGH-BAD", when="9999-12-31T23:59:59-00:01"),
        ]
    }
    # Python datetimes cannot hold year 0, so only the codes are collected here.
    out = classify_rows(spark, contract, files, columns=["error_codes"])
    assert [r["error_codes"] for r in out] == [
        [],
        ["INVALID_TIMESTAMP"],
        ["INVALID_TIMESTAMP"],
    ]


def test_currency_allow_list_comes_from_contract(spark, contract_dict):
    custom = load_contract({**contract_dict, "currencies": ["BTC"]})
    out = classify_rows(spark, custom, {"a.csv": [H, row("A", cur="btc"), row("B", cur="EUR")]})
    assert [(r["destination"], r["error_codes"], r["v_currency"]) for r in out] == [
        ("silver", [], "BTC"),
        ("quarantine", ["INVALID_CURRENCY"], None),
    ]


def test_identifier_max_length_comes_from_contract(spark, contract_dict):
    custom = load_contract({**contract_dict, "identifierMaxLength": 3})
    out = classify_rows(spark, custom, {"a.csv": [H, row("ABC", cid="CDEF")]})
    assert out[0]["error_codes"] == ["INVALID_CUSTOMER_ID"]


# --------------------------------------------------------------------------- duplicates


def test_duplicates_within_run(spark, contract):
    files = {
        # "b.csv" sorts after "a.csv" but "B.csv" before both: byte order, not locale.
        "b.csv": [H, row("T1"), row("T2", amt="1.00")],
        "a.csv": [
            H,
            row("T1", amt="10"),  # identical to b.csv#1 as decimals -> a.csv wins
            row("T2", amt="2.00"),
            row("T1", amt="+10.0", when="2024-01-16 10:00:00.000999"),  # identical to a#1
            row("T3", amt="bad"),  # invalid rows never count as earlier rows
            row("T3", amt="3"),
        ],
        "B.csv": [H, row("T4")],
    }
    out = classify_rows(spark, contract, files)
    got = [(r["source_file"], r["source_record"], r["destination"], r["error_codes"]) for r in out]
    assert got == [
        ("B.csv", 1, "silver", []),
        ("a.csv", 1, "silver", []),
        ("a.csv", 2, "silver", []),
        ("a.csv", 3, "condemned", ["DUPLICATE_ROW"]),
        ("a.csv", 4, "quarantine", ["INVALID_AMOUNT"]),
        ("a.csv", 5, "silver", []),
        ("b.csv", 1, "condemned", ["DUPLICATE_ROW"]),
        ("b.csv", 2, "quarantine", ["DUPLICATE_TRANSACTION_ID"]),
    ]


def test_duplicate_row_wins_over_duplicate_id(spark, contract):
    # Row 3 differs from row 1 (same id) but is identical to row 2, which itself is a
    # DUPLICATE_TRANSACTION_ID row: it still passed the row rules, so it counts.
    files = {"a.csv": [H, row("T1"), row("T1", amt="5"), row("T1", amt="5.00")]}
    out = classify_rows(spark, contract, files)
    assert [(r["destination"], r["error_codes"]) for r in out] == [
        ("silver", []),
        ("quarantine", ["DUPLICATE_TRANSACTION_ID"]),
        ("condemned", ["DUPLICATE_ROW"]),
    ]


def test_duplicates_against_published_silver(spark, contract):
    silver = [
        {
            "transaction_id": "S1",
            "amount": dec("10.00"),
            "transaction_ts": ts("2024-01-16 10:00:00"),
        },
        {
            "transaction_id": "S2",
            "amount": dec("10.00"),
            "transaction_ts": ts("2024-01-16 10:00:00"),
        },
        # Same run date: replaced by this run, so it must be ignored.
        {
            "transaction_id": "S3",
            "amount": dec("10.00"),
            "transaction_ts": ts("2024-01-16 10:00:00"),
            "ingest_date": dt.date.fromisoformat(RUN_DATE),
        },
    ]
    files = {
        "a.csv": [
            H,
            row("S1", cur="eur", when="2024-01-16T11:00:00.000+01:00"),  # identical
            row("S2", amt="10.01"),  # same id, other values
            row("S3"),
            row("S4"),
        ]
    }
    out = classify_rows(spark, contract, files, silver=silver)
    assert [(r["v_transaction_id"], r["destination"], r["error_codes"]) for r in out] == [
        ("S1", "condemned", ["DUPLICATE_ROW"]),
        ("S2", "quarantine", ["DUPLICATE_TRANSACTION_ID"]),
        ("S3", "silver", []),
        ("S4", "silver", []),
    ]


def test_max_attempts_exceeded(spark, contract):
    quarantine = [
        ("Q2", "2024-01-10"),
        ("Q2", "2024-01-11"),
        ("Q1", "2024-01-10"),
        ("Q1", "2024-01-10"),  # same date twice: one attempt
        ("Q1", RUN_DATE),  # this run's own date does not count
        ("Q3", "2024-01-10"),
        ("Q3", "2024-01-12"),
        ("D1", "2024-01-10"),
        ("D1", "2024-01-12"),
        ("", "2024-01-10"),
        ("", "2024-01-12"),
    ]
    silver = [
        {
            "transaction_id": "D1",
            "amount": dec("1.00"),
            "transaction_ts": ts("2024-01-01 00:00:00"),
        }
    ]
    files = {
        "a.csv": [
            H,
            row("Q2", amt="bad"),  # third attempt -> condemned
            row("Q1", amt="bad"),  # second attempt -> quarantine
            row("Q3"),  # valid -> silver, attempts do not matter
            ["Q3", "C1"],  # malformed is never condemned for attempts
            row("D1", amt="2"),  # would be DUPLICATE_TRANSACTION_ID -> condemned
            row("", amt="bad"),  # no id: no attempts
        ]
    }
    out = classify_rows(spark, contract, files, silver=silver, quarantine=quarantine)
    assert [(r["source_record"], r["destination"], r["error_codes"]) for r in out] == [
        (1, "condemned", ["MAX_ATTEMPTS_EXCEEDED"]),
        (2, "quarantine", ["INVALID_AMOUNT"]),
        (3, "silver", []),
        (4, "quarantine", ["MALFORMED_ROW"]),
        (5, "condemned", ["MAX_ATTEMPTS_EXCEEDED"]),
        (6, "quarantine", ["MISSING_TRANSACTION_ID", "INVALID_AMOUNT"]),
    ]


def test_max_attempts_threshold_comes_from_contract(spark, contract_dict):
    custom = load_contract({**contract_dict, "maxAttemptsOtherIngestDates": 1})
    out = classify_rows(
        spark,
        custom,
        {"a.csv": [H, row("Q1", amt="x")]},
        quarantine=[("Q1", "2024-01-01")],
    )
    assert out[0]["error_codes"] == ["MAX_ATTEMPTS_EXCEEDED"]
