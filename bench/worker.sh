#!/usr/bin/env bash
# bench/worker.sh: the worker part of `make bench` (bench/run.sh calls it
# last; it also runs alone). End to end, a signed POST to hookline-ingest
# to the reply arriving at hookline-fakegraph, with 1, 2 and 4
# hookline-workers, it measures:
#   - drain: the worker-only ceiling. bin/bench-e2e builds N envelopes with
#     common/'s code into staging keys and RENAMEs them onto the partition
#     queues at once; events/s until every reply reached the fake Graph.
#   - rate: a fixed offered load (BENCH_RATE events/s, one event per POST)
#     for BENCH_SECONDS; p50/p99/max receipt-to-reply latency (POST sent ->
#     Send API call seen by the fake Graph).
#   - max: as fast as the pipeline takes (10-event POSTs, at most 10,000
#     events posted but not yet answered) for BENCH_SECONDS or 90,000
#     events, whichever comes first (the fake Graph's request log keeps
#     100,000); events/s from the first POST to the last reply, and each
#     process's CPU meanwhile.
#   - the workers' peak RSS (VmHWM) over all three.
#   - cluster: the max run again with REDIS_URL=redis-cluster://... on a
#     3-primary, 3-replica Redis Cluster of six redis-servers on this same
#     machine (bench/cluster.sh), beside the single-Redis figure: on one
#     machine the cluster cannot add capacity, so the pair shows what the
#     routing costs, not how far it scales. (No drain here: its preload
#     renames every partition's queue in one MULTI, which a cluster
#     refuses across slots.)
# Every phase also checks that each accepted event got exactly one reply
# and that queues, in-flight lists and the dead letters end empty.
# Figures are printed beside the targets, never judged: it exits 0 whatever
# the speed, non-zero only when it could not run.
#
# Environment: BENCH_SECONDS (10), BENCH_WORKERS ("1 2 4"), BENCH_RATE
# (2000), BENCH_DRAIN_EVENTS (30000), HOOKLINE_REORDER_MS (200, passed to
# the workers), BENCH_CLUSTER (1; 0 skips the cluster runs), BENCH_KEEP=1
# keeps the run dir (logs). It starts its own redis-server on a free
# loopback port (later the cluster's six), fakegraph, ingest and workers,
# and stops exactly the processes it started.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
# shellcheck source=bench/cluster.sh
. bench/cluster.sh

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
WORKER_COUNTS=${BENCH_WORKERS:-"1 2 4"}
RATE=${BENCH_RATE:-2000}
DRAIN_EVENTS=${BENCH_DRAIN_EVENTS:-30000}
REORDER_MS=${HOOKLINE_REORDER_MS:-200}
WITH_CLUSTER=${BENCH_CLUSTER:-1}
PARTITIONS=16
PREFIX=hookline
BACKLOG=10000                       # max mode: events posted, unanswered
MAX_EVENTS=90000                    # max mode: the fake Graph logs 100,000
CLK_TCK=$(getconf CLK_TCK)
SECRET=bench-app-secret
TOKEN=bench-token
PAGE=1000000000000001
INGEST=bin/hookline-ingest
WORKER=bin/hookline-worker
FAKEGRAPH=bin/hookline-fakegraph
E2E=bin/bench-e2e

RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hookline-wbench.XXXXXX")
PIDS=()                             # long-lived: redis, fakegraph, ingest
WPIDS=()                            # the current set of workers
E2E_PID=
KEEP=${BENCH_KEEP:-0}
ON_CLUSTER=0                        # 1 once the cluster runs are on
STORE_URL=                          # REDIS_URL of ingest and the workers
REDIS_PIDS=()                       # the Redis processes in use
REDIS_LABEL=redis                   # their name in the CPU line
LOG_TAG=                            # "-cluster" in the cluster runs' logs

die() { KEEP=1; die_as "worker bench" "$@"; }

