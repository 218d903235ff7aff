/* test_ctl_cluster.c - bin/hookctl against a real Redis Cluster (3
 * primaries + 3 replicas, tests/lib/cluster_fixture.h) through
 * REDIS_URL=redis-cluster://seeds, as an operator runs it.
 *
 * The keyspace is written by hand, node by node (each key on the primary
 * of its slot): partition queues and in-flight lists of different depths
 * for 64 partitions, leases for half of them, a worker heartbeat, and
 * dead letters for 40 users spread over the partitions plus one
 * ingest-stage entry. Then: `stats --json` reports every partition's own
 * figures (a pipeline answered by three nodes, read back in order); `dlq
 * list` shows every entry; with one partition queue's slot half migrated
 * (MIGRATING/IMPORTING, the queue already moved) `stats` still sees it
 * (ASK followed: ASKING counted on the target) and `dlq requeue --all`
 * puts every envelope in its partition queue on the right node (read
 * back from the node serving the slot once the migration is finished);
 * `dlq purge --yes` empties the list (MULTI/EXEC on the list's node);
 * `doctor` says "Redis Cluster at <seeds>: 3 primaries, all 16384 slots
 * served". Last, in-process (hookctl/cluster.c from libctl.a): a map read
 * before a slot moves is stale, and a command and a pipeline on that
 * slot follow -MOVED to the new owner. No skipping: without redis-cli
 * --cluster the fixture fails. Every wait is bounded; only PIDs the
 * fixtures started are signalled.
 *
 * The sentinel side of hookctl (redis-sentinel://) is not covered here:
 * tests/lib has no sentinel fixture yet. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "hl.h"
#include "hl_dlq.h"
#include "hl_keys.h"
#include "hl_log.h"
#include "hl_partition.h"
#include "hl_slot.h"
#include "../lib/hl_test.h"
#include "../lib/cluster_fixture.h"
#include "../lib/ctlrun.h"
#include "../../hookctl/ctl.h"

#define PREFIX "hcc"
#define PARTS 64
#define NDL 40                         /* worker-stage dead letters */
#define PAGE "100000000000999"
#define WORKER "w-cluster-1"
#define TIMEOUT_MS 5000

struct ctx {
    struct ht_cluster c;
    long part[NDL];                    /* partition of dead letter i */
    int mig_part;                      /* the partition migrated (ASK) */
    int mig_src, mig_dst;              /* its fixture node indexes */
};

/* ---- the cluster, node by node ------------------------------------------ */

static int primary_of(const struct ht_cluster *c, const char *key) {
    return ht_cluster_primary_of_slot(c, hl_slot_of(key, strlen(key)));
}

/* Runs argv on the primary serving argv[1]'s slot (`node` >= 0: on that
 * node). The reply, or NULL (check failed) on an error. Caller owns. */
static redisReply *on_node(const struct ht_cluster *c, int node, int argc,
                           const char **argv, const size_t *lens) {
    if (node < 0)
        node = primary_of(c, argv[1]);
    return ht_cluster_node_argv(c, node, argc, argv, lens);
}

/* A command whose reply is not kept; 1 when it was not an error. */
static int on_node_ok(const struct ht_cluster *c, int node, int argc,
                      const char **argv) {
    if (node < 0)
        node = primary_of(c, argv[1]);
    return ht_cluster_node_ok(c, node, argc, argv);
}

/* An integer reply on the key's primary; -1 on error. */
static long long key_int(const struct ht_cluster *c, int argc,
                         const char **argv) {
    redisReply *r = on_node(c, -1, argc, argv, NULL);
    long long v = r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer
                                                               : -1;

    if (r != NULL)
        freeReplyObject(r);
    return v;
}

static long long llen(const struct ht_cluster *c, const char *key) {
    const char *argv[2] = { "LLEN", key };

    return key_int(c, 2, argv);
}

/* ---- hookctl ------------------------------------------------------------ */

