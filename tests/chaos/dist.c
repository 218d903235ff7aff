/* dist.c - the Redis under a chaos run and how it fails (chaos.h,
 * chaos_opts.backend): one redis-server restarted on its append-only
 * file, or a Redis Cluster / Sentinel setup whose primary is SIGKILLed,
 * replaced by its replica, and restarted until it replicates the new
 * primary; on Cluster also a `redis-cli --cluster reshard` under load.
 *
 * It times what happens (kill, promotion, rejoin, reshard) and fills
 * the report's failover fields; it judges nothing beyond "did it happen
 * within the bound" (run.c and the tests do). Every wait is bounded
 * (chaos_opts.failover_wait_ms, RESHARD_MS) and calls the controller's
 * pump between polls. Only PIDs the fixtures or this file started are
 * signalled. */
#include "chaos_int.h"
#include "hl_keys.h"
#include "hl_slot.h"
#include "hl_test.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KV_TIMEOUT_MS 2000        /* connect and per command */
#define POLL_MS 100               /* failover polls */
#define ROLE_TIMEOUT_MS 500       /* one ROLE question */
#define RESHARD_MS 90000          /* redis-cli --cluster reshard, at most */
#define CLI_TAIL 3000             /* bytes of its output shown on failure */

const char *chaos_dist_name(int kind) {
    if (kind == CHAOS_CLUSTER)
        return "cluster";
    if (kind == CHAOS_SENTINEL)
        return "sentinel";
    return "single";
}

/* ---- start and stop ------------------------------------------------------ */

int chaos_dist_start(struct chaos_dist *d, const struct chaos_opts *o,
                     struct ht_stack *st, char err[HL_ERR_LEN]) {
    int rc;

    d->kind = o->backend;
    d->st = st;
    d->cli.pid = -1;
    if (d->kind == CHAOS_CLUSTER) {
        d->cl_up = 1;
        rc = ht_cluster_start(&d->cl, err);
        st->redis_url = d->cl.url;
        d->kv = rc == HL_OK ? ht_kv_cluster(d->cl.seeds, KV_TIMEOUT_MS)
                            : NULL;
    } else if (d->kind == CHAOS_SENTINEL) {
        d->se_up = 1;
        rc = ht_sentinel_start(&d->se, err);
        st->redis_url = d->se.url;
        d->kv = rc == HL_OK ? ht_kv_sentinel(d->se.seeds,
                                             HT_SENTINEL_MASTER,
                                             KV_TIMEOUT_MS)
                            : NULL;
    } else {
        rc = ht_redis_start_aof(&st->redis, err);
        d->kv = rc == HL_OK ? ht_kv_single("127.0.0.1", st->redis.port,
                                           KV_TIMEOUT_MS)
                            : NULL;
    }
    if (rc == HL_OK && d->kv == NULL) {
        snprintf(err, HL_ERR_LEN, "out of memory for the Redis client");
        rc = HL_ENOMEM;
    }
    return rc;
}

void chaos_dist_cleanup(struct chaos_dist *d) {
    ht_proc_cleanup(&d->cli);
    ht_kv_free(d->kv);
    d->kv = NULL;
    free(d->owner);
    d->owner = NULL;
    free(d->failed);
    d->failed = NULL;
    d->nfailed = 0;
    if (d->cl_up)
        ht_cluster_cleanup(&d->cl);
    if (d->se_up)
        ht_sentinel_cleanup(&d->se);
    d->cl_up = d->se_up = 0;
}

/* ---- cluster map helpers ------------------------------------------------- */

/* The slot of partition `p`'s keys (they share the `{p}` tag). */
static unsigned part_slot(const char *prefix, long p) {
    char key[HL_KEY_MAX];

    if (hl_keys_queue(prefix, p, key) != HL_OK)
        return HL_SLOT_COUNT;
    return hl_slot_of(key, strlen(key));
}

/* The primary port serving `slot` in a fresh map, or -1. */
static int slot_port(struct chaos_dist *d, unsigned slot) {
    const struct hl_slot_map *m = ht_kv_map(d->kv);
    const struct hl_slot_node *n;
    int idx = -1;

    if (m == NULL || hl_slot_map_lookup(m, slot, &idx) != HL_OK)
        return -1;
    n = hl_slot_map_node(m, idx);
    return n != NULL ? n->port : -1;
}

