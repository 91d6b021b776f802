"""Paths and files through Hadoop's FileSystem: s3:// (EMRFS) in Glue, local paths here."""

from __future__ import annotations

import json
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T


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


def read_json(spark: SparkSession, path: str) -> dict[str, Any]:
    return json.loads(spark.read.text(path, wholetext=True).first()[0])


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