/* Runs bin/hookctl `args` against the cluster. 1 when it ran. */
static int ctl(struct ctx *x, const char *const *args,
               struct ht_ctlrun *r) {
    char url[sizeof(x->c.url) + 16];
    const char *env[] = {
        url, "HOOKLINE_PREFIX=" PREFIX, "HOOKLINE_PARTITIONS=64",
        "HOOKLINE_LEASE_MS=60000",
        "MESSENGER_APP_SECRET=5f3c1b0a9e8d7c6b5a4f3e2d1c0b9a77",
        "MESSENGER_VERIFY_TOKEN=hcc-verify",
        "MESSENGER_PAGE_ID=" PAGE,
        "MESSENGER_PAGE_ACCESS_TOKEN=EAAhccPageTokenForTheCtlCluster000001",
        /* doctor's HTTP checks fail fast instead of going out */
        "HOOKLINE_INGEST_URL=http://127.0.0.1:9",
        "GRAPH_API_BASE=http://127.0.0.1:9",
        NULL,
    };

    snprintf(url, sizeof(url), "REDIS_URL=%s", x->c.url);
    if (!ht_ctlrun(args, env, 20000, r))
        return 0;
    HT_ASSERT_NOT_CONTAINS(r->out, "Sanitizer");
    HT_ASSERT_NOT_CONTAINS(r->out, "runtime error");
    return 1;
}

/* hookctl --json ... parsed (caller owns); NULL (check failed) when it
 * does not exit `want_code` with a JSON document. */
static json_object *ctl_json(struct ctx *x, const char *const *args,
                             int want_code) {
    struct ht_ctlrun r;
    json_object *o;

    if (!ctl(x, args, &r))
        return NULL;
    o = ht_ctlrun_json(&r, want_code);
    ht_ctlrun_cleanup(&r);
    return o;
}

static json_object *jget(json_object *o, const char *a) {
    json_object *x = NULL;

    return o != NULL && json_object_object_get_ex(o, a, &x) ? x : NULL;
}

/* ---- the keyspace ------------------------------------------------------- */

static int queued_of(int p) {
    return p % 3 + 1;
}

static int inflight_of(int p) {
    return p % 2;
}

static void envelope(char *out, size_t sz, const char *id,
                     const char *user) {
    long long now = ht_wall_ms();

    snprintf(out, sz, "{\"v\":1,\"id\":\"%s\",\"object\":\"page\","
             "\"page\":\"" PAGE "\",\"user\":\"%s\",\"ts\":%lld,"
             "\"rx\":%lld,\"kind\":\"message\",\"standby\":false,"
             "\"event\":{}}", id, user, now, now);
}

static int lpush(struct ctx *x, const char *key, const char *val,
                 size_t len) {
    const char *argv[3] = { "LPUSH", key, val };
    size_t lens[3] = { 5, strlen(key), len };
    redisReply *r = on_node(&x->c, -1, 3, argv, lens);

    if (r != NULL)
        freeReplyObject(r);
    return r != NULL;
}

/* Queues and in-flight lists for every partition, leases for the even
 * ones, one worker heartbeat. */
static void seed_partitions(struct ctx *x) {
    char key[HL_KEY_MAX], env[512], id[64], now[32];
    const char *set[3] = { "SET", key, WORKER };
    const char *zadd[4] = { "ZADD", key, now, WORKER };
    int p, k;

    for (p = 0; p < PARTS; p++) {
        hl_keys_queue(PREFIX, p, key);
        for (k = 0; k < queued_of(p); k++) {
            snprintf(id, sizeof(id), "m:q%d.%d", p, k);
            envelope(env, sizeof(env), id, "u-queued");
            lpush(x, key, env, strlen(env));
        }
        hl_keys_inflight(PREFIX, p, key);
        for (k = 0; k < inflight_of(p); k++) {
            snprintf(id, sizeof(id), "m:i%d.%d", p, k);
            envelope(env, sizeof(env), id, "u-inflight");
            lpush(x, key, env, strlen(env));
        }
        if (p % 2 == 0) {
            hl_keys_lease(PREFIX, p, key);
            on_node_ok(&x->c, -1, 3, set);
        }
    }
    hl_keys_workers(PREFIX, key);
    snprintf(now, sizeof(now), "%lld", ht_wall_ms());
    on_node_ok(&x->c, -1, 4, zadd);
}