cleanup() {
    if [ -n "$E2E_PID" ]; then
        stop_pid "$E2E_PID"
    fi
    stop_pids 100 "${WPIDS[@]}"
    stop_pids 20 "${PIDS[@]}"
    keep_or_remove "$KEEP" "$RUN_DIR" "worker bench"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rcli() { redis-cli -p "$REDIS_PORT" --raw "$@"; }

# "held owners max_per_owner" of the partition leases.
lease_summary() {
    if [ "$ON_CLUSTER" = 1 ]; then
        # one slot per partition: a script could not read them all
        cluster_each "$PREFIX" "$PARTITIONS" GET lease |
            awk 'NF { held++; c[$1]++ }
                 END { for (o in c) { d++; if (c[o] > m) m = c[o] }
                       print held + 0, d + 0, m + 0 }'
        return 0
    fi
    rcli eval "
        local owners, held, distinct, maxper = {}, 0, 0, 0
        for n = 0, tonumber(ARGV[2]) - 1 do
            local v = redis.call('GET', ARGV[1] .. ':{' .. n .. '}:lease')
            if v then
                held = held + 1
                owners[v] = (owners[v] or 0) + 1
            end
        end
        for _, c in pairs(owners) do
            distinct = distinct + 1
            if c > maxper then maxper = c end
        end
        return held .. ' ' .. distinct .. ' ' .. maxper" \
        0 "$PREFIX" "$PARTITIONS"
}

# "queued inflight dead_letters" summed over every partition.
leftovers() {
    if [ "$ON_CLUSTER" = 1 ]; then
        printf '%s %s %s\n' \
            "$(cluster_each "$PREFIX" "$PARTITIONS" LLEN q |
                awk '{ n += $1 } END { print n + 0 }')" \
            "$(cluster_each "$PREFIX" "$PARTITIONS" LLEN inflight |
                awk '{ n += $1 } END { print n + 0 }')" \
            "$(ccli LLEN "$PREFIX:dlq" 2>/dev/null | grep -v '^-> ')"
        return 0
    fi
    rcli eval "
        local q, f = 0, 0
        for n = 0, tonumber(ARGV[2]) - 1 do
            q = q + redis.call('LLEN', ARGV[1] .. ':{' .. n .. '}:q')
            f = f + redis.call('LLEN', ARGV[1] .. ':{' .. n .. '}:inflight')
        end
        return q .. ' ' .. f .. ' ' .. redis.call('LLEN', ARGV[1] .. ':dlq')" \
        0 "$PREFIX" "$PARTITIONS"
}

# Sum of cpu_ticks over the PIDs given.
cpu_sum() {
    local p s=0
    for p in "$@"; do
        s=$((s + $(cpu_ticks "$p")))
    done
    echo "$s"
}

# cpu_pct TICKS MILLISECONDS: share of one core.
cpu_pct() {
    awk -v t="$1" -v ms="$2" -v hz="$CLK_TCK" \
        'BEGIN { printf "%.0f%%", (ms > 0 ? t / hz * 1e5 / ms : 0) }'
}

now_ms() { date +%s%3N; }

# "busy total" jiffies of the whole machine (all cores), from /proc/stat.
machine_ticks() {
    awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i;
                   print t - $5 - $6, t; exit }' /proc/stat
}

# field NAME FILE: the value of NAME=... on the HL_E2E line.
field() {
    sed -n "s/^HL_E2E .* $1=\([-0-9.]*\).*/\1/p" "$2" | head -n 1
}

