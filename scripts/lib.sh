# shellcheck shell=bash
# scripts/lib.sh: shell helpers shared by scripts/run.sh (`make run`),
# bench/run.sh and bench/worker.sh (`make bench`): stopping the processes a
# script started, waiting for a server's "listening" log line or an HTTP
# status, starting a private redis-server, and a few /proc readers.
#
# Source it (`. scripts/lib.sh` from the repo root). Sourcing only defines
# functions: it sets no variables, options or traps and runs nothing.
# Bash, not sh (local, arrays, /dev/tcp, printf -v).
#
# Conventions the callers follow: a script keeps the PIDs it started in the
# array PIDS (its traps stop exactly those; start_redis appends to it), and
# defines die MESSAGE... (print, exit non-zero), which start_redis calls.

say() { printf '%s\n' "$*"; }

# die_as NAME MESSAGE...: prints "NAME: MESSAGE" on stderr and exits 1.
die_as() {
    local name=$1
    shift
    printf '%s: %s\n' "$name" "$*" >&2
    exit 1
}

# stop_pid PID [TRIES]: stops one process we started: SIGTERM, up to TRIES
# x 100 ms (default 20), then SIGKILL. Prints nothing; the exit status is
# left in STOP_RC.
# shellcheck disable=SC2034  # STOP_RC is read by the callers
stop_pid() {
    local pid=$1 tries=${2:-20} i
    STOP_RC=0
    if ! kill -TERM "$pid" 2>/dev/null; then
        wait "$pid" 2>/dev/null || STOP_RC=$?
        return 0
    fi
    for i in $(seq 1 "$tries"); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || STOP_RC=$?
}

# stop_pids TRIES PID...: stop_pid PID TRIES on each, last one first
# (reverse start order).
stop_pids() {
    local tries=$1 i
    shift
    for ((i = $#; i >= 1; i--)); do
        stop_pid "${!i}" "$tries"
    done
}

# keep_or_remove KEEP DIR NAME: with KEEP=1 says "NAME: logs kept in DIR"
# on stderr, else removes DIR.
keep_or_remove() {
    if [ "$1" = 1 ]; then
        say "$3: logs kept in $2" >&2
    else
        rm -rf "$2"
    fi
}

# port_busy PORT: true when something accepts connections on 127.0.0.1:PORT.
port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_listening LOG PID [TRIES]: waits (bounded: TRIES x 100 ms, default
# 50) for the "listening" JSON log line in LOG; prints the port it names.
# Returns 1 if PID exits first or the line never comes.
wait_listening() {
    local log=$1 pid=$2 tries=${3:-50} i port
    for i in $(seq 1 "$tries"); do
        port=$(sed -n 's/.*"msg":"listening".*"port":\([0-9][0-9]*\).*/\1/p' \
            "$log" 2>/dev/null | head -n 1)
        if [ -n "$port" ]; then
            printf '%s\n' "$port"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# wait_http URL CODE...: waits (bounded: 50 x 100 ms, each GET at most 2 s)
# until GET URL answers with one of the status CODEs; returns 1 if it never
# does.
wait_http() {
    local url=$1 i c code
    shift
    for i in $(seq 1 50); do
        code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$url" || true)
        for c in "$@"; do
            [ "$code" = "$c" ] && return 0
        done
        sleep 0.1
    done
    return 1
}

# start_redis DIR TRIES PORT_VAR PID_VAR [FIRST_PORT [NAME [AOF]]]: starts
# redis-server bound to 127.0.0.1 (working dir DIR, output in
# DIR/redis.log) without persistence, or with AOF=yes with an append-only
# file in DIR/appendonlydir (kept across runs); appends its PID to PIDS and
# waits (bounded: 50 x 100 ms) for PONG; then sets the variables named
# PORT_VAR and PID_VAR. The server runs in its own session (setsid, which
# does not fork here), so a terminal's Ctrl-C reaches the script, whose
# trap stops Redis after the programs that use it.
# Tries FIRST_PORT first when given, then random ports in 20000..49999, at
# most TRIES ports in all. A port already taken costs a try (and, when NAME
# is given, prints "NAME: port P is busy; picking another for redis"); a
# server that could not bind is stopped and dropped from PIDS. Any other
# failure prints the log on stderr and calls die.
start_redis() {
    local dir=$1 tries=$2 port_var=$3 pid_var=$4 port=${5:-} name=${6:-}
    local aof=${7:-no}
    local log="$1/redis.log" try pid i
    for ((try = 1; try <= tries; try++)); do
        [ -n "$port" ] || port=$((20000 + RANDOM % 30000))
        if port_busy "$port"; then
            [ -z "$name" ] ||
                say "$name: port $port is busy; picking another for redis"
            port=
            continue
        fi
        setsid redis-server --port "$port" --bind 127.0.0.1 --save "" \
            --appendonly "$aof" --dir "$dir" --logfile "" \
            >"$log" 2>&1 </dev/null &
        pid=$!
        PIDS+=("$pid")
        for i in $(seq 1 50); do
            if [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then
                printf -v "$port_var" '%s' "$port"
                printf -v "$pid_var" '%s' "$pid"
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if ! grep -q "Address already in use" "$log"; then
            cat "$log" >&2
            die "redis-server did not start (log: $log)"
        fi
        # Forget the failed server so the caller's traps and waits never
        # see it.
        stop_pid "$pid"
        unset 'PIDS[-1]'
        port=
    done
    die "no free port for redis-server after $tries tries"
}

# cpu_ticks PID: CPU time (utime + stime, clock ticks) it has used so far.
cpu_ticks() {
    awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# vmhwm_kb PID: its peak RSS (VmHWM) in kB; 0 when unknown.
vmhwm_kb() {
    awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}

# yesno EXPR: "yes" when the awk expression EXPR is true, else "NO".
yesno() { if awk "BEGIN { exit !($1) }"; then echo yes; else echo NO; fi; }