/* NDL worker-stage dead letters (users u-cl-0..) and one ingest-stage. */
static void seed_dead_letters(struct ctx *x) {
    struct hl_dlq_error ge = { 400, 100, 0, "(#100) No matching user", NULL };
    struct hl_dlq_entry e;
    char key[HL_KEY_MAX], env[512], id[64], user[32];
    char *out = NULL;
    size_t len = 0;
    int i;

    hl_keys_dlq(PREFIX, key);
    for (i = 0; i < NDL; i++) {
        snprintf(user, sizeof(user), "u-cl-%d", i);
        snprintf(id, sizeof(id), "m:dl%d", i);
        envelope(env, sizeof(env), id, user);
        x->part[i] = hl_partition_of(PAGE, user, PARTS);
        memset(&e, 0, sizeof(e));
        e.reason = HL_DLQ_SEND_PERMANENT;
        e.worker_stage = 1;
        e.error = &ge;
        e.attempts = 1;
        e.first_failed = e.failed = ht_wall_ms();
        e.worker = WORKER;
        e.envelope = env;
        e.envelope_len = strlen(env);
        if (!HT_ASSERT_EQ_INT(hl_dlq_build(&e, &out, &len), HL_OK))
            return;
        lpush(x, key, out, len);
        HL_FREE(out);
    }
    memset(&e, 0, sizeof(e));
    e.reason = HL_DLQ_MALFORMED_PAYLOAD;
    e.raw = "not json";
    e.raw_len = 8;
    e.first_failed = e.failed = ht_wall_ms();
    if (HT_ASSERT_EQ_INT(hl_dlq_build(&e, &out, &len), HL_OK))
        lpush(x, key, out, len);
    HL_FREE(out);
}

static void check_seed(struct ctx *x) {
    char key[HL_KEY_MAX];
    int nodes[HT_CLUSTER_NODES] = { 0 }, p, used = 0, i;

    HT_CHECK_BEGIN("keyspace written node by node: 64 partitions over the "
                   "3 primaries, 41 dead letters");
    seed_partitions(x);
    seed_dead_letters(x);
    for (p = 0; p < PARTS; p++) {
        int n;
        hl_keys_queue(PREFIX, p, key);
        n = primary_of(&x->c, key);
        if (n >= 0)
            nodes[n]++;
    }
    for (i = 0; i < HT_CLUSTER_NODES; i++)
        used += nodes[i] > 0;
    HT_ASSERT_EQ_INT(used, HT_CLUSTER_PRIMARIES);
    hl_keys_dlq(PREFIX, key);
    HT_ASSERT_EQ_INT(llen(&x->c, key), NDL + 1);
    HT_CHECK_END();
}

/* ---- stats and list ----------------------------------------------------- */

/* The partitions whose figures in `o` differ from what was written
 * (`extra[p]` more queued); -1 when `o` has no partitions array. */
static int stats_mismatches(json_object *o, const int *extra) {
    json_object *parts = jget(o, "partitions");
    int p, bad = 0;

    if (parts == NULL || json_object_array_length(parts) != PARTS)
        return -1;
    for (p = 0; p < PARTS; p++) {
        json_object *e = json_object_array_get_idx(parts, p);
        const char *owner = ht_json_str(e, "owner");
        int ok = ht_json_int(e, "queued") == queued_of(p) + extra[p] &&
                 ht_json_int(e, "inflight") == inflight_of(p) &&
                 (p % 2 == 0 ? owner != NULL && strcmp(owner, WORKER) == 0
                             : owner == NULL);
        if (!ok && bad++ < 3)
            ht_note("partition %d: %s", p, json_object_to_json_string(e));
    }
    return bad;
}

static void check_stats(struct ctx *x) {
    const char *args[] = { "--json", "stats", NULL };
    int extra[PARTS] = { 0 };
    long long queued = 0;
    json_object *o, *dl;
    int p;

    HT_CHECK_BEGIN("stats --json: every partition's depth, in-flight and "
                   "owner from its node, in order; dead letters by reason");
    o = ctl_json(x, args, 0);
    for (p = 0; p < PARTS; p++)
        queued += queued_of(p);
    HT_ASSERT_EQ_INT(stats_mismatches(o, extra), 0);
    HT_ASSERT_EQ_INT(ht_json_int(jget(o, "totals"), "queued"), queued);
    HT_ASSERT_EQ_INT(ht_json_int(jget(o, "totals"), "unowned_partitions"),
                     PARTS / 2);
    HT_ASSERT_EQ_INT(ht_json_int(o, "live_workers"), 1);
    dl = jget(o, "dead_letters");
    HT_ASSERT_EQ_INT(ht_json_int(dl, "total"), NDL + 1);
    HT_ASSERT_EQ_INT(ht_json_int(jget(dl, "by_reason"), "send_permanent"),
                     NDL);
    HT_ASSERT_EQ_INT(ht_json_int(jget(dl, "by_reason"),
                                 "malformed_payload"), 1);
    json_object_put(o);
    HT_CHECK_END();
}

