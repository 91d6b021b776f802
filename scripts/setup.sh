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

# The Node packages and the three Python environments are independent, and each install is mostly
# one process waiting on unpacking and disk: they run side by side (on a fresh clone of this
# 2-core machine, 118 s one after the other), each logging to its own file, shown if it fails.
setup_logs=$(mktemp -d)
trap 'rm -rf "$setup_logs"' EXIT
pids=()
names=()
in_background() { # NAME COMMAND...: runs COMMAND in the background, its output to NAME's log
  local name=$1; shift
  "$@" >"$setup_logs/$name.log" 2>&1 &
  pids+=($!); names+=("$name")
}

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "txlake setup: installing Node packages" >&2
  # npm install, not npm ci: the lock lists optional per-platform DuckDB bindings that a registry
  # mirror may not serve, which npm ci treats as an out-of-sync lock.
  in_background npm npm install --no-audit --no-fund --loglevel=error
fi

# python_env DIR REQUIREMENTS: the venv DIR with REQUIREMENTS, stamped with their digest.
python_env() {
  local dir=$1 requirements=$2
  rm -f "$dir/.requirements.sha"
  "$PYTHON" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  sha256sum "$requirements" | cut -d' ' -f1 >"$dir/.requirements.sha"
}
# python_env_needed DIR REQUIREMENTS EXECUTABLE: unless EXECUTABLE (in DIR) is there and the stamp
# names these requirements.
python_env_needed() {
  [ ! -x "$1/$3" ] || [ "$(cat "$1/.requirements.sha" 2>/dev/null)" != "$(sha256sum "$2" | cut -d' ' -f1)" ]
}
# The Glue job's environment (PySpark pinned to Glue 5.0, pyiceberg, ruff, cfn-lint).
if python_env_needed .venv glue/requirements.txt bin/python; then
  echo "txlake setup: creating the Python environment (.venv)" >&2
  # (made before the two below: they live inside it)
  python_env .venv glue/requirements.txt >"$setup_logs/venv.log" 2>&1 &
  venv_pid=$!
else
  venv_pid=
fi
# checkov (the test command's IaC scanner) in its own environment: its pins differ from cfn-lint's;
# moto's server (the AWS API emulator the aws target's tests run against) in its own too.
nested_envs() {
  if [ -n "$venv_pid" ]; then
    # the nested venvs need .venv/ to exist, not its packages: wait only for the venv itself
    while [ ! -x .venv/bin/python ]; do sleep 0.2; done
  fi
  if python_env_needed .venv/scan tools/requirements-scan.txt bin/checkov; then
    echo "txlake setup: creating the scanner environment (.venv/scan)" >&2
    in_background scan python_env .venv/scan tools/requirements-scan.txt
  fi
  if python_env_needed .venv/moto tools/requirements-moto.txt bin/moto_server; then
    echo "txlake setup: creating the AWS emulator environment (.venv/moto)" >&2
    in_background moto python_env .venv/moto tools/requirements-moto.txt
  fi
}
nested_envs
if [ -n "$venv_pid" ]; then pids+=("$venv_pid"); names+=(venv); fi
failed=0
for i in "${!pids[@]}"; do
  if ! wait "${pids[$i]}"; then
    echo "txlake setup: ${names[$i]} failed:" >&2
    cat "$setup_logs/${names[$i]}.log" >&2
    failed=1
  fi
done
[ "$failed" -eq 0 ] || fail "installing the packages failed (above)"

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
