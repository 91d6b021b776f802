"""txlake Glue 5.0 (Spark 3.5.4) job: row validation, dedupe and staged outputs.

Reads the files accepted by the landing check for one ingest date, applies the row
rules and the duplicate/attempt rules of data contract v1 (SPEC section 3) and
writes silver, quarantine and condemned Parquet plus a counts JSON line under
``<staging_root>/runs/<run_id>/``. Publishing is done by a later step
(write-audit-publish), so this job never touches the published layers.

Every rule is parameterised by the contract JSON passed in ``--contract``. Optional
source columns of later contract versions (docs/schema-evolution.md) are carried to
silver, quarantine and condemned as they are (NULL when a file lacks them) and never
change a row's codes or destination.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import sys
from dataclasses import dataclass
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

JOB_ARGS = (
    "run_id",
    "ingest_date",
    "bronze_root",
    "silver_root",
    "quarantine_root",
    "staging_root",
    "contract",
)

# Structural codes that are not tied to a source column. They are looked up in
# the contract (and fail fast when a contract lacks them) rather than trusted blindly.
MALFORMED_ROW = "MALFORMED_ROW"
DUPLICATE_TRANSACTION_ID = "DUPLICATE_TRANSACTION_ID"
DUPLICATE_ROW = "DUPLICATE_ROW"
MAX_ATTEMPTS_EXCEEDED = "MAX_ATTEMPTS_EXCEEDED"

SILVER = "silver"
QUARANTINE = "quarantine"
CONDEMNED = "condemned"

# Valid UTC instants: 0001-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z, so the
# year partition is always four digits and every engine can represent the value.
MIN_EPOCH_MS = -62135596800000
MAX_EPOCH_MS = 253402300799999

# Trims only spaces and tabs (the contract's notion of surrounding blanks).
BLANKS = " \t"


# --------------------------------------------------------------------------- contract


@dataclass(frozen=True)
class Contract:
    """The parts of the contract JSON the job needs, in a checked form."""

    raw: dict[str, Any]
    source_columns: list[dict[str, str]]
    # Optional input columns (contract v2+): carried to the outputs, never validated.
    optional_columns: list[dict[str, str]]
    currencies: list[str]
    identifier_max_length: int
    amount_pattern: str
    timestamp_pattern: str
    max_attempts_other_dates: int
    malformed_row: str
    duplicate_transaction_id: str
    duplicate_row: str
    max_attempts_exceeded: str

    @property
    def fields(self) -> list[str]:
        return [c["field"] for c in self.source_columns]

    @property
    def optional_fields(self) -> list[str]:
        """Record columns of the optional source columns (prefixed: no clash with job columns)."""
        return [optional_record_column(c) for c in self.optional_columns]

    def column(self, rule: str) -> dict[str, str]:
        return next(c for c in self.source_columns if c["rule"] == rule)

    def table_columns(self, table: str) -> list[dict[str, str]]:
        return self.raw["tables"][table]["columns"]

    def table_partitions(self, table: str) -> list[dict[str, str]]:
        return self.raw["tables"][table]["partitionKeys"]


def _require_code(contract: dict[str, Any], group: str, code: str) -> str:
    if code not in contract["codes"][group]:
        raise ValueError(f"contract codes.{group} lacks {code}")
    return code


def optional_record_column(col: dict[str, str]) -> str:
    return f"o_{col['field']}"


def _check_optional_columns(cols: list[dict[str, str]], optional: list[dict[str, str]]) -> None:
    for key in ("name", "field", "silver"):
        names = [c[key] for c in cols] + [c[key] for c in optional]
        if len(set(names)) != len(names):
            raise ValueError(f"optionalSourceColumns reuse a source column {key}: {names}")
    for c in optional:
        if c.get("type", "string") != "string":
            raise ValueError(f"optional source column {c['name']!r} must be of type string")


def load_contract(text_or_dict: str | dict[str, Any]) -> Contract:
    raw = json.loads(text_or_dict) if isinstance(text_or_dict, str) else text_or_dict
    cols = raw["sourceColumns"]
    optional = list(raw.get("optionalSourceColumns") or [])
    _check_optional_columns(cols, optional)
    rules = [c["rule"] for c in cols]
    if sorted(rules) != sorted(["identifier", "identifier", "amount", "currency", "timestamp"]):
        raise ValueError(f"unexpected sourceColumns rules: {rules}")
    # The timestamp parser addresses the contract pattern's capture groups by number.
    if re.compile(raw["timestampPattern"]).groups != 12:
        raise ValueError("timestampPattern must have the 12 capture groups of contract v1")
    return Contract(
        raw=raw,
        source_columns=cols,
        optional_columns=optional,
        currencies=[str(c) for c in raw["currencies"]],
        identifier_max_length=int(raw["identifierMaxLength"]),
        amount_pattern=raw["amountPattern"],
        timestamp_pattern=raw["timestampPattern"],
        max_attempts_other_dates=int(raw["maxAttemptsOtherIngestDates"]),
        malformed_row=_require_code(raw, "row", MALFORMED_ROW),
        duplicate_transaction_id=_require_code(raw, "quarantine", DUPLICATE_TRANSACTION_ID),
        duplicate_row=_require_code(raw, "condemned", DUPLICATE_ROW),
        max_attempts_exceeded=_require_code(raw, "condemned", MAX_ATTEMPTS_EXCEEDED),
    )


def java_full_match(pattern: str) -> str:
    """Make a trailing ``$`` mean end of input in Java regex.

    Java's ``$`` also matches before a final line terminator, so ``"12\\n"`` would pass
    ``^[0-9]+$``; a quoted CSV field can end in a newline that trimming keeps.
    """
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + "\\z"
    return pattern


def _ddl(columns: list[dict[str, str]]) -> str:
    return ", ".join(f"`{c['name']}` {c['type']}" for c in columns)


def silver_schema(contract: Contract) -> T.StructType:
    cols = contract.table_columns("silver_transactions") + contract.table_partitions(
        "silver_transactions"
    )
    return T._parse_datatype_string(_ddl(cols))


def quarantine_schema(contract: Contract, table: str = "quarantine_transactions") -> T.StructType:
    cols = contract.table_columns(table) + contract.table_partitions(table)
    return T._parse_datatype_string(_ddl(cols))


def records_schema(contract: Contract) -> T.StructType:
    return T.StructType(
        [
            T.StructField("source_file", T.StringType(), False),
            T.StructField("source_record", T.LongType(), False),
            T.StructField("malformed", T.BooleanType(), False),
        ]
        + [T.StructField(f, T.StringType(), True) for f in contract.fields]
        + [T.StructField(f, T.StringType(), True) for f in contract.optional_fields]
    )


# --------------------------------------------------------------------------- CSV parsing


def csv_records(data: bytes) -> list[list[str]]:
    """Decode UTF-8 (dropping a BOM) and parse RFC 4180; completely empty lines are skipped.

    The landing check already rejected malformed files, so ``strict`` makes any
    disagreement between the two parsers fail the run instead of guessing.
    """
    text = data.decode("utf-8-sig")
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=",",
        quotechar='"',
        doublequote=True,
        strict=True,
    )
    return [rec for rec in reader if rec]


def _header_index(header: list[str], name: str) -> int | None:
    # Spaces are what the landing check trims; tabs are tried as a fallback so a
    # header it accepted can never be unmappable here.
    hits = [i for i, h in enumerate(header) if h.strip(" ") == name]
    if not hits:
        hits = [i for i, h in enumerate(header) if h.strip(BLANKS) == name]
    return hits[0] if hits else None


def header_indexes(
    file_name: str, header: list[str], names: list[str], optional_names: list[str]
) -> tuple[dict[str, int], list[int | None]]:
    """Where each contract column sits in a header (optional ones may be absent: None)."""
    index: dict[str, int] = {}
    for name in names:
        hit = _header_index(header, name)
        if hit is None:
            raise ValueError(f"{file_name}: header lacks column {name!r}")
        index[name] = hit
    return index, [_header_index(header, name) for name in optional_names]


def records_from_rows(
    file_name: str,
    rows: list[list[str]],
    names: list[str],
    optional_names: list[str] | None = None,
) -> list[tuple[Any, ...]]:
    """Turn parsed CSV records (header first) into record tuples for ``records_schema``.

    ``names`` are the contract's source column names in contract order, ``optional_names``
    its optional source column names: a header without one gives NULL values (older files).
    """
    if not rows:
        return []
    header = rows[0]
    index, optional_index = header_indexes(file_name, header, names, optional_names or [])
    width = len(header)
    out = []
    for number, rec in enumerate(rows[1:], start=1):
        values = [rec[index[n]].strip(BLANKS) if index[n] < len(rec) else None for n in names]
        extra = [
            rec[i].strip(BLANKS) if i is not None and i < len(rec) else None for i in optional_index
        ]
        out.append((file_name, number, len(rec) != width, *values, *extra))
    return out


def parse_file(
    file_name: str, data: bytes, names: list[str], optional_names: list[str] | None = None
) -> list[tuple[Any, ...]]:
    return records_from_rows(file_name, csv_records(data), names, optional_names)


def set_csv_field_limit() -> None:
    # Python's csv caps a field at 128 KiB; the contract has no field-size limit.
    csv.field_size_limit(2**31 - 1)


# --------------------------------------------------------------------------- row rules


def _missing(c: Column) -> Column:
    return c.isNull() | (c == "")


def identifier_ok(c: Column, max_length: int) -> Column:
    return (F.length(c) <= max_length) & ~c.rlike("[\\x00-\\x1F\\x7F]")


def amount_value(c: Column, pattern: str) -> Column:
    """DECIMAL(16,2) of a valid amount, else NULL (the regex gates the cast)."""
    return F.when(c.rlike(java_full_match(pattern)), c.cast("decimal(16,2)"))


def currency_value(c: Column, currencies: list[str]) -> Column:
    up = F.upper(c)
    return F.when(up.isin(currencies), up)


def with_timestamp(df: DataFrame, raw: str, out: str, pattern: str) -> DataFrame:
    """Add ``out``: the UTC timestamp (ms precision) of a valid timestamp string, else NULL.

    Built from integer epoch milliseconds rather than make_timestamp: make_timestamp
    accepts second 60 (rolls over), cannot take offsets beyond +-18:00 as zones, and
    raises instead of returning NULL when ANSI mode is on. Every field is range
    checked first so make_date only ever sees real dates. Intermediate columns are
    separate projections so Spark evaluates each regex once per row.
    """
    p = java_full_match(pattern)
    c = F.col(raw)
    groups = {
        "y": 1, "mo": 2, "d": 3, "h": 4, "mi": 5, "s": 6, "frac": 8, "sign": 10, "oh": 11, "om": 12
    }  # fmt: skip
    tmp = {k: f"_{out}_{k}" for k in groups}
    # One regex pass: the match is rewritten to its groups joined by "|" (an unmatched optional
    # group gives ""), then split; ten regexp_extract calls would run the regex ten times.
    template = "|".join(f"${i}" for i in groups.values())
    df = df.withColumn(
        tmp["y"] + "_all",
        F.when(c.rlike(p), F.split(F.regexp_replace(c, p, template), r"\|")),
    )
    parts = F.col(tmp["y"] + "_all")
    df = df.withColumns(
        {
            tmp[k]: parts[i] if k in ("frac", "sign") else parts[i].cast("int")
            for i, k in enumerate(groups)
        }
    )
    g = {k: F.col(v) for k, v in tmp.items()}
    # Extra fractional digits are truncated, not rounded.
    millis = F.when(g["frac"] == "", F.lit(0)).otherwise(
        F.rpad(F.substring(g["frac"], 1, 3), 3, "0").cast("int")
    )
    has_offset = g["sign"] != ""
    offset_minutes = F.when(has_offset, g["oh"] * 60 + g["om"]).otherwise(F.lit(0)) * F.when(
        g["sign"] == "-", F.lit(-1)
    ).otherwise(F.lit(1))
    fields_ok = (
        parts.isNotNull()
        & g["mo"].between(1, 12)
        & (g["d"] >= 1)
        & g["h"].between(0, 23)
        & g["mi"].between(0, 59)
        & g["s"].between(0, 59)
        & (~has_offset | (g["oh"].between(0, 23) & g["om"].between(0, 59)))
    )
    month_length = F.dayofmonth(F.last_day(F.make_date(g["y"], g["mo"], F.lit(1))))
    date_ok = F.when(fields_ok, g["d"] <= month_length).otherwise(F.lit(False))
    df = df.withColumn(
        f"_{out}_ms",
        F.when(
            date_ok,
            F.unix_date(F.make_date(g["y"], g["mo"], g["d"])).cast("bigint") * 86_400_000
            + g["h"].cast("bigint") * 3_600_000
            + g["mi"].cast("bigint") * 60_000
            + g["s"].cast("bigint") * 1_000
            + millis.cast("bigint")
            - offset_minutes.cast("bigint") * 60_000,
        ),
    )
    ms = F.col(f"_{out}_ms")
    df = df.withColumn(out, F.when(ms.between(MIN_EPOCH_MS, MAX_EPOCH_MS), F.timestamp_millis(ms)))
    return df.drop(*tmp.values(), tmp["y"] + "_all", f"_{out}_ms")


def apply_row_rules(records: DataFrame, contract: Contract) -> DataFrame:
    """Add typed silver values ``v_*`` and ``row_codes`` (all row-rule codes, in contract order).

    A ``v_*`` value is NULL when its raw field is missing or invalid, or the row is malformed.
    """
    df = records
    codes: list[Column] = []
    for col in contract.source_columns:
        raw = F.col(col["field"])
        rule = col["rule"]
        out = f"v_{col['silver']}"
        if rule == "timestamp":
            df = with_timestamp(df, col["field"], out, contract.timestamp_pattern)
        else:
            if rule == "identifier":
                value = F.when(identifier_ok(raw, contract.identifier_max_length), raw)
            elif rule == "amount":
                value = amount_value(raw, contract.amount_pattern)
            else:
                value = currency_value(raw, contract.currencies)
            df = df.withColumn(out, value)
        df = df.withColumn(out, F.when(~_missing(raw) & ~F.col("malformed"), F.col(out)))
        codes.append(
            F.when(_missing(raw), F.lit(col["missingCode"])).when(
                F.col(out).isNull(), F.lit(col["invalidCode"])
            )
        )
    column_codes = F.filter(F.array(*codes), lambda x: x.isNotNull())
    row_codes = F.when(F.col("malformed"), F.array(F.lit(contract.malformed_row))).otherwise(
        column_codes
    )
    return df.withColumn("row_codes", row_codes)


# --------------------------------------------------------------------------- classification


def _key_names(contract: Contract) -> list[str]:
    return [f"v_{c['silver']}" for c in contract.source_columns]


def classify(
    records: DataFrame,
    published_silver: DataFrame,
    published_quarantine: DataFrame,
    contract: Contract,
    ingest_date: str,
) -> DataFrame:
    """Decide destination and final ``error_codes`` for every record of the run.

    Adds ``destination`` (silver|quarantine|condemned), ``error_codes`` and the typed
    ``v_*`` silver values. Published rows of ``ingest_date`` itself are ignored, so a
    rerun sees the same state as the first run.
    """
    # The transaction id is the contract's first identifier column.
    id_rule = contract.column("identifier")
    raw_id = id_rule["field"]
    silver_names = [c["silver"] for c in contract.source_columns]
    v_id = f"v_{id_rule['silver']}"
    keys = _key_names(contract)

    rows = apply_row_rules(records, contract).withColumn("valid", F.size("row_codes") == 0)

    # Every comparison below is keyed on the (trimmed) raw id first, so the run's wide rows are
    # shuffled once: the windows' partitions and the joins' keys all start with it. For a valid
    # row the raw id is its silver id, so the extra key changes no group that counts.
    # Silver rows of other ingest dates by id: an id is a conflict if it is there at all, and a
    # duplicate if one of its rows has the same five values.
    other_silver = published_silver.where(F.col("ingest_date") != F.lit(ingest_date).cast("date"))
    value_names = [n for n in silver_names if n != id_rule["silver"]]
    silver_by_id = other_silver.groupBy(F.col(id_rule["silver"]).alias("_silver_id")).agg(
        F.collect_set(F.struct(*[F.col(n) for n in value_names])).alias("_silver_values")
    )
    attempts = (
        published_quarantine.where(
            (F.col("ingest_date") != F.lit(ingest_date))
            & F.col(raw_id).isNotNull()
            & (F.col(raw_id) != "")
        )
        .groupBy(F.col(raw_id).alias("_attempt_id"))
        .agg(F.countDistinct("ingest_date").alias("_attempt_dates"))
        .where(F.col("_attempt_dates") >= contract.max_attempts_other_dates)
        .select("_attempt_id", F.lit(True).alias("attempts_exceeded"))
    )

    run_values = F.struct(*[F.col(f"v_{n}").alias(n) for n in value_names])
    rows = (
        rows.join(silver_by_id, F.col(raw_id) == F.col("_silver_id"), how="left")
        .withColumn("dup_id_silver", F.col("_silver_id").isNotNull())
        .withColumn(
            "dup_row_silver",
            F.col("_silver_id").isNotNull() & F.array_contains("_silver_values", run_values),
        )
        .drop("_silver_id", "_silver_values")
        .join(attempts, F.col(raw_id) == F.col("_attempt_id"), how="left")
        .drop("_attempt_id")
    )
    # (after the joins, whose shuffle by raw id already clusters the windows' partitions)
    # Earlier valid rows of the run: ordered by (file name bytes, record); Spark
    # compares strings by their UTF-8 bytes, which is the contract's byte order.
    order = [F.col("source_file"), F.col("source_record")]
    by_id = Window.partitionBy(raw_id, "valid", v_id).orderBy(*order)
    by_key = Window.partitionBy(raw_id, "valid", *keys).orderBy(*order)
    rows = rows.withColumn(
        "dup_id_run", F.col("valid") & (F.row_number().over(by_id) > 1)
    ).withColumn("dup_row_run", F.col("valid") & (F.row_number().over(by_key) > 1))

    flag = lambda name: F.coalesce(F.col(name), F.lit(False))  # noqa: E731
    dup_row = F.col("valid") & (flag("dup_row_run") | flag("dup_row_silver"))
    dup_id = F.col("valid") & (flag("dup_id_run") | flag("dup_id_silver"))
    # Attempts only turn would-be quarantine rows into condemned ones (never MALFORMED_ROW).
    exceeded = flag("attempts_exceeded") & ~F.col("malformed")

    def codes(*names: str) -> Column:
        return F.array(*[F.lit(n) for n in names])

    destination = (
        F.when(F.col("malformed"), F.lit(QUARANTINE))
        .when(~F.col("valid") & exceeded, F.lit(CONDEMNED))
        .when(~F.col("valid"), F.lit(QUARANTINE))
        .when(dup_row, F.lit(CONDEMNED))
        .when(dup_id & exceeded, F.lit(CONDEMNED))
        .when(dup_id, F.lit(QUARANTINE))
        .otherwise(F.lit(SILVER))
    )
    error_codes = (
        F.when(F.col("malformed"), F.col("row_codes"))
        .when(~F.col("valid") & exceeded, codes(contract.max_attempts_exceeded))
        .when(~F.col("valid"), F.col("row_codes"))
        .when(dup_row, codes(contract.duplicate_row))
        .when(dup_id & exceeded, codes(contract.max_attempts_exceeded))
        .when(dup_id, codes(contract.duplicate_transaction_id))
        .otherwise(F.array().cast("array<string>"))
    )
    return rows.select(
        "source_file",
        "source_record",
        "malformed",
        *contract.fields,
        *contract.optional_fields,
        *keys,
        destination.alias("destination"),
        error_codes.alias("error_codes"),
    )


def silver_output(classified: DataFrame, contract: Contract, ingest_date: str, run_id: str):
    silver_names = {c["silver"]: f"v_{c['silver']}" for c in contract.source_columns}
    ts_name = contract.column("timestamp")["silver"]
    ts = F.col(silver_names[ts_name])
    # Optional columns: the trimmed value; an empty one is missing (NULL) like any empty field.
    optional = {c["silver"]: F.col(optional_record_column(c)) for c in contract.optional_columns}
    extra = {
        "ingest_date": F.lit(ingest_date).cast("date"),
        "source_file": F.col("source_file"),
        "source_record": F.col("source_record").cast("bigint"),
        "run_id": F.lit(run_id),
        # Session time zone is UTC, so these are the UTC year and month.
        "year": F.date_format(ts, "yyyy"),
        "month": F.date_format(ts, "MM"),
    }
    schema = silver_schema(contract)
    cols = []
    for field in schema.fields:
        if field.name in silver_names:
            expr = F.col(silver_names[field.name])
        elif field.name in optional:
            expr = F.when(optional[field.name] != "", optional[field.name])
        else:
            expr = extra[field.name]
        cols.append(expr.cast(field.dataType).alias(field.name))
    return classified.where(F.col("destination") == SILVER).select(*cols)


def rejected_output(
    classified: DataFrame,
    contract: Contract,
    destination: str,
    ingest_date: str,
    run_id: str,
) -> DataFrame:
    table = f"{destination}_transactions"
    extra = {
        "error_codes": F.col("error_codes"),
        "source_file": F.col("source_file"),
        "source_record": F.col("source_record"),
        "run_id": F.lit(run_id),
        "ingest_date": F.lit(ingest_date),
        # Optional columns: the raw (trimmed) value, like the required fields.
        **{c["field"]: F.col(optional_record_column(c)) for c in contract.optional_columns},
    }
    schema = quarantine_schema(contract, table)
    cols = [
        (F.col(f.name) if f.name in contract.fields else extra[f.name])
        .cast(f.dataType)
        .alias(f.name)
        for f in schema.fields
    ]
    return classified.where(F.col("destination") == destination).select(*cols)


def compute_counts(classified: DataFrame, contract: Contract, file_names: list[str]) -> dict:
    """The counts document the quality gate reconciles against (SPEC section 3)."""
    by_dest = {r[0]: r[1] for r in classified.groupBy("destination").count().collect()}
    reasons = {
        r[0]: r[1]
        for r in classified.select(F.explode("error_codes").alias("code"))
        .groupBy("code")
        .count()
        .collect()
    }
    by_file = {r[0]: r[1] for r in classified.groupBy("source_file").count().collect()}
    ts = F.col(f"v_{contract.column('timestamp')['silver']}")
    months = [
        r[0]
        for r in classified.where(F.col("destination") == SILVER)
        .select(F.date_format(ts, "yyyy-MM").alias("m"))
        .distinct()
        .collect()
    ]
    return {
        "read": sum(by_dest.values()),
        SILVER: by_dest.get(SILVER, 0),
        "quarantined": by_dest.get(QUARANTINE, 0),
        CONDEMNED: by_dest.get(CONDEMNED, 0),
        "reasons": dict(sorted(reasons.items())),
        "read_by_file": {n: by_file.get(n, 0) for n in sorted(set(file_names) | set(by_file))},
        "silver_months": sorted(months),
    }


# --------------------------------------------------------------------------- I/O


def join_path(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *[p.strip("/") for p in parts]])


def path_exists(spark: SparkSession, path: str) -> bool:
    # Hadoop FileSystem works for s3:// (EMRFS in Glue) and local paths alike.
    jvm = spark.sparkContext._jvm
    jpath = jvm.org.apache.hadoop.fs.Path(path)
    fs = jpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return bool(fs.exists(jpath))


def read_published(spark: SparkSession, path: str, schema: T.StructType) -> DataFrame:
    """Read a published table, or an empty one when it does not exist yet."""
    if not path_exists(spark, path):
        return spark.createDataFrame([], schema)
    # Explicit schema: an existing but empty prefix reads as empty instead of failing
    # schema inference, and partition values stay strings.
    return spark.read.schema(schema).parquet(path)


def read_landing(spark: SparkSession, staging_root: str, run_id: str) -> dict[str, Any]:
    path = join_path(staging_root, "runs", run_id, "landing.json")
    return json.loads(spark.read.text(path, wholetext=True).first()[0])


# Below this many records (the landing check's count) a file is parsed whole in Python: the
# line reader's two extra passes (split statistics, header) cost more than they save.
LINE_READER_MIN_RECORDS = 50_000

# File names the line reader takes as they are: no Hadoop glob characters (Spark's file
# readers expand them) and not hidden (names starting with "_" or "." are skipped by listings).
_LINE_READER_NAME = re.compile(r"[^_.{}\[\]*?\\,][^{}\[\]*?\\,]*")

# One RFC 4180 field, preceded by its delimiter (the line is read with a leading comma so no
# match is empty): a quoted field, or an unquoted one (a quote inside it is literal).
_FIELD_RE = r',("(?:[^"]|"")*"|[^,"][^,]*|)'


def line_fields(line: Column) -> Column:
    """The fields of a single-line CSV record, as Python's csv module reads them.

    Lines without a quote are split on commas; the rare line with one goes through the
    RFC 4180 field pattern and is unquoted. Both run in the JVM, so no row crosses to Python.
    """
    unquote = F.transform(
        F.regexp_extract_all(F.concat(F.lit(","), line), F.lit(_FIELD_RE), 1),
        lambda f: F.when(
            f.startswith('"'), F.regexp_replace(f.substr(F.lit(2), F.length(f) - 2), '""', '"')
        ).otherwise(f),
    )
    return F.when(F.instr(line, '"') > 0, unquote).otherwise(F.split(line, ",", -1))


def read_lines_file(
    spark: SparkSession, path: str, name: str, contract: Contract
) -> DataFrame | None:
    """Records of one landed file read as lines, in parallel splits, in the JVM.

    Returns None when a record of the file spans lines (a quoted line break): then only a
    whole-file parse can tell records apart (``read_records`` falls back to it). Records are
    numbered in file order from the splits' byte offsets and the row positions within them.
    """
    if not path_exists(spark, path):
        raise FileNotFoundError(f"bronze file not found: {path}")
    lines = (
        spark.read.text(path)
        .where(F.col("value") != "")  # completely empty lines are not records
        .select(
            F.col("value").alias("line"),
            F.input_file_block_start().alias("block"),
            F.monotonically_increasing_id().alias("position"),
        )
    )
    # A record that continues on the next line leaves an odd number of quotes on its first line.
    odd_quotes = (F.length(F.col("line")) - F.length(F.regexp_replace("line", '"', ""))) % 2 == 1
    blocks = (
        lines.groupBy("block")
        .agg(
            F.count(F.lit(1)).alias("records"),
            F.min("position").alias("first"),
            F.max(odd_quotes.cast("int")).alias("odd"),
        )
        .orderBy("block")
        .collect()
    )
    if not blocks:
        return spark.createDataFrame([], records_schema(contract))
    if any(b["odd"] for b in blocks):
        return None
    # The n-th record of the file is position - first + the records of the earlier splits.
    offsets: list[Any] = []
    before = 0
    for b in blocks:
        offsets += [F.lit(b["block"]), F.lit(before - b["first"])]
        before += b["records"]
    numbered = lines.select(
        "line",
        (F.col("position") + F.element_at(F.create_map(*offsets), F.col("block"))).alias("n"),
    )
    header_line = numbered.where(F.col("n") == 0).first()[0]
    if not header_line.lstrip("\ufeff"):
        return None  # a BOM on a line of its own: the whole-file parse drops it with the line
    header = csv_records(header_line.encode("utf-8"))[0]
    names = [c["name"] for c in contract.source_columns]
    optional_names = [c["name"] for c in contract.optional_columns]
    index, optional_index = header_indexes(name, header, names, optional_names)
    fields = F.col("fields")

    def value(i: int | None) -> Column:
        if i is None:
            return F.lit(None).cast("string")
        return F.when(F.size(fields) > i, F.expr(f"trim(BOTH ' \t' FROM fields[{i}])"))

    return (
        numbered.where(F.col("n") > 0)
        .select(F.col("n").alias("source_record"), line_fields(F.col("line")).alias("fields"))
        .select(
            F.lit(name).alias("source_file"),
            "source_record",
            (F.size(fields) != len(header)).alias("malformed"),
            *[value(index[c]).alias(f) for c, f in zip(names, contract.fields, strict=True)],
            *[
                value(i).alias(f)
                for i, f in zip(optional_index, contract.optional_fields, strict=True)
            ],
        )
    )


def read_records(
    spark: SparkSession,
    bronze_root: str,
    files: list[dict[str, Any]],
    contract: Contract,
) -> DataFrame:
    schema = records_schema(contract)
    if not files:
        return spark.createDataFrame([], schema)
    frames: list[DataFrame] = []
    whole: list[dict[str, Any]] = []
    for f in files:
        base = f["key"].rpartition("/")[2]
        fast = (
            read_lines_file(spark, join_path(bronze_root, f["key"]), f["name"], contract)
            if _LINE_READER_NAME.fullmatch(base) and f.get("records", 0) >= LINE_READER_MIN_RECORDS
            else None
        )
        if fast is None:
            whole.append(f)
        else:
            frames.append(fast.select(*[F.col(c.name).cast(c.dataType) for c in schema.fields]))
    if whole:
        frames.append(read_whole_files(spark, bronze_root, whole, contract))
    result = frames[0]
    for frame in frames[1:]:
        result = result.unionByName(frame)
    return result


def read_whole_files(
    spark: SparkSession,
    bronze_root: str,
    files: list[dict[str, Any]],
    contract: Contract,
) -> DataFrame:
    """Each file parsed whole by Python's csv module (records may span lines)."""
    schema = records_schema(contract)
    # Read whole directories and keep the listed files: binaryFiles takes a
    # comma-separated glob, so passing file names with ',', '[' or '{' would misread.
    wanted: dict[str, dict[str, str]] = {}
    for f in files:
        directory, _, base = join_path(bronze_root, f["key"]).rpartition("/")
        wanted.setdefault(directory, {})[base] = f["name"]
    names = [c["name"] for c in contract.source_columns]
    optional_names = [c["name"] for c in contract.optional_columns]
    sc = spark.sparkContext
    rdds = []
    for directory, bases in sorted(wanted.items()):
        lookup = sc.broadcast(bases)

        def parse(item, lookup=lookup):
            path, data = item
            base = path.rpartition("/")[2]
            name = lookup.value.get(base)
            if name is None:
                return []
            set_csv_field_limit()
            return parse_file(name, data, names, optional_names)

        def found(item, lookup=lookup):
            return item[0].rpartition("/")[2] in lookup.value

        files_rdd = sc.binaryFiles(directory)
        seen = set(files_rdd.filter(found).keys().map(lambda p: p.rpartition("/")[2]).collect())
        missing = sorted(set(bases) - seen)
        if missing:
            # Hadoop input formats skip names starting with '_' or '.' (hidden files): read
            # those through the file system API instead, so no landed file is ever dropped.
            hidden = [
                (f"{directory}/{base}", read_bytes(spark, f"{directory}/{base}"))
                for base in missing
            ]
            rdds.append(sc.parallelize(hidden, len(hidden)).flatMap(parse))
        rdds.append(files_rdd.flatMap(parse))
    return spark.createDataFrame(sc.union(rdds), schema)


