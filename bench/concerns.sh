#!/usr/bin/env bash
# Benchmark: concern matching (issue 5).
#  1. The cost of matching one inbound contact in an embedded store with 1,000,000 contacts
#     (bench/src/bin/concern_match.rs: p50/p95/p99 of Concerns::find, in-process).
#  2. What matching costs the mail intake: `anliegen import mail` of the same generated corpus
#     with matching on and off (bench/import_mail.sh, MATCHING=off).
#
#   bench/concerns.sh [contacts=1000000] [messages=20000]
set -euo pipefail
cd "$(dirname "$0")/.."
contacts=${1:-1000000}
messages=${2:-20000}
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p anliegen-bench --bin concern_match
"$target/release/concern_match" --contacts "$contacts" --probes 20000
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 bench/gen_mail.py --profile text --count "$messages" --out "$work/corpus.mbox" --format mbox --quiet
echo "matching on:"
BENCH_CORPUS="$work/corpus.mbox" bench/import_mail.sh text "$messages"
echo "matching off:"
BENCH_CORPUS="$work/corpus.mbox" MATCHING=off bench/import_mail.sh text "$messages"
