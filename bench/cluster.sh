# shellcheck shell=bash
# bench/cluster.sh: a private Redis Cluster for `make bench` (sourced by
# bench/worker.sh after scripts/lib.sh): six redis-server processes on free
# loopback ports, each with its own directory and an explicit cluster bus
# port (also free), made into 3 primaries + 3 replicas by `redis-cli
# --cluster create --cluster-replicas 1`. It waits, bounded, until every
# node says cluster_state:ok.
#
# Not a test fixture (tests/lib/cluster_fixture.* is): no persistence, no
# failover or resharding. Sourcing defines functions only. The caller's
# conventions are scripts/lib.sh's: the PIDs go into PIDS (so the caller's
# EXIT trap stops them, and only them), and die is the caller's.

# free_port: prints a port in 20000..32767 (below Linux's ephemeral
# range, where an outgoing connection's port cannot be mistaken for a free
# one) that nothing answers on and that is not in CLUSTER_TAKEN (the
# caller adds each port it keeps); 20 tries.
free_port() {
    local i p t used
    for i in $(seq 1 20); do
        p=$((20000 + RANDOM % 12768))
        used=0
        for t in "${CLUSTER_TAKEN[@]}"; do
            [ "$t" = "$p" ] && used=1
        done
        if [ "$used" = 0 ] && ! port_busy "$p"; then
            printf '%s\n' "$p"
            return 0
        fi
    done
    return 1
}

# cluster_ok PORT: true when the node on PORT reports cluster_state:ok.
cluster_ok() {
    redis-cli -p "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'
}

# start_node DIR I: starts cluster node I (1..6) on a free client port and
# a free bus port, waits (bounded: 50 x 100 ms) for PONG, and appends its
# port and PID to CLUSTER_PORTS, CLUSTER_PIDS and PIDS. A port taken
# between the pick and the bind costs a try (3 in all); any other failure
# prints the node's log and calls die.
start_node() {
    local dir=$1/node-$2 i p bus pid up
    mkdir -p "$dir"
    for _ in 1 2 3; do
        p=$(free_port) || die "no free port for cluster node $2"
        CLUSTER_TAKEN+=("$p")
        bus=$(free_port) || die "no free bus port for cluster node $2"
        CLUSTER_TAKEN+=("$bus")
        setsid redis-server --port "$p" --cluster-port "$bus" \
            --bind 127.0.0.1 --cluster-enabled yes \
            --cluster-config-file "$dir/nodes.conf" \
            --cluster-node-timeout 5000 --save "" --appendonly no \
            --cluster-require-full-coverage no \
            --dir "$dir" --logfile "" >"$dir/redis.log" 2>&1 </dev/null &
        pid=$!
        PIDS+=("$pid")
        up=0
        for i in $(seq 1 50); do
            if [ "$(redis-cli -p "$p" ping 2>/dev/null)" = PONG ]; then
                up=1
                break
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if [ "$up" = 1 ]; then
            CLUSTER_PORTS+=("$p")
            CLUSTER_PIDS+=("$pid")
            return 0
        fi
        stop_pid "$pid"
        unset 'PIDS[-1]'
        grep -q "Address already in use" "$dir/redis.log" || break
        rm -f "$dir/nodes.conf"
    done
    cat "$dir/redis.log" >&2
    die "cluster node $2 did not start (log: $dir/redis.log)"
}

# start_cluster DIR: starts the six nodes under DIR/node-1..6 (logs in
# each), creates the cluster and waits for it. Sets CLUSTER_PORTS (the six
# client ports; redis-cli makes the first three primaries), CLUSTER_PIDS
# and CLUSTER_URL (redis-cluster:// over the first three as seeds);
# appends the PIDs to PIDS. A failed create or no cluster_state:ok on all
# six within 30 s calls die.
start_cluster() {
    local dir=$1 i j p addrs=()
    CLUSTER_PORTS=()
    CLUSTER_PIDS=()
    CLUSTER_TAKEN=()
    for i in $(seq 1 6); do
        start_node "$dir" "$i"
    done
    for p in "${CLUSTER_PORTS[@]}"; do
        addrs+=("127.0.0.1:$p")
    done
    if ! timeout 60 redis-cli --cluster create "${addrs[@]}" \
        --cluster-replicas 1 --cluster-yes \
        >"$dir/create.log" 2>&1 </dev/null; then
        cat "$dir/create.log" >&2
        die "redis-cli --cluster create failed"
    fi
    for j in $(seq 1 300); do
        i=0
        for p in "${CLUSTER_PORTS[@]}"; do
            if cluster_ok "$p"; then
                i=$((i + 1))
            fi
        done
        [ "$i" = 6 ] && break
        [ "$j" = 300 ] && die "cluster not ok on all six nodes after 30 s"
        sleep 0.1
    done
    CLUSTER_URL="redis-cluster://127.0.0.1:${CLUSTER_PORTS[0]}"
    CLUSTER_URL+=",127.0.0.1:${CLUSTER_PORTS[1]},127.0.0.1:${CLUSTER_PORTS[2]}"
}

# ccli ARGS...: redis-cli on the cluster, following redirects (-c).
ccli() {
    redis-cli -c -p "${CLUSTER_PORTS[0]}" --raw "$@"
}

# cluster_each PREFIX PARTITIONS CMD SUFFIX: CMD PREFIX:{n}:SUFFIX for
# every partition n through one redis-cli -c (it follows the redirects);
# one answer a line.
cluster_each() {
    local n
    for n in $(seq 0 $(($2 - 1))); do
        printf '%s %s:{%d}:%s\n' "$3" "$1" "$n" "$4"
    done | redis-cli -c -p "${CLUSTER_PORTS[0]}" --raw 2>/dev/null |
        grep -v '^-> Redirected' || true
}

# cluster_flush: FLUSHALL on every primary (replicas follow).
cluster_flush() {
    local p
    for p in $(cluster_primaries); do
        redis-cli -p "$p" flushall >/dev/null
    done
}

# cluster_primaries: the client ports of the nodes that are primaries now.
cluster_primaries() {
    local p
    for p in "${CLUSTER_PORTS[@]}"; do
        if redis-cli -p "$p" role 2>/dev/null | head -n 1 | grep -qx master
        then
            printf '%s\n' "$p"
        fi
    done
}