def read_bytes(spark: SparkSession, path: str) -> bytes:
    """The bytes of one file through Hadoop's FileSystem (s3:// in Glue, local paths here)."""
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(hadoop_path):
        raise FileNotFoundError(f"bronze file not found: {path}")
    stream = fs.open(hadoop_path)
    try:
        return bytes(jvm.org.apache.commons.io.IOUtils.toByteArray(stream))
    finally:
        stream.close()


def write_outputs(
    spark: SparkSession,
    classified: DataFrame,
    contract: Contract,
    out_root: str,
    ingest_date: str,
    run_id: str,
    file_names: list[str],
) -> dict:
    # One file per partition: a date's rows of a month are few, and small files slow every reader.
    silver_keys = [p["name"] for p in contract.table_partitions("silver_transactions")]
    silver_output(classified, contract, ingest_date, run_id).repartition(*silver_keys).write.mode(
        "overwrite"
    ).partitionBy(*silver_keys).parquet(join_path(out_root, "silver"))
    for dest in (QUARANTINE, CONDEMNED):
        keys = [p["name"] for p in contract.table_partitions(f"{dest}_transactions")]
        rejected_output(classified, contract, dest, ingest_date, run_id).repartition(
            *keys
        ).write.mode("overwrite").partitionBy(*keys).parquet(join_path(out_root, dest))
    counts = compute_counts(classified, contract, file_names)
    spark.createDataFrame([(json.dumps(counts, sort_keys=True),)], "value string").coalesce(
        1
    ).write.mode("overwrite").text(join_path(out_root, "counts"))
    return counts


