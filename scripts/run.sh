#!/usr/bin/env bash
# scripts/run.sh: `make run`. Brings up the dev stack in the foreground with
# dev defaults: a redis-server on 127.0.0.1 and bin/hookline-ingest, plus
# bin/hookline-fakegraph and two bin/hookline-worker when they are built.
# Prints ready-to-paste curl lines (GET handshake, signed test event) and
# how to look at the queue, tails the logs, and on Ctrl-C / SIGTERM stops
# exactly the processes it started (by PID) and exits 0.
#
# Environment (all optional): PORT (3000), REDIS_PORT (6379; a busy port is
# replaced by a free one), HOOKLINE_RUN_DIR (.run), HOOKLINE_RUN_WORKERS (2),
# and any hookline variable (MESSENGER_*, HOOKLINE_*), which overrides the
# dev default. HOOKLINE_RUN_SMOKE=1 runs the handshake and a signed POST,
# prints the results and exits 0/1 instead of waiting (used by tests).
# It never uses a system Redis or writes outside the run dir.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

RUN_DIR=${HOOKLINE_RUN_DIR:-$ROOT/.run}
SMOKE=${HOOKLINE_RUN_SMOKE:-0}
NWORKERS=${HOOKLINE_RUN_WORKERS:-2}
WANT_PORT=${PORT:-3000}
WANT_REDIS_PORT=${REDIS_PORT:-6379}
INGEST=bin/hookline-ingest
WORKER=bin/hookline-worker
FAKEGRAPH=bin/hookline-fakegraph
HOOKCTL=bin/hookctl

# Dev defaults; a variable (or its _FILE form) already set wins.
dev_default() {
    local name=$1 value=$2 file_var="${1}_FILE"
    if [ -z "${!name:-}" ] && [ -z "${!file_var:-}" ]; then
        export "$name=$value"
    fi
}
dev_default MESSENGER_VERIFY_TOKEN dev-verify-token
dev_default MESSENGER_APP_SECRET dev-app-secret
dev_default MESSENGER_PAGE_ID 1000000000000001
dev_default MESSENGER_PAGE_ACCESS_TOKEN dev-page-token
export HOOKLINE_LOG=${HOOKLINE_LOG:-info}
export HOOKLINE_WEBHOOK_PATH=${HOOKLINE_WEBHOOK_PATH:-/webhook}
export HOOKLINE_PREFIX=${HOOKLINE_PREFIX:-hookline}

PIDS=()
NAMES=()
TAIL_PID=
RPORT=                      # set by start_redis

die() { die_as run "$@"; }

# Reads a secret from VAR or VAR_FILE (first entry of a rotation list).
secret_value() {
    local name=$1 file_var="${1}_FILE" v
    if [ -n "${!name:-}" ]; then
        v=${!name}
    elif [ -n "${!file_var:-}" ] && [ -r "${!file_var}" ]; then
        v=$(cat "${!file_var}")
    else
        v=
    fi
    printf '%s' "${v%%,*}"
}

# shellcheck disable=SC2317  # reached through the traps
cleanup() {
    trap - EXIT INT TERM
    if [ -n "$TAIL_PID" ]; then
        stop_pid "$TAIL_PID" 50
    fi
    # Reverse start order: workers, fakegraph, ingest, then redis.
    stop_pids 50 "${PIDS[@]}"
}
trap cleanup EXIT
trap 'say ""; say "run: stopping"; cleanup; exit 0' INT TERM

# start NAME LOGFILE CMD...: starts CMD in the background, remembers its PID.
start() {
    local name=$1 log=$2
    shift 2
    "$@" >"$log" 2>&1 </dev/null &
    PIDS+=("$!")
    NAMES+=("$name")
    LAST_PID=$!
}

# Writes a Messenger text-message webhook body (no trailing newline).
write_sample() {
    local now mid page=${MESSENGER_PAGE_ID:-1000000000000001}
    now=$(date +%s%3N)
    mid="m_dev_${now}_$$"
    printf '{"object":"page","entry":[{"id":"%s","time":%s,"messaging":[{"sender":{"id":"2000000000000002"},"recipient":{"id":"%s"},"timestamp":%s,"message":{"mid":"%s","text":"hello from make run"}}]}]}' \
        "$page" "$now" "$page" "$now" "$mid" \
        >"$RUN_DIR/sample-event.json"
    SAMPLE_MID=$mid
}

sign_file() {
    openssl dgst -sha256 -hmac "$(secret_value MESSENGER_APP_SECRET)" -r "$1" \
        | cut -d' ' -f1
}

# ---------------------------------------------------------------------------
# Start
# ---------------------------------------------------------------------------

