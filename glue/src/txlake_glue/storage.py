"""Paths and files through Hadoop's FileSystem: s3:// (EMRFS) in Glue, local paths here."""

from __future__ import annotations

import json
from typing import Any

from pyspark.sql import SparkSession


def join_path(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *[p.strip("/") for p in parts]])


def _fs_path(spark: SparkSession, path: str):
    """Hadoop's FileSystem and Path for ``path``: s3:// (EMRFS in Glue) and local paths alike."""
    jpath = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(path)
    return jpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), jpath


def path_exists(spark: SparkSession, path: str) -> bool:
    fs, jpath = _fs_path(spark, path)
    return bool(fs.exists(jpath))


def list_files(spark: SparkSession, root: str) -> list[str]:
    """Every file under ``root`` (recursively), as full paths; none when it does not exist."""
    fs, jpath = _fs_path(spark, root)
    if not fs.exists(jpath):
        return []
    found = fs.listFiles(jpath, True)
    files = []
    while found.hasNext():
        files.append(str(found.next().getPath().toString()))
    return sorted(files)


def delete_tree(spark: SparkSession, root: str) -> int:
    """Deletes every file under ``root`` (recursively); returns how many there were."""
    files = list_files(spark, root)
    fs, jpath = _fs_path(spark, root)
    if fs.exists(jpath):
        fs.delete(jpath, True)
    return len(files)


def write_text(spark: SparkSession, path: str, text: str) -> None:
    """Writes one object/file at ``path`` (replacing it): a document other steps read by key."""
    fs, jpath = _fs_path(spark, path)
    stream = fs.create(jpath, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def read_text(spark: SparkSession, path: str) -> str | None:
    """The text at ``path``, or None when there is none."""
    if not path_exists(spark, path):
        return None
    return read_bytes(spark, path).decode("utf-8")


def read_json(spark: SparkSession, path: str) -> dict[str, Any]:
    return json.loads(read_bytes(spark, path).decode("utf-8"))


def read_bytes(spark: SparkSession, path: str) -> bytes:
    """The bytes of one file through Hadoop's FileSystem (s3:// in Glue, local paths here)."""
    fs, hadoop_path = _fs_path(spark, path)
    if not fs.exists(hadoop_path):
        raise FileNotFoundError(f"file not found: {path}")
    stream = fs.open(hadoop_path)
    try:
        return bytes(spark.sparkContext._jvm.org.apache.commons.io.IOUtils.toByteArray(stream))
    finally:
        stream.close()
