"""One local SparkSession for the whole test run, configured exactly like the job's."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

GLUE_DIR = Path(__file__).resolve().parents[1]
REPO_DIR = GLUE_DIR.parent
CONTRACT_PATH = REPO_DIR / "contract" / "transactions.v1.json"
VECTORS_PATH = REPO_DIR / "contract" / "row-vectors.json"

# Python workers import txlake_job by name when unpickling closures, so they need
# the module directory on their path too (they inherit the environment).
sys.path.insert(0, str(GLUE_DIR))
# PySpark converts timestamps to and from naive datetimes in the process time zone.
os.environ["TZ"] = "UTC"
time.tzset()
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(GLUE_DIR), os.environ.get("PYTHONPATH")) if p
)


@pytest.fixture(scope="session")
def spark():
    import txlake_job

    session = txlake_job.get_spark()
    yield session
    session.stop()


@pytest.fixture(scope="session")
def contract_dict() -> dict:
    return json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def contract(contract_dict):
    import txlake_job

    return txlake_job.load_contract(contract_dict)
