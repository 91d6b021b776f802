"""Local stand-in for the deployment's table definitions: creates the lake's Iceberg tables in the
local catalog (``<lake>/catalog.db``), or adds the columns an existing table lacks.

In AWS the tables are ``AWS::Glue::Table`` resources (lib/constructs/lake-catalog.ts); locally
runner/local/local-catalog.ts passes the same definitions, with local locations, to this script,
which the local Glue host runs like a job entry (``main(argv)``) in the job's Spark session
(txlake_glue.session: the catalog comes from ``TXLAKE_SPARK_CONF``).

usage: local_catalog.py --catalog_name txlake --database DB --tables JSON
where JSON is a list of ``{name, location, columns: [{name, type}], partitionSpec: [{column,
transform}], properties: {…}}``, types in Glue/Hive notation. Idempotent.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql.types import _parse_datatype_string
from txlake_glue.iceberg import literal, quote
from txlake_glue.session import end_run, get_spark

# Iceberg's partition transforms as Spark SQL writes them (bucket[N] and truncate[N] take a width).
_TRANSFORMS = {"year": "years", "month": "months", "day": "days", "hour": "hours"}
_WIDTH = re.compile(r"(bucket|truncate)\[([0-9]+)\]")


def partition_field(spec: Mapping[str, str]) -> str:
    column, transform = quote(spec["column"]), spec.get("transform", "identity")
    if transform == "identity":
        return column
    if transform in _TRANSFORMS:
        return f"{_TRANSFORMS[transform]}({column})"
    width = _WIDTH.fullmatch(transform)
    if width:
        return f"{width[1]}({width[2]}, {column})"
    raise ValueError(f"unsupported partition transform {transform!r}")


def _columns(table: Mapping[str, Any]) -> str:
    # Glue/Hive type names are Spark SQL's (timestamp: Spark's, Iceberg's timestamptz).
    return ", ".join(f"{quote(c['name'])} {c['type']}" for c in table["columns"])


def _properties(props: Mapping[str, str]) -> str:
    return ", ".join(f"{literal(k)} = {literal(str(v))}" for k, v in props.items())


def create_table(spark: SparkSession, ident: str, table: Mapping[str, Any]) -> None:
    sql = f"CREATE TABLE {ident} ({_columns(table)}) USING iceberg"
    # Required (an empty list for an unpartitioned table): a definition in another shape
    # (Hive partitionKeys) must not silently give an unpartitioned table.
    if "partitionSpec" not in table:
        raise ValueError(f"table {table['name']} has no partitionSpec")
    spec = table["partitionSpec"]
    if spec:
        sql += f" PARTITIONED BY ({', '.join(partition_field(p) for p in spec)})"
    sql += f" LOCATION {literal(table['location'])}"
    if table.get("properties"):
        sql += f" TBLPROPERTIES ({_properties(table['properties'])})"
    spark.sql(sql)


def evolve_table(
    spark: SparkSession, ident: str, table: Mapping[str, Any]
) -> list[str]:
    """Adds the columns the table lacks, at its end (the contract's additive evolution)."""
    existing = {f.name: f.dataType for f in spark.table(ident).schema.fields}
    added = []
    for column in table["columns"]:
        name = column["name"]
        wanted = _parse_datatype_string(column["type"])
        if name not in existing:
            spark.sql(f"ALTER TABLE {ident} ADD COLUMN {quote(name)} {column['type']}")
            added.append(name)
        elif existing[name] != wanted:
            raise ValueError(
                f"{ident}: column {name} is {existing[name].simpleString()}, the definition says "
                f"{column['type']} (only adding columns is supported)"
            )
    props = table.get("properties") or {}
    current = spark.sql(f"SHOW TBLPROPERTIES {ident}").collect()
    have = {r["key"]: r["value"] for r in current}
    changed = {k: str(v) for k, v in props.items() if have.get(k) != str(v)}
    if changed:
        spark.sql(f"ALTER TABLE {ident} SET TBLPROPERTIES ({_properties(changed)})")
    return added


def ensure_tables(
    spark: SparkSession, catalog: str, database: str, tables: list[Mapping[str, Any]]
) -> dict[str, str]:
    """Creates the namespace and each table, or evolves an existing one; returns what it did."""
    spark.sql(f"CREATE NAMESPACE IF NOT EXISTS {quote(catalog)}.{quote(database)}")
    existing = {
        r["tableName"]
        for r in spark.sql(
            f"SHOW TABLES IN {quote(catalog)}.{quote(database)}"
        ).collect()
    }
    done = {}
    for table in tables:
        ident = ".".join(quote(p) for p in (catalog, database, table["name"]))
        if table["name"] in existing:
            added = evolve_table(spark, ident, table)
            done[table["name"]] = f"added {', '.join(added)}" if added else "unchanged"
        else:
            create_table(spark, ident, table)
            done[table["name"]] = "created"
    return done


def main(argv: list[str] | None = None) -> dict[str, str]:
    parser = argparse.ArgumentParser(prog="local_catalog", allow_abbrev=False)
    parser.add_argument("--catalog_name", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument(
        "--tables", required=True, help="JSON list of table definitions"
    )
    args, _unknown = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    spark = get_spark()
    try:
        done = ensure_tables(
            spark, args.catalog_name, args.database, json.loads(args.tables)
        )
    finally:
        end_run(spark)
    print(json.dumps(done, sort_keys=True), file=sys.stderr)
    return done


if __name__ == "__main__":
    main()
    SparkSession.builder.getOrCreate().stop()