/* The map node index of the primary serving most of the partitions, and
 * how many it serves. HL_OK or HL_EIO (no map). */
static int busiest(struct chaos_dist *d, const char *prefix, long parts,
                   int *node, int *count) {
    const struct hl_slot_map *m;
    int per[HL_SLOT_NODES_MAX] = { 0 };
    int idx, i;
    long p;

    if (ht_kv_refresh(d->kv) != HL_OK)
        return HL_EIO;
    m = ht_kv_map(d->kv);
    *node = -1;
    *count = 0;
    for (p = 0; m != NULL && p < parts; p++) {
        if (hl_slot_map_lookup(m, part_slot(prefix, p), &idx) == HL_OK &&
            idx < HL_SLOT_NODES_MAX)
            per[idx]++;
    }
    for (i = 0; m != NULL && i < hl_slot_map_node_count(m); i++) {
        if (per[i] > *count) {
            *count = per[i];
            *node = i;
        }
    }
    return *node >= 0 ? HL_OK : HL_EIO;
}

static int cluster_index(const struct chaos_dist *d, int port) {
    int i;

    for (i = 0; i < HT_CLUSTER_NODES; i++) {
        if (d->cl.node[i].port == port)
            return i;
    }
    return -1;
}

/* ---- roles --------------------------------------------------------------- */

#define ROLE_UNKNOWN 0
#define ROLE_MASTER 1
#define ROLE_REPLICA 2            /* and its link to *mport is up */

/* ROLE of the server on 127.0.0.1:`port`. */
static int role_of(int port, int *mport) {
    struct ht_redis r;
    redisContext *c;
    redisReply *rep;
    int role = ROLE_UNKNOWN;

    memset(&r, 0, sizeof(r));
    r.port = port;
    c = ht_redis_connect(&r, ROLE_TIMEOUT_MS);
    if (c == NULL)
        return ROLE_UNKNOWN;
    rep = redisCommand(c, "ROLE");
    if (rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 &&
        rep->element[0]->type == REDIS_REPLY_STRING) {
        if (strcmp(rep->element[0]->str, "master") == 0)
            role = ROLE_MASTER;
        if (strcmp(rep->element[0]->str, "slave") == 0 &&
            rep->elements >= 4 &&
            rep->element[2]->type == REDIS_REPLY_INTEGER &&
            rep->element[3]->type == REDIS_REPLY_STRING &&
            strcmp(rep->element[3]->str, "connected") == 0) {
            *mport = (int)rep->element[2]->integer;
            role = ROLE_REPLICA;
        }
    }
    if (rep != NULL)
        freeReplyObject(rep);
    redisFree(c);
    return role;
}

/* Polls until `done(d, arg)` says 1, at most `ms`, pumping between. */
static int wait_for(struct chaos_dist *d, long ms,
                    int (*done)(struct chaos_dist *, int, int), int a,
                    int b, chaos_pump_fn *pump, void *arg) {
    long long end = ht_mono_ms() + ht_budget_ms(ms);

    while (ht_mono_ms() < end) {
        if (done(d, a, b))
            return HL_OK;
        if (pump != NULL)
            pump(arg);
        ht_sleep_ms(POLL_MS);
    }
    return done(d, a, b) ? HL_OK : HL_ETIMEDOUT;
}

/* CLUSTER: `port` is a primary and the map names it for `slot`. */
static int took_over(struct chaos_dist *d, int port, int slot) {
    int mp = 0;

    if (role_of(port, &mp) != ROLE_MASTER || ht_kv_refresh(d->kv) != HL_OK)
        return 0;
    return slot_port(d, (unsigned)slot) == port;
}

/* `port` replicates `master` with its link up. */
static int replicates(struct chaos_dist *d, int port, int master) {
    int mp = 0;

    (void)d;
    return role_of(port, &mp) == ROLE_REPLICA && mp == master;
}

/* SENTINEL: every sentinel names another primary, which says master. */
static int failed_over(struct chaos_dist *d, int a, int b) {
    char err[HL_ERR_LEN];
    int port = 0;

    (void)a;
    (void)b;
    return ht_sentinel_wait_failover(&d->se, POLL_MS / 2, &port, err) ==
           HL_OK;
}

