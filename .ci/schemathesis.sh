#!/usr/bin/env bash
# Schemathesis against a live sandbox Sova, once per OpenAPI document (Connect with Intel and SIWX; the exchange):
# fails on any 5xx and on any answer that does not match the document (status, content type, schema).
#
#   .ci/schemathesis.sh [path-to-sova-binary]     # MAX_EXAMPLES=10 TIME_LIMIT=300 by default
#
# Needs: pip install schemathesis, curl, jq.
set -euo pipefail
cd "$(dirname "$0")/.."
SOVA="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/sova-target}/debug/sova}"
MAX_EXAMPLES="${MAX_EXAMPLES:-10}"
TIME_LIMIT="${TIME_LIMIT:-300}"
PORT="${PORT:-18099}"
CHECKS="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
dir=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$dir"' EXIT
"$SOVA" operator create --email st@example.com --password st-password-1234 --data-dir "$dir" >/dev/null
SOVA_LOG=warn "$SOVA" serve --data-dir "$dir" --listen "127.0.0.1:$PORT" --rate-limit 0 >"$dir/serve.log" 2>&1 &
pid=$!
base="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do curl -fs "$base/sovx/v1/health" >/dev/null && break; sleep 0.1; done
token=$(curl -fs -X POST "$base/sovx/v1/auth/login" -H 'Content-Type: application/json' \
    -d '{"email":"st@example.com","password":"st-password-1234"}' | jq -r .token)
curl -fs -X POST "$base/sovx/v1/customers" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"email":"st-co@example.com","customer_id":"st-co","entity_name":"ST Co"}' >/dev/null
key=$(curl -fs -X POST "$base/sovx/v1/customers/st-co/credentials" -H "Authorization: Bearer $token" | jq -r .data.customer_secret)
status=0
# The exchange document skips the coverage phase: on CPython 3.11 it trips an interpreter error inside hypothesis
# ("AST constructor recursion depth mismatch"), which is not about Sova.
for run in "/sovx/v1/openapi.json examples,coverage,fuzzing,stateful" "/api/v1/openapi.json examples,fuzzing,stateful"; do
    set -- $run
    echo "==> schemathesis $1 ($2)"
    timeout "$TIME_LIMIT" st run "$base$1" --url "$base" --checks "$CHECKS" --phases "$2" \
        --max-examples "$MAX_EXAMPLES" --workers 2 --seed 1 -H "x-api-key: $key" -H "Authorization: Bearer $token" \
        --no-color || status=$?
done
if [ "$status" -ne 0 ]; then
    echo "schemathesis failed ($status); server log:"; tail -n 20 "$dir/serve.log"
fi
exit "$status"
