"""Mode maintain: compaction, snapshot expiry keeping the last N, orphan files, stale audit
branches, and condemned's row retention relative to the run date."""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import quarantine_df, silver_df
from lakes import (
    CONDEMNED,
    DATABASE,
    GOLD,
    QUARANTINE,
    SILVER,
    create_lake,
    ident,
    lake_session,
    outside_catalog,
    read_table,
    refs,
    run_job,
)
from txlake_glue.maintain import years_before

CONDEMNED_DATES = ["2016-12-31", "2017-01-15", "2017-01-16", "2024-01-16"]


@pytest.fixture(scope="module")
def story(spark, contract, contract_dict, tmp_path_factory) -> dict:
    lake = create_lake(tmp_path_factory.mktemp("maintain"), contract_dict)
    with lake_session(lake) as session:
        # Small commits of one file each, all in the month 2024-01: compacted into one (once
        # a partition has 5 files, rewrite_data_files' default).
        for i in range(6):
            row = {
                "transaction_id": f"S{i}",
                "amount": Decimal("1.00"),
                "transaction_ts": dt.datetime(2024, 1, 1 + i),
            }
            silver_df(session, contract, [row]).writeTo(ident(SILVER)).append()
        # A delete: the file it drops is then held only by the snapshots before it.
        session.sql(f"DELETE FROM {ident(SILVER)} WHERE transaction_id = 'S0'")
        condemned = quarantine_df(session, contract, [(f"X{d}", d) for d in CONDEMNED_DATES])
        condemned.writeTo(ident(CONDEMNED)).append()
        quarantine_df(session, contract, [("Q1", "2024-01-02")]).writeTo(ident(QUARANTINE)).append()
        # A failed run's branch holding a commit, and a run's branch that staged nothing.
        session.sql(f"ALTER TABLE {ident(QUARANTINE)} CREATE BRANCH `audit_stale`")
        quarantine_df(session, contract, [("Q2", "2024-01-03")]).writeTo(
            ident(QUARANTINE, "audit_stale")
        ).append()
        session.sql(f"ALTER TABLE {ident(QUARANTINE)} CREATE BRANCH `audit_empty`")
    data = lake / "silver" / "transactions" / "data"
    old_orphan, new_orphan = data / "orphan-old.parquet", data / "orphan-new.parquet"
    old_orphan.write_bytes(b"left by a failed writer")
    new_orphan.write_bytes(b"maybe a commit in progress")
    five_days_ago = time.time() - 5 * 86400
    os.utime(old_orphan, (five_days_ago, five_days_ago))
    time.sleep(0.01)

    s: dict = {"lake": lake, "old_orphan": old_orphan, "new_orphan": new_orphan}
    s["silver_rows"] = sorted(r["transaction_id"] for r in read_table(lake, SILVER).to_pylist())
    s["summary"] = run_job(
        lake,
        "maintain",
        "m-1",
        "2024-01-16",
        snapshot_retention_days="0",
        snapshots_to_keep="2",
        orphan_file_age_hours="24",
        maintain_result_key="runs/{run_id}/maintain.json",
    )
    return s


def test_condemned_rows_older_than_the_retention_are_deleted(story):
    assert story["summary"]["condemned_retention"] == {"before": "2017-01-16", "deleted_records": 2}
    left = sorted(
        r["ingest_date"].isoformat() for r in read_table(story["lake"], CONDEMNED).to_pylist()
    )
    assert left == ["2017-01-16", "2024-01-16"]


def test_compaction_keeps_the_rows_in_fewer_files(story):
    lake = story["lake"]
    silver = story["summary"]["tables"][SILVER]
    assert (silver["rewritten_data_files"], silver["added_data_files"]) == (5, 1)
    assert story["silver_rows"] == ["S1", "S2", "S3", "S4", "S5"]
    rows = read_table(lake, SILVER).to_pylist()
    assert sorted(r["transaction_id"] for r in rows) == story["silver_rows"]
    table = outside_catalog(lake).load_table(f"{DATABASE}.{SILVER}")
    assert len(list(table.scan().plan_files())) == 1


def test_expiry_keeps_the_last_snapshots(story):
    lake = story["lake"]
    silver = story["summary"]["tables"][SILVER]
    # 6 appends, the delete, the compaction: all but the last 2 expired, with the one file
    # only they held (S0's, which the delete dropped).
    assert silver["snapshots"] == 2
    assert silver["expired_data_files"] == 1
    assert len(outside_catalog(lake).load_table(f"{DATABASE}.{SILVER}").snapshots()) == 2


def test_only_old_orphan_files_are_removed(story):
    assert story["summary"]["tables"][SILVER]["orphan_files_removed"] == 1
    assert not story["old_orphan"].exists()
    assert story["new_orphan"].exists()


def test_stale_audit_branches_are_dropped(story):
    quarantine = story["summary"]["tables"][QUARANTINE]
    assert quarantine["audit_branches_dropped"] == ["audit_stale"]
    assert set(refs(story["lake"], QUARANTINE)) == {"main", "audit_empty"}


def test_tables_without_snapshots_are_maintained_too(story):
    assert story["summary"]["tables"][GOLD]["snapshots"] == 0


def test_summary_is_written_to_the_result_key(story):
    written = (story["lake"] / "staging" / "runs" / "m-1" / "maintain.json").read_text()
    assert json.loads(written) == story["summary"]


def test_years_before_a_leap_day_is_the_day_before_it():
    assert years_before(dt.date(2024, 2, 29), 7) == dt.date(2017, 2, 28)
    assert years_before(dt.date(2024, 2, 29), 4) == dt.date(2020, 2, 29)


@given(st.dates(min_value=dt.date(1900, 1, 1)), st.integers(min_value=0, max_value=50))
def test_years_before_moves_the_year_only(day, years):
    earlier = years_before(day, years)
    assert earlier.year == day.year - years
    assert earlier.month == day.month
    assert earlier.day == day.day or (day.month, day.day, earlier.day) == (2, 29, 28)
