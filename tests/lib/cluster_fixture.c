/* cluster_fixture.c - start, join, watch, kill, restart and stop a 3 + 3
 * node Redis Cluster of our own on free loopback ports.
 *
 * The nodes are redis_fixture.c servers with cluster arguments, so the
 * port choice, PING wait, child table and cleanup are that file's; this
 * one adds `redis-cli --cluster create` (run with ht_proc_run, bounded)
 * and the CLUSTER INFO wait. Every wait is bounded. It does not reshard;
 * the helpers at the end move one slot by hand when a test asks. */
#include "cluster_fixture.h"
#include "hl_test.h"
#include "proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CREATE_TIMEOUT_MS 20000  /* redis-cli --cluster create, at most */
#define OK_TRIES 200             /* CLUSTER INFO polls ... */
#define OK_INTERVAL_MS 100       /* ... this far apart */
#define OUT_TAIL 2000            /* bytes of redis-cli output shown */
#define CMD_TIMEOUT_MS 5000      /* a helper's connection and command */
#define ASKING "cmdstat_asking:calls="

/* Fills c->args[i]: cluster mode, bus port, a short node timeout. The
 * ht_redis struct borrows them for restarts. nodes.conf is relative, so
 * it lives in the node's own directory. */
static int node_args(struct ht_cluster *c, int i, char err[HL_ERR_LEN]) {
    const char **a = c->args[i];
    int port = 0;
    int rc;

    rc = ht_free_port(&port, err);
    if (rc != HL_OK)
        return rc;
    snprintf(c->bus[i], sizeof(c->bus[i]), "%d", port);
    a[0] = "--cluster-enabled";
    a[1] = "yes";
    a[2] = "--cluster-config-file";
    a[3] = "nodes.conf";
    a[4] = "--cluster-node-timeout";
    a[5] = "2000";
    a[6] = "--cluster-port";
    a[7] = c->bus[i];
    /* as hookline's docs advise: the slots of live primaries keep
     * answering while a failed one's replica is being promoted */
    a[8] = "--cluster-require-full-coverage";
    a[9] = "no";
    a[10] = NULL;
    return HL_OK;
}

/* ---- start --------------------------------------------------------------- */

/* Writes "127.0.0.1:p1,127.0.0.1:p2,..." and the URL into c. */
static int make_seeds(struct ht_cluster *c) {
    size_t off = 0;
    int n;
    int i;

    for (i = 0; i < HT_CLUSTER_NODES; i++) {
        n = snprintf(c->seeds + off, sizeof(c->seeds) - off, "%s127.0.0.1:%d",
                     i == 0 ? "" : ",", c->node[i].port);
        if (n < 0 || (size_t)n >= sizeof(c->seeds) - off)
            return HL_ETOOBIG;
        off += (size_t)n;
    }
    n = snprintf(c->url, sizeof(c->url), "redis-cluster://%s", c->seeds);
    if (n < 0 || (size_t)n >= sizeof(c->url))
        return HL_ETOOBIG;
    return HL_OK;
}

/* Runs redis-cli --cluster create over the six nodes. */
static int create_cluster(struct ht_cluster *c, char err[HL_ERR_LEN]) {
    char addr[HT_CLUSTER_NODES][32];
    const char *args[HT_CLUSTER_NODES + 6];
    char cli[512];
    char *out = NULL;
    size_t outlen = 0;
    int code = -1;
    int n = 0;
    int i;
    int rc;

    args[n++] = "--cluster";
    args[n++] = "create";
    for (i = 0; i < HT_CLUSTER_NODES; i++) {
        snprintf(addr[i], sizeof(addr[i]), "127.0.0.1:%d", c->node[i].port);
        args[n++] = addr[i];
    }
    args[n++] = "--cluster-replicas";
    args[n++] = "1";
    args[n++] = "--cluster-yes";
    args[n] = NULL;
    rc = ht_proc_which("redis-cli", cli, sizeof(cli), err);
    if (rc != HL_OK) {
        snprintf(err, HL_ERR_LEN, "redis-cli not found in PATH (needed to "
                 "create the cluster; the test fails rather than skips)");
        return rc;
    }
    rc = ht_proc_run(cli, args, NULL, CREATE_TIMEOUT_MS, &code,
                     &out, &outlen, err);
    if (rc == HL_OK && code != 0) {
        fprintf(stderr, "  # ---- redis-cli --cluster create ----\n%s\n"
                "  # ----\n", out + (outlen > OUT_TAIL ? outlen - OUT_TAIL
                                                       : 0));
        snprintf(err, HL_ERR_LEN, "redis-cli --cluster create exited %d "
                 "(output above; 127: redis-cli not found)", code);
        rc = HL_EIO;
    }
    free(out);
    return rc;
}

