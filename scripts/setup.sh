#!/usr/bin/env bash
# Sets up a fresh clone: checks the prerequisites, installs the Node packages and the Python
# environment of the Glue job (PySpark pinned to Glue 5.0). Safe to run again: it only does
# what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "txlake setup: $*" >&2; exit 1; }

command -v node >/dev/null || fail "Node.js 20+ is required (https://nodejs.org)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail "Node.js 20+ is required, found $(node --version)"

PYTHON=${TXLAKE_PYTHON_BOOTSTRAP:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
      PYTHON=$candidate; break
    fi
  done
fi
[ -n "$PYTHON" ] || fail "Python 3.11 is required (Glue 5.0 runs Python 3.11); none found on PATH"

command -v java >/dev/null || fail "Java 17 is required for Spark (Glue 5.0 runs Java 17); 'java' is not on PATH"
java_major=$(java -version 2>&1 | sed -nE 's/.*version "([0-9]+).*/\1/p' | head -n1)
[ "${java_major:-0}" -ge 17 ] || fail "Java 17 is required for Spark, found version ${java_major:-unknown}"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "txlake setup: installing Node packages" >&2
  # npm install, not npm ci: the lock lists optional per-platform DuckDB bindings that a registry
  # mirror may not serve, which npm ci treats as an out-of-sync lock.
  npm install --no-audit --no-fund --loglevel=error >&2
fi

stamp=.venv/.requirements.sha
want=$(sha256sum glue/requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "txlake setup: creating the Python environment (.venv)" >&2
  "$PYTHON" -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r glue/requirements.txt >&2
  echo "$want" > "$stamp"
fi

# checkov (the test command's IaC scanner) in its own environment: its pins differ from cfn-lint's.
scan_stamp=.venv/scan/.requirements.sha
scan_want=$(sha256sum tools/requirements-scan.txt | cut -d' ' -f1)
if [ ! -x .venv/scan/bin/checkov ] || [ "$(cat "$scan_stamp" 2>/dev/null)" != "$scan_want" ]; then
  echo "txlake setup: creating the scanner environment (.venv/scan)" >&2
  "$PYTHON" -m venv .venv/scan
  .venv/scan/bin/pip install --quiet --disable-pip-version-check -r tools/requirements-scan.txt >&2
  echo "$scan_want" > "$scan_stamp"
fi

# moto's server (the AWS API emulator the aws target's tests run against) in its own environment.
moto_stamp=.venv/moto/.requirements.sha
moto_want=$(sha256sum tools/requirements-moto.txt | cut -d' ' -f1)
if [ ! -x .venv/moto/bin/moto_server ] || [ "$(cat "$moto_stamp" 2>/dev/null)" != "$moto_want" ]; then
  echo "txlake setup: creating the AWS emulator environment (.venv/moto)" >&2
  "$PYTHON" -m venv .venv/moto
  .venv/moto/bin/pip install --quiet --disable-pip-version-check -r tools/requirements-moto.txt >&2
  echo "$moto_want" > "$moto_stamp"
fi

classpath=tools/trino-parser/target/classpath.txt
if [ ! -s "$classpath" ] || [ tools/trino-parser/pom.xml -nt "$classpath" ]; then
  command -v mvn >/dev/null || fail "Maven 3 is required to fetch Trino's SQL parser (tools/trino-parser); 'mvn' is not on PATH"
  echo "txlake setup: resolving Trino's SQL parser (tools/trino-parser)" >&2
  mvn -B -q -f tools/trino-parser/pom.xml dependency:build-classpath -Dmdep.outputFile=target/classpath.txt >&2
  touch "$classpath" # Maven leaves an unchanged file as it was
fi
# Headless Chromium for test/cli/report-chromium.test.ts (the HTML status report in a browser).
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -ne 0 ]; then fail "/usr/bin/chromium is missing: sudo apt-get install -y chromium"; fi
  echo "txlake setup: installing Debian's chromium (headless browser of the report test)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2 \
    || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2; }
fi
iceberg_classpath=tools/iceberg-runtime/target/classpath.txt
# Resolved again when the pom changed or a jar it lists is gone (e.g. a new machine's empty ~/.m2).
iceberg_jars_present() {
  local jar
  [ -s "$iceberg_classpath" ] || return 1
  for jar in $(tr ':' ' ' <"$iceberg_classpath"); do [ -f "$jar" ] || return 1; done
}
if ! iceberg_jars_present || [ tools/iceberg-runtime/pom.xml -nt "$iceberg_classpath" ]; then
  command -v mvn >/dev/null || fail "Maven 3 is required to fetch the Iceberg Spark runtime (tools/iceberg-runtime); 'mvn' is not on PATH"
  echo "txlake setup: resolving the Iceberg Spark runtime of Glue 5.0 (tools/iceberg-runtime)" >&2
  mvn -B -q -f tools/iceberg-runtime/pom.xml dependency:build-classpath -Dmdep.outputFile=target/classpath.txt >&2
  touch "$iceberg_classpath"
fi

# The CLI compiled to one JavaScript file (dist/txlake-cli.js): `txlake` then starts without
# compiling TypeScript. bin/txlake.js falls back to ts-node while any source differs from the build.
node scripts/build-cli.js --if-stale
echo "txlake setup: ready" >&2
