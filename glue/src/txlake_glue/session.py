"""The Spark session of the job: Glue's own, or a local one configured like it."""

from __future__ import annotations

import os
import sys

from pyspark.sql import SparkSession

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


def in_glue() -> bool:
    try:
        import awsglue.utils  # noqa: F401
    except ImportError:
        return False
    return True


def get_spark() -> SparkSession:
    if in_glue():
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
