"""txlake Glue 5.0 (Spark 3.5.4) job on the lake's Apache Iceberg tables.

One job, several modes (``--job_mode``), the steps of write-audit-publish per ingest date:

- ``transform``: reads the files accepted by the landing check for one ingest date, applies
  the row rules and the duplicate/attempt rules of data contract v1 (SPEC section 3) and
  writes silver, quarantine and condemned rows to the run's audit branch of each table
  (``audit_<run_id>``), plus a counts document that the quality gate audits. No reader of a
  table's ``main`` sees them.
- ``publish``: one commit per table makes the audited branches ``main``.
- ``publish-gold``: the gold refresh output becomes gold's state from a month on (one commit).
- ``restore``: the failure path; every table's ``main`` back to before the run's publish.
- ``maintain``: snapshot expiry, compaction, orphan files, condemned's row retention.

Every rule is parameterised by the contract JSON passed in ``--contract``, and every key and
table of the lake by the job's arguments (``layout``). Optional source columns of later
contract versions (docs/schema-evolution.md) are carried to silver, quarantine and condemned
as they are (NULL when a file lacks them) and never change a row's codes or destination.

Modules: ``job`` (modes and their arguments), ``session`` (Spark), ``layout`` and ``storage``
(where and how it reads and writes), ``iceberg`` (every Iceberg statement: tables, branches,
commits, snapshots); the modes ``transform``, ``publish`` (and restore), ``gold``,
``maintain``; the transforms ``contract``, ``csv_reader`` over ``csv_parse``, ``rules`` (row
rules), ``classify`` (duplicates and attempts) and ``outputs`` (the tables' rows, counts).
"""
