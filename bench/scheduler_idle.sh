#!/usr/bin/env bash
# Benchmark (issue 7): the scheduler's CPU at idle with 100,000 pending promises (200,000 jobs
# waiting for their moment, the timers job every 30 s, every projection following the log).
# Starts a release node on a fresh store, measures its CPU over MEASURE seconds with no
# promises, fills it with PROMISES promises through the API, lets it settle, and measures again.
#
#   bench/scheduler_idle.sh sqlite
#   bench/scheduler_idle.sh postgres postgres://postgres@127.0.0.1/postgres
# Env: PROMISES (100000), MEASURE (60).
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
admin_url=${2:-postgres://postgres@127.0.0.1/postgres}
promises=${PROMISES:-100000}
measure=${MEASURE:-60}
# shellcheck source=bench/lib.sh
source bench/lib.sh
fresh_node "$backend" "$admin_url"
token=$("$bin" token create --agent admin@anliegen.local "${store_args[@]}")
tck=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' /proc/$pid/stat; }
idle_pct() {
  local a b
  a=$(cpu); sleep "$measure"; b=$(cpu)
  python3 -c "print(round(100*($b-$a)/$tck/$measure, 2))"
}
sleep 5
empty=$(idle_pct)
load=$("$target/release/promise_load" --url "http://127.0.0.1:$port" --token "$token" --promises "$promises")
# Idle means caught up: every projection has applied the log (the search index rebuilds the
# promised-on cases' documents), then a little quiet.
settle=$(date +%s)
for _ in $(seq 1200); do
  lag=$(curl -fs "http://127.0.0.1:$port/metrics" | awk '/^anliegen_projection_lag_events/{s+=$2} END{print s+0}')
  [ "$lag" = "0" ] && break; sleep 0.5
done
settle=$(( $(date +%s) - settle ))
sleep 10
full=$(idle_pct)
pending=$(curl -fs "http://127.0.0.1:$port/metrics" | awk '/^anliegen_jobs\{status="pending"/{print $2}')
echo "{\"backend\":\"$backend\",\"load\":$load,\"pending_jobs\":${pending:-null},\"cpu_idle_percent_empty\":$empty,\"cpu_idle_percent_with_promises\":$full,\"seconds_to_catch_up\":$settle,\"seconds_measured\":$measure}"