int ht_cluster_start(struct ht_cluster *c, char err[HL_ERR_LEN]) {
    int rc = HL_ERR;

    memset(c, 0, sizeof(*c));
    err[0] = '\0';
    for (c->started = 0; c->started < HT_CLUSTER_NODES; c->started++) {
        rc = node_args(c, c->started, err);
        if (rc != HL_OK)
            goto fail;
        rc = ht_redis_start_args(&c->node[c->started], 1,
                                 c->args[c->started], err);
        if (rc != HL_OK) {
            c->started++;   /* its directory still needs cleanup */
            goto fail;
        }
    }
    rc = make_seeds(c);
    if (rc != HL_OK) {
        snprintf(err, HL_ERR_LEN, "seed list too long");
        goto fail;
    }
    rc = create_cluster(c, err);
    if (rc == HL_OK)
        rc = ht_cluster_wait_ok(c, err);
    if (rc == HL_OK)
        return HL_OK;
fail:
    ht_cluster_cleanup(c);
    return rc;
}

/* ---- readiness ----------------------------------------------------------- */

/* Occurrences of `needle` in `s`. */
static int count(const char *s, const char *needle) {
    int n = 0;

    for (s = strstr(s, needle); s != NULL; s = strstr(s + 1, needle))
        n++;
    return n;
}

/* 1 when every range of CLUSTER SLOTS names a replica. Redis 7 leaves a
 * replica out until its replication offset has reached the node by
 * gossip, a moment after the cluster is "ok". Read raw here, so the
 * fixture does not lean on the hl_slot.c parser it helps to test. */
static int slots_list_replicas(redisContext *rc, char why[HL_ERR_LEN]) {
    redisReply *rep = redisCommand(rc, "CLUSTER SLOTS");
    int ok = 0;
    size_t i;

    if (rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
        rep->elements > 0) {
        ok = 1;
        for (i = 0; i < rep->elements; i++) {
            if (rep->element[i]->type != REDIS_REPLY_ARRAY ||
                rep->element[i]->elements < 4)
                ok = 0;
        }
    }
    if (!ok)
        snprintf(why, HL_ERR_LEN, "CLUSTER SLOTS lists no replica yet");
    if (rep != NULL)
        freeReplyObject(rep);
    return ok;
}

/* 1 when node `i`'s CLUSTER NODES shows 3 primaries ("master -") and 3
 * replicas ("slave <id>"), none failing or in handshake: only then does
 * its CLUSTER SLOTS list every replica. */
static int roles_ok(redisContext *rc, char why[HL_ERR_LEN]) {
    redisReply *rep = redisCommand(rc, "CLUSTER NODES");
    int ok = 0;

    if (rep != NULL && rep->type == REDIS_REPLY_STRING) {
        ok = count(rep->str, "master -") == HT_CLUSTER_PRIMARIES &&
             count(rep->str, "slave ") ==
                 HT_CLUSTER_NODES - HT_CLUSTER_PRIMARIES &&
             count(rep->str, "fail") == 0 &&
             count(rep->str, "handshake") == 0;
        if (!ok)
            snprintf(why, HL_ERR_LEN, "CLUSTER NODES: %.200s", rep->str);
    }
    if (rep != NULL)
        freeReplyObject(rep);
    return ok && slots_list_replicas(rc, why);
}

/* 1 when node `i` reports a whole, ok cluster; otherwise 0 and `why`
 * holds what it said. */
static int node_ok(const struct ht_cluster *c, int i, char why[HL_ERR_LEN]) {
    redisContext *rc = ht_cluster_connect(c, i, OK_INTERVAL_MS * 5);
    redisReply *rep = NULL;
    int ok = 0;

    snprintf(why, HL_ERR_LEN, "no connection");
    if (rc == NULL)
        goto cleanup;
    rep = redisCommand(rc, "CLUSTER INFO");
    if (rep == NULL || rep->type != REDIS_REPLY_STRING) {
        snprintf(why, HL_ERR_LEN, "CLUSTER INFO failed");
        goto cleanup;
    }
    ok = strstr(rep->str, "cluster_state:ok\r\n") != NULL &&
         strstr(rep->str, "cluster_slots_assigned:16384\r\n") != NULL &&
         strstr(rep->str, "cluster_known_nodes:6\r\n") != NULL &&
         strstr(rep->str, "cluster_size:3\r\n") != NULL;
    snprintf(why, HL_ERR_LEN, "%.200s", rep->str);
    if (ok)
        ok = roles_ok(rc, why);
cleanup:
    if (rep != NULL)
        freeReplyObject(rep);
    if (rc != NULL)
        redisFree(rc);
    return ok;
}

