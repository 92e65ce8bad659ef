#!/usr/bin/env bash
# Benchmark: the agent workspace (issue 4). Starts a release server on a fresh store, seeds
# 100,000 open cases and one case with 500 contacts through the API, signs in through the
# login form and measures the first page of a queue and the long case's view (newest 30
# contacts), sequentially, as server round trips on loopback.
#
#   bench/ui.sh sqlite            # embedded store
#   bench/ui.sh postgres URL      # e.g. postgres://postgres@127.0.0.1/postgres
# Env: CASES (100000), CONTACTS (500), REQUESTS (300).
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
admin_url=${2:-postgres://postgres@127.0.0.1/postgres}
# shellcheck source=bench/lib.sh
source bench/lib.sh
fresh_node "$backend" "$admin_url"
password=$(sed -n 's/.*admin@anliegen.local \/ password \([^ ]*\) .*/\1/p' "$work/serve.out")
token=$("$bin" token create --agent admin@anliegen.local "${store_args[@]}")
args=(--url "http://127.0.0.1:$port" --token "$token" --email admin@anliegen.local --password "$password"
  --cases "${CASES:-100000}" --contacts "${CONTACTS:-500}" --requests "${REQUESTS:-300}")
reference=$("$target/release/ui_load" "${args[@]}" --phase seed)
# A running PostgreSQL has statistics for its tables (autovacuum analyzes after bulk changes);
# right after a bulk load it may not have run yet.
[ "$backend" = postgres ] && psql "${admin_url%/*}/$db" -qc "ANALYZE" >/dev/null
"$target/release/ui_load" "${args[@]}" --phase measure --case "$reference"
