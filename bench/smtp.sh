#!/usr/bin/env bash
# Benchmark: the SMTP listener (issue 3). A release server on a fresh store with a mailbox,
# N connections delivering generated *text* mail with PIPELINING; 250 comes only after the
# durable commit. Prints the driver's JSON line plus server RSS.
#
#   bench/smtp.sh sqlite
#   bench/smtp.sh postgres postgres://postgres@127.0.0.1/postgres
# Env: CONNECTIONS (16), SECONDS_TO_RUN (30), COUNT (messages to generate, 100000), BENCH_CORPUS.
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
admin_url=${2:-postgres://postgres@127.0.0.1/postgres}
connections=${CONNECTIONS:-16}
seconds=${SECONDS_TO_RUN:-30}
count=${COUNT:-100000}
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p anliegen -p anliegen-bench
bin="$target/release/anliegen"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
smtp=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
store_args=(--data-dir "$work/data")
if [ "$backend" = postgres ]; then
  db="anliegen_bench_$$"
  psql "$admin_url" -qc "CREATE DATABASE $db" >/dev/null
  store_args=(--database-url "${admin_url%/*}/$db")
  trap 'kill -9 ${pid:-0} 2>/dev/null || true; psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
else
  trap 'kill -9 ${pid:-0} 2>/dev/null || true; rm -rf "$work"' EXIT
fi
corpus=${BENCH_CORPUS:-$work/corpus.mbox}
[ -n "${BENCH_CORPUS:-}" ] || python3 bench/gen_mail.py --profile text --count "$count" --out "$corpus" --format mbox --quiet
ANLIEGEN_LOG=warn ANLIEGEN_MAIL_ACKNOWLEDGE=false ANLIEGEN_SMTP_SENDER_LIMIT=0 "$bin" serve --listen "127.0.0.1:$port" --smtp-listen "127.0.0.1:$smtp" "${store_args[@]}" >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
token=$("$bin" token create --agent admin@anliegen.local "${store_args[@]}")
curl -fs -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"address":"service@shop.example","display_name":"Bench"}' "http://127.0.0.1:$port/api/v1/mailboxes" >/dev/null
sleep 3
( peak=0; while kill -0 $pid 2>/dev/null; do r=$(awk '/VmRSS/{print $2}' /proc/$pid/status 2>/dev/null || echo 0); [ "${r:-0}" -gt "$peak" ] && peak=$r && echo $peak >"$work/peak"; sleep 0.5; done ) &
result=$("$target/release/smtp_load" --addr "127.0.0.1:$smtp" --mbox "$corpus" --connections "$connections" --seconds "$seconds")
echo "{\"backend\":\"$backend\",\"result\":$result,\"rss_peak_mb\":$(( $(cat "$work/peak") / 1024 ))}"
