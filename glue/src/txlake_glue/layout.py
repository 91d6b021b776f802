"""Where a run reads and writes: the lake's tables and staging keys as the deployment passes them.

The job knows no key of the lake and no table name. ``core/lake-layout.ts`` owns the keys, the
deployment (``lib/constructs/ingestion-job.ts``) the catalog, database and table names, and the
Glue job's default arguments hand them all over; local mode runs the job with the same
arguments. A key of one run is passed as a pattern holding ``{run_id}``, which the job fills in
with its own run id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from txlake_glue.iceberg import Table
from txlake_glue.storage import join_path

RUN_ID_PLACEHOLDER = "{run_id}"

# The Iceberg catalog (Spark catalog name), the namespace (Glue database) and the tables.
TABLE_ARGS = (
    "catalog_name",
    "database",
    "silver_table",
    "quarantine_table",
    "condemned_table",
    "gold_table",
)

# The prefix of a run's audit branch on each table it writes (write-audit-publish).
AUDIT_BRANCH_PREFIX = "audit_"


@dataclass(frozen=True)
class LakeTables:
    silver: Table
    quarantine: Table
    condemned: Table
    gold: Table

    @property
    def audited(self) -> tuple[Table, Table, Table]:
        """The tables a transform run writes through its audit branch."""
        return (self.silver, self.quarantine, self.condemned)

    @property
    def all(self) -> tuple[Table, Table, Table, Table]:
        return (self.silver, self.quarantine, self.condemned, self.gold)


def lake_tables(args: Mapping[str, str]) -> LakeTables:
    def table(arg: str) -> Table:
        return Table(args["catalog_name"], args["database"], args[arg])

    return LakeTables(
        silver=table("silver_table"),
        quarantine=table("quarantine_table"),
        condemned=table("condemned_table"),
        gold=table("gold_table"),
    )


def audit_branch(run_id: str) -> str:
    return f"{AUDIT_BRANCH_PREFIX}{run_id}"


def run_key(args: Mapping[str, str], name: str, run_id: str) -> str:
    """The key a per-run pattern argument gives for ``run_id``."""
    pattern = args[name]
    if RUN_ID_PLACEHOLDER not in pattern:
        raise ValueError(f"--{name} must hold {RUN_ID_PLACEHOLDER}, got {pattern!r}")
    return pattern.replace(RUN_ID_PLACEHOLDER, run_id)


def staging_path(args: Mapping[str, str], name: str, run_id: str) -> str:
    """The staging path of a per-run key argument (such as ``--publish_result_key``)."""
    return join_path(args["staging_root"], run_key(args, name, run_id))


def checked_date(text: str) -> str:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        raise ValueError(f"ingest_date must be YYYY-MM-DD, got {text!r}")
    return text


def checked_month(text: str) -> str:
    if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", text):
        raise ValueError(f"from_month must be YYYY-MM, got {text!r}")
    return text
