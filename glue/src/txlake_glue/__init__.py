"""txlake Glue 5.0 (Spark 3.5.4) job: row validation, dedupe and staged outputs.

Reads the files accepted by the landing check for one ingest date, applies the row
rules and the duplicate/attempt rules of data contract v1 (SPEC section 3) and
writes silver, quarantine and condemned Parquet plus a counts JSON line to the run's
staging keys. Publishing is done by a later step (write-audit-publish), so this job
never touches the published layers.

Every rule is parameterised by the contract JSON passed in ``--contract``, and every
key of the lake by the job's layout arguments (``layout``). Optional source columns of
later contract versions (docs/schema-evolution.md) are carried to silver, quarantine
and condemned as they are (NULL when a file lacks them) and never change a row's codes
or destination.

Modules, in the order a run uses them: ``job`` (the run), ``session`` (Spark),
``layout`` and ``storage`` (where and how it reads and writes), ``contract``,
``csv_reader`` (bronze files in Spark) over ``csv_parse`` (plain Python parsing),
``rules`` (row rules), ``classify`` (duplicates and attempts) and ``outputs``.
"""
