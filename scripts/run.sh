#!/usr/bin/env bash
# scripts/run.sh: `make run`. Brings up the dev stack in the foreground with
# dev defaults: a redis-server on 127.0.0.1 with an append-only file in the
# run dir, bin/hookline-ingest, plus bin/hookline-fakegraph and two
# bin/hookline-worker when they are built. Writes RUN_DIR/env (the settings
# hookctl and redis-cli need, for `. .run/env` in another terminal), prints
# ready-to-paste curl lines (GET handshake, signed test event), hookctl
# lines when bin/hookctl is built and how to look at the queue, tails the
# logs, and on Ctrl-C / SIGTERM stops exactly the processes it started (by
# PID; workers first, Redis last) and exits 0. Each program runs in its
# own session, so a terminal's Ctrl-C reaches only this script's trap,
# which stops them in order (workers drain while Redis is still up).
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
# The secret defaults have the shapes hookctl doctor checks: an app secret
# is 32 lowercase hex digits, a page token a long string without spaces.
DEV_DEFAULTED=()
dev_default() {
    local name=$1 value=$2 file_var="${1}_FILE"
    if [ -z "${!name:-}" ] && [ -z "${!file_var:-}" ]; then
        export "$name=$value"
        DEV_DEFAULTED+=("$name")
    fi
}
# dev_defaulted NAME: true when NAME holds this script's dev default.
dev_defaulted() {
    [[ " ${DEV_DEFAULTED[*]} " == *" $1 "* ]]
}
dev_default MESSENGER_VERIFY_TOKEN dev-verify-token
dev_default MESSENGER_APP_SECRET d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0
dev_default MESSENGER_PAGE_ID 1000000000000001
dev_default MESSENGER_PAGE_ACCESS_TOKEN \
    EAAdevPageAccessTokenForLocalTrialsOnly0000
export HOOKLINE_LOG=${HOOKLINE_LOG:-info}
export HOOKLINE_WEBHOOK_PATH=${HOOKLINE_WEBHOOK_PATH:-/webhook}
export HOOKLINE_PREFIX=${HOOKLINE_PREFIX:-hookline}

PIDS=()
NAMES=()
TAIL_PID=
RPORT=                      # set by start_redis

die() { die_as run "$@"; }

# Reads a secret from VAR or VAR_FILE (first entry of a rotation list).
# From a file exactly one trailing "\n" (and one "\r" before it) is
# dropped, as common/hl_cfg.c does; $(cat) alone would drop every
# trailing newline, so the sentinel x keeps them until then.
secret_value() {
    local name=$1 file_var="${1}_FILE" v
    if [ -n "${!name:-}" ]; then
        v=${!name}
    elif [ -n "${!file_var:-}" ] && [ -r "${!file_var}" ]; then
        v=$(cat "${!file_var}" && printf x)
        v=${v%x}
        v=${v%$'\n'}
        v=${v%$'\r'}
    else
        v=
    fi
    printf '%s' "${v%%,*}"
}

# shellcheck disable=SC2317  # reached through the traps
cleanup() {
    trap - EXIT INT TERM
    # Reverse start order: workers, fakegraph, ingest, then redis; the log
    # tail last, so their last lines (draining, stopped) show.
    stop_pids 50 "${PIDS[@]}"
    if [ -n "$TAIL_PID" ]; then
        stop_pid "$TAIL_PID" 50
    fi
}
trap cleanup EXIT
trap 'say ""; say "run: stopping"; cleanup; say "run: stopped"; exit 0' \
    INT TERM

# start NAME LOGFILE CMD...: starts CMD in the background in its own
# session (setsid does not fork: a child of this script is no group
# leader), remembers its PID.
start() {
    local name=$1 log=$2
    shift 2
    setsid "$@" >"$log" 2>&1 </dev/null &
    PIDS+=("$!")
    NAMES+=("$name")
    LAST_PID=$!
}