# Starts W workers and waits (bounded: 30 s) until every partition has
# exactly one owner, W owners, none above ceil(partitions / W). Sets WPIDS
# and BALANCE_MS; returns 1 with UNBALANCED set when that never happens.
start_workers() {
    local w=$1 i t0 sum held owners maxper share
    WPIDS=()
    t0=$(now_ms)
    for i in $(seq 1 "$w"); do
        env REDIS_URL="$STORE_URL" \
            GRAPH_API_BASE="http://127.0.0.1:$FG_PORT" \
            MESSENGER_PAGE_ID=$PAGE MESSENGER_PAGE_ACCESS_TOKEN=$TOKEN \
            HOOKLINE_PREFIX=$PREFIX HOOKLINE_PARTITIONS=$PARTITIONS \
            HOOKLINE_REORDER_MS="$REORDER_MS" HOOKLINE_LOG=warn \
            "$WORKER" 2>"$RUN_DIR/worker$LOG_TAG-w$w-$i.log" </dev/null &
        WPIDS+=("$!")
    done
    share=$(( (PARTITIONS + w - 1) / w ))
    for i in $(seq 1 300); do
        for p in "${WPIDS[@]}"; do
            kill -0 "$p" 2>/dev/null || {
                cat "$RUN_DIR"/worker"$LOG_TAG"-w"$w"-*.log >&2
                die "a worker exited during startup"
            }
        done
        sum=$(lease_summary)
        read -r held owners maxper <<<"$sum"
        if [ "$held" = "$PARTITIONS" ] && [ "$owners" = "$w" ] &&
            [ "$maxper" -le "$share" ]; then
            BALANCE_MS=$(( $(now_ms) - t0 ))
            return 0
        fi
        sleep 0.1
    done
    UNBALANCED="held/owners/max-per-owner $sum"
    return 1
}

# Stops the current workers (SIGTERM: they drain, release their leases and
# exit 0 within 10 s); sets STOP_CODES.
stop_workers() {
    local p
    STOP_CODES=
    for p in "${WPIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${WPIDS[@]}"; do
        stop_pid "$p" 120
        STOP_CODES="$STOP_CODES${STOP_CODES:+,}$STOP_RC"
    done
    WPIDS=()
}

# run_e2e NAME ARGS...: one bench-e2e run in the background (so a signal
# reaches our trap at once); its output goes to $RUN_DIR/NAME.out. With
# SAMPLE_CPU=1 it also measures every process's CPU during the steady part
# of the posting window: from 1 s in, for BENCH_SECONDS - 2 s but at most
# 4 s (a flat-out run may end early at MAX_EVENTS).
run_e2e() {
    local name=$1 out="$RUN_DIR/$1.out" a b ms t0 mb0 mt0 mb1 mt1
    shift
    "$E2E" "$@" >"$out" 2>&1 </dev/null &
    E2E_PID=$!
    if [ "${SAMPLE_CPU:-0}" = 1 ] && [ "$SECONDS_PER_RUN" -ge 3 ]; then
        sleep 1
        a=("$(cpu_ticks "$INGEST_PID")" "$(cpu_sum "${REDIS_PIDS[@]}")"
           "$(cpu_ticks "$FG_PID")" "$(cpu_ticks "$E2E_PID")"
           "$(cpu_sum "${WPIDS[@]}")")
        read -r mb0 mt0 < <(machine_ticks)
        t0=$(now_ms)
        sleep $((SECONDS_PER_RUN - 2 < 4 ? SECONDS_PER_RUN - 2 : 4))
        ms=$(( $(now_ms) - t0 ))
        b=("$(cpu_ticks "$INGEST_PID")" "$(cpu_sum "${REDIS_PIDS[@]}")"
           "$(cpu_ticks "$FG_PID")" "$(cpu_ticks "$E2E_PID")"
           "$(cpu_sum "${WPIDS[@]}")")
        read -r mb1 mt1 < <(machine_ticks)
        CPU_LINE="ingest $(cpu_pct $((b[0] - a[0])) "$ms"),"
        CPU_LINE+=" $REDIS_LABEL $(cpu_pct $((b[1] - a[1])) "$ms"),"
        CPU_LINE+=" fakegraph $(cpu_pct $((b[2] - a[2])) "$ms"),"
        CPU_LINE+=" poster $(cpu_pct $((b[3] - a[3])) "$ms"),"
        CPU_LINE+=" workers $(cpu_pct $((b[4] - a[4])) "$ms") (sum);"
        # jiffies are per core: busy/total of the machine times the cores
        # is comparable to the per-process shares above
        CPU_LINE+=" whole machine $(awk -v b=$((mb1 - mb0)) \
            -v t=$((mt1 - mt0)) -v n="$(nproc)" \
            'BEGIN { printf "%.0f%%", (t > 0 ? b / t * 100 * n : 0) }')"
        CPU_LINE+=" of $(( $(nproc) * 100 ))%, other processes"
        CPU_LINE+=" $(awk -v b=$((mb1 - mb0)) -v t=$((mt1 - mt0)) \
            -v n="$(nproc)" -v ours=$(( b[0] + b[1] + b[2] + b[3] + b[4] \
                - a[0] - a[1] - a[2] - a[3] - a[4] )) -v ms="$ms" \
            -v hz="$CLK_TCK" 'BEGIN {
                o = (t > 0 ? b / t * 100 * n : 0) - ours / hz * 1e5 / ms
                printf "%.0f%%", (o > 0 ? o : 0) }')"
    fi
    wait "$E2E_PID" || true
    E2E_PID=
    if ! grep -q '^HL_E2E ' "$out"; then
        cat "$out" >&2
        die "bench-e2e run $name printed no figures"
    fi
}