static void check_list(struct ctx *x) {
    const char *args[] = { "--json", "dlq", "list", "--limit", "1000",
                           NULL };
    const char *human[] = { "dlq", "list", NULL };
    json_object *o;
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("dlq list: all 41 entries (--json), newest first in "
                   "the human list");
    o = ctl_json(x, args, 0);
    HT_ASSERT_EQ_INT(o ? (long long)json_object_array_length(o) : -1,
                     NDL + 1);
    HT_ASSERT_EQ_INT(ht_json_count(o, "reason", "send_permanent"), NDL);
    HT_ASSERT_EQ_STR(ht_json_str(json_object_array_get_idx(o, 0),
                                 "reason"), "malformed_payload");
    json_object_put(o);
    if (ctl(x, human, &r)) {
        HT_ASSERT_EQ_INT(r.code, 0);
        HT_ASSERT_CONTAINS(r.out, "user u-cl-39");
        ht_ctlrun_cleanup(&r);
    }
    HT_CHECK_END();
}

/* ---- a slot on the move: ASK ------------------------------------------- */

static void check_ask(struct ctx *x) {
    const char *args[] = { "--json", "stats", NULL };
    int extra[PARTS] = { 0 };
    char q[HL_KEY_MAX];
    const char *keys[2] = { q, NULL };
    unsigned slot;
    long ask0;
    json_object *o;

    HT_CHECK_BEGIN("a partition queue migrated to another primary, its "
                   "slot still MIGRATING: stats follows -ASK (ASKING on "
                   "the target) and reads the same figures");
    x->mig_part = (int)x->part[0];
    hl_keys_queue(PREFIX, x->mig_part, q);
    slot = hl_slot_of(q, strlen(q));
    x->mig_src = ht_cluster_primary_of_slot(&x->c, slot);
    x->mig_dst = ht_cluster_other_primary(&x->c, x->mig_src);
    if (!HT_ASSERT_TRUE(x->mig_src >= 0 && x->mig_dst >= 0) ||
        !HT_ASSERT_TRUE(ht_cluster_migrate_begin(&x->c, slot, x->mig_src,
                                                 x->mig_dst, keys)))
        goto done;
    ask0 = ht_cluster_asking_calls(&x->c, x->mig_dst);
    o = ctl_json(x, args, 0);
    HT_ASSERT_EQ_INT(stats_mismatches(o, extra), 0);
    json_object_put(o);
    HT_ASSERT_GE_INT(ht_cluster_asking_calls(&x->c, x->mig_dst) - ask0, 1);
    ht_note("partition %d (slot %u) moving from node %d to node %d",
            x->mig_part, slot, x->mig_src, x->mig_dst);
done:
    HT_CHECK_END();
}

/* ---- requeue and purge -------------------------------------------------- */

/* How many of the dead letters' envelopes are in their partition queue
 * (on the node serving it now). */
static int requeued_found(struct ctx *x) {
    char q[HL_KEY_MAX], id[64];
    const char *argv[4] = { "LRANGE", q, "0", "-1" };
    int i, found = 0;
    size_t k;

    for (i = 0; i < NDL; i++) {
        redisReply *r;
        hl_keys_queue(PREFIX, x->part[i], q);
        snprintf(id, sizeof(id), "\"id\":\"m:dl%d\"", i);
        r = on_node(&x->c, -1, 4, argv, NULL);
        for (k = 0; r != NULL && k < r->elements; k++) {
            if (strstr(r->element[k]->str, id) != NULL) {
                found++;
                break;
            }
        }
        if (r != NULL)
            freeReplyObject(r);
    }
    return found;
}