# Writes a Messenger text-message webhook body (no trailing newline).
write_sample() {
    local now mid page=${MESSENGER_PAGE_ID:-1000000000000001}
    now=$(date +%s%3N)
    mid="m_dev_${now}_$$"
    local fmt='{"object":"page","entry":[{"id":"%s","time":%s,'
    fmt+='"messaging":[{"sender":{"id":"2000000000000002"},'
    fmt+='"recipient":{"id":"%s"},"timestamp":%s,'
    fmt+='"message":{"mid":"%s","text":"hello from make run"}}]}]}'
    # shellcheck disable=SC2059  # the format is ours
    printf "$fmt" "$page" "$now" "$page" "$now" "$mid" \
        >"$RUN_DIR/sample-event.json"
    SAMPLE_MID=$mid
}

# sign_file FILE: the hex HMAC-SHA256 of FILE's bytes under the first app
# secret. The key never goes on a command line (ps shows those to every
# user): bin/hookctl sign reads it from the environment like the programs
# do; without hookctl, python3 gets it in its environment.
sign_file() {
    local sig
    if [ -x "$HOOKCTL" ] && sig=$("$HOOKCTL" sign "$1" 2>/dev/null); then
        printf '%s\n' "${sig#sha256=}"
        return 0
    fi
    HL_SIGN_KEY=$(secret_value MESSENGER_APP_SECRET) python3 -c '
import hashlib, hmac, os, sys
with open(sys.argv[1], "rb") as f:
    body = f.read()
print(hmac.new(os.environb[b"HL_SIGN_KEY"], body, hashlib.sha256).hexdigest())
' "$1"
}

