#!/usr/bin/env bash
# Exchange reads benchmark (issue 12): the order book and an account's balances against GET /sovx/v1/health, in
# one run of one server. Both reads go through the sequencer's read queue (`Exchange::read`) and answer the
# vendor SDKs' shapes (`{blockTime, blockHeight, ...}`).
#   ex-book:     GET /api/v1/spot/markets/BTC_USDC/orderbook?limit=20 (100 price levels rested a side first)
#   ex-balances: GET /api/v1/spot/accounts/{address}/balances (a funded master account)
#
#   bench/exchange-reads.sh      BACKENDS=sqlite DURATION=10 CONNS=64 bench/exchange-reads.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sova-target}"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-64}"
PG_ADMIN="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PORT="${PORT:-18083}"
cargo build --release -p sova -p sova-bench >&2
SOVA="$CARGO_TARGET_DIR/release/sova"
LOAD="$CARGO_TARGET_DIR/release/sova-load"

for backend in $BACKENDS; do
    dir=$(mktemp -d); db_args=()
    if [ "$backend" = postgres ]; then
        name="sova_bench_exr_$$"
        psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" 2>/dev/null; psql "$PG_ADMIN" -qc "CREATE DATABASE $name"
        db_args=(--database-url "${PG_ADMIN%/*}/$name")
    fi
    SOVA_LOG=warn "$SOVA" serve --data-dir "$dir" --listen "127.0.0.1:$PORT" --rate-limit 0 "${db_args[@]}" >"$dir/log" 2>&1 &
    pid=$!
    for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/sovx/v1/health" >/dev/null && break; sleep 0.1; done
    echo "== $backend"
    "$LOAD" --url "http://127.0.0.1:$PORT" --routes health,ex-book,ex-balances --duration "$DURATION" --connections "$CONNS"
    kill -TERM "$pid"; wait "$pid" || true
    [ "$backend" = postgres ] && psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS sova_bench_exr_$$ WITH (FORCE)"
    rm -rf "$dir"
done
