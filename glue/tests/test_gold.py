"""Mode publish-gold: the refresh output (Hive directories, Athena's UNLOAD layout) becomes gold
from the first changed month on, in one commit; retries and restores."""

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

REFRESH_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("currency", pa.string()),
        ("month_start", pa.date32()),
        ("balance", pa.decimal128(38, 2)),
    ]
)


def refresh(lake: Path, months: dict[str, list[tuple[str, str]]]) -> None:
    """Writes a refresh output: per month 'YYYY-MM', rows (account, balance); no extension."""
    root = lake / "staging" / "gold-refresh"
    shutil.rmtree(root, ignore_errors=True)
    for month, rows in months.items():
        year, mm = month.split("-")
        start = dt.date(int(year), int(mm), 1)
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


def gold_rows(lake: Path) -> list[tuple]:
    rows = read_table(lake, GOLD).to_pylist()
    return sorted(
        (f"{r['year']}-{r['month']}", r["account_id"], str(r["balance"]), r["month_start"].day)
        for r in rows
    )


def publish_gold(lake: Path, run_id: str, from_month: str) -> dict:
    return run_job(lake, "publish-gold", run_id, "2024-03-05", from_month=from_month)


def snapshots(lake: Path):
    return outside_catalog(lake).load_table(f"{DATABASE}.{GOLD}").snapshots()


@pytest.fixture(scope="module")
def story(spark, contract_dict, tmp_path_factory) -> dict:
    lake = create_lake(tmp_path_factory.mktemp("gold"), contract_dict)
    s: dict = {"lake": lake}
    refresh(
        lake,
        {"2024-01": [("A", "10.00")], "2024-02": [("A", "15.00")], "9999-12": [("A", "15.00")]},
    )
    s["g1"] = publish_gold(lake, "g1", "2024-01")
    s["rows1"], s["refs1"], s["snapshots1"] = (
        gold_rows(lake),
        refs(lake, GOLD),
        len(snapshots(lake)),
    )
    s["g1_again"] = publish_gold(lake, "g1", "2024-01")
    s["refs1_again"], s["snapshots1_again"] = refs(lake, GOLD), len(snapshots(lake))

    refresh(lake, {"2024-02": [("A", "20.00")], "2024-03": [("A", "20.00"), ("B", "5.00")]})
    s["g2"] = publish_gold(lake, "g2", "2024-02")
    s["rows2"], s["last2"] = gold_rows(lake), snapshots(lake)[-1]
    s["r2"] = run_job(lake, "restore", "g2", "2024-03-05")
    s["rows_r2"], s["refs_r2"] = gold_rows(lake), refs(lake, GOLD)

    refresh(lake, {"2024-01": [("A", "99.00")]})
    with pytest.raises(Exception) as early:
        publish_gold(lake, "g3", "2024-02")
    s["g3_error"], s["rows_g3"] = str(early.value), gold_rows(lake)
    return s


def test_first_publish_makes_the_refresh_gold(story):
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