# ---------------------------------------------------------------------------
# Preconditions and long-lived servers
# ---------------------------------------------------------------------------

for tool in redis-server redis-cli; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not installed (make deps)"
done
for prog in "$INGEST" "$WORKER" "$FAKEGRAPH" "$E2E"; do
    [ -x "$prog" ] || die "$prog not built (make bench builds it)"
done
for w in $WORKER_COUNTS; do
    case "$w" in
        '' | *[!0-9]* | 0) die "BENCH_WORKERS must be counts >= 1: $w" ;;
    esac
done

# on a free loopback port (up to 3 ports)
start_redis "$RUN_DIR" 3 REDIS_PORT REDIS_PID
STORE_URL="redis://127.0.0.1:$REDIS_PORT/0"
REDIS_PIDS=("$REDIS_PID")

env PORT=0 HOOKLINE_LISTEN=127.0.0.1 HOOKLINE_LOG=info \
    MESSENGER_PAGE_ACCESS_TOKEN=$TOKEN \
    "$FAKEGRAPH" 2>"$RUN_DIR/fakegraph.log" </dev/null &
FG_PID=$!
PIDS+=("$FG_PID")
FG_PORT=$(wait_listening "$RUN_DIR/fakegraph.log" "$FG_PID") \
    || { cat "$RUN_DIR/fakegraph.log" >&2; die "fakegraph did not start"; }

# start_ingest LOG: ingest on STORE_URL; sets INGEST_PID and INGEST_PORT
# and waits (bounded) until /readyz says Redis is reachable.
start_ingest() {
    env PORT=0 HOOKLINE_LISTEN=127.0.0.1 HOOKLINE_LOG=info \
        MESSENGER_VERIFY_TOKEN=bench-verify-token \
        MESSENGER_APP_SECRET=$SECRET REDIS_URL="$STORE_URL" \
        HOOKLINE_PREFIX=$PREFIX HOOKLINE_PARTITIONS=$PARTITIONS \
        "$INGEST" 2>"$RUN_DIR/$1" </dev/null &
    INGEST_PID=$!
    PIDS+=("$INGEST_PID")
    INGEST_PORT=$(wait_listening "$RUN_DIR/$1" "$INGEST_PID") \
        || { cat "$RUN_DIR/$1" >&2; die "ingest did not start"; }
    wait_http "http://127.0.0.1:$INGEST_PORT/readyz" 200 || true
}
start_ingest ingest.log

