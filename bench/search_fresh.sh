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
# shellcheck source=bench/lib.sh
source bench/lib.sh
fresh_node "$backend" "$admin_url"
token=$("$bin" token create --agent admin@anliegen.local "${store_args[@]}")
"$target/release/search_fresh" --url "http://127.0.0.1:$port" --token "$token" --rate "$rate" --seconds "$seconds"
