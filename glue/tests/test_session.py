"""The local Spark's JVM profile (TXLAKE_SPARK_JVM): named profiles only, and the JVM runs it."""

from __future__ import annotations

import os

import pytest

from txlake_glue.session import SPARK_JVM_ENV, SPARK_JVM_PROFILES, jvm_options


def test_profiles_and_an_unknown_one_is_refused():
    assert jvm_options("default") == ""
    assert jvm_options("small-runs") == "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
    with pytest.raises(
        ValueError, match=r"TXLAKE_SPARK_JVM must be one of \['default', 'small-runs'\], got 'fast'"
    ):
        jvm_options("fast")


def test_the_running_jvm_has_the_profile_the_environment_names(spark):
    # conftest sets small-runs for the test run (unless the environment already names one)
    expected = SPARK_JVM_PROFILES[os.environ[SPARK_JVM_ENV]].split()
    runtime = spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    arguments = [str(a) for a in runtime.getInputArguments()]
    assert [a for a in expected if a not in arguments] == []
