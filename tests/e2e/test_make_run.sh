#!/usr/bin/env bash
# tests/e2e/test_make_run.sh: `make run` from a fresh clone of the committed
# tree (HEAD, what CI sees; uncommitted changes are not tested), as a
# developer runs it: it must build, start Redis (append-only file), ingest,
# two workers and the fake Graph API on the ports it is given, answer the
# GET handshake, take a signed event and reply through the fake Graph API,
# write a run-dir env file that bin/hookctl works with, and on SIGINT to
# its process group (a terminal's Ctrl-C) stop everything it started:
# nothing of the run left running or listening.
#
# Prints "#NN name: PASSED|FAILED" lines (tests/run.sh counts them) and
# exits 1 if any check failed. Bounded: 180 s for the build and start, 30 s
# for the stop; the temp dir and anything still running from it are
# removed on exit, whatever happened.
set -u

cd "$(dirname "$0")/../.." || exit 2
ROOT=$(pwd)
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
# shellcheck source=tests/e2e/lib.sh
. tests/e2e/lib.sh

START_S=180
STOP_S=30

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hl-makerun-XXXXXX") || exit 2
TMP=$(cd "$TMP" && pwd -P)
SRC=$TMP/src
RUN=$TMP/run
OUT=$TMP/make-run.out
MAKE_PID=
PGID=

