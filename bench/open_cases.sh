#!/usr/bin/env bash
# Benchmark: open cases through the HTTP API (issue 2). Starts a release server on a fresh
# store, creates a token, runs the load driver on the same machine, records server RSS idle
# and under load, then kills the server hard (SIGKILL), restarts it and checks that every
# acknowledged case is still there (durability).
#
#   bench/open_cases.sh sqlite            # embedded store
#   bench/open_cases.sh postgres URL      # e.g. postgres://postgres@127.0.0.1/postgres
# Env: CLIENTS (64), SECONDS (30), IDENTITIES (100000).
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
admin_url=${2:-postgres://postgres@127.0.0.1/postgres}
clients=${CLIENTS:-64}
seconds=${SECONDS_TO_RUN:-30}
identities=${IDENTITIES:-100000}
# shellcheck source=bench/lib.sh
source bench/lib.sh
fresh_node "$backend" "$admin_url"
token=$("$bin" token create --agent admin@anliegen.local "${store_args[@]}")
sleep 2
rss_idle=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
( peak=0; while kill -0 $pid 2>/dev/null; do r=$(awk '/VmRSS/{print $2}' /proc/$pid/status 2>/dev/null || echo 0); [ "${r:-0}" -gt "$peak" ] && peak=$r && echo $peak >"$work/peak"; sleep 0.5; done ) &
result=$("$target/release/anliegen-bench" --url "http://127.0.0.1:$port" --token "$token" --clients "$clients" --seconds "$seconds" --identities "$identities")
rss_peak=$(cat "$work/peak")
acked=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['acknowledged'])" "$result")
kill -9 $pid; wait $pid 2>/dev/null || true
serve_node
stored=0
for _ in $(seq 600); do
  m=$(curl -fs "http://127.0.0.1:$port/metrics")
  lag=$(echo "$m" | awk '/^anliegen_projection_lag_events/{s+=$2; n++} END{print (n ? s : "x")}')
  stored=$(echo "$m" | awk '/^anliegen_cases\{/{s+=$2} END{print s+0}')
  [ "${lag:-1}" = "0" ] && break; sleep 0.2
done
durable=$([ "$stored" -ge "$acked" ] && echo true || echo false)
echo "{\"backend\":\"$backend\",\"result\":$result,\"rss_idle_mb\":$((rss_idle/1024)),\"rss_peak_mb\":$((rss_peak/1024)),\"cases_after_kill9\":$stored,\"all_acknowledged_durable\":$durable}"
