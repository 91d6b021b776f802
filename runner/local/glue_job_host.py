"""Local stand-in for Glue's job runs: one Python process, and so one Spark session, serves every
job run of an execution (runner/local/local-glue.ts starts it and sends it the runs).

Protocol: one JSON request per line on stdin, ``{"script": PATH, "args": [...], "env": {...}}``
(``env`` optional: environment variables for this run only, such as ``TXLAKE_SPARK_CONF``, the
run's Spark SQL settings as a JSON text); one JSON reply per run on file descriptor 3,
``{"ok": true}`` or ``{"ok": false, "error": TEXT}``. What the job prints (and Spark's log) goes
to stdout/stderr as with a job run of its own. The entry script is loaded as a module and its
``main(argv)`` called, as Glue runs it, but without the ``__main__`` block that would stop the
shared session (each run works in a new session of it: txlake_glue.session).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

_modules: dict[str, ModuleType] = {}


def _entry(script: str) -> ModuleType:
    module = _modules.get(script)
    if module is None:
        spec = importlib.util.spec_from_file_location(
            f"glue_entry_{len(_modules)}", script
        )
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load the Glue entry {script}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _modules[script] = module
    return module


def _forget_cached_data() -> None:
    """Nothing a run cached (DataFrames, table metadata) carries over to the next run."""
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    if spark is not None:
        spark.catalog.clearCache()


@contextmanager
def _run_environment(env: dict[str, str]) -> Iterator[None]:
    """The run's own environment variables, set for the run and then put back as they were."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update({name: str(value) for name, value in env.items()})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def main() -> None:
    replies = os.fdopen(3, "w", buffering=1)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            with _run_environment(dict(request.get("env") or {})):
                _entry(request["script"]).main(list(request["args"]))
            reply = {"ok": True}
        except BaseException as error:  # noqa: BLE001 - a failed run is reported, the host lives on
            text = "".join(traceback.format_exception(error))
            print(text, file=sys.stderr, flush=True)
            reply = {"ok": False, "error": text[-4000:]}
        finally:
            try:
                _forget_cached_data()
            except Exception as error:  # noqa: BLE001 - a broken session fails the next run itself
                print(f"clearing the session's cache failed: {error}", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
        replies.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
