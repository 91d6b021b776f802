"""One local SparkSession for the whole test run, configured exactly like the job's."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

import txlake_glue
from txlake_glue.contract import load_contract
from txlake_glue.session import SPARK_JVM_ENV, get_spark

REPO_DIR = Path(__file__).resolve().parents[2]
CONTRACT_PATH = REPO_DIR / "contract" / "transactions.v1.json"
VECTORS_PATH = REPO_DIR / "contract" / "row-vectors.json"

# Spark's Python workers are other processes: they import txlake_glue by name when unpickling
# closures, and see the environment (not pytest's pythonpath). They get the package's directory
# on PYTHONPATH, as Glue's --extra-py-files and local mode (local-glue.ts) give it to theirs.
PACKAGE_DIR = str(Path(txlake_glue.__file__).resolve().parents[1])
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (PACKAGE_DIR, os.environ.get("PYTHONPATH")) if p
)
# The tests' runs are small: a JVM that compiles less (as jest's, test/global/glue-hosts.ts).
os.environ.setdefault(SPARK_JVM_ENV, "small-runs")
# PySpark converts timestamps to and from naive datetimes in the process time zone.
os.environ["TZ"] = "UTC"
time.tzset()


@pytest.fixture(scope="session")
def spark():
    session = get_spark()
    yield session
    session.stop()


@pytest.fixture(scope="session")
def contract_dict() -> dict:
    return json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def contract(contract_dict):
    return load_contract(contract_dict)
