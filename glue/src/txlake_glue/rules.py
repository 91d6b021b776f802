"""The row rules of the contract: typed silver values and row codes, evaluated in Spark."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from txlake_glue.contract import Contract

# Valid UTC instants: 0001-01-01T00:00:00.000Z .. 9999-12-31T23:59:59.999Z, so the
# year partition is always four digits and every engine can represent the value.
MIN_EPOCH_MS = -62135596800000
MAX_EPOCH_MS = 253402300799999


def java_full_match(pattern: str) -> str:
    """Make a trailing ``$`` mean end of input in Java regex.

    Java's ``$`` also matches before a final line terminator, so ``"12\\n"`` would pass
    ``^[0-9]+$``; a quoted CSV field can end in a newline that trimming keeps.
    """
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + "\\z"
    return pattern


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
    rewritten = tmp["y"] + "_rewritten"
    df = df.withColumn(rewritten, F.regexp_replace(c, p, template))
    # A rewritten value matched; an unchanged one is matched against the pattern (only then, so
    # a valid value goes through the regex once): together exactly the values the pattern finds.
    matched = (F.col(rewritten) != c) | c.rlike(p)
    df = df.withColumn(tmp["y"] + "_all", F.when(matched, F.split(F.col(rewritten), r"\|")))
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
    return df.drop(*tmp.values(), rewritten, tmp["y"] + "_all", f"_{out}_ms")


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
        # Each column's code as an array of at most one, and those joined: filtering NULLs out
        # of one array takes a lambda, which would leave Spark's generated code for the whole
        # projection.
        codes.append(
            F.when(_missing(raw), F.array(F.lit(col["missingCode"])))
            .when(F.col(out).isNull(), F.array(F.lit(col["invalidCode"])))
            .otherwise(F.array().cast("array<string>"))
        )
    column_codes = F.concat(*codes)
    row_codes = F.when(F.col("malformed"), F.array(F.lit(contract.malformed_row))).otherwise(
        column_codes
    )
    return df.withColumn("row_codes", row_codes)