/* ---- the primary's loss -------------------------------------------------- */

static int fail_single(struct chaos_dist *d, struct chaos_report *rep,
                       atomic_llong *watch, char err[HL_ERR_LEN]) {
    long long t = ht_mono_ms();
    int rc;

    atomic_store(watch, ht_wall_ms());
    ht_redis_kill(&d->st->redis);
    rep->kill_at_ms = t - d->t0;
    rc = ht_redis_restart(&d->st->redis, err);
    rep->redis_down_ms = ht_mono_ms() - t;
    return rc;
}

/* CLUSTER: picks the victim (busiest primary) and its replica. */
static int cluster_victim(struct chaos_dist *d, struct chaos_report *rep,
                          const char *prefix, long parts, int *victim,
                          int *heir, int *slot, char err[HL_ERR_LEN]) {
    const struct hl_slot_map *m;
    const struct hl_slot_node *n;
    int node = -1, count = 0, ri = -1;
    long p;

    if (busiest(d, prefix, parts, &node, &count) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "no slot map from the cluster");
        return HL_EIO;
    }
    m = ht_kv_map(d->kv);
    n = hl_slot_map_node(m, node);
    for (p = 0, *slot = -1; p < parts && *slot < 0; p++) {
        int idx = -1;
        unsigned s = part_slot(prefix, p);
        if (hl_slot_map_lookup(m, s, &idx) == HL_OK && idx == node)
            *slot = (int)s;
    }
    if (n == NULL || *slot < 0 ||
        hl_slot_map_replica(m, (unsigned)*slot, 0, &ri) != HL_OK ||
        hl_slot_map_node(m, ri) == NULL) {
        snprintf(err, HL_ERR_LEN, "the busiest primary has no replica");
        return HL_ESTATE;
    }
    for (p = 0; p < parts && p < d->nfailed; p++) {
        int idx = -1;
        d->failed[p] = hl_slot_map_lookup(m, part_slot(prefix, p), &idx)
                           == HL_OK && idx == node;
    }
    *victim = cluster_index(d, n->port);
    *heir = cluster_index(d, hl_slot_map_node(m, ri)->port);
    rep->killed_parts = count;
    if (*victim < 0 || *heir < 0) {
        snprintf(err, HL_ERR_LEN, "node %.200s is not one of ours",
                 n->addr);
        return HL_ESTATE;
    }
    return HL_OK;
}

static int fail_cluster(struct chaos_dist *d, const struct chaos_opts *o,
                        struct chaos_report *rep, const char *prefix,
                        long parts, atomic_llong *watch, chaos_pump_fn *pump,
                        void *arg, char err[HL_ERR_LEN]) {
    int victim = -1, heir = -1, slot = -1, rc;
    long long t;

    rc = cluster_victim(d, rep, prefix, parts, &victim, &heir, &slot, err);
    if (rc != HL_OK)
        return rc;
    rep->primary_port = d->cl.node[victim].port;
    atomic_store(watch, ht_wall_ms());
    t = ht_mono_ms();
    rep->kill_at_ms = t - d->t0;
    ht_cluster_kill(&d->cl, victim);
    rc = wait_for(d, o->failover_wait_ms, took_over, d->cl.node[heir].port,
                  slot, pump, arg);
    rep->promote_ms = ht_mono_ms() - t;
    if (rc != HL_OK) {
        snprintf(err, HL_ERR_LEN, "replica %d did not take over slot %d "
                 "within %ld ms", d->cl.node[heir].port, slot,
                 o->failover_wait_ms);
        return rc;
    }
    rep->promoted = 1;
    rep->promoted_port = d->cl.node[heir].port;
    rc = ht_cluster_restart(&d->cl, victim, err);
    if (rc == HL_OK)
        rc = wait_for(d, o->failover_wait_ms, replicates,
                      d->cl.node[victim].port, d->cl.node[heir].port, pump,
                      arg);
    rep->rejoin_ms = ht_mono_ms() - t;
    if (rc == HL_ETIMEDOUT)
        snprintf(err, HL_ERR_LEN, "the old primary %d did not replicate %d "
                 "within %ld ms", d->cl.node[victim].port,
                 d->cl.node[heir].port, o->failover_wait_ms);
    if (rc == HL_OK)
        rc = ht_cluster_wait_ok(&d->cl, err);
    rep->rejoined = rc == HL_OK;
    return rc;
}

