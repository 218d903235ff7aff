#!/usr/bin/env bash
# bench/run.sh: `make bench`. Puts the same wrk load on bin/hookline-ingest
# (with its own Redis) and on bin/bench-ceiling (a bare evhttp server that
# only checks the signature), then prints req/s, events/s, p50/p99, the
# ingest/ceiling ratio and ingest's peak RSS beside the targets.
#
# Every request is a distinct signed body (bench/wrk_post.lua), so dedupe
# never hides work; after each ingest run the envelopes in Redis are counted
# against the 200s wrk saw. Figures are printed, never judged: the script
# exits 0 whatever the speed, and non-zero only if it could not run at all.
#
# Environment: BENCH_SECONDS (10) per run, BENCH_CONNS ("1 16 64"),
# BENCH_SHAPES ("1 10": events per body), BENCH_CLUSTER (1; 0 skips the
# cluster runs), BENCH_KEEP=1 keeps the run dir. It starts its own
# redis-server on a free loopback port and stops exactly the processes it
# started.
#
# Then, with the largest connection count, ingest again on a 3-primary,
# 3-replica Redis Cluster of six redis-servers on this same machine
# (bench/cluster.sh), beside the one-Redis figure: the cost of routing
# each event to its partition's primary, not scaling (the six nodes share
# the cores with ingest and wrk).
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
# shellcheck source=bench/cluster.sh
. bench/cluster.sh

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNS:-"1 16 64"}
SHAPES=${BENCH_SHAPES:-"1 10"}
WITH_CLUSTER=${BENCH_CLUSTER:-1}
PARTITIONS=16                       # ingest's default, set explicitly
CLK_TCK=$(getconf CLK_TCK)
SECRET=bench-app-secret
PAGE=1000000000000001
INGEST=bin/hookline-ingest
CEILING=bin/bench-ceiling
LUA=bench/wrk_post.lua
MAX_THREADS=2                       # the machine has 2 cores

RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hookline-bench.XXXXXX")
PIDS=()
KEEP=${BENCH_KEEP:-0}

die() { KEEP=1; die_as bench "$@"; }

