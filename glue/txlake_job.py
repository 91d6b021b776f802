"""AWS Glue entry of the txlake job: reads the job's arguments and runs ``txlake_glue``.

Glue gets the package from ``--extra-py-files`` (a zip of ``glue/src`` built at synth); local
mode runs this same file with ``glue/src`` on PYTHONPATH (runner/local/local-glue.ts).
"""

from __future__ import annotations

import argparse
import sys

from pyspark.sql import SparkSession

from txlake_glue.job import JOB_ARGS, run
from txlake_glue.session import in_glue


def parse_args(argv: list[str]) -> dict[str, str]:
    if in_glue():
        from awsglue.utils import getResolvedOptions

        # getResolvedOptions skips argv[0] (the script name).
        return getResolvedOptions(["txlake_job", *argv], list(JOB_ARGS))
    parser = argparse.ArgumentParser(prog="txlake_job")
    for name in JOB_ARGS:
        parser.add_argument(f"--{name}", required=True)
    parsed, _unknown = parser.parse_known_args(argv)
    return vars(parsed)


def main(argv: list[str] | None = None) -> dict:
    return run(parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
    SparkSession.builder.getOrCreate().stop()
