#!/usr/bin/env bash
# The README's first Quick start line: set up, land the sample files of Q1 2024, run the
# pipeline locally over the quarter and print the 2024-Q1 balance history as CSV on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
lake=${TXLAKE_LAKE:-.lake}
# The package's bin, as `npx txlake` runs it, without starting npx for each command.
txlake() { node bin/txlake.js "$@"; }
for file in samples/transactions/ingest_date=*/*.csv; do
  date=$(basename "$(dirname "$file")"); date=${date#ingest_date=}
  txlake land "$file" --date "$date" --lake "$lake" >&2
done
txlake backfill --from 2024-01-16 --to 2024-03-15 --lake "$lake" >&2
txlake balance-history --quarter 2024-Q1 --lake "$lake"