# write_env_file FILE: what hookctl and redis-cli need to reach this stack,
# for `. FILE` in another terminal. Secrets are written only when they are
# this script's dev defaults; a NAME_FILE the caller set is written as the
# path; a value of the caller's own is left out, with a comment.
write_env_file() {
    local v name file_var
    {
        say "# $SHOW_DIR/env: written by scripts/run.sh (make run) for this"
        say "# dev stack; \`. $SHOW_DIR/env\` in another terminal, then"
        say "# bin/hookctl or redis-cli."
        for v in REDIS_URL PORT HOOKLINE_INGEST_URL HOOKLINE_WEBHOOK_PATH \
            HOOKLINE_PREFIX HOOKLINE_PARTITIONS HOOKLINE_LEASE_MS \
            GRAPH_API_BASE GRAPH_API_VERSION MESSENGER_PAGE_ID \
            HOOKLINE_PAGES_FILE HOOKLINE_PUBLIC_URL; do
            [ -z "${!v:-}" ] || printf 'export %s=%q\n' "$v" "${!v}"
        done
        for name in MESSENGER_VERIFY_TOKEN MESSENGER_APP_SECRET \
            MESSENGER_PAGE_ACCESS_TOKEN; do
            file_var="${name}_FILE"
            if dev_defaulted "$name"; then
                printf 'export %s=%q    # dev default\n' "$name" "${!name}"
            elif [ -n "${!file_var:-}" ]; then
                # The programs run from the repo root; the file's user
                # may not.
                v=${!file_var}
                [[ $v == /* ]] || v=$ROOT/$v
                printf 'export %s=%q\n' "$file_var" "$v"
            else
                say "# $name: your own value is in use; export it here too."
            fi
        done
    } >"$1"
}

# ---------------------------------------------------------------------------
# Start
# ---------------------------------------------------------------------------

[ -x "$INGEST" ] || die "$INGEST not built (run: make)"
for tool in redis-server redis-cli curl setsid; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not installed (make deps)"
done
[ -x "$HOOKCTL" ] || command -v python3 >/dev/null 2>&1 ||
    die "neither $HOOKCTL nor python3 to sign the sample event (make deps)"
mkdir -p "$RUN_DIR"
RUN_DIR=$(cd "$RUN_DIR" && pwd)
# An earlier run's logs, and its env file (its ports are stale until this
# run writes its own).
rm -f "$RUN_DIR"/*.log "$RUN_DIR/env"
# How to name the run dir in the lines printed: relative to the repo root
# when it is inside it (`make run` runs from there).
case "$RUN_DIR" in
    "$ROOT"/*) SHOW_DIR=${RUN_DIR#"$ROOT"/} ;;
    *) SHOW_DIR=$RUN_DIR ;;
esac

# redis-server on WANT_REDIS_PORT, or on a free port if that one is taken
# (up to 5 tries), with the queue kept in an append-only file in the run
# dir, as in production (a restart of `make run` finds it again).
start_redis "$RUN_DIR" 5 RPORT REDIS_PID "$WANT_REDIS_PORT" run yes
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
export HOOKLINE_INGEST_URL="http://127.0.0.1:$IPORT" PORT=$IPORT
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
    since=$(date +%s%3N)
    for n in $(seq 1 "$NWORKERS"); do
        start "worker-$n" "$RUN_DIR/worker-$n.log" "$WORKER"
        LOGS+=("$RUN_DIR/worker-$n.log")
    done
    # A worker looks around for about a second before it takes partitions;
    # wait (bounded: 100 x 100 ms) for every one's first heartbeat in
    # PREFIX:workers (scores are ms; older entries are earlier runs').
    live=0
    for _ in $(seq 1 100); do
        live=$(redis-cli -p "$RPORT" zcount "$HOOKLINE_PREFIX:workers" \
            "$since" +inf 2>/dev/null || echo 0)
        [ "${live:-0}" -ge "$NWORKERS" ] 2>/dev/null && break
        sleep 0.1
    done
    [ "${live:-0}" -ge "$NWORKERS" ] 2>/dev/null ||
        say "run: only ${live:-0} of $NWORKERS workers live after 10 s"
fi

write_env_file "$RUN_DIR/env"

write_sample
SIG=$(sign_file "$RUN_DIR/sample-event.json")
URL="http://127.0.0.1:$IPORT$HOOKLINE_WEBHOOK_PATH"
VERIFY=$(secret_value MESSENGER_VERIFY_TOKEN)
# The banner shows the verify token only when it is the dev default; the
# caller's own (set or from a file) is never printed.
SHOW_VERIFY='<your verify token>'
if dev_defaulted MESSENGER_VERIFY_TOKEN; then
    SHOW_VERIFY=$VERIFY
fi

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
    hs="hub.mode=subscribe&hub.verify_token=$VERIFY&hub.challenge=CHALLENGE"
    got=$(curl -s -m 5 -w ' %{http_code}' "$URL?$hs" || true)
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

hookline dev stack is up (logs in $SHOW_DIR)
  redis   127.0.0.1:$RPORT   ($REDIS_URL, append-only file in $SHOW_DIR)
  ingest  $HOOKLINE_INGEST_URL  (webhook $HOOKLINE_WEBHOOK_PATH)
EOF
if [ -n "${FPORT:-}" ]; then
    say "  graph   $GRAPH_API_BASE  (fakegraph) + $NWORKERS workers"
else
    say "  (no worker/fakegraph built yet: events stay on the queue)"
fi
cat <<EOF

GET handshake:
  curl '$URL?hub.mode=subscribe&hub.verify_token=$SHOW_VERIFY&hub.challenge=C'

Signed test event ($SHOW_DIR/sample-event.json):
  curl -i -H 'Content-Type: application/json' \\
    -H 'X-Hub-Signature-256: sha256=$SIG' \\
    --data-binary @$SHOW_DIR/sample-event.json '$URL'
  (re-sending it is a duplicate: 200 again, enqueued once)

Queue (N from the scan):
  redis-cli -p $RPORT --scan --pattern '$HOOKLINE_PREFIX:*'
  redis-cli -p $RPORT lrange '$HOOKLINE_PREFIX:{N}:q' 0 -1
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
    cat <<EOF

hookctl, in another terminal (from $ROOT):
  . $SHOW_DIR/env
  $HOOKCTL doctor            # the checklist
  $HOOKCTL subscribe         # the fake Graph API starts unsubscribed
  $HOOKCTL send-test --text hi
  $HOOKCTL stats
  $HOOKCTL dlq list
EOF
else
    say ""
    say "Settings for another terminal: . $SHOW_DIR/env"
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
