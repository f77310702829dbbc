#!/usr/bin/env bash
# Exchange benchmark: signed spot orders accepted over HTTP against signature recovery alone, in one run, with
# GET /sovx/v1/health as the HTTP baseline. All requests are signed before the clock starts (sova-load pre-signs),
# so the client spends the same per request on every route.
#   ex-recover: POST /api/v1/sandbox/recover/spot/trade/orders (headers, nonce window, canonical body, recovery)
#   ex-order:   POST /api/v1/spot/trade/orders (the same, then authorize, nonce rule, engine, group commit)
# Perps (issue 13): ROUTES=health,ex-perps-recover,ex-perps-order, the same pair for perps newOrders (each signer
# moves USDC into perps first; every order is margin-checked).
#
#   bench/exchange.sh            BACKENDS=sqlite DURATION=10 CONNS=64 bench/exchange.sh
#   ROUTES=health,ex-perps-recover,ex-perps-order bench/exchange.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sova-target}"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-64}"
PG_ADMIN="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PORT="${PORT:-18082}"
ROUTES="${ROUTES:-health,ex-recover,ex-order}"
cargo build --release -p sova -p sova-bench >&2
SOVA="$CARGO_TARGET_DIR/release/sova"
LOAD="$CARGO_TARGET_DIR/release/sova-load"

for backend in $BACKENDS; do
    dir=$(mktemp -d); db_args=()
    if [ "$backend" = postgres ]; then
        name="sova_bench_ex_$$"
        psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" 2>/dev/null; psql "$PG_ADMIN" -qc "CREATE DATABASE $name"
        db_args=(--database-url "${PG_ADMIN%/*}/$name")
    fi
    SOVA_LOG=warn "$SOVA" serve --data-dir "$dir" --listen "127.0.0.1:$PORT" --rate-limit 0 "${db_args[@]}" >"$dir/log" 2>&1 &
    pid=$!
    for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/sovx/v1/health" >/dev/null && break; sleep 0.1; done
    echo "== $backend"
    "$LOAD" --url "http://127.0.0.1:$PORT" --routes "$ROUTES" --duration "$DURATION" --connections "$CONNS"
    kill -TERM "$pid"; wait "$pid" || true
    [ "$backend" = postgres ] && psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS sova_bench_ex_$$ WITH (FORCE)"
    rm -rf "$dir"
done