def run_job(spark: SparkSession, args: dict[str, str]) -> dict:
    contract = load_contract(args["contract"])
    run_id, ingest_date = args["run_id"], args["ingest_date"]
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", ingest_date):
        raise ValueError(f"ingest_date must be YYYY-MM-DD, got {ingest_date!r}")
    landing = read_landing(spark, args["staging_root"], run_id)
    files = landing.get("files") or []
    records = read_records(spark, args["bronze_root"], files, contract)
    published_silver = read_published(
        spark, join_path(args["silver_root"], "transactions"), silver_schema(contract)
    )
    published_quarantine = read_published(
        spark,
        join_path(args["quarantine_root"], "transactions"),
        quarantine_schema(contract),
    )
    classified = classify(
        records, published_silver, published_quarantine, contract, ingest_date
    ).persist()
    try:
        out_root = join_path(args["staging_root"], "runs", run_id)
        return write_outputs(
            spark,
            classified,
            contract,
            out_root,
            ingest_date,
            run_id,
            [f["name"] for f in files],
        )
    finally:
        classified.unpersist()


# --------------------------------------------------------------------------- entry point

SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MILLIS",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    # Dates before 1582 must be written/read as proleptic Gregorian (what Athena and
    # DuckDB use); Spark's default EXCEPTION would fail the run on such a timestamp.
    "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
    "spark.sql.parquet.datetimeRebaseModeInRead": "CORRECTED",
    # Overwrite replaces the whole staged output directory of the run.
    "spark.sql.sources.partitionOverwriteMode": "static",
}


