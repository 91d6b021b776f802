"""The run's outputs as DataFrames (silver, quarantine and condemned rows) and its counts."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from txlake_glue.classify import CONDEMNED, QUARANTINE, SILVER
from txlake_glue.contract import Contract, optional_record_column, quarantine_schema, silver_schema


def silver_output(classified: DataFrame, contract: Contract, ingest_date: str, run_id: str):
    silver_names = {c["silver"]: f"v_{c['silver']}" for c in contract.source_columns}
    # Optional columns: the trimmed value; an empty one is missing (NULL) like any empty field.
    optional = {c["silver"]: F.col(optional_record_column(c)) for c in contract.optional_columns}
    extra = {
        "ingest_date": F.lit(ingest_date).cast("date"),
        "source_file": F.col("source_file"),
        "source_record": F.col("source_record").cast("bigint"),
        "run_id": F.lit(run_id),
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


def staged_rows(classified: DataFrame, contract: Contract) -> DataFrame:
    """Only what the outputs and the counts read of ``classify``'s rows, for the run's cache.

    A silver row keeps its typed values (``v_*``), a quarantine or condemned row its raw fields;
    the other side is NULL (never read for that destination), which makes the cached rows
    smaller. ``silver_output``, ``rejected_output`` and ``compute_counts`` give the same result
    on these rows as on the classified ones.
    """
    silver = F.col("destination") == F.lit(SILVER)
    typed = [f"v_{c['silver']}" for c in contract.source_columns]
    return classified.select(
        "source_file",
        "source_record",
        *[F.when(~silver, F.col(f)).alias(f) for f in contract.fields],
        *contract.optional_fields,
        *[F.when(silver, F.col(v)).alias(v) for v in typed],
        "destination",
        "error_codes",
    )


def compute_counts(classified: DataFrame, contract: Contract, file_names: list[str]) -> dict:
    """The counts document the quality gate reconciles against (SPEC section 3).

    One aggregation over the rows (one job): rows by destination, file, silver month and codes.
    """
    ts = F.col(f"v_{contract.column('timestamp')['silver']}")
    silver = F.col("destination") == F.lit(SILVER)
    groups = (
        classified.groupBy(
            "destination",
            "source_file",
            F.when(silver, F.date_format(ts, "yyyy-MM")).alias("month"),
            "error_codes",
        )
        .count()
        .collect()
    )
    by_dest: dict[str, int] = {}
    by_file: dict[str, int] = {}
    reasons: dict[str, int] = {}
    months: set = set()
    for destination, source_file, month, codes, n in groups:
        by_dest[destination] = by_dest.get(destination, 0) + n
        by_file[source_file] = by_file.get(source_file, 0) + n
        for code in codes or []:
            reasons[code] = reasons.get(code, 0) + n
        if destination == SILVER:
            months.add(month)
    return {
        "read": sum(by_dest.values()),
        SILVER: by_dest.get(SILVER, 0),
        "quarantined": by_dest.get(QUARANTINE, 0),
        CONDEMNED: by_dest.get(CONDEMNED, 0),
        "reasons": dict(sorted(reasons.items())),
        "read_by_file": {n: by_file.get(n, 0) for n in sorted(set(file_names) | set(by_file))},
        "silver_months": sorted(months),
    }


def to_table_columns(rows: DataFrame, table: T.StructType, table_name: str) -> DataFrame:
    """``rows`` in the column order of the table they are written to.

    The contract evolves additively: a table may have columns the run's contract does not know
    yet (written as NULL), but a column the table lacks is an error (the table must be evolved
    first), never dropped silently.
    """
    unknown = [c for c in rows.columns if c not in table.fieldNames()]
    if unknown:
        raise ValueError(f"table {table_name} lacks the columns {unknown}: evolve the table first")
    return rows.select(
        *[
            (F.col(f.name) if f.name in rows.columns else F.lit(None))
            .cast(f.dataType)
            .alias(f.name)
            for f in table.fields
        ]
    )


def silver_history(
    published_silver: DataFrame, contract: Contract, ingest_date: str, date_published: bool
) -> dict:
    """What the run replaces in published silver, for the gold refresh's first month.

    ``replaced_silver_months``: the months of the date's published rows (a rerun replaces them);
    ``latest_silver_month``: the latest month silver held before the run (None when empty).
    ``date_published``: False when the table's metadata says silver holds no row of the date
    (then there is nothing to look for).
    """
    ts = F.col(contract.column("timestamp")["silver"])
    replaced = []
    if date_published:
        # Session time zone is UTC, so these are UTC months.
        of_date = published_silver.where(F.col("ingest_date") == F.lit(ingest_date).cast("date"))
        months = of_date.select(F.date_format(ts, "yyyy-MM")).distinct().collect()
        replaced = [r[0] for r in months]
    # max() of the column itself: Iceberg answers it from the files' column statistics.
    latest = published_silver.select(F.date_format(F.max(ts), "yyyy-MM")).first()[0]
    return {"replaced_silver_months": sorted(replaced), "latest_silver_month": latest}
