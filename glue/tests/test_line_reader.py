"""The parallel line reader gives exactly the records of the whole-file Python parse."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from txlake_glue import csv_reader

DATE = "2024-01-16"
HEADER = ["TransactionID", "CustomerID", "TransactionAmount", "Currency", "TransactionTimestamp"]

# Characters that matter to CSV and to trimming; no line breaks (those take the whole-file path).
field = st.text(alphabet=list('ab,"é \t\x00;x1'), max_size=6)
record = st.lists(field, min_size=1, max_size=7)


def render(
    header: list[str], records: list[list[str]], eol: str, blank_every: int, bom: bool
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=eol, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    for i, rec in enumerate(records, start=1):
        if rec == [""]:
            rec = ['""']  # csv.writer would write an empty line, which is not a record
            out.write('""' + eol)
        else:
            writer.writerow(rec)
        if blank_every and i % blank_every == 0:
            out.write(eol)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def both_readers(spark, contract, tmp_path: Path, name: str, data: bytes):
    key = f"transactions/ingest_date={DATE}/{name}"
    path = tmp_path / "bronze" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    fast = csv_reader.read_lines_file(spark, str(path), name, contract)
    whole = csv_reader.read_whole_files(
        spark, str(tmp_path / "bronze"), [{"name": name, "key": key}], contract
    )
    rows = lambda df: sorted(tuple(r) for r in df.collect())  # noqa: E731
    return (None if fast is None else rows(fast)), rows(whole)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    records=st.lists(record, max_size=12),
    header_order=st.permutations(range(5)),
    extra_column=st.booleans(),
    eol=st.sampled_from(["\n", "\r\n"]),
    blank_every=st.integers(min_value=0, max_value=3),
    bom=st.booleans(),
)
def test_line_reader_equals_whole_file_parse(
    spark, contract, tmp_path_factory, records, header_order, extra_column, eol, blank_every, bom
):
    header = [f" {HEADER[i]}\t" if i == 2 else HEADER[i] for i in header_order]
    if extra_column:
        header.insert(1, 'Note, "quoted"')
    data = render(header, records, eol, blank_every, bom)
    fast, whole = both_readers(spark, contract, tmp_path_factory.mktemp("lines"), "f.csv", data)
    assert fast == whole


def test_many_splits_are_numbered_in_file_order(spark, contract, tmp_path):
    records = [
        [f"T{i}", f"C{i % 7}", f"{i}.5", '"EUR"' if i % 5 else "eur", f"2024-01-{1 + i % 28:02d}"]
        for i in range(400)
    ]
    data = render(HEADER, records, "\r\n", 7, True)
    previous = spark.conf.get("spark.sql.files.maxPartitionBytes")
    spark.conf.set("spark.sql.files.maxPartitionBytes", "1024")
    try:
        fast, whole = both_readers(spark, contract, tmp_path, "split.csv", data)
        lines = csv_reader.read_lines_file(
            spark,
            str(tmp_path / "bronze" / "transactions" / f"ingest_date={DATE}" / "split.csv"),
            "split.csv",
            contract,
        )
        assert lines is not None and lines.rdd.getNumPartitions() >= 10
    finally:
        spark.conf.set("spark.sql.files.maxPartitionBytes", previous)
    assert fast == whole
    assert [r[1] for r in fast] == list(range(1, 401))
    assert fast[0][3:] == ("T0", "C0", "0.5", "eur", "2024-01-01")
    assert fast[1][6] == '"EUR"'


def test_a_quoted_line_break_sends_the_file_to_the_whole_file_parse(spark, contract, tmp_path):
    data = (
        b"TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n"
        b'A,"multi\nline",1,EUR,2024-01-01\n'
    )
    fast, whole = both_readers(spark, contract, tmp_path, "m.csv", data)
    assert fast is None
    assert [r[3:5] for r in whole] == [("A", "multi\nline")]
    files = [{"name": "m.csv", "key": f"transactions/ingest_date={DATE}/m.csv"}]
    read = csv_reader.read_records(spark, str(tmp_path / "bronze"), files, contract)
    assert sorted(tuple(r) for r in read.collect()) == whole


def test_a_bom_on_a_line_of_its_own_is_dropped_like_the_whole_file_parse(spark, contract, tmp_path):
    data = (
        b"\xef\xbb\xbf\nTransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\n"
        b"A,C,1,EUR,2024-01-01\n"
    )
    fast, whole = both_readers(spark, contract, tmp_path, "bom.csv", data)
    assert fast == whole == [("bom.csv", 1, False, "A", "C", "1", "EUR", "2024-01-01")]


def test_record_numbers_and_ragged_rows_match_the_spec(spark, contract, tmp_path):
    data = (
        b"TransactionID,CustomerID,TransactionAmount,Currency,TransactionTimestamp\r\n"
        b"\r\n"
        b' A1 , C1 ,"1,5",EUR,2024-01-01\r\n'
        b"A2,C2\r\n"
        b'"A""3",C3,2,"",2024-01-01,extra\r\n'
    )
    fast, whole = both_readers(spark, contract, tmp_path, "r.csv", data)
    assert fast == whole
    assert fast == [
        ("r.csv", 1, False, "A1", "C1", "1,5", "EUR", "2024-01-01"),
        ("r.csv", 2, True, "A2", "C2", None, None, None),
        ("r.csv", 3, True, 'A"3', "C3", "2", "", "2024-01-01"),
    ]


def test_read_records_takes_the_line_reader_for_large_files_only(
    spark, contract, tmp_path, monkeypatch
):
    data = render(HEADER, [["A1", "C1", "1", "EUR", "2024-01-01"], ["A2", "C2"]], "\n", 0, False)
    key = f"transactions/ingest_date={DATE}/big.csv"
    (tmp_path / "bronze" / key).parent.mkdir(parents=True)
    (tmp_path / "bronze" / key).write_bytes(data)
    calls: list[str] = []
    real = csv_reader.read_lines_file

    def spy(spark_, path, name, contract_):
        calls.append(name)
        return real(spark_, path, name, contract_)

    monkeypatch.setattr(csv_reader, "read_lines_file", spy)
    monkeypatch.setattr(csv_reader, "LINE_READER_MIN_RECORDS", 2)

    def rows(files):
        return sorted(
            tuple(r)
            for r in csv_reader.read_records(
                spark, str(tmp_path / "bronze"), files, contract
            ).collect()
        )

    small = rows([{"name": "big.csv", "key": key, "records": 1}])
    assert calls == []
    large = rows([{"name": "big.csv", "key": key, "records": 2}])
    assert calls == ["big.csv"]
    assert (
        large
        == small
        == [
            ("big.csv", 1, False, "A1", "C1", "1", "EUR", "2024-01-01"),
            ("big.csv", 2, True, "A2", "C2", None, None, None),
        ]
    )


def test_trimmed_strips_spaces_and_tabs_only(spark):
    values = [" a ", "\ta\t", " \t a \t ", "a", "", "   ", "\t", "\x01a\x01", "\xa0a\xa0", "\na\n"]
    df = spark.createDataFrame([(v,) for v in [*values, None]], "v string")
    got = [r[0] for r in df.select(csv_reader.trimmed(df["v"])).collect()]
    assert got == [*[v.strip(" \t") for v in values], None]