def _in_glue() -> bool:
    try:
        import awsglue.utils  # noqa: F401
    except ImportError:
        return False
    return True


def parse_args(argv: list[str]) -> dict[str, str]:
    if _in_glue():
        from awsglue.utils import getResolvedOptions

        # getResolvedOptions skips argv[0] (the script name).
        return getResolvedOptions(["txlake_job", *argv], list(JOB_ARGS))
    parser = argparse.ArgumentParser(prog="txlake_job")
    for name in JOB_ARGS:
        parser.add_argument(f"--{name}", required=True)
    parsed, _unknown = parser.parse_known_args(argv)
    return vars(parsed)


def get_spark() -> SparkSession:
    if _in_glue():
        spark = SparkSession.builder.getOrCreate()
    else:
        # Workers must run the driver's interpreter (same Python and pyspark).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = (
            SparkSession.builder.master("local[*]")
            .appName("txlake_job")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.default.parallelism", "4")
            .config("spark.driver.memory", "2g")
        )
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("WARN")
        # No .crc side files in the local lake: everything under a prefix is data.
        sc = spark.sparkContext
        sc._jvm.org.apache.hadoop.fs.FileSystem.getLocal(
            sc._jsc.hadoopConfiguration()
        ).setWriteChecksum(False)
    for key, value in SESSION_CONF.items():
        spark.conf.set(key, value)
    return spark


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    spark = get_spark()
    counts = run_job(spark, args)
    print(json.dumps(counts, sort_keys=True), file=sys.stderr)
    return counts


if __name__ == "__main__":
    main()
    SparkSession.builder.getOrCreate().stop()
