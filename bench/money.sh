#!/usr/bin/env bash
# Money-movement benchmark of the release build (issue 16), on SQLite and PostgreSQL, in one run per backend:
#   1. sandbox deposit creation (ledger postings + two outbox events) against withdrawal creation with policy
#      evaluation (policy read, address-book lookup, rules, hold in the ledger, two outbox events), closed loop;
#   2. webhook dispatch to a local receiver: deliveries per second and the time from each event's commit to its
#      arrival (p50, p99), while deposits are created as fast as the server takes them.
#
#   bench/money.sh                       # both backends, 10 s per route, 32 connections
#   BACKENDS=sqlite DURATION=5 bench/money.sh
#
# Needs curl and jq.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sova-target}"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-32}"
PG_ADMIN="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PORT="${PORT:-18090}"
SINK="${SINK:-127.0.0.1:18091}"
DEST=tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx

for tool in curl jq; do command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }; done
cargo build --release -p sova -p sova-bench >&2
SOVA="$CARGO_TARGET_DIR/release/sova"
LOAD="$CARGO_TARGET_DIR/release/sova-load"

bench_backend() {
    local backend=$1 dir db_url=""
    dir=$(mktemp -d)
    if [ "$backend" = postgres ]; then
        local name="sova_bench_money_$$"
        psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" && psql "$PG_ADMIN" -qc "CREATE DATABASE $name"
        db_url="${PG_ADMIN%/*}/$name"
    fi
    "$SOVA" operator create --email bench@example.com --password bench-password-123 --data-dir "$dir" \
        ${db_url:+--database-url "$db_url"} >/dev/null
    SOVA_LOG=warn "$SOVA" serve --data-dir "$dir" --listen "127.0.0.1:$PORT" --rate-limit 0 \
        --webhook-allow-private true ${db_url:+--database-url "$db_url"} >"$dir/serve.log" 2>&1 &
    local pid=$!
    local url="http://127.0.0.1:$PORT/sovx/v1"
    for _ in $(seq 1 100); do curl -fs "$url/health" >/dev/null && break; sleep 0.1; done
    local token key user address
    token=$(curl -fs -X POST "$url/auth/login" -H 'Content-Type: application/json' \
        -d '{"email":"bench@example.com","password":"bench-password-123"}' | jq -r .token)
    curl -fs -X POST "$url/customers" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        -d '{"email":"b@example.com","customer_id":"bench-co","entity_name":"Bench"}' >/dev/null
    key=$(curl -fs -X POST "$url/customers/bench-co/credentials" -H "Authorization: Bearer $token" | jq -r .data.customer_secret)
    user=$(curl -fs -X POST "$url/users" -H "x-api-key: $key" -H 'Content-Type: application/json' \
        -d '{"user_type":"individual","email":"u@example.com","first_name":"A","last_name":"B"}' | jq -r .data.user_id)
    address=$(curl -fs -X POST "$url/users/$user/wallets" -H "x-api-key: $key" -H 'Content-Type: application/json' \
        -d '{"name":"btc","networks":[{"name":"networks/bitcoin-testnet","currency":"btc"}]}' | jq -r '.data.addresses[0].address')
    local deposit="{\"address\":\"$address\",\"currency\":\"BTC\",\"network\":\"bitcoin-testnet\",\"amount\":\"0.001\"}"
    curl -fs -X POST "$url/sandbox/deposits" -H "x-api-key: $key" -H 'Content-Type: application/json' \
        -d "{\"address\":\"$address\",\"currency\":\"BTC\",\"network\":\"bitcoin-testnet\",\"amount\":\"1000\"}" >/dev/null
    # A policy every withdrawal is evaluated against (no rule matches a small BTC withdrawal: ALLOW).
    curl -fs -X PUT "$url/customers/bench-co/withdrawal-policy" -H "x-api-key: $key" -H 'Content-Type: application/json' \
        -d '{"default_action":"ALLOW","rules":[{"name":"eth","action":"BLOCK","currencies":["ETH"]},
             {"name":"big","action":"REQUIRE_APPROVAL","approvals":2,"min_amount":"100"},
             {"name":"unknown","action":"REQUIRE_APPROVAL","destination":"NOT_IN_ADDRESS_BOOK","min_amount":"10"}]}' >/dev/null
    local withdrawal="{\"currency\":\"btc\",\"amount\":\"0.00001\",\"address\":\"$DEST\"}"
    "$LOAD" --url "http://127.0.0.1:$PORT" --routes deposit,withdrawal --api-key "$key" --deposit-body "$deposit" \
        --withdrawal-path "/sovx/v1/users/$user/accounts/crypto/withdrawals" --withdrawal-body "$withdrawal" \
        --duration "$DURATION" --connections "$CONNS" | sed "s/^/$backend  /"

    # Webhook dispatch: a receiver, one endpoint taking every event, deposits as fast as they go.
    "$LOAD" --webhook-sink "$SINK" --sink-idle 3 >"$dir/sink.txt" &
    local sink=$!
    sleep 0.3
    local since endpoint
    since=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
    endpoint=$(curl -fs -X POST "$url/customers/bench-co/webhooks" -H "x-api-key: $key" \
        -H 'Content-Type: application/json' -d "{\"url\":\"http://$SINK/hook\"}" | jq -r .data.endpoint_id)
    "$LOAD" --url "http://127.0.0.1:$PORT" --routes deposit --api-key "$key" --deposit-body "$deposit" \
        --duration "$DURATION" --connections 8 | sed "s/^/$backend  (with webhooks) /"
    wait "$sink" || true
    sed "s/^/$backend  webhooks (paced by the deposits): /" "$dir/sink.txt" | grep -v "sink on"
    # Throughput: replay every event of the run at once (a backlog of thousands) and time the drain.
    "$LOAD" --webhook-sink "$SINK" --sink-idle 3 >"$dir/sink.txt" &
    sink=$!
    sleep 0.3
    curl -fs -X POST "$url/customers/bench-co/webhook-endpoints/$endpoint/replay" -H "x-api-key: $key" \
        -H 'Content-Type: application/json' -d "{\"since\":\"$since\"}" | jq -r '"queued \(.data.queued)"' |
        sed "s/^/$backend  webhooks (backlog): /"
    wait "$sink" || true
    sed "s/^/$backend  webhooks (backlog): /" "$dir/sink.txt" | grep -v "sink on"
    kill -TERM "$pid"; wait "$pid" || true
    grep -E "WARN|ERROR" "$dir/serve.log" | sort | uniq -c | sort -rn | head -5 | sed "s/^/$backend  server log: /" || true
    [ -n "$db_url" ] && psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS ${db_url##*/} WITH (FORCE)"
    rm -rf "$dir"
}

echo "money: $DURATION s per route, $CONNS connections, release build, $(nproc) cores"
for b in $BACKENDS; do bench_backend "$b"; done
