"""Local stand-in for Glue's job runs: one Python process, and so one Spark session, serves every
job run of an execution (runner/local/local-glue.ts starts it and sends it the runs).

Protocol: one JSON request per line on stdin, ``{"script": PATH, "args": [...], "env": {...}}``
(or ``{"ping": true}``, answered ``{"ok": true, "pid": N}`` without a run)
(``env`` optional: environment variables for this run only, such as ``TXLAKE_SPARK_CONF``, the
run's Spark SQL settings as a JSON text); one JSON reply per run on file descriptor 3,
``{"ok": true}`` or ``{"ok": false, "error": TEXT}``. What the job prints (and Spark's log) goes
to stdout/stderr as with a job run of its own. The entry script is loaded as a module and its
``main(argv)`` called, as Glue runs it, but without the ``__main__`` block that would stop the
shared session (each run works in a new session of it: txlake_glue.session).

With ``--socket PATH`` the host serves the same protocol over a Unix socket instead, one client
connection at a time (requests and replies on the connection), and outlives its clients: the test
suite keeps one warm Spark session per jest worker across test files this way. It exits after
``--idle-seconds`` (default 600) without a client.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import socket
import sys
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import TextIO

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


def serve(requests: Iterable[str], replies: TextIO) -> None:
    """Runs each request (one JSON line) and writes its reply line."""
    for line in requests:
        if not line.strip():
            continue
        request = json.loads(line)
        if request.get("ping"):
            # a new client checks that the host is alive before it sends a run
            replies.write(json.dumps({"ok": True, "pid": os.getpid()}) + "\n")
            replies.flush()
            continue
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
        replies.flush()


def serve_socket(path: str, idle_seconds: float) -> None:
    """Serves clients of the Unix socket ``path`` one after the other until idle."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(
            path
        )  # left by a host that died: its clients start this one because none answered
    server.bind(path)
    server.listen(1)
    server.settimeout(idle_seconds)
    try:
        while True:
            try:
                connection, _ = server.accept()
            except TimeoutError:
                return
            connection.settimeout(None)
            with (
                connection,
                connection.makefile("r") as requests,
                connection.makefile("w") as replies,
            ):
                try:
                    serve(requests, replies)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client went away; the next one is served
    finally:
        server.close()
        if os.path.exists(path):
            os.unlink(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket")
    parser.add_argument("--idle-seconds", type=float, default=600)
    options = parser.parse_args()
    if options.socket:
        serve_socket(options.socket, options.idle_seconds)
    else:
        serve(sys.stdin, os.fdopen(3, "w", buffering=1))


if __name__ == "__main__":
    main()