nw=$(wc -w <<<"$WORKER_COUNTS")
est=$((nw * (2 * SECONDS_PER_RUN + 15)))
also=
if [ "$WITH_CLUSTER" = 1 ]; then
    est=$((est + 5 + nw * (SECONDS_PER_RUN + 8)))
    also=", ${SECONDS_PER_RUN}s flat out on a cluster"
fi
say ""
say "hookline worker bench: workers \"$WORKER_COUNTS\"; per set a" \
    "$DRAIN_EVENTS-event drain, ${SECONDS_PER_RUN}s at $RATE events/s," \
    "${SECONDS_PER_RUN}s flat out$also (~$est s);"
say "reorder window $REORDER_MS ms; $(nproc) cores;" \
    "ingest :$INGEST_PORT, fakegraph :$FG_PORT, redis :$REDIS_PORT"

# ---------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------

declare -A DRAIN_EPS DRAIN_FIRST P50 P90 P99 PMAX RATE_EPS MAX_EPS MAX_P99
declare -A RSS_KB CPU BAL LOST DUPS LEFT CODES WARNS NOTES
set_no=0
for w in $WORKER_COUNTS; do
    set_no=$((set_no + 1))
    base=$((2000000000000000 + set_no * 10000000))
    printf '  %d worker(s): ' "$w"
    NOTES[$w]=
    if ! start_workers "$w"; then
        # unowned partitions would never be drained: nothing to measure
        BAL[$w]="NOT (after 30 s: $UNBALANCED)"
        NOTES[$w]=" skipped: partitions not shared out"
        for k in DRAIN_EPS DRAIN_FIRST P50 P90 P99 PMAX RATE_EPS MAX_EPS \
            MAX_P99 LOST DUPS; do
            eval "$k[\$w]=-"
        done
        RSS_KB[$w]=0
        LEFT[$w]=$(leftovers)
        stop_workers
        CODES[$w]=$STOP_CODES
        WARNS[$w]=
        printf 'NOT balanced in 30 s (%s); skipped\n' "$UNBALANCED"
        continue
    fi
    BAL[$w]="in $BALANCE_MS ms"
    printf 'balanced in %s ms; ' "$BALANCE_MS"

    # drain: the worker-only ceiling
    run_e2e "drain-w$w" drain --graph "http://127.0.0.1:$FG_PORT" \
        --redis-port "$REDIS_PORT" --prefix "$PREFIX" \
        --partitions "$PARTITIONS" --page "$PAGE" --tag "w${w}d$$" \
        --events "$DRAIN_EVENTS" --user-base "$base" \
        --drain-ms $((DRAIN_EVENTS / 500 * 1000 + 10000))
    f="$RUN_DIR/drain-w$w.out"
    DRAIN_EPS[$w]=$(field eps "$f")
    DRAIN_FIRST[$w]=$(field first_reply_ms "$f")
    lost=$(field missing "$f")
    dups=$(field dup "$f")
    [ "$(field timed_out "$f")" = 1 ] && NOTES[$w]+=" drain-timed-out"
    printf 'drain %s/s; ' "${DRAIN_EPS[$w]}"

    # rate: fixed offered load, latency
    run_e2e "rate-w$w" post --ingest "http://127.0.0.1:$INGEST_PORT/webhook" \
        --graph "http://127.0.0.1:$FG_PORT" --secret "$SECRET" \
        --page "$PAGE" --tag "w${w}r$$" --rate "$RATE" --per-body 1 \
        --seconds "$SECONDS_PER_RUN" --conns 16 \
        --user-base $((base + 1000000)) --drain-ms 30000
    f="$RUN_DIR/rate-w$w.out"
    P50[$w]=$(field p50_ms "$f")
    P90[$w]=$(field p90_ms "$f")
    P99[$w]=$(field p99_ms "$f")
    PMAX[$w]=$(field max_ms "$f")
    RATE_EPS[$w]=$(field offered_eps "$f")
    lost="$lost+$(field missing "$f")"
    dups="$dups+$(field dup "$f")"
    [ "$(field post_errors "$f")" = 0 ] ||
        NOTES[$w]+=" rate:post_errors=$(field post_errors "$f")"
    [ "$(field max_lag "$f")" -le $((RATE / 20)) ] ||
        NOTES[$w]+=" rate:poster-lagged-$(field max_lag "$f")-events"
    [ "$(field timed_out "$f")" = 1 ] && NOTES[$w]+=" rate-timed-out"
    printf 'p99 %s ms; ' "${P99[$w]}"

    # max: as fast as the pipeline takes
    CPU_LINE=
    SAMPLE_CPU=1 run_e2e "max-w$w" post \
        --ingest "http://127.0.0.1:$INGEST_PORT/webhook" \
        --graph "http://127.0.0.1:$FG_PORT" --secret "$SECRET" \
        --page "$PAGE" --tag "w${w}m$$" --rate 0 --per-body 10 \
        --backlog "$BACKLOG" --seconds "$SECONDS_PER_RUN" --conns 16 \
        --max-events "$MAX_EVENTS" \
        --user-base $((base + 2000000)) --drain-ms 60000
    f="$RUN_DIR/max-w$w.out"
    MAX_EPS[$w]=$(field eps "$f")
    MAX_P99[$w]=$(field p99_ms "$f")
    CPU[$w]=$CPU_LINE
    lost="$lost+$(field missing "$f")"
    dups="$dups+$(field dup "$f")"
    [ "$(field post_errors "$f")" = 0 ] ||
        NOTES[$w]+=" max:post_errors=$(field post_errors "$f")"
    [ "$(field timed_out "$f")" = 1 ] && NOTES[$w]+=" max-timed-out"
    [ "$(field capped "$f")" = 1 ] &&
        NOTES[$w]+=" flat-out-run-ended-at-$MAX_EVENTS-events-after-$(field \
            span_ms "$f")-ms"
    printf 'max %s/s; ' "${MAX_EPS[$w]}"
    LOST[$w]=$lost
    DUPS[$w]=$dups

    # peak RSS before they stop, then a clean SIGTERM stop
    rss=0
    for p in "${WPIDS[@]}"; do
        k=$(vmhwm_kb "$p")
        [ "$k" -gt "$rss" ] && rss=$k
    done
    RSS_KB[$w]=$rss
    sleep 0.5
    LEFT[$w]=$(leftovers)
    stop_workers
    CODES[$w]=$STOP_CODES
    WARNS[$w]=$(cat "$RUN_DIR"/worker-w"$w"-*.log 2>/dev/null |
        sed -n 's/.*"level":"\(warn\|error\)".*"msg":"\([a-z_]*\)".*/\2/p' |
        sort | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""),
            $2, $1 }')
    printf 'stopped (exit %s)\n' "$STOP_CODES"
