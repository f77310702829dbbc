#!/usr/bin/env bash
# Load benchmark of the running release build: GET /sovx/v1/health against an authenticated
# GET /sovx/v1/users/{id} (x-api-key, and Cs-* HMAC-signed), side by side in one run, on SQLite and PostgreSQL.
#
# wrk measures health and x-api-key; wrk cannot sign each request anew (Sova accepts each Cs-Signature once), so
# sova-load (crates/sova-bench, one client thread like wrk -t1) measures health, x-api-key and HMAC side by side.
#
#   bench/load.sh                 # both backends, 10 s per route, 64 connections
#   DURATION=30s CONNS=128 bench/load.sh
#   BACKENDS=sqlite bench/load.sh
#   RATE_LIMIT=100000000 BACKENDS=postgres bench/load.sh    # count every request (shared across replicas on
#   RATE_LIMIT=100000000 REDIS_URL=redis://127.0.0.1:6379 BACKENDS=postgres bench/load.sh   # PostgreSQL / Redis)
#
# Needs wrk (Debian: apt-get install wrk), curl, jq. Prints requests/s and p99 for each route and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sova-target}"
DURATION="${DURATION:-10s}"
CONNS="${CONNS:-64}"
THREADS="${THREADS:-1}"
PG_ADMIN="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PORT="${PORT:-18080}"
# 0 = no limit (nothing counted); a huge limit counts every request without refusing any.
RATE_LIMIT="${RATE_LIMIT:-0}"
REDIS_URL="${REDIS_URL:-}"

for tool in wrk curl jq; do command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }; done
cargo build --release -p sova -p sova-bench >&2
SOVA="$CARGO_TARGET_DIR/release/sova"
LOAD="$CARGO_TARGET_DIR/release/sova-load"

run_wrk() { # url, header... -> "req/s p99"
    local url=$1; shift
    local args=()
    for h in "$@"; do args+=(-H "$h"); done
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "${args[@]}" "$url" |
        awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%s %s %s\n", rps, p99, (bad==""?0:bad)}'
}

run_wrk_lua() { # url, script args... -> "req/s p99 non2xx" (requests built by bench/cs_hmac.lua)
    local url=$1; shift
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s bench/cs_hmac.lua "$url" -- "$@" |
        awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%s %s %s\n", rps, p99, (bad==""?0:bad)}'
}

bench_backend() {
    local backend=$1 dir url db_url=""
    dir=$(mktemp -d)
    if [ "$backend" = postgres ]; then
        local name="sova_bench_$$"
        psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" && psql "$PG_ADMIN" -qc "CREATE DATABASE $name"
        db_url="${PG_ADMIN%/*}/$name"
    fi
    local args=(--data-dir "$dir" --listen "127.0.0.1:$PORT" --rate-limit "$RATE_LIMIT")
    [ -n "$db_url" ] && args+=(--database-url "$db_url")
    [ -n "$REDIS_URL" ] && args+=(--redis-url "$REDIS_URL")
    "$SOVA" operator create --email bench@example.com --password bench-password-123 "${args[@]:0:2}" \
        ${db_url:+--database-url "$db_url"} >/dev/null
    SOVA_LOG=warn "$SOVA" serve "${args[@]}" >"$dir/serve.log" 2>&1 &
    local pid=$!
    url="http://127.0.0.1:$PORT/sovx/v1"
    for _ in $(seq 1 50); do curl -fs "$url/health" >/dev/null && break; sleep 0.1; done
    local token key user
    token=$(curl -fs -X POST "$url/auth/login" -H 'Content-Type: application/json' \
        -d '{"email":"bench@example.com","password":"bench-password-123"}' | jq -r .token)
    curl -fs -X POST "$url/customers" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        -d '{"email":"b@example.com","customer_id":"bench-co","entity_name":"Bench"}' >/dev/null
    key=$(curl -fs -X POST "$url/customers/bench-co/credentials" -H "Authorization: Bearer $token" | jq -r .data.customer_secret)
    local cred ak sk
    cred=$(curl -fs -X POST "$url/customers/bench-co/credentials" -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/json' -d '{"passphrase":"bench passphrase"}')
    ak=$(jq -r .data.access_key <<<"$cred"); sk=$(jq -r .data.secret_key <<<"$cred")
    user=$(curl -fs -X POST "$url/users" -H "x-api-key: $key" -H 'Content-Type: application/json' \
        -d '{"user_type":"individual","email":"u@example.com","first_name":"A","last_name":"B"}' | jq -r .data.user_id)
    # warm-up
    wrk -t1 -c8 -d2s "$url/health" >/dev/null
    local h u
    h=$(run_wrk "$url/health")
    u=$(run_wrk "$url/users/$user" "x-api-key: $key")
    # The same three routes through wrk's Lua request() path; the HMAC requests are pre-signed, each used once.
    local lh lk lm secs=${DURATION%s}
    lh=$(run_wrk_lua "$url/health")
    lk=$(run_wrk_lua "$url/users/$user" x-api-key "$key")
    "$LOAD" --path "/sovx/v1/users/$user" --secret-key "$sk" --emit $((secs * 90000)) --ts-ahead 20 >"$dir/signed.txt"
    lm=$(run_wrk_lua "$url/users/$user" "$ak" "bench passphrase" "$dir/signed.txt")
    "$LOAD" --url "http://127.0.0.1:$PORT" --path "/sovx/v1/users/$user" --api-key "$key" --access-key "$ak" \
        --secret-key "$sk" --passphrase "bench passphrase" --duration "$secs" --connections "$CONNS" |
        sed "s/^/$backend    sova-load /"
    kill -TERM "$pid"; wait "$pid" || true
    [ -n "$db_url" ] && psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS ${db_url##*/} WITH (FORCE)"
    rm -rf "$dir"
    read -r hr hp hb <<<"$h"
    read -r ur up ub <<<"$u"
    printf '%-9s %-28s %10s req/s  p99 %8s  non-2xx %s\n' "$backend" "GET /health" "$hr" "$hp" "$hb"
    printf '%-9s %-28s %10s req/s  p99 %8s  non-2xx %s\n' "$backend" "GET /users/{id} x-api-key" "$ur" "$up" "$ub"
    awk -v a="$ur" -v b="$hr" -v be="$backend" 'BEGIN {printf "%-9s authenticated / health = %.2f\n", be, a/b}'
    read -r lhr lhp lhb <<<"$lh"
    read -r lkr lkp lkb <<<"$lk"
    read -r lmr lmp lmb <<<"$lm"
    printf '%-9s %-28s %10s req/s  p99 %8s  non-2xx %s\n' "$backend" "lua GET /health" "$lhr" "$lhp" "$lhb"
    printf '%-9s %-28s %10s req/s  p99 %8s  non-2xx %s\n' "$backend" "lua GET /users/{id} x-api-key" "$lkr" "$lkp" "$lkb"
    printf '%-9s %-28s %10s req/s  p99 %8s  non-2xx %s\n' "$backend" "lua GET /users/{id} Cs-* HMAC" "$lmr" "$lmp" "$lmb"
    awk -v h="$lhr" -v k="$lkr" -v m="$lmr" -v be="$backend" \
        'BEGIN {printf "%-9s lua: x-api-key / health = %.2f, HMAC / health = %.2f\n", be, k/h, m/h}'
}

echo "wrk -t$THREADS -c$CONNS -d$DURATION, release build, $(nproc) cores, rate limit $RATE_LIMIT/min${REDIS_URL:+, Redis $REDIS_URL}"
for b in $BACKENDS; do bench_backend "$b"; done
