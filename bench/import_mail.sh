#!/usr/bin/env bash
# Benchmark: `anliegen import mail` (issue 3). Generates a corpus with bench/gen_mail.py (or uses
# BENCH_CORPUS), imports it into a fresh store with a release build, and reports messages/s,
# MB/s of raw mail (committed = durable), peak RSS, and how long the event-log projections
# need to catch up afterwards.
#
#   bench/import_mail.sh text 100000                 # embedded store
#   bench/import_mail.sh attachments 10000
#   bench/import_mail.sh text 100000 postgres postgres://postgres@127.0.0.1/postgres
# Env: PARALLEL (256 messages in flight), BENCH_CORPUS (an existing mbox to use instead),
#      MATCHING=off (concern matching switched off, for comparison).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-text}
count=${2:-100000}
backend=${3:-sqlite}
admin_url=${4:-postgres://postgres@127.0.0.1/postgres}
parallel=${PARALLEL:-256}
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p anliegen
bin="$target/release/anliegen"
work=$(mktemp -d)
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
if [ -z "${BENCH_CORPUS:-}" ]; then
  python3 bench/gen_mail.py --profile "$profile" --count "$count" --out "$corpus" --format mbox --quiet
fi
bytes=$(stat -c %s "$corpus")
"$bin" migrate "${store_args[@]}" >/dev/null
# MATCHING=off: concern matching switched off (to measure what matching costs the intake).
if [ "${MATCHING:-on}" = off ]; then
  setting="INSERT INTO settings (key, value, updated_at) VALUES ('matching', '{\"enabled\": false}', 0) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
  if [ "$backend" = postgres ]; then
    psql "${admin_url%/*}/$db" -qc "$setting" >/dev/null
  else
    python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()' "$work/data/anliegen.db" "$setting"
  fi
fi
start=$(date +%s.%N)
ANLIEGEN_LOG=warn /usr/bin/time -v -o "$work/time" "$bin" import mail "$corpus" --quiet --parallel "$parallel" "${store_args[@]}" >"$work/import.out"
end=$(date +%s.%N)
cat "$work/import.out" >&2
rss_kb=$(awk -F: '/Maximum resident set size/{gsub(/ /,"",$2); print $2}' "$work/time")
secs=$(python3 -c "print(round($end-$start,2))")
# Catch-up of the projections behind the log after the import.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
t0=$(date +%s.%N)
ANLIEGEN_LOG=warn "$bin" serve --listen "127.0.0.1:$port" "${store_args[@]}" >"$work/serve.out" 2>"$work/serve.err" &
pid=$!
for _ in $(seq 3000); do
  # One line per projection: caught up when they sum to 0 (and the node answered).
  lag=$(curl -fs "http://127.0.0.1:$port/metrics" 2>/dev/null | awk '/^anliegen_projection_lag_events/{s+=$2; n++} END{print (n ? s : "x")}' || true)
  [ "${lag:-x}" = "0" ] && break; sleep 0.1
done
t1=$(date +%s.%N)
catchup=$(python3 -c "print(round($t1-$t0,2))")
python3 - "$work/import.out" "$secs" "$bytes" "$rss_kb" "$catchup" "$profile" "$backend" <<'PY'
import json, re, sys
out, secs, size, rss, catchup, profile, backend = sys.argv[1:]
line = open(out, encoding="utf-8").read()
m = re.search(r"(\d+) Nachrichten gelesen: (\d+) gespeichert", line)
msgs, stored = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
secs = float(secs)
print(json.dumps({"backend": backend, "profile": profile, "messages": msgs, "stored": stored,
                  "seconds": secs, "messages_per_s": round(msgs / secs), "mb_per_s": round(int(size) / 1e6 / secs, 1),
                  "raw_mb": round(int(size) / 1e6), "peak_rss_mb": int(rss) // 1024, "projection_catch_up_s": float(catchup)}))
PY