done

# ---------------------------------------------------------------------------
# The flat-out run again, on a 3-primary Redis Cluster
# ---------------------------------------------------------------------------

declare -A C_EPS C_P99 C_LOST C_DUP C_CPU C_LEFT C_CODES C_WARNS C_NOTES
if [ "$WITH_CLUSTER" = 1 ]; then
    # The single Redis and its ingest go first: nothing idle of ours runs
    # beside the cluster.
    stop_pid "$INGEST_PID"
    stop_pid "$REDIS_PID"
    printf '  cluster: '
    t0=$(now_ms)
    start_cluster "$RUN_DIR/cluster"
    ON_CLUSTER=1
    STORE_URL=$CLUSTER_URL
    REDIS_PIDS=("${CLUSTER_PIDS[@]}")
    REDIS_LABEL="redis (6 nodes)"
    LOG_TAG=-cluster
    start_ingest ingest-cluster.log
    printf '3+3 nodes up and ingest ready in %s ms (primaries :%s)\n' \
        $(( $(now_ms) - t0 )) "$(cluster_primaries | paste -sd, | \
            sed 's/,/, :/g')"
    for w in $WORKER_COUNTS; do
        set_no=$((set_no + 1))
        base=$((2000000000000000 + set_no * 10000000))
        printf '  %d worker(s) on the cluster: ' "$w"
        C_NOTES[$w]=
        if ! start_workers "$w"; then
            C_NOTES[$w]=" skipped: partitions not shared out ($UNBALANCED)"
            C_EPS[$w]=-
            C_P99[$w]=-
            C_LOST[$w]=-
            C_DUP[$w]=-
            C_LEFT[$w]=$(leftovers)
            stop_workers
            C_CODES[$w]=$STOP_CODES
            C_WARNS[$w]=
            printf 'NOT balanced in 30 s (%s); skipped\n' "$UNBALANCED"
            continue
        fi
        printf 'balanced in %s ms; ' "$BALANCE_MS"
        CPU_LINE=
        SAMPLE_CPU=1 run_e2e "max-cluster-w$w" post \
            --ingest "http://127.0.0.1:$INGEST_PORT/webhook" \
            --graph "http://127.0.0.1:$FG_PORT" --secret "$SECRET" \
            --page "$PAGE" --tag "w${w}c$$" --rate 0 --per-body 10 \
            --backlog "$BACKLOG" --seconds "$SECONDS_PER_RUN" --conns 16 \
            --max-events "$MAX_EVENTS" \
            --user-base $((base + 2000000)) --drain-ms 60000
        f="$RUN_DIR/max-cluster-w$w.out"
        C_EPS[$w]=$(field eps "$f")
        C_P99[$w]=$(field p99_ms "$f")
        C_LOST[$w]=$(field missing "$f")
        C_DUP[$w]=$(field dup "$f")
        C_CPU[$w]=$CPU_LINE
        [ "$(field post_errors "$f")" = 0 ] ||
            C_NOTES[$w]+=" post_errors=$(field post_errors "$f")"
        [ "$(field timed_out "$f")" = 1 ] && C_NOTES[$w]+=" timed-out"
        [ "$(field capped "$f")" = 1 ] &&
            C_NOTES[$w]+=" ended-at-$MAX_EVENTS-events-after-$(field \
                span_ms "$f")-ms"
        printf 'max %s/s; ' "${C_EPS[$w]}"
        sleep 0.5
        C_LEFT[$w]=$(leftovers)
        stop_workers
        C_CODES[$w]=$STOP_CODES
        C_WARNS[$w]=$(cat "$RUN_DIR"/worker-cluster-w"$w"-*.log \
            2>/dev/null |
            sed -n 's/.*"level":"\(warn\|error\)".*"msg":"\([a-z_]*\)".*/\2/p' |
            sort | uniq -c | awk '{ printf "%s%s x%s", (NR > 1 ? ", " : ""),
                $2, $1 }')
        printf 'stopped (exit %s)\n' "$STOP_CODES"
    done