static int fail_sentinel(struct chaos_dist *d, const struct chaos_opts *o,
                         struct chaos_report *rep, atomic_llong *watch,
                         chaos_pump_fn *pump, void *arg,
                         char err[HL_ERR_LEN]) {
    int old = d->se.primary, rc;
    long long t;

    rep->primary_port = d->se.data[old].port;
    atomic_store(watch, ht_wall_ms());
    t = ht_mono_ms();
    rep->kill_at_ms = t - d->t0;
    rc = ht_sentinel_kill_primary(&d->se);
    if (rc == HL_OK)
        rc = wait_for(d, o->failover_wait_ms, failed_over, 0, 0, pump, arg);
    rep->promote_ms = ht_mono_ms() - t;
    if (rc != HL_OK || d->se.primary == old) {
        snprintf(err, HL_ERR_LEN, "no failover from %d within %ld ms",
                 rep->primary_port, o->failover_wait_ms);
        return HL_ETIMEDOUT;
    }
    rep->promoted = 1;
    rep->promoted_port = d->se.data[d->se.primary].port;
    rc = ht_sentinel_restart(&d->se, old, err);
    if (rc == HL_OK)
        rc = wait_for(d, o->failover_wait_ms, replicates,
                      d->se.data[old].port, rep->promoted_port, pump, arg);
    rep->rejoin_ms = ht_mono_ms() - t;
    if (rc == HL_ETIMEDOUT)
        snprintf(err, HL_ERR_LEN, "the old primary %d did not replicate %d "
                 "within %ld ms", rep->primary_port, rep->promoted_port,
                 o->failover_wait_ms);
    if (rc == HL_OK)
        rc = ht_sentinel_wait_ready(&d->se, err);
    rep->rejoined = rc == HL_OK;
    return rc;
}

int chaos_dist_fail(struct chaos_dist *d, const struct chaos_opts *o,
                    struct chaos_report *rep, const char *prefix, long parts,
                    atomic_llong *watch, chaos_pump_fn *pump, void *arg,
                    char err[HL_ERR_LEN]) {
    rep->redis_restarts++;
    if (d->failed == NULL) {
        d->failed = calloc((size_t)parts, 1);
        if (d->failed == NULL) {
            snprintf(err, HL_ERR_LEN, "out of memory");
            return HL_ENOMEM;
        }
        d->nfailed = parts;
    }
    /* SENTINEL: the one primary holds every partition */
    memset(d->failed, d->kind == CHAOS_SENTINEL, (size_t)parts);
    if (d->kind == CHAOS_CLUSTER)
        return fail_cluster(d, o, rep, prefix, parts, watch, pump, arg,
                            err);
    if (d->kind == CHAOS_SENTINEL)
        return fail_sentinel(d, o, rep, watch, pump, arg, err);
    return fail_single(d, rep, watch, err);
}

/* ---- reshard ------------------------------------------------------------- */

/* Records every slot's primary port in d->owner. */
static int snapshot(struct chaos_dist *d) {
    unsigned s;

    if (d->owner == NULL)
        d->owner = calloc(HL_SLOT_COUNT, sizeof(*d->owner));
    if (d->owner == NULL || ht_kv_refresh(d->kv) != HL_OK)
        return HL_EIO;
    for (s = 0; s < HL_SLOT_COUNT; s++)
        d->owner[s] = slot_port(d, s);
    return HL_OK;
}

/* How many slots to ask for: o->reshard_slots, or more so that the
 * first two partition slots of the source (redis-cli moves a source's
 * lowest slots first) are among them. */
static long slots_to_move(const struct chaos_dist *d, long want, int src,
                          const char *prefix, long parts) {
    unsigned char is_part[HL_SLOT_COUNT];
    long k = 0, need = 0, found = 0;
    unsigned s;
    long p;

    memset(is_part, 0, sizeof(is_part));
    for (p = 0; p < parts; p++) {
        s = part_slot(prefix, p);
        if (s < HL_SLOT_COUNT)
            is_part[s] = 1;
    }
    for (s = 0; s < HL_SLOT_COUNT && found < 2; s++) {
        if (d->owner[s] != src)
            continue;
        k++;
        if (is_part[s]) {
            found++;
            need = k;
        }
    }
    return need > want ? need : want;
}

