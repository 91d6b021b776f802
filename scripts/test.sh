#!/usr/bin/env bash
# The README's second Quick start line: set up, then lint, type-check, synthesize (cdk-nag) and
# run every test suite (jest and pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "== pytest (Glue job on local Spark; its output follows jest's)" >&2
# Run alongside the static checks and jest below: each static check is one process on one core,
# and pytest's Spark waits on its driver more than it computes (alone, it leaves about 40 % of
# this 2-core machine idle), so the suite takes little more than the static checks and jest.
pytest_log=$(mktemp)
# (in a process group of its own: a failed check stops it and its Spark with it)
setsid .venv/bin/python -m pytest glue/tests -q >"$pytest_log" 2>&1 &
pytest_pid=$!
trap 'kill -- "-$pytest_pid" 2>/dev/null || true; rm -f "$pytest_log"' EXIT
echo "== type-check" >&2
npx --no-install tsc --noEmit -p tsconfig.json
echo "== lint" >&2
npx --no-install eslint --max-warnings 0 .
npx --no-install depcruise bin core lib lambdas runner cli tools bench test --config .dependency-cruiser.js >&2
npx --no-install prettier --check --log-level warn "bin/**/*.ts" "core/**/*.ts" "lib/**/*.ts" "lambdas/**/*.ts" "runner/**/*.ts" "cli/**/*.ts" "tools/**/*.ts" "test/**/*.ts" "bench/**/*.ts"
.venv/bin/ruff check glue runner/local
.venv/bin/ruff format --check glue runner/local
echo "== cdk synth (cdk-nag AwsSolutions)" >&2
npx --no-install cdk synth --quiet >/dev/null
echo "== cfn-lint" >&2
.venv/bin/cfn-lint --non-zero-exit-code error cdk.out/*.template.json >&2
echo "== checkov (.checkov.yaml)" >&2
.venv/scan/bin/checkov --config-file .checkov.yaml >&2
echo "== jest" >&2
jest_status=0
npx --no-install jest --maxWorkers=2 || jest_status=$?
echo "== pytest" >&2
pytest_status=0
wait "$pytest_pid" || pytest_status=$?
cat "$pytest_log"
[ "$pytest_status" -eq 0 ] || echo "pytest failed (exit $pytest_status)" >&2
[ "$jest_status" -eq 0 ] || echo "jest failed (exit $jest_status)" >&2
[ "$pytest_status" -eq 0 ] && [ "$jest_status" -eq 0 ]