fi

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

mb() { awk -v k="${1:-0}" 'BEGIN { printf "%.1f", k / 1024 }'; }
num() { [ -n "$1" ] && [ "$1" != "-1" ] && echo "$1" || echo 0; }

say ""
printf '%7s | %10s | %10s %8s | %8s %7s %7s %7s | %7s | %s\n' \
    workers "drain ev/s" "e2e ev/s" "its p99" \
    "@$RATE/s" "p50 ms" "p99 ms" "max ms" "RSS MB" \
    "lost dup (drain+rate+max)"
for w in $WORKER_COUNTS; do
    printf '%7s | %10s | %10s %8s | %8s %7s %7s %7s | %7s | %s %s\n' \
        "$w" "${DRAIN_EPS[$w]}" "${MAX_EPS[$w]}" "${MAX_P99[$w]}" \
        "${RATE_EPS[$w]}" "${P50[$w]}" "${P99[$w]}" "${PMAX[$w]}" \
        "$(mb "${RSS_KB[$w]}")" "${LOST[$w]}" "${DUPS[$w]}"
done

say ""
row() { printf '%-50s %12s %12s %5s\n' "$@"; }
row target measured goal met
p99_goal=$((REORDER_MS + 25))
for w in $WORKER_COUNTS; do
    row "end-to-end events/s, $w worker(s)" "${MAX_EPS[$w]}" ">= 8000" \
        "$(yesno "$(num "${MAX_EPS[$w]}") >= 8000")"
