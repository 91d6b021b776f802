"""The data contract (``--contract``) in the checked form the job uses, and its tables' schemas."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pyspark.sql import types as T

# Structural codes that are not tied to a source column. They are looked up in
# the contract (and fail fast when a contract lacks them) rather than trusted blindly.
MALFORMED_ROW = "MALFORMED_ROW"
DUPLICATE_TRANSACTION_ID = "DUPLICATE_TRANSACTION_ID"
DUPLICATE_ROW = "DUPLICATE_ROW"
MAX_ATTEMPTS_EXCEEDED = "MAX_ATTEMPTS_EXCEEDED"


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
        """Every column of the table's data files, in order (partition sources included)."""
        return self.raw["tables"][table]["columns"]


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


def _ddl(columns: list[dict[str, str]]) -> str:
    return ", ".join(f"`{c['name']}` {c['type']}" for c in columns)


def table_schema(contract: Contract, table: str) -> T.StructType:
    """The Spark schema of a contract table (Spark's timestamp is Iceberg's timestamptz)."""
    return T._parse_datatype_string(_ddl(contract.table_columns(table)))


def silver_schema(contract: Contract) -> T.StructType:
    return table_schema(contract, "silver_transactions")


def quarantine_schema(contract: Contract, table: str = "quarantine_transactions") -> T.StructType:
    return table_schema(contract, table)


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