static void check_requeue(struct ctx *x) {
    const char *args[] = { "--json", "dlq", "requeue", "--all", NULL };
    char q[HL_KEY_MAX], dlq[HL_KEY_MAX], inf[HL_KEY_MAX], lease[HL_KEY_MAX];
    const char *rest[3] = { inf, lease, NULL };
    int per[PARTS] = { 0 }, i, p, bad = 0;
    json_object *o;

    HT_CHECK_BEGIN("dlq requeue --all: 40 envelopes pushed to their "
                   "partition queues on the right nodes (one through ASK), "
                   "the ingest-stage entry skipped and kept");
    o = ctl_json(x, args, 0);
    HT_ASSERT_EQ_INT(o ? (long long)json_object_array_length(
                             jget(o, "requeued")) : -1, NDL);
    HT_ASSERT_EQ_INT(o ? (long long)json_object_array_length(
                             jget(o, "skipped")) : -1, 1);
    json_object_put(o);
    /* finish the migration: the partition's other keys, then the slot */
    hl_keys_inflight(PREFIX, x->mig_part, inf);
    hl_keys_lease(PREFIX, x->mig_part, lease);
    hl_keys_queue(PREFIX, x->mig_part, q);
    HT_ASSERT_TRUE(ht_cluster_migrate_keys(&x->c, x->mig_src, x->mig_dst,
                                           rest));
    HT_ASSERT_TRUE(ht_cluster_migrate_end(&x->c, hl_slot_of(q, strlen(q)),
                                          x->mig_src, x->mig_dst));
    HT_ASSERT_EQ_INT(primary_of(&x->c, q), x->mig_dst);
    HT_ASSERT_EQ_INT(requeued_found(x), NDL);
    for (i = 0; i < NDL; i++)
        per[x->part[i]]++;
    for (p = 0; p < PARTS; p++) {
        hl_keys_queue(PREFIX, p, q);
        if (llen(&x->c, q) != queued_of(p) + per[p] && bad++ < 3)
            ht_note("partition %d: %lld queued, want %d", p,
                    llen(&x->c, q), queued_of(p) + per[p]);
    }
    HT_ASSERT_EQ_INT(bad, 0);
    hl_keys_dlq(PREFIX, dlq);
    HT_ASSERT_EQ_INT(llen(&x->c, dlq), 1);
    HT_CHECK_END();
}

static void check_purge(struct ctx *x) {
    const char *args[] = { "--json", "dlq", "purge", "--yes", NULL };
    char dlq[HL_KEY_MAX];
    json_object *o;

    HT_CHECK_BEGIN("dlq purge --yes: MULTI/LLEN/DEL/EXEC on the list's "
                   "node removes the one left");
    o = ctl_json(x, args, 0);
    HT_ASSERT_EQ_INT(ht_json_int(o, "removed"), 1);
    json_object_put(o);
    hl_keys_dlq(PREFIX, dlq);
    HT_ASSERT_EQ_INT(llen(&x->c, dlq), 0);
    HT_CHECK_END();
}

/* ---- doctor ------------------------------------------------------------- */

static void check_doctor(struct ctx *x) {
    const char *args[] = { "doctor", NULL };
    char want[sizeof(x->c.seeds) + 128];
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("doctor: the redis line passes and names the seeds, 3 "
                   "primaries and all 16384 slots");
    snprintf(want, sizeof(want), "✓ redis: Redis Cluster at %s: 3 "
             "primaries, all 16384 slots served\n", x->c.seeds);
    if (ctl(x, args, &r)) {
        HT_ASSERT_CONTAINS(r.out, want);
        HT_ASSERT_CONTAINS(r.out, "workers:");
        if (ht_check_failed())
            ht_note("doctor said:\n%s", r.out);
        ht_ctlrun_cleanup(&r);
    }
    HT_CHECK_END();
}

/* ---- a stale map: MOVED (in-process) ------------------------------------ */

