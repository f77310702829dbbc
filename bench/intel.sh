#!/usr/bin/env bash
# Intel API load benchmark: GET /sovx/v1/health against a credit-metered GET /api/v1/intel/wallet/{address}/hud
# (X-Api-Key, 1 credit per call, billed exactly once), side by side in one run, on SQLite and PostgreSQL.
# Health and metered alternate for ROUNDS rounds per backend (on a shared two-core machine single runs vary by
# +-0.06); each round's ratio is printed and the median is the result. After the rounds, checks that the credits
# taken equal the 2xx answers (exact billing).
#
#   bench/intel.sh            BACKENDS=sqlite DURATION=10s CONNS=64 ROUNDS=3 bench/intel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sova-target}"
DURATION="${DURATION:-10s}"
CONNS="${CONNS:-64}"
PG_ADMIN="${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/test}"
BACKENDS="${BACKENDS:-sqlite postgres}"
ROUNDS="${ROUNDS:-3}"
PORT="${PORT:-18081}"
CREDITS=100000000
for tool in wrk curl jq; do command -v "$tool" >/dev/null || { echo "bench: $tool is required" >&2; exit 1; }; done
cargo build --release -p sova >&2
SOVA="$CARGO_TARGET_DIR/release/sova"

run_wrk() { # url header -> "req/s p99 requests non2xx"
    wrk -t1 -c"$CONNS" -d"$DURATION" --latency ${2:+-H "$2"} "$1" |
        awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p99=$2} / requests in / {n=$1} /Non-2xx/ {bad=$NF}
             END {printf "%s %s %s %s\n", rps, p99, n, (bad==""?0:bad)}'
}

for backend in $BACKENDS; do
    dir=$(mktemp -d); db_args=()
    if [ "$backend" = postgres ]; then
        name="sova_bench_intel_$$"
        psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $name WITH (FORCE)" 2>/dev/null; psql "$PG_ADMIN" -qc "CREATE DATABASE $name"
        db_args=(--database-url "${PG_ADMIN%/*}/$name")
    fi
    key=$("$SOVA" intel-key create --credits $CREDITS --owner bench --data-dir "$dir" "${db_args[@]}" | jq -r .key)
    SOVA_LOG=warn "$SOVA" serve --data-dir "$dir" --listen "127.0.0.1:$PORT" --rate-limit 0 "${db_args[@]}" >"$dir/log" 2>&1 &
    pid=$!
    for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$PORT/sovx/v1/health" >/dev/null && break; sleep 0.1; done
    addr=bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu
    wrk -t1 -c8 -d2s "http://127.0.0.1:$PORT/sovx/v1/health" >/dev/null
    ratios=(); served=0
    for round in $(seq 1 "$ROUNDS"); do
        read -r hr hp _ hb <<<"$(run_wrk "http://127.0.0.1:$PORT/sovx/v1/health")"
        read -r mr mp mn mb <<<"$(run_wrk "http://127.0.0.1:$PORT/api/v1/intel/wallet/$addr/hud" "X-Api-Key: $key")"
        served=$((served + mn - mb))
        ratio=$(awk -v a="$mr" -v b="$hr" 'BEGIN {printf "%.2f", a/b}')
        ratios+=("$ratio")
        printf '%-9s round %s  health %10s req/s (p99 %7s)  metered %10s req/s (p99 %7s, non-2xx %s)  ratio %s\n' \
            "$backend" "$round" "$hr" "$hp" "$mr" "$mp" "$mb" "$ratio"
    done
    kill -TERM "$pid"; wait "$pid" || true
    left=$("$SOVA" intel-key show "$key" --data-dir "$dir" "${db_args[@]}" | jq -r .remaining)
    billed=$((CREDITS - left))
    median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
    echo "$backend  metered / health = $median (median of ${ratios[*]})"
    echo "$backend  billed $billed credits for $served successful answers (wrk counts completed responses)"
    [ "$backend" = postgres ] && psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS sova_bench_intel_$$ WITH (FORCE)"
    rm -rf "$dir"
done
