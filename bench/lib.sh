# Shared by the bench scripts (sourced): a release build and one node on a fresh store.
#
#   fresh_node BACKEND ADMIN_URL   builds, makes a fresh store (a temporary folder, or a new
#                                   PostgreSQL database next to ADMIN_URL), starts
#                                   `anliegen serve` on a free port and waits until it is ready.
# Sets: target bin work port store_args pid (and db on PostgreSQL). On exit the node is killed
# and the store removed. `serve_node` starts it again on the same store and port.

serve_node() {
  ANLIEGEN_LOG=warn "$bin" serve --listen "127.0.0.1:$port" "${store_args[@]}" >>"$work/serve.out" 2>>"$work/serve.err" &
  pid=$!
  for _ in $(seq 300); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
}

fresh_node() {
  local backend=$1 admin_url=$2
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
    trap 'kill -9 $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; psql "'"$admin_url"'" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
  else
    trap 'kill -9 $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
  fi
  serve_node
}