int chaos_dist_reshard_start(struct chaos_dist *d,
                             const struct chaos_opts *o,
                             struct chaos_report *rep, const char *prefix,
                             long parts, char err[HL_ERR_LEN]) {
    const struct hl_slot_map *m;
    const struct hl_slot_node *src, *dst = NULL;
    char cli[512], from[HL_SLOT_ADDR_MAX], slots[24];
    const char *args[12];
    int node = -1, count = 0, i;

    if (d->kind != CHAOS_CLUSTER || busiest(d, prefix, parts, &node,
                                            &count) != HL_OK ||
        snapshot(d) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "reshard: no slot map");
        return HL_EIO;
    }
    m = ht_kv_map(d->kv);
    src = hl_slot_map_node(m, node);
    for (i = 0; i < hl_slot_map_node_count(m) && dst == NULL; i++) {
        const struct hl_slot_node *n = hl_slot_map_node(m, i);
        if (i != node && n->primary < 0 && n->id[0] != '\0')
            dst = n;
    }
    if (src == NULL || dst == NULL || src->id[0] == '\0' ||
        ht_proc_which("redis-cli", cli, sizeof(cli), err) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "reshard: no source/target id or no "
                 "redis-cli");
        return HL_ESTATE;
    }
    rep->reshard_asked = slots_to_move(d, o->reshard_slots, src->port,
                                       prefix, parts);
    snprintf(from, sizeof(from), "%s", src->addr);
    snprintf(slots, sizeof(slots), "%lld", rep->reshard_asked);
    args[0] = "--cluster";
    args[1] = "reshard";
    args[2] = from;
    args[3] = "--cluster-from";
    args[4] = src->id;
    args[5] = "--cluster-to";
    args[6] = dst->id;
    args[7] = "--cluster-slots";
    args[8] = slots;
    args[9] = "--cluster-yes";
    args[10] = NULL;
    d->cli_t0 = ht_mono_ms();
    rep->reshards++;
    rep->reshard_at_ms = d->cli_t0 - d->t0;
    return ht_proc_start(&d->cli, cli, args, NULL, err);
}

/* After the reshard: slots and partitions whose primary changed. */
static void count_moved(struct chaos_dist *d, struct chaos_report *rep,
                        const char *prefix, long parts) {
    unsigned s;
    long p;

    if (d->owner == NULL || ht_kv_refresh(d->kv) != HL_OK)
        return;
    for (s = 0; s < HL_SLOT_COUNT; s++)
        rep->reshard_moved += slot_port(d, s) != d->owner[s];
    for (p = 0; p < parts; p++) {
        s = part_slot(prefix, p);
        rep->reshard_parts += s < HL_SLOT_COUNT &&
                              slot_port(d, s) != d->owner[s];
    }
}

int chaos_dist_reshard_poll(struct chaos_dist *d, struct chaos_report *rep,
                            const char *prefix, long parts,
                            char why[HL_ERR_LEN]) {
    int code = -1;

    why[0] = '\0';
    if (d->cli.pid <= 0)
        return 0;
    if (ht_proc_alive(&d->cli)) {
        if (ht_mono_ms() - d->cli_t0 < ht_budget_ms(RESHARD_MS))
            return 1;
        ht_proc_signal(&d->cli, SIGKILL);
        ht_proc_wait_exit(&d->cli, 2000, &code);
        code = -1;
    } else {
        code = d->cli.exit_code;
    }
    rep->reshard_ms = ht_mono_ms() - d->cli_t0;
    rep->reshard_exit = code;
    count_moved(d, rep, prefix, parts);
    if (code != 0) {
        ht_proc_dump_log(&d->cli, CLI_TAIL);
        snprintf(why, HL_ERR_LEN, "redis-cli --cluster reshard exited %d "
                 "after %lld ms (-1: killed at the bound; output above)",
                 code, rep->reshard_ms);
    }
    ht_proc_cleanup(&d->cli);
    d->cli.pid = -1;
    return 0;
}
