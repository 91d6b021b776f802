"""runner/local/glue_job_host.py: one Python process (one Spark) serves many runs, each on the
lake its request's environment names; a failed run is answered and the host lives on."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import PACKAGE_DIR, REPO_DIR
from lakes import DATABASE, outside_catalog, spark_conf, table_definitions

HOST = REPO_DIR / "runner" / "local" / "glue_job_host.py"
SCRIPT = REPO_DIR / "runner" / "local" / "local_catalog.py"


def request(lake, tables: list[dict] | None) -> str:
    args = ["--catalog_name", "txlake", "--database", DATABASE]
    if tables is not None:
        args += ["--tables", json.dumps(tables)]
    env = {"TXLAKE_SPARK_CONF": json.dumps(spark_conf(lake))}
    return json.dumps({"script": str(SCRIPT), "args": args, "env": env}) + "\n"


def test_runs_on_different_lakes_in_one_host(contract_dict, tmp_path):
    lake_a, lake_b = tmp_path / "a", tmp_path / "b"
    lake_a.mkdir()
    lake_b.mkdir()
    silver = [t for t in table_definitions(contract_dict, lake_a) if t["name"].startswith("silver")]
    gold = [t for t in table_definitions(contract_dict, lake_b) if t["name"].startswith("gold")]
    replies_read, replies_write = os.pipe()
    env = {
        k: v for k, v in os.environ.items() if k not in ("TXLAKE_SPARK_CONF", "TXLAKE_SPARK_JARS")
    }
    env["PYTHONPATH"] = PACKAGE_DIR
    host = subprocess.Popen(
        [sys.executable, str(HOST)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=None,  # (pytest shows it when the test fails)
        env=env,
        text=True,
        # The host answers on file descriptor 3 (close_fds would close it after preexec_fn;
        # the parent's own descriptors are not inheritable anyway).
        close_fds=False,
        preexec_fn=lambda: os.dup2(replies_write, 3),
    )
    os.close(replies_write)
    assert host.stdin is not None
    host.stdin.write(request(lake_a, silver) + request(lake_b, gold) + request(lake_a, None))
    host.stdin.close()
    with os.fdopen(replies_read) as replies:
        answers = [json.loads(line) for line in replies]
    assert host.wait(timeout=120) == 0
    assert [a["ok"] for a in answers] == [True, True, False]
    assert "SystemExit: 2" in answers[2]["error"]  # argparse: --tables is missing
    assert outside_catalog(lake_a).list_tables(DATABASE) == [(DATABASE, "silver_transactions")]
    assert outside_catalog(lake_b).list_tables(DATABASE) == [(DATABASE, "gold_monthly_balances")]