[ -x "$INGEST" ] || die "$INGEST not built (run: make)"
for tool in redis-server redis-cli openssl curl; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not installed (make deps)"
done
mkdir -p "$RUN_DIR"
rm -f "$RUN_DIR"/*.log

# redis-server on WANT_REDIS_PORT, or on a free port if that one is taken
# (up to 5 tries).
start_redis "$RUN_DIR" 5 RPORT REDIS_PID "$WANT_REDIS_PORT" run
NAMES+=(redis)
export REDIS_URL="redis://127.0.0.1:$RPORT/0"

ingest_port=$WANT_PORT
if port_busy "$ingest_port"; then
    say "run: port $ingest_port is busy; ingest takes a free port"
    ingest_port=0
fi
start ingest "$RUN_DIR/ingest.log" env PORT="$ingest_port" \
    HOOKLINE_LISTEN="${HOOKLINE_LISTEN:-127.0.0.1}" "$INGEST"
INGEST_PID=$LAST_PID
IPORT=$(wait_listening "$RUN_DIR/ingest.log" "$INGEST_PID" 100) || {
    cat "$RUN_DIR/ingest.log" >&2
    die "ingest did not log \"listening\" within 10 s"
}
export HOOKLINE_INGEST_URL="http://127.0.0.1:$IPORT"
# "listening" can come before the Redis connection; /readyz says when ingest
# can take events (bounded: 50 x 100 ms; a 404 means no such endpoint).
wait_http "$HOOKLINE_INGEST_URL/readyz" 200 404 || true

LOGS=("$RUN_DIR/ingest.log")
if [ -x "$FAKEGRAPH" ] && [ -x "$WORKER" ]; then
    start fakegraph "$RUN_DIR/fakegraph.log" env PORT=0 \
        HOOKLINE_LISTEN=127.0.0.1 "$FAKEGRAPH"
    FPORT=$(wait_listening "$RUN_DIR/fakegraph.log" "$LAST_PID" 100) || {
        cat "$RUN_DIR/fakegraph.log" >&2
        die "fakegraph did not log \"listening\" within 10 s"
    }
    export GRAPH_API_BASE="http://127.0.0.1:$FPORT"
    LOGS+=("$RUN_DIR/fakegraph.log")
    for n in $(seq 1 "$NWORKERS"); do
        start "worker-$n" "$RUN_DIR/worker-$n.log" "$WORKER"
        LOGS+=("$RUN_DIR/worker-$n.log")
    done
fi

# Non-secret settings for a second terminal (hookctl, redis-cli).
{
    say "# Written by scripts/run.sh: source it to reach this dev stack."
    say "export REDIS_URL='$REDIS_URL' PORT='$IPORT'"
    say "export HOOKLINE_INGEST_URL='$HOOKLINE_INGEST_URL'"
    say "export HOOKLINE_PREFIX='$HOOKLINE_PREFIX'"
    say "export MESSENGER_PAGE_ID='${MESSENGER_PAGE_ID:-}'"
    [ -n "${GRAPH_API_BASE:-}" ] && say "export GRAPH_API_BASE='$GRAPH_API_BASE'"
    if [ "${MESSENGER_APP_SECRET:-}" = dev-app-secret ] &&
        [ "${MESSENGER_VERIFY_TOKEN:-}" = dev-verify-token ]; then
        say "export MESSENGER_APP_SECRET=dev-app-secret"
        say "export MESSENGER_VERIFY_TOKEN=dev-verify-token"
        say "export MESSENGER_PAGE_ACCESS_TOKEN=dev-page-token"
    fi
} >"$RUN_DIR/env.sh"

write_sample
SIG=$(sign_file "$RUN_DIR/sample-event.json")
URL="http://127.0.0.1:$IPORT$HOOKLINE_WEBHOOK_PATH"
VERIFY=$(secret_value MESSENGER_VERIFY_TOKEN)

# ---------------------------------------------------------------------------
# Smoke mode: check the stack answers, then stop.
# ---------------------------------------------------------------------------

if [ "$SMOKE" = 1 ]; then
    fails=0
    check() {
        local what=$1 want=$2 got=$3
        if [ "$got" = "$want" ]; then
            say "smoke: $what: ok ($got)"
        else
            say "smoke: $what: FAILED (want $want, got $got)"
            fails=$((fails + 1))
        fi
    }
    got=$(curl -s -m 5 -w ' %{http_code}' \
        "$URL?hub.mode=subscribe&hub.verify_token=$VERIFY&hub.challenge=CHALLENGE" \
        || true)
    check "GET handshake" "CHALLENGE 200" "$got"
    got=$(curl -s -m 5 -o /dev/null -w '%{http_code}' \
        "$URL?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=C" \
        || true)
    check "GET handshake, wrong token" 403 "$got"
    got=$(curl -s -m 5 -w ' %{http_code}' -H 'Content-Type: application/json' \
        -H "X-Hub-Signature-256: sha256=$SIG" \
        --data-binary "@$RUN_DIR/sample-event.json" "$URL" || true)
    check "signed POST" "EVENT_RECEIVED 200" "$got"
    got=$(curl -s -m 5 -o /dev/null -w '%{http_code}' \
        -H 'Content-Type: application/json' \
        --data-binary "@$RUN_DIR/sample-event.json" "$URL" || true)
    check "unsigned POST" 401 "$got"
    # The dedupe marker shows the event reached Redis, whether or not a
    # worker has already taken it off the queue.
    seen=$(redis-cli -p "$RPORT" --scan \
        --pattern "$HOOKLINE_PREFIX:*:seen:*$SAMPLE_MID*" | head -n 1)
    check "event in redis" yes "$([ -n "$seen" ] && echo yes || echo no)"
    say "smoke: redis keys:"
    redis-cli -p "$RPORT" --scan --pattern "$HOOKLINE_PREFIX:*" | sort \
        | sed 's/^/    /'
    qkey=$(redis-cli -p "$RPORT" --scan --pattern "$HOOKLINE_PREFIX:*:q" \
        | head -n 1)
    if [ -n "$qkey" ]; then
        say "smoke: newest envelope on $qkey:"
        redis-cli -p "$RPORT" --raw lindex "$qkey" 0 | sed 's/^/    /'
    fi
    if [ -n "${FPORT:-}" ]; then
        # A worker answers through the fake Graph API: wait (bounded:
        # 100 x 100 ms) for the echo reply to the sample event.
        reply=
        for _ in $(seq 1 100); do
            reply=$(curl -s -m 2 "$GRAPH_API_BASE/_fake/requests" \
                | grep -o 'You said: hello from make run' | head -n 1 || true)
            [ -n "$reply" ] && break
            sleep 0.1
        done
        check "reply through the fake Graph API" \
            "You said: hello from make run" "$reply"
    fi
    for i in "${!PIDS[@]}"; do
        kill -0 "${PIDS[$i]}" 2>/dev/null \
            || { say "smoke: ${NAMES[$i]} exited"; fails=$((fails + 1)); }
    done
    if [ "$fails" -ne 0 ]; then
        for f in "$RUN_DIR"/*.log; do
            say "--- $f"
            tail -n 20 "$f"
        done
        exit 1
    fi
    say "smoke: all checks passed"
    exit 0
fi

# ---------------------------------------------------------------------------
# Interactive: print how to poke the stack, tail the logs, wait.
# ---------------------------------------------------------------------------

cat <<EOF

hookline dev stack is up (logs in $RUN_DIR)
  redis   127.0.0.1:$RPORT   ($REDIS_URL)
  ingest  $HOOKLINE_INGEST_URL  (webhook $HOOKLINE_WEBHOOK_PATH)
EOF
if [ -n "${FPORT:-}" ]; then
    say "  graph   $GRAPH_API_BASE  (fakegraph) + $NWORKERS workers"
else
    say "  (no worker/fakegraph built yet: events stay on the queue)"
fi
cat <<EOF

GET handshake:
  curl '$URL?hub.mode=subscribe&hub.verify_token=$VERIFY&hub.challenge=CHALLENGE'

Signed test event ($RUN_DIR/sample-event.json):
  curl -i -H 'Content-Type: application/json' -H 'X-Hub-Signature-256: sha256=$SIG' --data-binary @$RUN_DIR/sample-event.json '$URL'
  (re-sending it is a duplicate: 200 again, enqueued once)

Queue:
  redis-cli -p $RPORT --scan --pattern '$HOOKLINE_PREFIX:*'
  redis-cli -p $RPORT lrange '$HOOKLINE_PREFIX:{N}:q' 0 -1    (N from the scan)
EOF
if [ -n "${FPORT:-}" ]; then
    cat <<EOF

Watch the reply arrive (what the workers sent to the fake Graph API):
  curl -s '$GRAPH_API_BASE/_fake/requests'
Dead letters:
  redis-cli -p $RPORT lrange '$HOOKLINE_PREFIX:dlq' 0 -1
EOF
fi
if [ -x "$HOOKCTL" ]; then
    say "  . $RUN_DIR/env.sh && $HOOKCTL stats"
fi
say ""
say "Ctrl-C stops everything. Logs follow."
say ""

tail -q -n +1 -F "${LOGS[@]}" &
TAIL_PID=$!

# Returns when any service exits (not on tail), or on Ctrl-C via the trap.
set +e
wait -n "${PIDS[@]}"
rc=$?
set -e
for i in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
        say "run: ${NAMES[$i]} exited (status $rc); see $RUN_DIR" >&2
    fi
done
exit 1