/* ht_wait_all()'s question: 1 when node `i` is ok or not running. */
static int node_ready_cb(void *arg, int i, char why[HL_ERR_LEN]) {
    const struct ht_cluster *c = arg;

    return c->node[i].pid <= 0 || node_ok(c, i, why);
}

int ht_cluster_wait_ok(struct ht_cluster *c, char err[HL_ERR_LEN]) {
    char why[HL_ERR_LEN];
    int i = ht_wait_all(HT_CLUSTER_NODES, OK_TRIES, OK_INTERVAL_MS,
                        node_ready_cb, c, why);

    if (i < 0)
        return HL_OK;
    snprintf(err, HL_ERR_LEN, "node %d (port %d) not ok after %d x %d ms: "
             "%.150s", i, c->node[i].port, OK_TRIES, OK_INTERVAL_MS, why);
    return HL_ETIMEDOUT;
}

/* ---- nodes --------------------------------------------------------------- */

int ht_cluster_find_pid(const struct ht_cluster *c, pid_t pid) {
    int i;

    for (i = 0; pid > 0 && i < HT_CLUSTER_NODES; i++) {
        if (c->node[i].pid == pid)
            return i;
    }
    return -1;
}

int ht_cluster_kill(struct ht_cluster *c, int i) {
    if (i < 0 || i >= HT_CLUSTER_NODES)
        return HL_EINVAL;
    return ht_redis_kill(&c->node[i]);
}

int ht_cluster_kill_pid(struct ht_cluster *c, pid_t pid) {
    int i = ht_cluster_find_pid(c, pid);

    if (i < 0)
        return HL_ENOTFOUND;
    return ht_cluster_kill(c, i);
}

int ht_cluster_restart(struct ht_cluster *c, int i, char err[HL_ERR_LEN]) {
    if (i < 0 || i >= HT_CLUSTER_NODES) {
        snprintf(err, HL_ERR_LEN, "no node %d", i);
        return HL_EINVAL;
    }
    return ht_redis_restart(&c->node[i], err);
}

redisContext *ht_cluster_connect(const struct ht_cluster *c, int i,
                                 long timeout_ms) {
    if (i < 0 || i >= HT_CLUSTER_NODES)
        return NULL;
    return ht_redis_connect(&c->node[i], timeout_ms);
}

/* ---- helpers for the tests ---------------------------------------------- */

int ht_cluster_node_at(const struct ht_cluster *c, int port) {
    int i;

    for (i = 0; i < HT_CLUSTER_NODES; i++) {
        if (c->node[i].port == port)
            return i;
    }
    return -1;
}

struct hl_slot_map *ht_cluster_live_map(const struct ht_cluster *c, int i) {
    char err[HL_ERR_LEN];
    struct hl_slot_map *m = NULL;
    redisContext *rc = ht_cluster_connect(c, i, CMD_TIMEOUT_MS);
    redisReply *rep = rc ? redisCommand(rc, "CLUSTER SLOTS") : NULL;

    if (rep == NULL)
        HT_FAIL("CLUSTER SLOTS from node %d: %s", i,
                rc ? rc->errstr : "no connection");
    else if (hl_slot_map_build(rep, "127.0.0.1", &m, err) != HL_OK)
        HT_FAIL("hl_slot_map_build (node %d): %s", i, err);
    if (rep != NULL)
        freeReplyObject(rep);
    if (rc != NULL)
        redisFree(rc);
    return m;
}

int ht_cluster_primary_of_slot(const struct ht_cluster *c, unsigned slot) {
    struct hl_slot_map *m = ht_cluster_live_map(c, 0);
    int idx = -1;
    int node = -1;

    if (m != NULL && hl_slot_map_lookup(m, slot, &idx) == HL_OK)
        node = ht_cluster_node_at(c, hl_slot_map_node(m, idx)->port);
    hl_slot_map_free(m);
    return node;
}

int ht_cluster_other_primary(const struct ht_cluster *c, int src) {
    struct hl_slot_map *m = ht_cluster_live_map(c, 0);
    int dst = -1;
    int i;

    for (i = 0; m != NULL && i < hl_slot_map_node_count(m); i++) {
        const struct hl_slot_node *n = hl_slot_map_node(m, i);

        if (n->primary < 0 && ht_cluster_node_at(c, n->port) != src) {
            dst = ht_cluster_node_at(c, n->port);
            break;
        }
    }
    hl_slot_map_free(m);
    return dst;
}

