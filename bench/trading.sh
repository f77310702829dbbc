#!/usr/bin/env bash
# Connect trading benchmark (issue 17), release build, SQLite and PostgreSQL, in one run per backend:
#   health:   GET /sovx/v1/health (the HTTP baseline)
#   ex-order: a signed spot order accepted by the exchange (pre-signed; the issue's yardstick)
#   trade:    one Connect round trip: POST a quote (the book walked for 0.0001 BTC), then POST the order on it
#             (hold, the sequencer's group with the engine's fill and the Connect ledger legs, the answer read back)
# The book is seeded with --book-levels asks of 0.001 BTC each (250: 2500
# trades of 0.0001 BTC; a round trip that finds the asks gone counts as non-2xx.
#
#   bench/trading.sh                       # both backends, 10 s per route, 32 connections
#   BACKENDS=sqlite DURATION=5 bench/trading.sh
#
# Needs curl and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sova-target}"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-32}"
PG_ADMIN="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PORT="${PORT:-18092}"
LEVELS="${LEVELS:-250}"

for tool in curl jq; do command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }; done
cargo build --release -p sova -p sova-bench >&2
SOVA="$CARGO_TARGET_DIR/release/sova"
LOAD="$CARGO_TARGET_DIR/release/sova-load"

bench_backend() {
    local backend=$1 dir db_url=""
    dir=$(mktemp -d)
    if [ "$backend" = postgres ]; then
        local name="sova_bench_trade_$$"
        psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" && psql "$PG_ADMIN" -qc "CREATE DATABASE $name"
        db_url="${PG_ADMIN%/*}/$name"
    fi
    "$SOVA" operator create --email bench@example.com --password bench-password-123 --data-dir "$dir" \
        ${db_url:+--database-url "$db_url"} >/dev/null
    SOVA_LOG=warn "$SOVA" serve --data-dir "$dir" --listen "127.0.0.1:$PORT" --rate-limit 0 \
        ${db_url:+--database-url "$db_url"} >"$dir/serve.log" 2>&1 &
    local pid=$!
    local url="http://127.0.0.1:$PORT/sovx/v1"
    for _ in $(seq 1 100); do curl -fs "$url/health" >/dev/null && break; sleep 0.1; done
    local token key user wallet address
    token=$(curl -fs -X POST "$url/auth/login" -H 'Content-Type: application/json' \
        -d '{"email":"bench@example.com","password":"bench-password-123"}' | jq -r .token)
    curl -fs -X POST "$url/customers" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        -d '{"email":"b@example.com","customer_id":"bench-co","entity_name":"Bench"}' >/dev/null
    key=$(curl -fs -X POST "$url/customers/bench-co/credentials" -H "Authorization: Bearer $token" | jq -r .data.customer_secret)
    user=$(curl -fs -X POST "$url/users" -H "x-api-key: $key" -H 'Content-Type: application/json' \
        -d '{"user_type":"individual","email":"u@example.com","first_name":"A","last_name":"B"}' | jq -r .data.user_id)
    local created
    created=$(curl -fs -X POST "$url/users/$user/wallets" -H "x-api-key: $key" -H 'Content-Type: application/json' \
        -d '{"name":"t","networks":[{"name":"networks/ethereum-sepolia","currency":"usdc"}]}')
    wallet=$(jq -r .data.wallet_id <<<"$created")
    address=$(jq -r '.data.addresses[0].address' <<<"$created")
    curl -fs -X POST "$url/sandbox/deposits" -H "x-api-key: $key" -H 'Content-Type: application/json' \
        -d "{\"address\":\"$address\",\"currency\":\"USDC\",\"network\":\"ethereum-sepolia\",\"amount\":\"10000000\"}" >/dev/null
    "$LOAD" --url "http://127.0.0.1:$PORT" --routes health,ex-order,trade --api-key "$key" --trade-wallet "$wallet" \
        --book-levels "$LEVELS" --duration "$DURATION" --connections "$CONNS" | sed "s/^/$backend  /"
    kill -TERM "$pid"; wait "$pid" || true
    grep -E "WARN|ERROR" "$dir/serve.log" | sort | uniq -c | sort -rn | head -5 | sed "s/^/$backend  server log: /" || true
    [ -n "$db_url" ] && psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS ${db_url##*/} WITH (FORCE)"
    rm -rf "$dir"
}

echo "trading: $DURATION s per route, $CONNS connections, release build, $(nproc) cores"
for b in $BACKENDS; do bench_backend "$b"; done
