"""The Spark session of a job run: Glue's own, or a local one configured like it.

Locally one process may serve many job runs (runner/local/glue_job_host.py), possibly on
different lakes. Spark reads its jars and static settings (the Iceberg SQL extensions) only when
the JVM starts, so a *base* session is created once; every run then gets ``base.newSession()``
with its own SQL settings (the Iceberg catalog on the run's lake, from ``TXLAKE_SPARK_CONF``).
A new session builds its catalogs afresh, so no catalog of one lake outlives its run.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from pyspark.sql import SparkSession

# The per-run Spark SQL settings (a JSON object), set by the local Glue stand-in for each run.
SPARK_CONF_ENV = "TXLAKE_SPARK_CONF"
# The jars Glue adds for --datalake-formats iceberg (comma-separated), read when Spark starts.
SPARK_JARS_ENV = "TXLAKE_SPARK_JARS"
# The local Spark JVM's profile, read when Spark starts (README, under the CLI reference).
# "small-runs": the client compiler only and a single-threaded collector. For runs of thousands
# of rows it needs about 40 % less CPU (the demo: 25 s of CPU instead of 43-49 s) and a 1 M-row
# day takes as long, but a 5 M-row day twice as long: the local runner sets it for small
# executions only (runner/local/local-glue.ts, sparkJvmProfile), the test suite for all its runs.
SPARK_JVM_ENV = "TXLAKE_SPARK_JVM"
SPARK_JVM_PROFILES = {
    "default": "",
    "small-runs": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
}
# Where scripts/setup.sh leaves that classpath (':'-separated), for runs without the variable.
CLASSPATH_FILE = Path("tools") / "iceberg-runtime" / "target" / "classpath.txt"
ICEBERG_EXTENSIONS = "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"

SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MILLIS",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    # Dates before 1582 must be written/read as proleptic Gregorian (what Athena and
    # DuckDB use); Spark's default EXCEPTION would fail the run on such a timestamp.
    "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
    "spark.sql.parquet.datetimeRebaseModeInRead": "CORRECTED",
    # Overwrite replaces the whole output directory (the counts document of a run).
    "spark.sql.sources.partitionOverwriteMode": "static",
}


def in_glue() -> bool:
    try:
        import awsglue.utils  # noqa: F401
    except ImportError:
        return False
    return True


def _local_jars() -> str:
    jars = os.environ.get(SPARK_JARS_ENV)
    if jars:
        return jars
    # glue/src/txlake_glue/session.py -> the repository root (pytest, a run by hand).
    classpath = Path(__file__).resolve().parents[3] / CLASSPATH_FILE
    if not classpath.is_file():
        raise RuntimeError(
            f"no Iceberg runtime for Spark: set {SPARK_JARS_ENV} or run npm run setup "
            f"(expected {classpath})"
        )
    return ",".join(p for p in classpath.read_text(encoding="utf-8").strip().split(":") if p)


# Iceberg's vectorized (Arrow) Parquet reader crashes the local JVM (SIGSEGV in its shaded netty
# direct buffers) when a run reads back a table of ~100k rows on plain Java 17; Glue's JVM runs
# it. The row-based reader returns the same rows, so local mode reads with it.
LOCAL_ONLY_CONF = {"spark.sql.iceberg.vectorization.enabled": "false"}


def jvm_options(profile: str) -> str:
    """The JVM options of a ``TXLAKE_SPARK_JVM`` profile; an unknown one is refused."""
    if profile not in SPARK_JVM_PROFILES:
        raise ValueError(
            f"{SPARK_JVM_ENV} must be one of {sorted(SPARK_JVM_PROFILES)}, got {profile!r}"
        )
    return SPARK_JVM_PROFILES[profile]


def _base_session() -> SparkSession:
    """The process's one local Spark (JVM, jars, static settings); created on first use."""
    active = SparkSession._instantiatedSession
    if active is not None and active._sc._jsc is not None:
        return active
    # Workers must run the driver's interpreter (same Python and pyspark).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master("local[*]")
        .appName("txlake_job")
        .config("spark.jars", _local_jars())
        .config("spark.sql.extensions", ICEBERG_EXTENSIONS)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .config("spark.driver.memory", "2g")
    )
    java_options = jvm_options(os.environ.get(SPARK_JVM_ENV) or "default")
    if java_options:
        builder = builder.config("spark.driver.extraJavaOptions", java_options)
    for key, value in {**SESSION_CONF, **LOCAL_ONLY_CONF}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    # No .crc side files in the local lake (Iceberg's files included): everything under a
    # table's location is data or metadata, and remove_orphan_files finds no strays.
    sc = spark.sparkContext
    sc._jvm.org.apache.hadoop.fs.FileSystem.getLocal(
        sc._jsc.hadoopConfiguration()
    ).setWriteChecksum(False)
    return spark


def run_spark_conf() -> dict[str, str]:
    """The run's own Spark SQL settings (``TXLAKE_SPARK_CONF``), empty when not set."""
    text = os.environ.get(SPARK_CONF_ENV, "").strip()
    conf = json.loads(text) if text else {}
    if not isinstance(conf, dict):
        raise ValueError(f"{SPARK_CONF_ENV} must be a JSON object, got {text!r}")
    return {str(k): str(v) for k, v in conf.items()}


def get_spark() -> SparkSession:
    """A session for one job run: Glue's (it applies the job's --conf), or a fresh local one."""
    if in_glue():
        spark = SparkSession.builder.getOrCreate()
    else:
        spark = _base_session().newSession()
        for key, value in {**LOCAL_ONLY_CONF, **run_spark_conf()}.items():
            spark.conf.set(key, value)
        # Spark and Iceberg look some things up through the active session (procedures,
        # actions); it must be this run's, with this run's catalog.
        spark._jvm.SparkSession.setActiveSession(spark._jsparkSession)
        SparkSession._activeSession = spark
    for key, value in SESSION_CONF.items():
        spark.conf.set(key, value)
    return spark


@contextmanager
def session_conf(spark: SparkSession, settings: Mapping[str, str]) -> Iterator[None]:
    """The run's session with ``settings`` for the duration of the block, then as before."""
    before = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def end_run(spark: SparkSession) -> None:
    """Locally: closes the run's catalogs (their JDBC connections to the lake's catalog.db).

    A session is used for one run only; without this every run of a long-lived host would leave
    a connection pool open. In Glue the process ends with the run.
    """
    if in_glue():
        return
    jvm = spark._jvm
    manager = spark._jsparkSession.sessionState().catalogManager()
    for key in run_spark_conf():
        parts = key.split(".")
        # A catalog's own key: spark.sql.catalog.<name>
        if len(parts) != 4 or parts[:3] != ["spark", "sql", "catalog"]:
            continue
        try:
            _close_catalog(jvm, manager.catalog(parts[3]))
        except Exception as error:  # (must not hide the run's own outcome)
            print(f"closing catalog {parts[3]} failed: {error}", file=sys.stderr)


def _close_catalog(jvm, catalog) -> None:
    # Iceberg's classes come with spark.jars, in the loader of the catalog's own class.
    loader = catalog.getClass().getClassLoader()

    def is_a(obj, class_name: str) -> bool:
        return bool(jvm.java.lang.Class.forName(class_name, False, loader).isInstance(obj))

    if is_a(catalog, "org.apache.iceberg.spark.source.HasIcebergCatalog"):
        inner = catalog.icebergCatalog()
        if is_a(inner, "java.io.Closeable"):
            inner.close()
