"""Plain-Python RFC 4180 parsing of landed files into records (runs on the Spark workers too)."""

from __future__ import annotations

import csv
import io
from typing import Any

# Trims only spaces and tabs (the contract's notion of surrounding blanks).
BLANKS = " \t"


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
