#!/usr/bin/env bash
# Benchmark: how soon a committed contact is searchable at normal load (issue 6). Starts a
# release server on a fresh store, opens cases at RATE contacts/s (200) for SECONDS (30), and
# times commit → first search that finds it.
#
#   bench/search_fresh.sh sqlite            # embedded store and index
#   bench/search_fresh.sh postgres URL      # e.g. postgres://postgres@127.0.0.1/postgres
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
admin_url=${2:-postgres://postgres@127.0.0.1/postgres}
rate=${RATE:-200}
seconds=${SECONDS_TO_RUN:-30}
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
"$target/release/search_fresh" --url "http://127.0.0.1:$port" --token "$token" --rate "$rate" --seconds "$seconds"