redisReply *ht_cluster_node_argv(const struct ht_cluster *c, int i,
                                 int argc, const char **argv,
                                 const size_t *lens) {
    redisContext *rc = ht_cluster_connect(c, i, CMD_TIMEOUT_MS);
    redisReply *rep;

    if (rc == NULL) {
        HT_FAIL("%s: no connection to node %d", argv[0], i);
        return NULL;
    }
    rep = redisCommandArgv(rc, argc, argv, lens);
    if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
        HT_FAIL("%s %s on node %d: %s", argv[0], argc > 1 ? argv[1] : "",
                i, rep ? rep->str : rc->errstr);
        if (rep != NULL)
            freeReplyObject(rep);
        rep = NULL;
    }
    redisFree(rc);
    return rep;
}

int ht_cluster_node_id(const struct ht_cluster *c, int i,
                       char id[HT_CLUSTER_ID_MAX]) {
    const char *argv[2] = { "CLUSTER", "MYID" };
    redisReply *r = ht_cluster_node_argv(c, i, 2, argv, NULL);
    int ok = r != NULL && r->type == REDIS_REPLY_STRING;

    if (ok)
        snprintf(id, HT_CLUSTER_ID_MAX, "%s", r->str);
    if (r != NULL)
        freeReplyObject(r);
    return ok;
}

long ht_cluster_asking_calls(const struct ht_cluster *c, int i) {
    const char *argv[2] = { "INFO", "commandstats" };
    redisReply *r = ht_cluster_node_argv(c, i, 2, argv, NULL);
    const char *p;
    long n = -1;

    if (r != NULL && r->type == REDIS_REPLY_STRING) {
        p = strstr(r->str, ASKING);
        n = p ? strtol(p + strlen(ASKING), NULL, 10) : 0;
    }
    if (r != NULL)
        freeReplyObject(r);
    return n;
}

int ht_cluster_node_ok(const struct ht_cluster *c, int i, int argc,
                       const char **argv) {
    redisReply *r = ht_cluster_node_argv(c, i, argc, argv, NULL);

    if (r != NULL)
        freeReplyObject(r);
    return r != NULL;
}

int ht_cluster_migrate_keys(const struct ht_cluster *c, int src, int dst,
                            const char *const *keys) {
    char port[16];
    const char *move[6] = { "MIGRATE", "127.0.0.1", port, NULL, "0",
                            "5000" };
    int i;

    if (dst < 0 || dst >= HT_CLUSTER_NODES)
        return HT_FAIL("MIGRATE to node %d: no such node", dst);
    snprintf(port, sizeof(port), "%d", c->node[dst].port);
    for (i = 0; keys[i] != NULL; i++) {
        move[3] = keys[i];
        if (!ht_cluster_node_ok(c, src, 6, move))
            return 0;
    }
    return 1;
}

int ht_cluster_migrate_begin(const struct ht_cluster *c, unsigned slot,
                             int src, int dst, const char *const *keys) {
    char s[16], src_id[HT_CLUSTER_ID_MAX], dst_id[HT_CLUSTER_ID_MAX];
    const char *imp[5] = { "CLUSTER", "SETSLOT", s, "IMPORTING", src_id };
    const char *mig[5] = { "CLUSTER", "SETSLOT", s, "MIGRATING", dst_id };

    snprintf(s, sizeof(s), "%u", slot);
    return ht_cluster_node_id(c, src, src_id) &&
           ht_cluster_node_id(c, dst, dst_id) &&
           ht_cluster_node_ok(c, dst, 5, imp) &&
           ht_cluster_node_ok(c, src, 5, mig) &&
           ht_cluster_migrate_keys(c, src, dst, keys);
}

int ht_cluster_migrate_end(const struct ht_cluster *c, unsigned slot,
                           int src, int dst) {
    char s[16], dst_id[HT_CLUSTER_ID_MAX];
    const char *set[5] = { "CLUSTER", "SETSLOT", s, "NODE", dst_id };
    struct hl_slot_map *m = ht_cluster_live_map(c, 0);
    int i;
    int ok = m != NULL;

    snprintf(s, sizeof(s), "%u", slot);
    ok = ok && ht_cluster_node_id(c, dst, dst_id) &&
         ht_cluster_node_ok(c, dst, 5, set) &&
         ht_cluster_node_ok(c, src, 5, set);
    for (i = 0; ok && i < hl_slot_map_node_count(m); i++) {
        const struct hl_slot_node *n = hl_slot_map_node(m, i);
        int k = ht_cluster_node_at(c, n->port);

        if (n->primary < 0 && k != src && k != dst)
            ok = ht_cluster_node_ok(c, k, 5, set);
    }
    hl_slot_map_free(m);
    return ok;
}

void ht_cluster_cleanup(struct ht_cluster *c) {
    int i;

    for (i = 0; i < c->started && i < HT_CLUSTER_NODES; i++)
        ht_redis_cleanup(&c->node[i]);
    c->started = 0;
}
