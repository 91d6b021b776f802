"""Mode publish-gold: the refresh output (Hive directories, Athena's UNLOAD layout, one target per
refresh query) becomes gold from the first changed month on, in one commit; retries, restores, and
what it refuses."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakes import DATABASE, GOLD, create_lake, outside_catalog, read_table, refs, run_job, write
from txlake_glue.gold import refresh_targets
from txlake_glue.job import MODES

REFRESH_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("currency", pa.string()),
        ("month_start", pa.date32()),
        ("balance", pa.decimal128(38, 2)),
    ]
)


Chunk = dict[str, list[tuple[str, str]]]


def write_refresh(root: Path, months: Chunk, horizon: str | None = None) -> None:
    """One refresh query's output under ``root``: per month 'YYYY-MM', rows (account, balance);
    data files without an extension, like Athena's. The tail's month_start is ``horizon``'s first
    day when given (as the refresh SQL writes it)."""
    for month, rows in months.items():
        year, mm = month.split("-")
        start = dt.date(int(year), int(mm), 1)
        if month == "9999-12" and horizon:
            start = dt.date(int(horizon[:4]), int(horizon[5:]), 1)
        table = pa.Table.from_pylist(
            [
                {"account_id": a, "currency": "EUR", "month_start": start, "balance": Decimal(b)}
                for a, b in rows
            ],
            schema=REFRESH_SCHEMA,
        )
        folder = root / f"year={year}" / f"month={mm}"
        folder.mkdir(parents=True)
        pq.write_table(table, folder / "20240305_0_part")
    write(root / "_marker", b"not data")


def refresh(lake: Path, run_id: str, *chunks: Chunk) -> list[str]:
    """The refresh of a run as its queries write it: one target per chunk under gold-refresh/ (what
    earlier runs left there is gone first, as publish empties it); returns the targets."""
    shutil.rmtree(lake / "staging" / "gold-refresh", ignore_errors=True)
    targets = []
    for i, months in enumerate(chunks):
        target = f"gold-refresh/{run_id}/{i}-{run_id}-chunk/"
        write_refresh(lake / "staging" / target, months)
        targets.append(target)
    return targets


def gold_rows(lake: Path) -> list[tuple]:
    rows = read_table(lake, GOLD).to_pylist()
    return sorted(
        (f"{r['year']}-{r['month']}", r["account_id"], str(r["balance"]), r["month_start"].day)
        for r in rows
    )


def publish_gold(lake: Path, run_id: str, from_month: str, targets: list[str]) -> dict:
    return run_job(
        lake,
        "publish-gold",
        run_id,
        "2024-03-05",
        from_month=from_month,
        gold_refresh_targets=json.dumps(targets),
    )


def snapshots(lake: Path):
    return outside_catalog(lake).load_table(f"{DATABASE}.{GOLD}").snapshots()


@pytest.fixture(scope="module")
def story(spark, contract_dict, tmp_path_factory) -> dict:
    lake = create_lake(tmp_path_factory.mktemp("gold"), contract_dict)
    s: dict = {"lake": lake}
    # Two queries (a refresh over more months than one may write), published together; a failed
    # attempt's partial output lies beside them, unlisted.
    t1 = refresh(
        lake,
        "g1",
        {"2024-01": [("A", "10.00")]},
        {"2024-02": [("A", "15.00")], "9999-12": [("A", "15.00")]},
    )
    write_refresh(lake / "staging/gold-refresh/g1/failed-attempt", {"2024-02": [("Z", "666.00")]})
    s["g1"] = publish_gold(lake, "g1", "2024-01", t1)
    s["rows1"], s["refs1"], s["snapshots1"] = (
        gold_rows(lake),
        refs(lake, GOLD),
        len(snapshots(lake)),
    )
    s["g1_again"] = publish_gold(lake, "g1", "2024-01", t1)
    s["refs1_again"], s["snapshots1_again"] = refs(lake, GOLD), len(snapshots(lake))

    t2 = refresh(
        lake, "g2", {"2024-02": [("A", "20.00")], "2024-03": [("A", "20.00"), ("B", "5.00")]}
    )
    s["g2"] = publish_gold(lake, "g2", "2024-02", t2)
    s["rows2"], s["last2"] = gold_rows(lake), snapshots(lake)[-1]
    s["r2"] = run_job(lake, "restore", "g2", "2024-03-05")
    s["rows_r2"], s["refs_r2"] = gold_rows(lake), refs(lake, GOLD)

    t3 = refresh(lake, "g3", {"2024-01": [("A", "99.00")]})
    with pytest.raises(Exception) as early:
        publish_gold(lake, "g3", "2024-02", t3)
    s["g3_error"], s["rows_g3"] = str(early.value), gold_rows(lake)
    s["snapshots_g3"] = len(snapshots(lake))

    # The same partition in two targets (chunks never overlap): refused before any commit.
    t4 = refresh(
        lake,
        "g4",
        {"2024-02": [("A", "1.00")]},
        {"2024-02": [("A", "2.00")], "9999-12": [("A", "2.00")]},
    )
    with pytest.raises(ValueError) as twice:
        publish_gold(lake, "g4", "2024-02", t4)
    s["g4_error"], s["rows_g4"], s["snapshots_g4"] = (
        str(twice.value),
        gold_rows(lake),
        len(snapshots(lake)),
    )

    # A target outside the refresh prefix: refused before anything is read or written.
    t5 = refresh(lake, "g5", {"2024-02": [("A", "1.00")]})
    shutil.copytree(lake / "staging" / t5[0], lake / "staging/elsewhere/g5/")
    with pytest.raises(ValueError) as outside:
        publish_gold(lake, "g5", "2024-02", [*t5, "elsewhere/g5/"])
    s["g5_error"], s["rows_g5"], s["snapshots_g5"] = (
        str(outside.value),
        gold_rows(lake),
        len(snapshots(lake)),
    )
    s["g5_result"] = (lake / "staging/runs/g5/published.json").exists()

    # A rerun removed silver's latest rows: refreshed from 2024-03 with the horizon back at 2024-01,
    # so 2024-02 (past the new horizon) goes in the same commit.
    shutil.rmtree(lake / "staging" / "gold-refresh", ignore_errors=True)
    write_refresh(
        lake / "staging/gold-refresh/g6/0/", {"9999-12": [("A", "10.00")]}, horizon="2024-01"
    )
    publish_gold(lake, "g6", "2024-03", ["gold-refresh/g6/0/"])
    s["rows_g6"], s["last_g6"] = gold_rows(lake), snapshots(lake)[-1]

    # Silver emptied by a rerun: the refresh writes nothing, and gold becomes empty.
    (lake / "staging/gold-refresh/g7/0").mkdir(parents=True)
    publish_gold(lake, "g7", "2024-01", ["gold-refresh/g7/0/"])
    s["rows_g7"] = gold_rows(lake)
    return s


def test_first_publish_makes_the_refresh_gold_from_every_target(story):
    assert story["rows1"] == [
        ("2024-01", "A", "10.00", 1),
        ("2024-02", "A", "15.00", 1),
        ("9999-12", "A", "15.00", 1),
    ]
    assert story["g1"]["tables"][GOLD] == {
        "before": story["g1"]["tables"][GOLD]["before"],
        "after": str(story["refs1"]["main"]),
    }
    # The empty commit that gave gold its first snapshot, then the overwrite.
    assert story["snapshots1"] == 2


def test_retried_publish_gold_does_nothing(story):
    assert story["g1_again"] == story["g1"]
    assert story["refs1_again"] == story["refs1"]
    assert story["snapshots1_again"] == story["snapshots1"]


def test_months_from_the_first_changed_one_are_replaced_whole(story):
    assert story["rows2"] == [
        ("2024-01", "A", "10.00", 1),  # before from_month: untouched
        ("2024-02", "A", "20.00", 1),  # replaced
        ("2024-03", "A", "20.00", 1),  # new
        ("2024-03", "B", "5.00", 1),
        # 9999-12 is no longer produced: gone
    ]
    summary = story["last2"].summary
    assert summary.operation.value == "overwrite"
    assert summary["txlake.run-id"] == "g2"
    assert summary["txlake.from-month"] == "2024-02"
    assert story["g2"]["tables"][GOLD]["before"] == str(story["refs1"]["main"])
    assert story["g2"]["tables"][GOLD]["after"] == str(story["last2"].snapshot_id)


def test_restore_returns_gold_to_before_the_run(story):
    assert story["rows_r2"] == story["rows1"]
    assert story["refs_r2"] == story["refs1"]
    assert story["r2"]["restored"] == {
        GOLD: {"from": str(story["last2"].snapshot_id), "to": str(story["refs1"]["main"])}
    }


def test_refresh_output_before_from_month_is_refused(story):
    assert "from 2024-02" in story["g3_error"] and "year=2024/month=01/" in story["g3_error"]
    assert story["rows_g3"] == story["rows1"]
    result = json.loads((story["lake"] / "staging/runs/g3/published.json").read_text())
    assert result["tables"][GOLD]["before"] == str(story["refs1"]["main"])
    assert "after" not in result["tables"][GOLD]


def test_a_partition_in_two_targets_is_refused(story):
    assert "2024-02" in story["g4_error"] and "two targets" in story["g4_error"]
    assert story["rows_g4"] == story["rows1"]
    assert story["snapshots_g4"] == story["snapshots_g3"]
    result = json.loads((story["lake"] / "staging/runs/g4/published.json").read_text())
    assert "after" not in result["tables"][GOLD]


def test_a_target_outside_the_refresh_prefix_is_refused(story):
    assert "'elsewhere/g5/'" in story["g5_error"] and "gold-refresh/" in story["g5_error"]
    assert story["rows_g5"] == story["rows1"]
    assert story["snapshots_g5"] == story["snapshots_g4"]
    assert not story["g5_result"]


def test_months_past_a_lowered_horizon_go_in_the_same_commit(story):
    assert story["rows_g5"] == [
        ("2024-01", "A", "10.00", 1),
        ("2024-02", "A", "15.00", 1),
        ("9999-12", "A", "15.00", 1),
    ]
    # 2024-02 lay past the new horizon (2024-01): gone, although before from_month 2024-03
    assert story["rows_g6"] == [("2024-01", "A", "10.00", 1), ("9999-12", "A", "10.00", 1)]
    assert story["last_g6"].summary.operation.value == "overwrite"
    assert story["rows_g7"] == []


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ("", "JSON array"),
        ("gold-refresh/a/", "JSON array"),
        ("[]", "non-empty JSON array of strings"),
        ('{"a": "gold-refresh/a/"}', "non-empty JSON array of strings"),
        ('["gold-refresh/a/", 3]', "non-empty JSON array of strings"),
        ('["gold-refresh/"]', "not under"),
        ('["gold-refreshing/a/"]', "not under"),
        ('["/gold-refresh/a/"]', "not under"),
        ('["gold-refresh/../runs/"]', "not under"),
        ('["gold-refresh/a//b/"]', "not under"),
        ('["gold-refresh/a/", "gold-refresh/a/b/"]', "overlap"),
        ('["gold-refresh/a/", "gold-refresh/a"]', "overlap"),
    ],
)
def test_refresh_targets_are_checked(targets, message):
    args = {"gold_refresh_prefix": "gold-refresh/", "gold_refresh_targets": targets}
    with pytest.raises(ValueError, match=message):
        refresh_targets(args)


def test_refresh_targets_are_key_prefixes_under_the_refresh_prefix():
    args = {
        "gold_refresh_prefix": "gold-refresh/",
        "gold_refresh_targets": json.dumps(
            ["gold-refresh/run-1/2015-01-a1b2/", "gold-refresh/run-1/2023-04-c3d4"]
        ),
    }
    assert refresh_targets(args) == [
        "gold-refresh/run-1/2015-01-a1b2/",
        "gold-refresh/run-1/2023-04-c3d4/",
    ]


def test_publish_gold_needs_its_refresh_targets():
    assert "gold_refresh_targets" in MODES["publish-gold"].required