# Processes of this run: working directory in TMP (make, the script,
# Redis in the run dir, the programs in the clone) or in the session of
# make run (the log tail).
run_procs() {
    local d c
    for d in /proc/[0-9]*; do
        c=$(readlink "$d/cwd" 2>/dev/null) || continue
        case "$c" in
            "$TMP" | "$TMP"/*) printf '%s\n' "${d#/proc/}" ;;
        esac
    done
    [ -z "$PGID" ] || ps -o pid= -s "$PGID" 2>/dev/null | tr -d ' '
}

# shellcheck disable=SC2317  # reached through the trap
cleanup() {
    local p i
    trap - EXIT INT TERM
    if [ -n "$MAKE_PID" ] && kill -0 "$MAKE_PID" 2>/dev/null; then
        kill -TERM -- "-$PGID" 2>/dev/null
        for i in $(seq 1 100); do
            kill -0 "$MAKE_PID" 2>/dev/null || break
            sleep 0.1
        done
    fi
    # Whatever is left of this run (only processes in our temp dir).
    for p in $(run_procs | sort -u); do
        [ "$p" != $$ ] && kill -KILL "$p" 2>/dev/null
    done
    [ -z "$MAKE_PID" ] || wait "$MAKE_PID" 2>/dev/null
    if [ "${HL_KEEP:-0}" = 1 ]; then
        echo "# kept $TMP"
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# show_log: the end of make run's output, for a failed check.
show_log() {
    echo "    --- make run output (last 30 lines):"
    tail -n 30 "$OUT" 2>/dev/null | sed 's/^/    /'
}

# ---------------------------------------------------------------- clone
# A clone of HEAD (or, should cloning fail, `git archive HEAD`); outside a
# git checkout, a copy of the tree without build output. safe.directory:
# a CI checkout may belong to another user.
ok=0
why=
GIT=(git -c safe.directory="$ROOT")
if "${GIT[@]}" -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    echo "# testing commit $("${GIT[@]}" -C "$ROOT" rev-parse --short HEAD)"
    if "${GIT[@]}" clone -q "$ROOT" "$SRC" 2>"$TMP/clone.err" ||
        { rm -rf "$SRC" && mkdir -p "$SRC" &&
              "${GIT[@]}" -C "$ROOT" archive HEAD | tar -x -C "$SRC"; }; then
        ok=1
    else
        why=$(head -c 400 "$TMP/clone.err")
    fi
else
    echo "# $ROOT is not a git checkout: testing a copy of the tree"
    mkdir -p "$SRC" &&
        tar -C "$ROOT" --exclude=./.git --exclude=./build --exclude=./bin \
            --exclude=./.run -cf - . | tar -x -C "$SRC" && ok=1
fi
result "fresh copy of the committed tree" "$ok" "$why"
if [ "$ok" != 1 ]; then
    exit 1
fi

# ---------------------------------------------------------------- start
PORT=$(free_port)
RPORT=$(free_port)
while [ "$RPORT" = "$PORT" ]; do RPORT=$(free_port); done

t0=$(date +%s)
# A session of its own (PGID = the session leader's PID, written to a
# file), SIGINT at its default even if our caller ignores it, and nothing
# from our environment but what make and apt need.
setsid -w env --default-signal=INT -i PATH="$PATH" HOME="${HOME:-/root}" \
    USER="${USER:-}" LANG=C.UTF-8 TERM=dumb PORT="$PORT" \
    REDIS_PORT="$RPORT" HOOKLINE_RUN_DIR="$RUN" \
    bash -c 'echo $$ >"$1/pgid"; cd "$2" && exec make -j4 run' _ \
    "$TMP" "$SRC" >"$OUT" 2>&1 </dev/null &
MAKE_PID=$!
for _ in $(seq 1 50); do
    [ -s "$TMP/pgid" ] && break
    sleep 0.1
done
PGID=$(cat "$TMP/pgid" 2>/dev/null)

ready=0
deadline=$((t0 + START_S))
while [ "$(date +%s)" -lt "$deadline" ]; do
    if grep -q '^Ctrl-C stops everything' "$OUT" 2>/dev/null; then
        ready=1
        break
    fi
    kill -0 "$MAKE_PID" 2>/dev/null || break
    sleep 0.5
done
echo "# make run (build and start) took $(($(date +%s) - t0)) s"
result "make run builds and prints its ready banner" "$ready" \
    "$([ "$ready" = 1 ] || show_log)"
if [ "$ready" != 1 ]; then
    exit 1
fi

# ---------------------------------------------------------------- use
ENVF=$RUN/env
ok=0
vars="REDIS_URL PORT HOOKLINE_INGEST_URL HOOKLINE_WEBHOOK_PATH"
vars="$vars HOOKLINE_PREFIX GRAPH_API_BASE MESSENGER_PAGE_ID"
vars="$vars MESSENGER_VERIFY_TOKEN MESSENGER_APP_SECRET"
vars="$vars MESSENGER_PAGE_ACCESS_TOKEN"
missing=
if [ -r "$ENVF" ]; then
    # shellcheck disable=SC1090
    missing=$(
        . "$ENVF"
        for v in $vars; do [ -n "${!v:-}" ] || printf '%s ' "$v"; done
    )
    [ -z "$missing" ] && ok=1
fi
result "the run dir's env file sets what hookctl needs" "$ok" \
    "missing: ${missing:-the file $ENVF}"
# shellcheck disable=SC1090
. "$ENVF" 2>/dev/null
URL="${HOOKLINE_INGEST_URL:-}${HOOKLINE_WEBHOOK_PATH:-}"
IPORT=${PORT:-}
GRAPH_API_BASE=${GRAPH_API_BASE:-}
REDIS_URL=${REDIS_URL:-}
FPORT=${GRAPH_API_BASE##*:}
REDIS_PORT_USED=${REDIS_URL##*:}
REDIS_PORT_USED=${REDIS_PORT_USED%%/*}

result "ingest and Redis run on the ports given" \
    "$([ "$IPORT" = "$PORT" ] && [ "$REDIS_PORT_USED" = "$RPORT" ] &&
        echo 1)" \
    "ingest $IPORT (want $PORT), redis $REDIS_PORT_USED (want $RPORT)"

got=$(redis-cli -p "$REDIS_PORT_USED" config get appendonly 2>&1 | tail -n 1)
result "Redis runs with appendonly yes, files in the run dir" \
    "$([ "$got" = yes ] && [ -d "$RUN/appendonlydir" ] && echo 1)" \
    "appendonly: $got; $(ls "$RUN" 2>&1 | tr '\n' ' ')"

# Live as the workers and hookctl count them: a heartbeat (the score, wall
# ms) younger than HOOKLINE_LEASE_MS (hl_membership.h; default 5000).
lease=${HOOKLINE_LEASE_MS:-5000}
wkey="${HOOKLINE_PREFIX:-hookline}:workers"
live=$(redis-cli -p "$REDIS_PORT_USED" zcount "$wkey" \
    "$(($(date +%s%3N) - lease))" +inf 2>&1)
all=$(redis-cli -p "$REDIS_PORT_USED" zcard "$wkey" 2>&1)
result "two workers are live (heartbeat within HOOKLINE_LEASE_MS)" \
    "$([ "$live" = 2 ] && echo 1)" \
    "live in $wkey: $live of $all (lease $lease ms)"

chal="e2e-$$-$RANDOM"
hs="hub.mode=subscribe&hub.verify_token=${MESSENGER_VERIFY_TOKEN:-}"
got=$(curl -s -m 5 -w ' %{http_code}' "$URL?$hs&hub.challenge=$chal" 2>&1)
result "GET handshake answers the challenge" \
    "$([ "$got" = "$chal 200" ] && echo 1)" "got: $got"

text="make run e2e $$-$RANDOM"
now=$(date +%s%3N)
page=${MESSENGER_PAGE_ID:-1000000000000001}
fmt='{"object":"page","entry":[{"id":"%s","time":%s,"messaging":[{'
fmt+='"sender":{"id":"2000000000000077"},"recipient":{"id":"%s"},'
fmt+='"timestamp":%s,"message":{"mid":"m_e2e_%s","text":"%s"}}]}]}'
# shellcheck disable=SC2059  # the format is ours
printf "$fmt" "$page" "$now" "$page" "$now" "$now$$" "$text" \
    >"$TMP/event.json"
sig=$(openssl dgst -sha256 -hmac "${MESSENGER_APP_SECRET:-}" -r \
    "$TMP/event.json" | cut -d' ' -f1)
got=$(curl -s -m 5 -w ' %{http_code}' -H 'Content-Type: application/json' \
    -H "X-Hub-Signature-256: sha256=$sig" --data-binary "@$TMP/event.json" \
    "$URL" 2>&1)
result "signed test message: 200 EVENT_RECEIVED" \
    "$([ "$got" = "EVENT_RECEIVED 200" ] && echo 1)" "got: $got"

# wait_reply TEXT: waits (bounded: 150 x 100 ms) for the worker's echo
# reply "You said: TEXT" in the fake Graph API's request log.
wait_reply() {
    local i
    for i in $(seq 1 150); do
        curl -s -m 2 "${GRAPH_API_BASE:-}/_fake/requests" 2>/dev/null |
            grep -qF "You said: $1" && return 0
        sleep 0.1
    done
    return 1
}
ok=0
wait_reply "$text" && ok=1
result "a worker replies through the fake Graph API" "$ok" \
    "no \"You said: $text\" at ${GRAPH_API_BASE:-?}/_fake/requests"

# hookctl, when the clone builds it.
if [ -x "$SRC/bin/hookctl" ]; then
    out=$(cd "$SRC" && bin/hookctl stats 2>&1)
    rc=$?
    result "bin/hookctl stats with the env file exits 0" \
        "$([ "$rc" = 0 ] && echo 1)" "exit $rc: $(head -c 400 <<<"$out")"
    out=$(cd "$SRC" && bin/hookctl send-test --text hi 2>&1)
    rc=$?
    result "bin/hookctl send-test --text hi with the env file exits 0" \
        "$([ "$rc" = 0 ] && echo 1)" "exit $rc: $(head -c 400 <<<"$out")"
    ok=0
    wait_reply hi && ok=1
    result "the hookctl test message gets its reply" "$ok"
else
    echo "# no bin/hookctl in this commit: hookctl not checked"
fi

# ---------------------------------------------------------------- stop
mapfile -t before < <(run_procs | sort -u)
t1=$(date +%s)
kill -INT -- "-$PGID"
stopped=0
for _ in $(seq 1 $((STOP_S * 10))); do
    if ! kill -0 "$MAKE_PID" 2>/dev/null; then
        stopped=1
        break
    fi
    sleep 0.1
done
rc=
if [ "$stopped" = 1 ]; then
    wait "$MAKE_PID"
    rc=$?
    MAKE_PID=
fi
echo "# make run stopped $(($(date +%s) - t1)) s after SIGINT"
# GNU make ends itself with the SIGINT it got (status 130) once the
# recipe is done; the script's own clean exit shows as "run: stopped".
ok=0
if [ "$stopped" = 1 ] && { [ "$rc" = 0 ] || [ "$rc" = 130 ]; } &&
    grep -q '^run: stopped$' "$OUT" &&
    ! grep -qE '^make(\[[0-9]+\])?: \*\*\*' "$OUT"; then
    ok=1
fi
result "SIGINT stops make run cleanly within ${STOP_S} s" "$ok" \
    "$(echo "stopped=$stopped status=$rc"; show_log)"

# alive PID: true while PID runs (a zombie waiting for its reaper is done).
alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$st" ] && [ "$st" != Z ]
}
left=
for p in $( (printf '%s\n' "${before[@]}"; run_procs) | sort -u); do
    [ "$p" != $$ ] && alive "$p" &&
        left="$left $p:$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null |
            sed 's/ *$//')"
done
result "no process of the run is left" "$([ -z "$left" ] && echo 1)" \
    "still running:$left"

busy=
for p in "$IPORT" "$REDIS_PORT_USED" "$FPORT"; do
    [ -n "$p" ] && port_busy "$p" && busy="$busy $p"
done
result "nothing listens on the run's ports any more" \
    "$([ -z "$busy" ] && [ -n "$FPORT" ] && echo 1)" \
    "listening:${busy:- none} (ports $IPORT $REDIS_PORT_USED $FPORT)"

all_passed