static void check_moved(struct ctx *x) {
    struct hl_redis_addr a;
    struct ctl_cluster *cl = NULL;
    char err[HL_ERR_LEN] = "", q[HL_KEY_MAX], inf[HL_KEY_MAX];
    char lease[HL_KEY_MAX], q2[HL_KEY_MAX];
    const char *keys[4] = { q, inf, lease, NULL };
    const char *llen_q[2] = { "LLEN", q }, *llen_q2[2] = { "LLEN", q2 };
    const char *llen_i[2] = { "LLEN", inf };
    redisReply *r = NULL;
    int p = 1, p2 = 2, src, dst;
    long long want_q, want_i;
    unsigned slot;

    HT_CHECK_BEGIN("a slot moved after the map was read: a command and "
                   "pipelined commands on it follow -MOVED to the new "
                   "primary, the others keep their order");
    memset(&a, 0, sizeof(a));
    a.kind = HL_REDIS_CLUSTER;
    snprintf(a.seeds, sizeof(a.seeds), "%s", x->c.seeds);
    hl_keys_queue(PREFIX, p, q);
    hl_keys_inflight(PREFIX, p, inf);
    hl_keys_lease(PREFIX, p, lease);
    hl_keys_queue(PREFIX, p2, q2);
    cl = ctl_cluster_new(&a, err);
    if (!HT_ASSERT_TRUE(cl != NULL)) {
        ht_note("%s", err);
        goto done;
    }
    want_q = llen(&x->c, q);           /* requeues added to some */
    want_i = llen(&x->c, inf);
    HT_ASSERT_GE_INT(want_q, queued_of(p));
    slot = hl_slot_of(q, strlen(q));
    src = ht_cluster_primary_of_slot(&x->c, slot);
    dst = ht_cluster_other_primary(&x->c, src);
    if (!HT_ASSERT_TRUE(src >= 0 && dst >= 0) ||
        !HT_ASSERT_TRUE(ht_cluster_migrate_begin(&x->c, slot, src, dst,
                                                 keys)) ||
        !HT_ASSERT_TRUE(ht_cluster_migrate_end(&x->c, slot, src, dst)))
        goto done;
    HT_ASSERT_EQ_INT(ctl_cluster_cmd(cl, &r, 2, llen_q, NULL, err), HL_OK);
    HT_ASSERT_EQ_INT(r ? r->integer : -1, want_q);
    if (r != NULL)
        freeReplyObject(r);
    r = NULL;
    /* the pipeline: the moved slot, another partition, the moved slot */
    HT_ASSERT_EQ_INT(ctl_cluster_append(cl, 2, llen_i, NULL), HL_OK);
    HT_ASSERT_EQ_INT(ctl_cluster_append(cl, 2, llen_q2, NULL), HL_OK);
    HT_ASSERT_EQ_INT(ctl_cluster_append(cl, 2, llen_q, NULL), HL_OK);
    HT_ASSERT_EQ_INT(ctl_cluster_next(cl, &r, err), HL_OK);
    HT_ASSERT_EQ_INT(r ? r->integer : -1, want_i);
    if (r != NULL)
        freeReplyObject(r);
    HT_ASSERT_EQ_INT(ctl_cluster_next(cl, &r, err), HL_OK);
    HT_ASSERT_EQ_INT(r ? r->integer : -1, llen(&x->c, q2));
    if (r != NULL)
        freeReplyObject(r);
    HT_ASSERT_EQ_INT(ctl_cluster_next(cl, &r, err), HL_OK);
    HT_ASSERT_EQ_INT(r ? r->integer : -1, want_q);
    if (r != NULL)
        freeReplyObject(r);
    r = NULL;
    HT_ASSERT_EQ_INT(ctl_cluster_next(cl, &r, err), HL_ESTATE);
    HT_ASSERT_EQ_INT(primary_of(&x->c, q), dst);
    if (ht_check_failed())
        ht_note("last error: %s", err);
done:
    ctl_cluster_free(cl);
    HT_CHECK_END();
}

int main(void) {
    struct ctx x;
    char err[HL_ERR_LEN];
    long long t0;

    ht_init();
    hl_log_init("test_ctl_cluster", HL_LOG_ERROR);
    memset(&x, 0, sizeof(x));
    HT_CHECK_BEGIN("a Redis Cluster of 3 primaries and 3 replicas starts");
    t0 = ht_mono_ms();
    if (!HT_ASSERT_EQ_INT(ht_cluster_start(&x.c, err), HL_OK)) {
        ht_note("%s", err);
        HT_CHECK_END();
        goto cleanup;
    }
    ht_note("cluster up in %lld ms", ht_mono_ms() - t0);
    HT_CHECK_END();
    check_seed(&x);
    check_stats(&x);
    check_list(&x);
    check_ask(&x);
    check_requeue(&x);
    check_purge(&x);
    check_doctor(&x);
    check_moved(&x);
cleanup:
    ht_cluster_cleanup(&x.c);
    return ht_summary();
}