WRK_PID=
cleanup() {
    if [ -n "$WRK_PID" ]; then
        stop_pid "$WRK_PID"
    fi
    stop_pids 20 "${PIDS[@]}"
    keep_or_remove "$KEEP" "$RUN_DIR" bench
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Number of envelopes on every partition queue, and in the dead letters.
queue_count() {
    redis-cli -p "$REDIS_PORT" --raw eval "
        local n = 0
        for _, k in ipairs(redis.call('KEYS', ARGV[1])) do
            n = n + redis.call('LLEN', k)
        end
        return n" 0 'hookline:*:q'
}

# cpu_sum_of PID...: their CPU ticks added up.
cpu_sum_of() {
    local p s=0
    for p in "$@"; do
        s=$((s + $(cpu_ticks "$p")))
    done
    echo "$s"
}

# cpu_pct TICKS_BEFORE TICKS_AFTER MICROSECONDS: share of one core.
cpu_pct() {
    awk -v a="$1" -v b="$2" -v us="$3" -v hz="$CLK_TCK" \
        'BEGIN { printf "%.0f%%", (us > 0 ? (b - a) / hz * 1e8 / us : 0) }'
}

field() {
    sed -n "s/.* $1=\([0-9][0-9]*\).*/\1/p" "$2" | head -n 1
}

# wrk_figures NAME: run NAME's figures into OUT (its output file), OK
# (200s), SENT (requests), DUR (microseconds), ERRS (errors and non-2xx)
# and RATE (200s per second).
wrk_figures() {
    OUT="$RUN_DIR/$1.out"
    OK=$(field ok "$OUT")
    SENT=$(field sent "$OUT")
    DUR=$(field duration_us "$OUT")
    ERRS=$(( $(field errors "$OUT") + $(field non2xx "$OUT") ))
    RATE=$(awk -v n="$OK" -v d="$DUR" \
        'BEGIN { printf "%.0f", (d > 0 ? n * 1e6 / d : 0) }')
}

# count_verdict GOT EVENTS: after wrk_figures, prints whether the GOT
# envelopes in Redis lie between (200s seen by wrk) and (requests sent)
# x EVENTS: requests still in flight when wrk stopped are enqueued by
# ingest but never counted by wrk. A mismatch clears COUNT_OK.
count_verdict() {
    local got=$1 ev=$2 lo hi verdict=ok
    lo=$((OK * ev))
    hi=$((SENT * ev))
    if [ "$got" -lt "$lo" ] || [ "$got" -gt "$hi" ]; then
        verdict=MISMATCH
        COUNT_OK=0
    fi
    printf '  redis %s envelopes (want %s..%s): %s' \
        "$got" "$lo" "$hi" "$verdict"
}

# run_wrk NAME URL EVENTS CONNS: one wrk run; writes $RUN_DIR/NAME.out.
run_wrk() {
    local name=$1 url=$2 ev=$3 c=$4 t
    t=$((c < MAX_THREADS ? c : MAX_THREADS))
    # In the background so that a signal reaches our trap at once.
    wrk -t"$t" -c"$c" -d"${SECONDS_PER_RUN}s" --timeout 5s --latency \
        -s "$LUA" "$url" -- "$ev" "$name-$$" "$SECRET" "$PAGE" \
        >"$RUN_DIR/$name.out" 2>&1 </dev/null &
    WRK_PID=$!
    wait "$WRK_PID" || true
    WRK_PID=
    if ! grep -q '^HL_BENCH ' "$RUN_DIR/$name.out"; then
        cat "$RUN_DIR/$name.out" >&2
        die "wrk run $name printed no figures"
    fi
}

# ---------------------------------------------------------------------------
# Preconditions and servers
# ---------------------------------------------------------------------------

for tool in wrk redis-server redis-cli; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not installed (make deps)"
done
[ -x "$CEILING" ] || die "$CEILING not built (make bench builds it)"
HAVE_INGEST=0
[ -x "$INGEST" ] && HAVE_INGEST=1

PORT=0 HOOKLINE_LISTEN=127.0.0.1 MESSENGER_APP_SECRET=$SECRET \
    "$CEILING" 2>"$RUN_DIR/ceiling.log" </dev/null &
CEILING_PID=$!
PIDS+=("$CEILING_PID")
CEILING_PORT=$(wait_listening "$RUN_DIR/ceiling.log" "$CEILING_PID") \
    || { cat "$RUN_DIR/ceiling.log" >&2; die "bench-ceiling did not start"; }

if [ "$HAVE_INGEST" = 1 ]; then
    # on a free loopback port (up to 3 ports, as Redis's own harness does)
    start_redis "$RUN_DIR" 3 REDIS_PORT REDIS_PID
    env PORT=0 HOOKLINE_LISTEN=127.0.0.1 HOOKLINE_LOG=info \
        MESSENGER_VERIFY_TOKEN=bench-verify-token \
        MESSENGER_APP_SECRET=$SECRET \
        REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
        "$INGEST" 2>"$RUN_DIR/ingest.log" </dev/null &
    INGEST_PID=$!
    PIDS+=("$INGEST_PID")
    INGEST_PORT=$(wait_listening "$RUN_DIR/ingest.log" "$INGEST_PID") \
        || { cat "$RUN_DIR/ingest.log" >&2; die "ingest did not start"; }
    # Ingest may take a moment to reach Redis; /readyz says when (bounded).
    wait_http "http://127.0.0.1:$INGEST_PORT/readyz" 200 404 || true
fi

runs=$(( $(wc -w <<<"$SHAPES") * $(wc -w <<<"$CONNS") * (1 + HAVE_INGEST) ))
if [ "$HAVE_INGEST" = 1 ] && [ "$WITH_CLUSTER" = 1 ]; then
    runs=$((runs + $(wc -w <<<"$SHAPES")))
fi
say "hookline bench: ${SECONDS_PER_RUN}s per run, $runs runs" \
    "(~$((runs * SECONDS_PER_RUN)) s); wrk threads <= $MAX_THREADS;" \
    "$(nproc) cores"
if [ "$HAVE_INGEST" = 1 ]; then
    say "ingest :$INGEST_PORT (redis :$REDIS_PORT), ceiling :$CEILING_PORT"
else
    say "ingest not built ($INGEST missing): ceiling figures only"
fi

# ---------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------

COUNT_OK=1
declare -A RPS EPS P50 P99
for ev in $SHAPES; do
    for c in $CONNS; do
        for target in ceiling ingest; do
            if [ "$target" = ingest ]; then
                [ "$HAVE_INGEST" = 1 ] || continue
                port=$INGEST_PORT
            else
                port=$CEILING_PORT
            fi
            name="$target-e$ev-c$c"
            printf '  %-20s ' "$name"
            if [ "$target" = ingest ]; then
                # Each run is counted on its own: start from an empty Redis.
                redis-cli -p "$REDIS_PORT" flushall >/dev/null
                pids="$INGEST_PID $REDIS_PID"
            else
                pids=$CEILING_PID
            fi
            before=()
            for p in $pids; do
                before+=("$(cpu_ticks "$p")")
            done
            run_wrk "$name" "http://127.0.0.1:$port/webhook" "$ev" "$c"
            cpu=()
            j=0
            for p in $pids; do
                [ "$p" = "${REDIS_PID:-}" ] && cpu+=(redis)
                cpu+=("$(cpu_pct "${before[$j]}" "$(cpu_ticks "$p")" \
                    "$(field duration_us "$RUN_DIR/$name.out")")")
                j=$((j + 1))
            done
            wrk_figures "$name"
            RPS[$name]=$RATE
            EPS[$name]=$(( RATE * ev ))
            P50[$name]=$(field p50_us "$OUT")
            P99[$name]=$(field p99_us "$OUT")
            printf '%8s req/s  p99 %6s us  errors %s  cpu %s' \
                "${RPS[$name]}" "${P99[$name]}" "$ERRS" "${cpu[*]}"
            if [ "$target" = ingest ]; then
                sleep 0.5
                count_verdict "$(queue_count)" "$ev"
            fi
            printf '\n'
        done
    done
done

if [ "$HAVE_INGEST" = 1 ]; then
    RSS_KB=$(vmhwm_kb "$INGEST_PID")
    REDIS_RSS_KB=$(vmhwm_kb "$REDIS_PID")
fi
CEIL_RSS_KB=$(vmhwm_kb "$CEILING_PID")

# ---------------------------------------------------------------------------
# Ingest on a 3-primary Redis Cluster, largest connection count
# ---------------------------------------------------------------------------

TOP=$(tr ' ' '\n' <<<"$CONNS" | sort -n | tail -n 1)
declare -A C_RPS C_EPS C_P99
C_RUN=0
if [ "$HAVE_INGEST" = 1 ] && [ "$WITH_CLUSTER" = 1 ]; then
    C_RUN=1
    # One Redis and its ingest go first: nothing idle of ours runs beside.
    stop_pid "$INGEST_PID"
    stop_pid "$REDIS_PID"
    start_cluster "$RUN_DIR/cluster"
    env PORT=0 HOOKLINE_LISTEN=127.0.0.1 HOOKLINE_LOG=info \
        MESSENGER_VERIFY_TOKEN=bench-verify-token \
        MESSENGER_APP_SECRET=$SECRET REDIS_URL="$CLUSTER_URL" \
        HOOKLINE_PARTITIONS=$PARTITIONS \
        "$INGEST" 2>"$RUN_DIR/ingest-cluster.log" </dev/null &
    CINGEST_PID=$!
    PIDS+=("$CINGEST_PID")
    CINGEST_PORT=$(wait_listening "$RUN_DIR/ingest-cluster.log" \
        "$CINGEST_PID") || { cat "$RUN_DIR/ingest-cluster.log" >&2
            die "ingest on the cluster did not start"; }
    wait_http "http://127.0.0.1:$CINGEST_PORT/readyz" 200 ||
        die "ingest on the cluster not ready (no complete slot map)"
    say "cluster: 3 primaries + 3 replicas (ports ${CLUSTER_PORTS[*]})," \
        "ingest :$CINGEST_PORT"
    for ev in $SHAPES; do
        name="ingest-cluster-e$ev-c$TOP"
        printf '  %-20s ' "$name"
        cluster_flush
        a=$(cpu_ticks "$CINGEST_PID")
        r=$(cpu_sum_of "${CLUSTER_PIDS[@]}")
        run_wrk "$name" "http://127.0.0.1:$CINGEST_PORT/webhook" "$ev" "$TOP"
        wrk_figures "$name"
        C_RPS[$ev]=$RATE
        C_EPS[$ev]=$(( RATE * ev ))
        C_P99[$ev]=$(field p99_us "$OUT")
        printf '%8s req/s  p99 %6s us  errors %s  cpu %s redis (6) %s' \
            "${C_RPS[$ev]}" "${C_P99[$ev]}" "$ERRS" \
            "$(cpu_pct "$a" "$(cpu_ticks "$CINGEST_PID")" "$DUR")" \
            "$(cpu_pct "$r" "$(cpu_sum_of "${CLUSTER_PIDS[@]}")" "$DUR")"
        sleep 0.5
        count_verdict "$(cluster_each hookline "$PARTITIONS" LLEN q |
            awk '{ n += $1 } END { print n + 0 }')" "$ev"
        printf '\n'
    done
