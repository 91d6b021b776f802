"""Write-audit-publish on one lake, step by step: transform, publish (and its retry), a rerun of
the date, restore (and its retry), and a publish refused because main moved."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from test_job import HEADER, landing, transform

from helpers import silver_df
from lakes import (
    CONDEMNED,
    DATABASE,
    QUARANTINE,
    SILVER,
    create_lake,
    ident,
    lake_session,
    outside_catalog,
    read_table,
    refs,
    rows_of,
    run_job,
    write,
)

DATE = "2024-03-05"
AUDITED = (SILVER, QUARANTINE, CONDEMNED)
STAGED_KEYS = {SILVER: "silver", QUARANTINE: "quarantine", CONDEMNED: "condemned"}
FIRST_CSV = (
    f"{HEADER}\n"
    "P1,C1,1.00,EUR,2024-03-01T08:00:00Z\n"
    "P2,C1,2.00,EUR,2024-02-15T08:00:00Z\n"
    "P3,C2,abc,EUR,2024-03-01T09:00:00Z\n"  # quarantined
    "P1,C1,1.00,EUR,2024-03-01T08:00:00Z\n"  # condemned (duplicate row)
).encode()
SECOND_CSV = (
    f"{HEADER}\n"
    "P1,C1,1.00,EUR,2024-03-01T08:00:00Z\n"
    "P4,C3,4.00,EUR,2024-03-10T08:00:00Z\n"
    "P5,C3,,EUR,2024-03-10T08:00:00Z\n"  # quarantined
).encode()


def mains(lake: Path) -> dict[str, list[dict]]:
    return {t: rows_of(read_table(lake, t)) for t in AUDITED}


def all_refs(lake: Path) -> dict[str, dict[str, int]]:
    return {t: refs(lake, t) for t in AUDITED}


def history_length(lake: Path) -> dict[str, int]:
    catalog = outside_catalog(lake)
    return {t: len(catalog.load_table(f"{DATABASE}.{t}").history()) for t in AUDITED}


def published_result(lake: Path, run_id: str) -> dict:
    return json.loads((lake / "staging" / "runs" / run_id / "published.json").read_text())


@pytest.fixture(scope="module")
def story(spark, contract, contract_dict, tmp_path_factory) -> dict:
    lake = create_lake(tmp_path_factory.mktemp("wap"), contract_dict)
    old = {
        "transaction_id": "OLD",
        "amount": Decimal("5.00"),
        "transaction_ts": dt.datetime(2024, 3, 2, 12, 0),
    }
    # One file holding a row of another date and one of DATE (as compaction leaves them): the
    # first run's delete of DATE's rows rewrites it.
    stale = {**old, "transaction_id": "STALE", "ingest_date": dt.date.fromisoformat(DATE)}
    with lake_session(lake) as session:
        silver_df(session, contract, [old, stale]).coalesce(1).writeTo(ident(SILVER)).append()
    bronze = lake / "bronze" / "transactions" / f"ingest_date={DATE}"
    write(bronze / "one.csv", FIRST_CSV)
    write(bronze / "two.csv", SECOND_CSV)
    s: dict = {"lake": lake}

    landing(lake, "run-1", ["one.csv"], date=DATE)
    s["main0"] = mains(lake)
    s["t1"] = transform(lake, contract_dict, "run-1", DATE)
    s["branch1"] = {t: rows_of(read_table(lake, t, "audit_run-1")) for t in AUDITED}
    # (after the transform: it gives a table without a snapshot its first, empty one)
    s["main_t1"], s["history_t1"] = mains(lake), history_length(lake)
    s["p1"] = run_job(lake, "publish", "run-1", DATE)
    s["main1"], s["refs1"], s["history1"] = mains(lake), all_refs(lake), history_length(lake)
    s["file1"] = published_result(lake, "run-1")
    s["p1_again"] = run_job(lake, "publish", "run-1", DATE)
    s["refs1_again"] = all_refs(lake)

    # The date again, with other files: its rows are replaced.
    landing(lake, "run-2", ["two.csv"], date=DATE)
    s["t2"] = transform(lake, contract_dict, "run-2", DATE)
    s["p2"] = run_job(lake, "publish", "run-2", DATE)
    s["main2"], s["refs2"] = mains(lake), all_refs(lake)
    s["r2"] = run_job(lake, "restore", "run-2", DATE)
    s["main_r2"], s["refs_r2"] = mains(lake), all_refs(lake)
    s["r2_again"] = run_job(lake, "restore", "run-2", DATE)
    s["refs_r2_again"] = all_refs(lake)

    # Main moves after the branch was made (a writer outside the lease): publish refuses.
    landing(lake, "run-3", ["two.csv"], date=DATE)
    s["t3"] = transform(lake, contract_dict, "run-3", DATE)
    intruder = {**old, "transaction_id": "INTRUDER"}
    with lake_session(lake) as session:
        silver_df(session, contract, [intruder]).writeTo(ident(SILVER)).append()
    s["main_before_p3"], s["refs_before_p3"] = mains(lake), all_refs(lake)
    with pytest.raises(Exception) as refused:
        run_job(lake, "publish", "run-3", DATE)
    s["p3_error"] = str(refused.value)
    s["main_after_p3"], s["refs_after_p3"] = mains(lake), all_refs(lake)
    s["r3"] = run_job(lake, "restore", "run-3", DATE)
    s["main_r3"], s["refs_r3"] = mains(lake), all_refs(lake)
    return s


def ids_of(rows: list[dict]) -> list[tuple[str, str]]:
    return sorted((r["transaction_id"] or "", r["run_id"]) for r in rows)


def test_transform_leaves_main_as_it_was(story):
    assert story["main_t1"] == story["main0"]
    assert ids_of(story["main0"][SILVER]) == [("OLD", "old-run"), ("STALE", "old-run")]


def test_a_delete_rewriting_a_file_counts_only_the_dates_rows(story):
    lake, staged = story["lake"], story["t1"]["staged"]["silver"]
    assert (staged["added_records"], staged["deleted_records"]) == (2, 1)
    assert story["t1"]["replaced_silver_months"] == ["2024-03"]
    # The branch: the copy-on-write delete (the shared file rewritten without STALE), then
    # the run's append.
    table = outside_catalog(lake).load_table(f"{DATABASE}.{SILVER}")
    append = table.snapshot_by_id(int(staged["snapshot_id"]))
    delete = table.snapshot_by_id(append.parent_snapshot_id)
    assert str(delete.parent_snapshot_id) == staged["base_snapshot_id"]
    assert delete.summary.operation.value == "overwrite"
    assert (delete.summary["deleted-records"], delete.summary["added-records"]) == ("2", "1")
    assert append.summary["txlake.run-id"] == "run-1"


def test_publish_makes_main_equal_the_branch(story):
    assert story["main1"] == story["branch1"]
    assert ids_of(story["main1"][SILVER]) == [("OLD", "old-run"), ("P1", "run-1"), ("P2", "run-1")]
    assert ids_of(story["main1"][QUARANTINE]) == [("P3", "run-1")]
    assert ids_of(story["main1"][CONDEMNED]) == [("P1", "run-1")]
    for table in AUDITED:
        staged = story["t1"]["staged"][STAGED_KEYS[table]]
        assert story["refs1"][table] == {"main": int(staged["snapshot_id"])}  # branch dropped
        assert story["p1"]["tables"][table] == {
            "before": staged["base_snapshot_id"],
            "after": staged["snapshot_id"],
        }
    assert story["file1"] == story["p1"]
    assert set(story["p1"]["tables"]) == set(AUDITED)
    assert (story["p1"]["run_id"], story["p1"]["ingest_date"]) == ("run-1", DATE)


def test_publish_is_one_commit_per_table(story):
    # main's history gains one entry per table: its head moves once, to the branch's head.
    for table in AUDITED:
        assert story["history1"][table] == story["history_t1"][table] + 1, table


def test_retried_publish_changes_nothing(story):
    assert story["p1_again"] == story["p1"]
    assert story["refs1_again"] == story["refs1"]


def test_rerun_of_a_date_replaces_its_rows(story):
    t1, t2 = story["t1"], story["t2"]
    assert t2["replaced_silver_months"] == ["2024-02", "2024-03"]
    assert t2["latest_silver_month"] == "2024-03"
    assert t2["silver_months"] == ["2024-03"]
    assert {k: v["deleted_records"] for k, v in t2["staged"].items()} == {
        "silver": t1["silver"],
        "quarantine": t1["quarantined"],
        "condemned": t1["condemned"],
    }
    assert ids_of(story["main2"][SILVER]) == [("OLD", "old-run"), ("P1", "run-2"), ("P4", "run-2")]
    assert ids_of(story["main2"][QUARANTINE]) == [("P5", "run-2")]
    assert story["main2"][CONDEMNED] == []


def test_restore_returns_main_to_before_the_publish(story):
    assert story["main_r2"] == story["main1"]
    assert story["refs_r2"] == story["refs1"]
    assert story["r2"]["restored"] == {
        t: {"from": str(story["refs2"][t]["main"]), "to": str(story["refs1"][t]["main"])}
        for t in AUDITED
    }
    assert story["r2_again"]["restored"] == {}
    assert story["refs_r2_again"] == story["refs_r2"]


def test_publish_refuses_when_main_moved_and_changes_nothing(story):
    assert "moved" in story["p3_error"]
    assert story["main_after_p3"] == story["main_before_p3"]
    assert {t: r["main"] for t, r in story["refs_after_p3"].items()} == {
        t: r["main"] for t, r in story["refs_before_p3"].items()
    }
    assert ("INTRUDER", "old-run") in ids_of(story["main_after_p3"][SILVER])
    # Restore keeps main (it never moved for this run) and drops the run's branches.
    assert story["r3"]["restored"] == {}
    assert sorted(story["r3"]["branches_dropped"]) == sorted(AUDITED)
    assert story["main_r3"] == story["main_before_p3"]
    assert all(set(r) == {"main"} for r in story["refs_r3"].values())
