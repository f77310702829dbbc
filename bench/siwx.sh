#!/usr/bin/env bash
# SIWX load benchmark (seed 003), one run per backend with sova-load: GET /sovx/v1/health side by side with RFC
# 9421-signed reads of a SIWX customer (ed25519, ecdsa-p256-sha256, ed25519 with a nonce recorded in the database),
# then full onboarding round trips (signed create + EIP-191-signed challenge + signed submit).
#
#   bench/siwx.sh            BACKENDS=sqlite DURATION=10 CONNS=64 bench/siwx.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sova-target}"
DURATION="${DURATION:-10}"
CONNS="${CONNS:-64}"
PG_ADMIN="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PORT="${PORT:-18082}"
ROUTES="${ROUTES:-health,siwx-ed25519,siwx-p256,siwx-ed25519-nonce,siwx-sign}"
for tool in curl jq openssl; do command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }; done
cargo build --release -p sova -p sova-bench >&2
SOVA="$CARGO_TARGET_DIR/release/sova"
LOAD="$CARGO_TARGET_DIR/release/sova-load"

for backend in $BACKENDS; do
    dir=$(mktemp -d); db_args=()
    if [ "$backend" = postgres ]; then
        name="sova_bench_siwx_$$"
        psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" 2>/dev/null; psql "$PG_ADMIN" -qc "CREATE DATABASE $name"
        db_args=(--database-url "${PG_ADMIN%/*}/$name")
    fi
    "$SOVA" operator create --email bench@example.com --password 'bench password long' --data-dir "$dir" "${db_args[@]}" >/dev/null
    SOVA_LOG=warn "$SOVA" serve --data-dir "$dir" --listen "127.0.0.1:$PORT" --rate-limit 0 "${db_args[@]}" >"$dir/log" 2>&1 &
    pid=$!
    O="http://127.0.0.1:$PORT"; B="$O/sovx/v1"
    for _ in $(seq 1 50); do curl -fs "$B/health" >/dev/null && break; sleep 0.1; done
    token=$(curl -s -X POST "$B/auth/login" -H 'Content-Type: application/json' \
        -d '{"email":"bench@example.com","password":"bench password long"}' | jq -r .token)
    curl -s -X POST "$B/customers" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        -d '{"email":"t@example.com","customer_id":"bench-tenant","entity_name":"Bench"}' >/dev/null
    secret=$(curl -s -X POST "$B/customers/bench-tenant/credentials" -H "Authorization: Bearer $token" | jq -r .data.customer_secret)
    while IFS=$'\t' read -r keyid alg key; do
        curl -s -X POST "$B/customers/bench-tenant/signing-keys" -H "Authorization: Bearer $token" \
            -H 'Content-Type: application/json' -d "{\"keyid\":\"$keyid\",\"alg\":\"$alg\",\"key\":\"$key\"}" >/dev/null
    done < <("$LOAD" --path / --routes siwx-keys)
    # One customer to read, created with openssl (docs/siwx-api.md).
    openssl genpkey -algorithm ed25519 -out "$dir/setup.pem" 2>/dev/null
    curl -s -X POST "$B/customers/bench-tenant/signing-keys" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        -d "{\"keyid\":\"setup\",\"alg\":\"ed25519\",\"key\":$(openssl pkey -in "$dir/setup.pem" -pubout | jq -Rs .)}" >/dev/null
    body='{"chainId":"eip155:1:0xab16a96D359eC26a11e2C2b3d8f8B8942d5Bfcdb","externalId":"bench"}'
    idem=$(cat /proc/sys/kernel/random/uuid); ts=$(date +%s)
    digest="sha-256=:$(printf '%s' "$body" | openssl dgst -sha256 -binary | base64):"
    params="(\"@method\" \"@target-uri\" \"authorization\" \"content-digest\" \"content-type\" \"idempotency-key\");created=$ts;keyid=\"setup\""
    printf '"@method": POST\n"@target-uri": %s\n"authorization": Bearer %s\n"content-digest": %s\n"content-type": application/json\n"idempotency-key": %s\n"@signature-params": %s' \
        "$O/siwx/v1/customers" "$secret" "$digest" "$idem" "$params" >"$dir/base.txt"
    sig=$(openssl pkeyutl -sign -inkey "$dir/setup.pem" -rawin -in "$dir/base.txt" | base64 -w0)
    cid=$(curl -s -X POST "$O/siwx/v1/customers" -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' \
        -H "Content-Digest: $digest" -H "Idempotency-Key: $idem" -H "Signature-Input: sig1=$params" \
        -H "Signature: sig1=:$sig:" -d "$body" | jq -r .data.id)
    echo "== $backend (customer $cid)"
    "$LOAD" --url "$O" --path "/siwx/v1/customers/$cid" --siwx-secret "$secret" --routes "$ROUTES" \
        --duration "$DURATION" --connections "$CONNS"
    kill -TERM "$pid"; wait "$pid" || true
    [ "$backend" = postgres ] && psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS sova_bench_siwx_$$ WITH (FORCE)"
    rm -rf "$dir"
done
