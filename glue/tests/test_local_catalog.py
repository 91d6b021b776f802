"""runner/local/local_catalog.py: the deployment's table definitions created in a lake's catalog,
idempotently, with additive evolution only."""

from __future__ import annotations

import json

import pytest

from lakes import CATALOG, DATABASE, on_lake, outside_catalog, table_definitions
from local_catalog import main, partition_field


def argv(tables: list[dict]) -> list[str]:
    return ["--catalog_name", CATALOG, "--database", DATABASE, "--tables", json.dumps(tables)]


@pytest.fixture(scope="module")
def story(spark, contract_dict, tmp_path_factory) -> dict:
    lake = tmp_path_factory.mktemp("catalog")
    tables = table_definitions(contract_dict, lake)
    s: dict = {"lake": lake, "tables": tables}
    with on_lake(lake):
        s["first"] = main(argv(tables))
        s["again"] = main(argv(tables))
        changed = [{**t, "columns": list(t["columns"])} for t in tables]
        silver = next(t for t in changed if t["name"] == "silver_transactions")
        silver["columns"][2] = {"name": "amount", "type": "string"}
        with pytest.raises(ValueError) as refused:
            main(argv(changed))
        s["type_error"] = str(refused.value)
    return s


def test_every_table_is_created_once(story):
    names = [t["name"] for t in story["tables"]]
    assert story["first"] == dict.fromkeys(names, "created")
    assert story["again"] == dict.fromkeys(names, "unchanged")
    listed = outside_catalog(story["lake"]).list_tables(DATABASE)
    assert sorted(name for _, name in listed) == sorted(names)


def test_tables_have_the_contract_columns_partitioning_and_properties(story, contract_dict):
    catalog = outside_catalog(story["lake"])
    specs = {}
    for definition in story["tables"]:
        table = catalog.load_table(f"{DATABASE}.{definition['name']}")
        fields = table.schema().fields
        assert [f.name for f in fields] == [c["name"] for c in definition["columns"]]
        assert [f.field_id for f in fields] == list(range(1, len(fields) + 1))
        assert table.location() == f"file:{definition['location']}"
        assert table.format_version == 2
        assert table.properties["write.delete.mode"] == "copy-on-write"
        assert table.properties["write.parquet.compression-codec"] == "zstd"
        assert table.properties["commit.manifest.min-count-to-merge"] == "10"
        specs[definition["name"]] = [
            (table.schema().find_field(f.source_id).name, str(f.transform))
            for f in table.spec().fields
        ]
    assert specs == {
        "silver_transactions": [("transaction_ts", "month")],
        "quarantine_transactions": [("ingest_date", "identity")],
        "condemned_transactions": [("ingest_date", "identity")],
        "gold_monthly_balances": [("year", "identity"), ("month", "identity")],
    }


def test_a_changed_column_type_is_refused(story):
    assert "amount is decimal(16,2)" in story["type_error"]
    assert "only adding columns" in story["type_error"]


@pytest.mark.parametrize(
    ("transform", "sql"),
    [
        ("identity", "`c`"),
        ("year", "years(`c`)"),
        ("month", "months(`c`)"),
        ("day", "days(`c`)"),
        ("hour", "hours(`c`)"),
        ("bucket[16]", "bucket(16, `c`)"),
        ("truncate[4]", "truncate(4, `c`)"),
    ],
)
def test_partition_transforms_in_spark_sql(transform, sql):
    assert partition_field({"column": "c", "transform": transform}) == sql


def test_an_unknown_transform_is_refused():
    with pytest.raises(ValueError, match="void"):
        partition_field({"column": "c", "transform": "void"})
