"""AWS Glue entry of the txlake job: reads the job's arguments and runs ``txlake_glue``.

Glue gets the package from ``--extra-py-files`` (a zip of ``glue/src`` built at synth); local
mode runs this same file with ``glue/src`` on PYTHONPATH (runner/local/local-glue.ts).
"""

from __future__ import annotations

import argparse
import sys

from pyspark.sql import SparkSession

from txlake_glue.job import DEFAULT_MODE, MODES, mode_of, run
from txlake_glue.session import in_glue


def parse_args(argv: list[str]) -> dict[str, str]:
    # The mode decides which arguments the run needs.
    first = argparse.ArgumentParser(prog="txlake_job", add_help=False, allow_abbrev=False)
    first.add_argument("--job_mode", default=DEFAULT_MODE, choices=sorted(MODES))
    mode_name = first.parse_known_args(argv)[0].job_mode
    mode = mode_of({"job_mode": mode_name})
    given = [name for name in mode.optional if f"--{name}" in argv]
    if in_glue():
        from awsglue.utils import getResolvedOptions

        # getResolvedOptions skips argv[0] (the script name) and fails on a missing name.
        names = [*(["job_mode"] if "--job_mode" in argv else []), *mode.required, *given]
        return {"job_mode": mode_name, **getResolvedOptions(["txlake_job", *argv], names)}
    parser = argparse.ArgumentParser(prog="txlake_job", allow_abbrev=False)
    parser.add_argument("--job_mode", default=DEFAULT_MODE)
    for name in mode.required:
        parser.add_argument(f"--{name}", required=True)
    for name in mode.optional:
        parser.add_argument(f"--{name}")
    parsed, _unknown = parser.parse_known_args(argv)
    return {k: v for k, v in vars(parsed).items() if v is not None}


def main(argv: list[str] | None = None) -> dict:
    return run(parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
    SparkSession.builder.getOrCreate().stop()
