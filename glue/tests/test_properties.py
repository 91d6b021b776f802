"""Property tests over generated files: conservation, unique silver ids, rerun stability."""

from __future__ import annotations

import csv
import datetime as dt
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import RUN_DATE, H, classify_rows
from txlake_glue.csv_parse import csv_records, records_from_rows

# Small pools so that duplicates, conflicts and attempts actually happen.
IDS = ["T1", "T2", "T3", "", " T1 ", "X" * 65]
CUSTOMERS = ["C1", "C2", ""]
AMOUNTS = ["1", "1.00", "-2.5", "+3", "abc", ""]
CURRENCIES = ["EUR", "eur", "USD", "XXX", ""]
TIMESTAMPS = [
    "2024-01-16T10:00:00Z",
    "2024-01-16 11:00:00+01:00",
    "2024-01-16T10:00:00.0009",
    "2024-02-01T00:00:00Z",
    "2024-02-30T00:00:00Z",
    "",
]
FILE_NAMES = ["a.csv", "B.csv", "é.csv", "z.csv"]
OTHER_DATES = ["2024-01-10", "2024-01-11", "2024-01-12"]

field_row = st.tuples(
    st.sampled_from(IDS),
    st.sampled_from(CUSTOMERS),
    st.sampled_from(AMOUNTS),
    st.sampled_from(CURRENCIES),
    st.sampled_from(TIMESTAMPS),
)
# Occasionally a record with the wrong number of fields.
record = st.one_of(
    field_row.map(list),
    field_row.map(list),
    field_row.map(lambda r: list(r[:3])),
    field_row.map(lambda r: [*r, "extra"]),
)
files_strategy = st.dictionaries(
    st.sampled_from(FILE_NAMES), st.lists(record, max_size=8), min_size=1, max_size=3
)
silver_strategy = st.lists(
    st.tuples(
        st.sampled_from(["T1", "T2", "T4"]),
        st.sampled_from(["1.00", "-2.50"]),
        st.sampled_from(["2024-01-16 10:00:00", "2024-02-01 00:00:00"]),
        st.sampled_from(OTHER_DATES),
    ),
    max_size=4,
)
quarantine_strategy = st.lists(
    st.tuples(st.sampled_from(["T1", "T2", "T3", "T4"]), st.sampled_from(OTHER_DATES)),
    max_size=6,
)


def to_bytes(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([H, *rows])
    return buf.getvalue().encode()


def silver_rows(items):
    return [
        {
            "transaction_id": tid,
            "amount": job_decimal(amount),
            "transaction_ts": dt.datetime.fromisoformat(when),
            "ingest_date": dt.date.fromisoformat(day),
        }
        for tid, amount, when, day in items
    ]


def job_decimal(text):
    from decimal import Decimal

    return Decimal(text)


def outcome(rows):
    return sorted(
        (
            r["source_file"],
            r["source_record"],
            r["destination"],
            tuple(r["error_codes"]),
        )
        for r in rows
    )


@settings(
    max_examples=8,
    database=None,  # keep no example database in the repository
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(files=files_strategy, silver=silver_strategy, quarantine=quarantine_strategy)
def test_generated_runs(spark, contract, files, silver, quarantine):
    names = [c["name"] for c in contract.source_columns]
    parsed = {n: csv_records(to_bytes(rows)) for n, rows in files.items()}
    assert {n: len(records_from_rows(n, r, names)) for n, r in parsed.items()} == {
        n: len(rows) for n, rows in files.items()
    }
    published = silver_rows(silver)
    out = classify_rows(spark, contract, parsed, silver=published, quarantine=quarantine)

    # read == silver + quarantined + condemned: every record exactly once.
    read = sum(len(rows) for rows in files.values())
    assert len(out) == read
    assert len({(r["source_file"], r["source_record"]) for r in out}) == read
    by_dest = {
        d: [r for r in out if r["destination"] == d] for d in ("silver", "quarantine", "condemned")
    }
    assert sum(len(v) for v in by_dest.values()) == read
    assert all(r["error_codes"] == [] for r in by_dest["silver"])
    assert all(r["error_codes"] for r in by_dest["quarantine"])
    assert all(len(r["error_codes"]) == 1 for r in by_dest["condemned"])

    # Silver ids are unique and never collide with published silver of other dates.
    silver_ids = [r["v_transaction_id"] for r in by_dest["silver"]]
    assert len(silver_ids) == len(set(silver_ids))
    assert not set(silver_ids) & {s[0] for s in silver}

    # Publish this run under its own date, run the same date again: same rows.
    published_again = published + [
        {
            "transaction_id": r["v_transaction_id"],
            "customer_id": r["v_customer_id"],
            "amount": r["v_amount"],
            "currency": r["v_currency"],
            "transaction_ts": r["v_transaction_ts"],
            "ingest_date": dt.date.fromisoformat(RUN_DATE),
        }
        for r in by_dest["silver"]
    ]
    quarantine_again = quarantine + [
        (r["transaction_id"], RUN_DATE) for r in by_dest["quarantine"] if r["transaction_id"]
    ]
    again = classify_rows(
        spark, contract, parsed, silver=published_again, quarantine=quarantine_again
    )
    assert outcome(again) == outcome(out)