done
for w in $WORKER_COUNTS; do
    row "p99 receipt-to-reply at $RATE/s, $w worker(s)" \
        "${P99[$w]} ms" "<= $p99_goal ms" \
        "$(yesno "$(num "${P99[$w]}") > 0 && ${P99[$w]} <= $p99_goal")"
done
for w in $WORKER_COUNTS; do
    row "worker peak RSS (VmHWM), $w worker(s)" "$(mb "${RSS_KB[$w]}") MB" \
        "<= 30 MB" "$(yesno "${RSS_KB[$w]} <= 30720")"
done

say ""
for w in $WORKER_COUNTS; do
    say "$w worker(s): balanced ${BAL[$w]} after start; drain first" \
        "reply ${DRAIN_FIRST[$w]} ms after the queue appeared;" \
        "left queued/inflight/dlq: ${LEFT[$w]// /\/}; exit codes ${CODES[$w]}"
    say "  cpu flat out (share of one core): ${CPU[$w]:-not sampled}"
    [ -n "${WARNS[$w]}" ] && say "  worker warnings: ${WARNS[$w]}"
    [ -n "${NOTES[$w]}" ] && say "  notes:${NOTES[$w]}"
done
if [ "$WITH_CLUSTER" = 1 ]; then
    say ""
    say "end to end (10-event POSTs, flat out): one Redis vs a 3-primary," \
        "3-replica Redis Cluster on this same machine (the routing's cost," \
        "not scaling: all six nodes share these $(nproc) cores)"
    printf '%7s | %10s | %10s %8s | %11s %8s | %7s | %s\n' workers \
        "drain ev/s" "single ev/s" "its p99" "cluster ev/s" "its p99" \
        "c/s" "cluster lost dup"
    for w in $WORKER_COUNTS; do
        printf '%7s | %10s | %10s %8s | %11s %8s | %7s | %s %s\n' "$w" \
            "${DRAIN_EPS[$w]}" "${MAX_EPS[$w]}" "${MAX_P99[$w]}" \
            "${C_EPS[$w]}" "${C_P99[$w]}" \
            "$(awk -v a="$(num "${C_EPS[$w]}")" -v b="$(num \
                "${MAX_EPS[$w]}")" 'BEGIN { if (a > 0 && b > 0)
                printf "%.2fx", a / b; else printf "-" }')" \
            "${C_LOST[$w]}" "${C_DUP[$w]}"
    done
    for w in $WORKER_COUNTS; do
        say "$w worker(s) on the cluster: left queued/inflight/dlq:" \
            "${C_LEFT[$w]// /\/}; exit codes ${C_CODES[$w]}"
        say "  cpu flat out (share of one core): ${C_CPU[$w]:-not sampled}"
        [ -n "${C_WARNS[$w]}" ] && say "  worker warnings: ${C_WARNS[$w]}"
        [ -n "${C_NOTES[$w]}" ] && say "  notes:${C_NOTES[$w]}"
    done
    say "drain ev/s = the worker-only ceiling, measured on the single Redis."
fi
say ""
say "latency = POST handed to the socket -> Send API call at the fake" \
    "Graph (an upper bound of rx -> reply); e2e ev/s = replies / (first" \
    "POST -> last reply); lost -1 = fake Graph log overflowed (unknown)."
say "(figures only: make bench never fails on speed)"