fi

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

ms() { awk -v u="${1:-0}" 'BEGIN { printf "%.2f", u / 1000 }'; }
ratio() {
    awk -v a="${1:-0}" -v b="${2:-0}" \
        'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else printf "-" }'
}

say ""
printf '%-6s %5s | %9s %10s %7s %7s | %9s %10s %7s %7s | %5s\n' \
    events conns "ingest/s" "events/s" "p50 ms" "p99 ms" \
    "ceiling/s" "events/s" "p50 ms" "p99 ms" ratio
for ev in $SHAPES; do
    for c in $CONNS; do
        i="ingest-e$ev-c$c"
        k="ceiling-e$ev-c$c"
        if [ "$HAVE_INGEST" = 1 ]; then
            printf '%-6s %5s | %9s %10s %7s %7s | ' "$ev" "$c" "${RPS[$i]}" \
                "${EPS[$i]}" "$(ms "${P50[$i]}")" "$(ms "${P99[$i]}")"
        else
            printf '%-6s %5s | %9s %10s %7s %7s | ' "$ev" "$c" - - - -
        fi
        printf '%9s %10s %7s %7s | %5s\n' "${RPS[$k]}" "${EPS[$k]}" \
            "$(ms "${P50[$k]}")" "$(ms "${P99[$k]}")" \
            "$(ratio "${RPS[$i]:-0}" "${RPS[$k]}")"
    done
