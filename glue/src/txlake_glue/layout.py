"""Where a run reads and writes: the lake's layout as the deployment passes it.

The job knows no key of the lake. ``core/lake-layout.ts`` owns them, and the Glue job's
default arguments (``lib/constructs/ingestion-job.ts``) hand over every bucket root, table
prefix and staging key; local mode runs the job with the same arguments. A key of one run
is passed as a pattern holding ``{run_id}``, which the job fills in with its own run id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from txlake_glue.storage import join_path

RUN_ID_PLACEHOLDER = "{run_id}"

# The per-run staging keys (patterns): each must hold the run id placeholder.
RUN_KEY_ARGS = (
    "landing_summary_key",
    "staged_silver_prefix",
    "staged_quarantine_prefix",
    "staged_condemned_prefix",
    "counts_prefix",
)

# The job arguments that place its inputs and outputs.
LAYOUT_ARGS = (
    "bronze_root",
    "silver_root",
    "quarantine_root",
    "staging_root",
    "silver_table_prefix",
    "quarantine_table_prefix",
    *RUN_KEY_ARGS,
)


@dataclass(frozen=True)
class RunPaths:
    """The paths (s3:// in Glue, local directories here) one run reads and writes."""

    # The root of the landing summary's file keys.
    bronze: str
    # The landing check's summary of the run: the files to read.
    landing_summary: str
    # The published tables (read only: duplicates and attempts).
    published_silver: str
    published_quarantine: str
    # The run's staged outputs (publishing is a later step).
    staged_silver: str
    staged_quarantine: str
    staged_condemned: str
    counts: str


def run_key(args: Mapping[str, str], name: str, run_id: str) -> str:
    """The key a per-run pattern argument gives for ``run_id``."""
    pattern = args[name]
    if RUN_ID_PLACEHOLDER not in pattern:
        raise ValueError(f"--{name} must hold {RUN_ID_PLACEHOLDER}, got {pattern!r}")
    return pattern.replace(RUN_ID_PLACEHOLDER, run_id)


def run_paths(args: Mapping[str, str], run_id: str) -> RunPaths:
    staging = args["staging_root"]

    def staged(name: str) -> str:
        return join_path(staging, run_key(args, name, run_id))

    return RunPaths(
        bronze=args["bronze_root"],
        landing_summary=staged("landing_summary_key"),
        published_silver=join_path(args["silver_root"], args["silver_table_prefix"]),
        published_quarantine=join_path(args["quarantine_root"], args["quarantine_table_prefix"]),
        staged_silver=staged("staged_silver_prefix"),
        staged_quarantine=staged("staged_quarantine_prefix"),
        staged_condemned=staged("staged_condemned_prefix"),
        counts=staged("counts_prefix"),
    )
