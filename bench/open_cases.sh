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
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p anliegen -p anliegen-bench
bin="$target/release/anliegen"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
store_args=(--data-dir "$work/data")
if [ "$backend" = postgres ]; then
  db="anliegen_bench_$$"
  psql "$admin_url" -qc "CREATE DATABASE $db" >/dev/null
  store_args=(--database-url "${admin_url%/*}/$db")
  trap 'kill -9 $pid 2>/dev/null || true; psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
else
  trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$work"' EXIT
fi
ANLIEGEN_LOG=warn "$bin" serve --listen "127.0.0.1:$port" "${store_args[@]}" >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
token=$("$bin" token create --agent admin@anliegen.local "${store_args[@]}")
sleep 2
rss_idle=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
( peak=0; while kill -0 $pid 2>/dev/null; do r=$(awk '/VmRSS/{print $2}' /proc/$pid/status 2>/dev/null || echo 0); [ "${r:-0}" -gt "$peak" ] && peak=$r && echo $peak >"$work/peak"; sleep 0.5; done ) &
result=$("$target/release/anliegen-bench" --url "http://127.0.0.1:$port" --token "$token" --clients "$clients" --seconds "$seconds" --identities "$identities")
rss_peak=$(cat "$work/peak")
acked=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['acknowledged'])" "$result")
kill -9 $pid; wait $pid 2>/dev/null || true
ANLIEGEN_LOG=warn "$bin" serve --listen "127.0.0.1:$port" "${store_args[@]}" >"$work/serve2.out" 2>"$work/serve2.err" &
pid=$!
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
stored=0
for _ in $(seq 600); do
  m=$(curl -fs "http://127.0.0.1:$port/metrics")
  lag=$(echo "$m" | awk '/^anliegen_projection_lag_events/{print $2}')
  stored=$(echo "$m" | awk '/^anliegen_cases\{/{s+=$2} END{print s+0}')
  [ "${lag:-1}" = "0" ] && break; sleep 0.2
done
durable=$([ "$stored" -ge "$acked" ] && echo true || echo false)
echo "{\"backend\":\"$backend\",\"result\":$result,\"rss_idle_mb\":$((rss_idle/1024)),\"rss_peak_mb\":$((rss_peak/1024)),\"cases_after_kill9\":$stored,\"all_acknowledged_durable\":$durable}"
