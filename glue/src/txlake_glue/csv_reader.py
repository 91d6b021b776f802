"""The landed (bronze) files of a run as records: a parallel line reader in the JVM for large
files, and a whole-file parse in Python (``csv_parse``) for the rest."""

from __future__ import annotations

import re
from typing import Any

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from txlake_glue.contract import Contract, records_schema
from txlake_glue.csv_parse import (
    BLANKS,
    csv_records,
    header_indexes,
    parse_file,
    set_csv_field_limit,
)
from txlake_glue.storage import join_path, path_exists, read_bytes

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
    """The fields of a single-line CSV record as they stand: a quoted field keeps its quotes.

    Lines without a quote are split on commas; the rare line with one goes through the RFC 4180
    field pattern. ``unquoted`` then gives each field as Python's csv module reads it. Both run
    in the JVM (and in Spark's generated code: a lambda over the array would leave it), so no
    row crosses to Python.
    """
    quoted = F.regexp_extract_all(F.concat(F.lit(","), line), F.lit(_FIELD_RE), 1)
    return F.when(line.contains('"'), quoted).otherwise(F.split(line, ",", -1))


def unquoted(field: Column) -> Column:
    """A field of ``line_fields`` as Python's csv module reads it (a quoted one unquoted).

    Only a field of a line with a quote can start with one, and then it is a quoted field.
    """
    inner = field.substr(F.lit(2), F.length(field) - 2)
    return F.when(field.startswith('"'), F.regexp_replace(inner, '""', '"')).otherwise(field)


def trimmed(field: Column) -> Column:
    """``field`` without surrounding spaces and tabs (``BLANKS``), as ``csv_parse`` trims.

    Spark's trim of a set of characters allocates per value; trimming spaces only does not, and
    is the same for a value without a tab.
    """
    return F.when(field.contains("\t"), F.btrim(field, F.lit(BLANKS))).otherwise(F.trim(field))


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
    # (counted only on lines with a quote: most have none)
    quotes = F.length(F.col("line")) - F.length(F.translate(F.col("line"), '"', ""))
    odd_quotes = F.col("line").contains('"') & (quotes % 2 == 1)
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
        return F.when(F.size(fields) > i, unquoted(fields[i]))

    columns = [*contract.fields, *contract.optional_fields]
    indexes = [*[index[c] for c in names], *optional_index]
    return (
        numbered.where(F.col("n") > 0)
        .select(F.col("n").alias("source_record"), line_fields(F.col("line")).alias("fields"))
        .select(
            F.lit(name).alias("source_file"),
            "source_record",
            (F.size(fields) != len(header)).alias("malformed"),
            *[value(i).alias(f) for i, f in zip(indexes, columns, strict=True)],
        )
        # (trimmed in a projection of its own: each value is unquoted once)
        .select(
            "source_file",
            "source_record",
            "malformed",
            *[trimmed(F.col(f)).alias(f) for f in columns],
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