done

if [ "$C_RUN" = 1 ]; then
    say ""
    say "ingest on a 3-primary, 3-replica Redis Cluster vs one Redis," \
        "$TOP connections (same machine: the routing's cost, not scaling)"
    printf '%-6s | %9s %10s %7s | %9s %10s %7s | %6s | %9s\n' events \
        "1 redis/s" "events/s" "p99 ms" "cluster/s" "events/s" "p99 ms" \
        "c/1" "ceiling/s"
    for ev in $SHAPES; do
        i="ingest-e$ev-c$TOP"
        printf '%-6s | %9s %10s %7s | %9s %10s %7s | %6s | %9s\n' "$ev" \
            "${RPS[$i]}" "${EPS[$i]}" "$(ms "${P99[$i]}")" \
            "${C_RPS[$ev]}" "${C_EPS[$ev]}" "$(ms "${C_P99[$ev]}")" \
            "$(ratio "${C_RPS[$ev]}" "${RPS[$i]}")x" \
            "${RPS[ceiling-e$ev-c$TOP]}"
    done
fi

say ""
if [ "$HAVE_INGEST" = 1 ]; then
    # The targets are stated for 64 connections; fall back to the largest
    # connection count run when BENCH_CONNS leaves 64 out.
    top=$(tr ' ' '\n' <<<"$CONNS" | sort -n | tail -n 1)
    rss_mb=$(awk -v k="$RSS_KB" 'BEGIN { printf "%.1f", k / 1024 }')
    row() { printf '%-48s %12s %12s %5s\n' "$@"; }
    row target measured goal met
    i1="ingest-e1-c$top"
    i10="ingest-e10-c$top"
    if [ -n "${RPS[$i1]:-}" ]; then
        r1=$(ratio "${RPS[$i1]}" "${RPS[ceiling-e1-c$top]}")
        row "ingest/ceiling req/s, $top conns, 1 event" "${r1}x" ">= 0.75x" \
            "$(yesno "${r1/-/0} >= 0.75")"
    fi
    if [ -n "${RPS[$i10]:-}" ]; then
        row "events/s, 10-event bodies, $top conns" "${EPS[$i10]}" \
            ">= 100000" "$(yesno "${EPS[$i10]} >= 100000")"
    fi
    if [ -n "${RPS[$i1]:-}" ]; then
        row "p99, $top conns, 1 event" "$(ms "${P99[$i1]}") ms" "<= 10 ms" \
            "$(yesno "${P99[$i1]} <= 10000")"
    fi
    if [ -n "${RPS[$i10]:-}" ]; then
        row "p99, $top conns, 10 events" "$(ms "${P99[$i10]}") ms" \
            "<= 10 ms" "$(yesno "${P99[$i10]} <= 10000")"
    fi
    row "ingest peak RSS (VmHWM)" "$rss_mb MB" "<= 20 MB" \
        "$(yesno "$RSS_KB <= 20480")"
    say ""
    say "peak RSS: ingest $RSS_KB kB, redis $REDIS_RSS_KB kB," \
        "ceiling $CEIL_RSS_KB kB"
    if [ "$COUNT_OK" = 1 ]; then
        say "envelope count: every run matched its 200s (x events per body)"
    else
        say "envelope count: MISMATCH in at least one run (see above)"
    fi
else
    say "peak RSS: ceiling $CEIL_RSS_KB kB"
fi
say "(figures only: make bench never fails on speed)"
# The worker part (bench/worker.sh) runs on its own servers: stop ours first.
cleanup; trap - EXIT; exec bash bench/worker.sh
