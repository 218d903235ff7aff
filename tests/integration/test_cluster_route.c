/* test_cluster_route.c - common/hl_cluster.c on a real Redis Cluster (3
 * primaries + 3 replicas, tests/lib/cluster_fixture.h): the router finds
 * the slot map from the seeds; SET then GET of 2000 keys (hookline
 * partition keys and plain keys, so every primary's ranges) answer
 * through it; hookline's lease and enqueue scripts run per partition
 * through hl_cluster_script(); a request in flight past its deadline is
 * called back with NULL once, on time; hl_store (ingest's and the
 * worker's interface) on redis-cluster:// writes to every primary and
 * WAITs once per node; a slot migrated by hand (SETSLOT IMPORTING/MIGRATING and
 * MIGRATE of one key) is followed by ASK (ASKING counted on the target)
 * and, once the slot is reassigned with SETSLOT NODE, by MOVED (a map
 * refresh counted), with every value still read back; a primary killed
 * (SIGKILL): commands for its slots fail at once (NULL, not at their
 * deadline) until its replica is promoted (node timeout 2 s), then
 * succeed;
 * freeing the router with requests pending calls each back once with
 * NULL. No skipping: without redis-cli --cluster the start fails. */
#include "../lib/hl_test.h"
#include "../lib/cluster_fixture.h"
#include "hl.h"
#include "hl_cluster.h"
#include "hl_keys.h"
#include "hl_log.h"
#include "hl_slot.h"
#include "hl_store.h"
#include "hl_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#define NKEYS 2000
#define CMD_TIMEOUT_MS 5000
#define FAILOVER_TIMEOUT_MS 20000

/* One request's outcome. */
struct res {
    int done;                   /* callbacks seen */
    int type;                   /* reply type, -1 for NULL */
    long long integer;
    char str[64];
};

static int outstanding;

static void res_cb(struct hl_cluster *cl, redisReply *reply, void *arg) {
    struct res *r = arg;

    (void)cl;
    r->done++;
    outstanding--;
    r->type = reply == NULL ? -1 : reply->type;
    r->integer = reply == NULL ? 0 : reply->integer;
    if (reply != NULL && reply->str != NULL)
        snprintf(r->str, sizeof(r->str), "%.*s", (int)reply->len,
                 reply->str);
}

/* Runs the loop until no request is outstanding or `ms` passed. */
static void pump(struct event_base *base, long long ms) {
    long long end = hl_time_mono_ms() + ms;
    struct timeval tv = { 0, 5000 };

    while (outstanding > 0 && hl_time_mono_ms() < end) {
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
}

/* Runs the loop for `ms` whatever is outstanding. */
static void pump_for(struct event_base *base, long long ms) {
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}

static void pump_until_ready(struct event_base *base, struct hl_cluster *cl,
                             long long ms) {
    long long end = hl_time_mono_ms() + ms;
    struct timeval tv = { 0, 10000 };

    while (!hl_cluster_ready(cl) && hl_time_mono_ms() < end) {
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
}

static int cmd(struct hl_cluster *cl, struct res *r, long long timeout,
               const char *a0, const char *key, const char *val) {
    const char *argv[3] = { a0, key, val };
    size_t lens[3] = { strlen(a0), strlen(key), val ? strlen(val) : 0 };
    int rc;

    memset(r, 0, sizeof(*r));
    rc = hl_cluster_command(cl, key, strlen(key), timeout, res_cb, r,
                            val ? 3 : 2, argv, lens);
    if (rc == HL_OK)
        outstanding++;
    return rc;
}

static void key_of(int i, char out[HL_KEY_MAX]) {
    if (i % 2 == 0)
        hl_keys_queue("hookline", i / 2, out);
    else
        snprintf(out, HL_KEY_MAX, "plain:%d", i);
}

/* SETs (when `set`) or GETs every key through the router; GETs compare
 * with "v<i>". Returns the number of wrong answers. */
static int all_keys(struct event_base *base, struct hl_cluster *cl,
                    int set, long long timeout) {
    static struct res rs[NKEYS];
    char key[HL_KEY_MAX], val[32];
    int i, bad = 0;

    for (i = 0; i < NKEYS; i++) {
        key_of(i, key);
        snprintf(val, sizeof(val), "v%d", i);
        if (cmd(cl, &rs[i], timeout, set ? "SET" : "GET", key,
                set ? val : NULL) != HL_OK)
            bad++;
    }
    pump(base, timeout + 2000);
    for (i = 0; i < NKEYS; i++) {
        snprintf(val, sizeof(val), "v%d", i);
        if (rs[i].done != 1 || rs[i].type != (set ? REDIS_REPLY_STATUS
                                                  : REDIS_REPLY_STRING) ||
            strcmp(rs[i].str, set ? "OK" : val) != 0) {
            if (bad++ < 5)
                ht_note("key %d: done %d type %d '%s'", i, rs[i].done,
                        rs[i].type, rs[i].str);
        }
    }
    return bad;
}

static void check_migrate(const struct ht_cluster *c,
                          struct event_base *base, struct hl_cluster *cl) {
    struct res r[3];
    const char *keys[3] = { "{mig}a", "{mig}b", "{mig}c" };
    const char *first[2] = { keys[0], NULL };
    const char *second[2] = { keys[1], NULL };
    unsigned slot = hl_slot_of("{mig}", 5);
    int src, dst, i;
    long ask0, refresh0;

    HT_CHECK_BEGIN("a slot migrated by hand: ASK (ASKING sent) while "
                   "migrating, MOVED + refresh after SETSLOT NODE, values "
                   "intact");
    src = ht_cluster_primary_of_slot(c, slot);
    dst = ht_cluster_other_primary(c, src);
    if (!HT_ASSERT_TRUE(src >= 0 && dst >= 0))
        goto cleanup;
    for (i = 0; i < 2; i++)
        cmd(cl, &r[i], CMD_TIMEOUT_MS, "SET", keys[i], keys[i]);
    pump(base, CMD_TIMEOUT_MS);
    if (!ht_cluster_migrate_begin(c, slot, src, dst, first))
        goto cleanup;
    ask0 = ht_cluster_asking_calls(c, dst);
    /* a: moved already (ASK), b: still on the source, c: new (ASK) */
    cmd(cl, &r[0], CMD_TIMEOUT_MS, "GET", keys[0], NULL);
    cmd(cl, &r[1], CMD_TIMEOUT_MS, "GET", keys[1], NULL);
    cmd(cl, &r[2], CMD_TIMEOUT_MS, "SET", keys[2], keys[2]);
    pump(base, CMD_TIMEOUT_MS);
    HT_ASSERT_EQ_STR(r[0].str, keys[0]);
    HT_ASSERT_EQ_STR(r[1].str, keys[1]);
    HT_ASSERT_EQ_STR(r[2].str, "OK");
    HT_ASSERT_EQ_INT(ht_cluster_asking_calls(c, dst) - ask0, 2);
    /* then every primary learns the new owner (the old one last would
     * do, but all is simpler and what redis-cli --cluster does) */
    if (!ht_cluster_migrate_keys(c, src, dst, second) ||
        !ht_cluster_migrate_end(c, slot, src, dst))
        goto cleanup;
    refresh0 = hl_cluster_refreshes(cl);
    for (i = 0; i < 3; i++)
        cmd(cl, &r[i], CMD_TIMEOUT_MS, "GET", keys[i], NULL);
    pump(base, CMD_TIMEOUT_MS);
    for (i = 0; i < 3; i++)
        HT_ASSERT_EQ_STR(r[i].str, keys[i]);
    /* the refresh answers after the MOVED resend; give it a moment */
    {
        long long end = hl_time_mono_ms() + 2000;
        struct timeval tv = { 0, 10000 };
        while (hl_cluster_refreshes(cl) == refresh0 &&
               hl_time_mono_ms() < end) {
            event_base_loopexit(base, &tv);
            event_base_dispatch(base);
        }
    }
    HT_ASSERT_GE_INT(hl_cluster_refreshes(cl) - refresh0, 1);
    ht_note("slot %u moved from node %d to node %d", slot, src, dst);
cleanup:
    HT_CHECK_END();
}

static void check_failover(struct ht_cluster *c, struct event_base *base,
                           struct hl_cluster *cl) {
    struct res r;
    int victim, nulls = 0;
    long long t0, sent, slowest = 0;

    HT_CHECK_BEGIN("a primary SIGKILLed: commands for its slots fail at "
                   "once (NULL well before their deadline) until its "
                   "replica is promoted, then succeed (every key reads "
                   "back)");
    victim = ht_cluster_primary_of_slot(c, hl_slot_of("{fo}", 4));
    if (!HT_ASSERT_EQ_INT(ht_cluster_kill(c, victim), HL_OK))
        goto cleanup;
    t0 = hl_time_mono_ms();
    memset(&r, 0, sizeof(r));
    while (hl_time_mono_ms() - t0 < FAILOVER_TIMEOUT_MS) {
        sent = hl_time_mono_ms();
        if (cmd(cl, &r, CMD_TIMEOUT_MS, "SET", "{fo}k", "after") != HL_OK)
            break;
        pump(base, CMD_TIMEOUT_MS + 1000);
        if (r.type != -1)
            break;
        nulls++;
        if (hl_time_mono_ms() - sent > slowest)
            slowest = hl_time_mono_ms() - sent;
        pump_for(base, 50);
    }
    HT_ASSERT_EQ_INT(r.done, 1);
    HT_ASSERT_EQ_STR(r.str, "OK");
    HT_ASSERT_TRUE(nulls > 0);
    HT_ASSERT_TRUE(slowest < CMD_TIMEOUT_MS / 5);
    ht_note("SET answered %lld ms after the kill (node %d); %d fast NULLs "
            "before, the slowest in %lld ms", hl_time_mono_ms() - t0,
            victim, nulls, slowest);
    HT_ASSERT_EQ_INT(all_keys(base, cl, 0, CMD_TIMEOUT_MS), 0);
cleanup:
    HT_CHECK_END();
}

/* ---- hl_store over the cluster ------------------------------------ */

#define STORE_PARTS 64
static int store_ups;

static void store_res_cb(struct hl_store *st, redisReply *reply,
                         void *arg) {
    (void)st;
    res_cb(NULL, reply, arg);
}

static void store_state_cb(struct hl_store *st, int up, void *arg) {
    (void)st;
    (void)arg;
    if (up)
        store_ups++;
}

/* ingest's path: hl_store on redis-cluster:// reaches every primary by
 * key, and hl_store_wait() asks each node that took a write (WAIT once
 * per node, the smallest count wins). */
static void check_store(const struct ht_cluster *c, struct event_base *base) {
    static char keys[STORE_PARTS][HL_KEY_MAX];
    const char *kp[STORE_PARTS];
    struct hl_redis_addr addr;
    struct hl_store *st = NULL;
    struct res r[STORE_PARTS], w1, w2;
    char err[HL_ERR_LEN];
    long long end;
    int i, ok = 0;

    HT_CHECK_BEGIN("hl_store on redis-cluster://: LPUSH to 64 partitions "
                   "on all primaries; WAIT 1 per node answers 1, and so "
                   "does WAIT 2 (one replica each) at its timeout");
    memset(&addr, 0, sizeof(addr));
    addr.kind = HL_REDIS_CLUSTER;
    snprintf(addr.seeds, sizeof(addr.seeds), "%s", c->seeds);
    st = hl_store_new(base, &addr, CMD_TIMEOUT_MS, err);
    if (!HT_ASSERT_TRUE(st != NULL))
        goto cleanup;
    hl_store_set_state_cb(st, store_state_cb, NULL);
    for (i = 0; i < STORE_PARTS; i++) {
        const char *argv[3] = { "LPUSH", keys[i], "v" };
        size_t lens[3];

        hl_keys_queue("store", i, keys[i]);
        kp[i] = keys[i];
        lens[0] = 5;
        lens[1] = strlen(keys[i]);
        lens[2] = 1;
        if (i == 0)     /* nothing is sent before the map is known */
            HT_ASSERT_EQ_INT(hl_store_command(st, store_res_cb, &r[0], 3,
                                              argv, lens), HL_EAGAIN);
    }
    HT_ASSERT_EQ_INT(hl_store_start(st), HL_OK);
    end = hl_time_mono_ms() + 10000;
    while (!hl_store_ready(st) && hl_time_mono_ms() < end) {
        struct timeval tv = { 0, 10000 };
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    if (!HT_ASSERT_TRUE(hl_store_ready(st)))
        goto cleanup;
    HT_ASSERT_EQ_INT(store_ups, 1);
    for (i = 0; i < STORE_PARTS; i++) {
        const char *argv[3] = { "LPUSH", keys[i], "v" };
        size_t lens[3] = { 5, strlen(keys[i]), 1 };

        memset(&r[i], 0, sizeof(r[i]));
        if (hl_store_command(st, store_res_cb, &r[i], 3, argv, lens)
            == HL_OK)
            outstanding++;
    }
    pump(base, CMD_TIMEOUT_MS);
    for (i = 0; i < STORE_PARTS; i++)
        ok += r[i].done == 1 && r[i].type == REDIS_REPLY_INTEGER;
    HT_ASSERT_EQ_INT(ok, STORE_PARTS);
    memset(&w1, 0, sizeof(w1));
    memset(&w2, 0, sizeof(w2));
    if (HT_ASSERT_EQ_INT(hl_store_wait(st, kp, STORE_PARTS, 1, 2000,
                                       store_res_cb, &w1), HL_OK))
        outstanding++;
    if (HT_ASSERT_EQ_INT(hl_store_wait(st, kp, STORE_PARTS, 2, 300,
                                       store_res_cb, &w2), HL_OK))
        outstanding++;
    pump(base, CMD_TIMEOUT_MS);
    HT_ASSERT_EQ_INT(w1.done, 1);
    HT_ASSERT_EQ_INT(w1.type, REDIS_REPLY_INTEGER);
    HT_ASSERT_EQ_INT(w1.integer, 1);
    HT_ASSERT_EQ_INT(w2.done, 1);
    HT_ASSERT_EQ_INT(w2.type, REDIS_REPLY_INTEGER);
    HT_ASSERT_EQ_INT(w2.integer, 1);
cleanup:
    hl_store_free(st);
    outstanding = 0;
    HT_CHECK_END();
}

/* Runs `script` once per partition 0..SCRIPT_PARTS-1 (lease: KEYS =
 * lease, ARGV = acquire a1 a2; enqueue: KEYS = seen, queue, ARGV = a1 a2)
 * through the router; returns how many answered the integer `want`.
 * The enqueue keys use the prefix "route": check 2 SET hookline's queue
 * keys as strings. */
#define SCRIPT_PARTS 512
static int scripts(struct event_base *base, struct hl_cluster *cl,
                   enum hl_script script, const char *a1, const char *a2,
                   long long want) {
    static struct res rs[SCRIPT_PARTS];
    char k1[HL_KEY_MAX], k2[HL_KEY_MAX];
    int n, i, good = 0;

    for (n = 0; n < SCRIPT_PARTS; n++) {
        const char *argv[5];
        size_t lens[5];
        int nkeys, argc;

        memset(&rs[n], 0, sizeof(rs[n]));
        if (script == HL_SCRIPT_LEASE) {
            hl_keys_lease("hookline", n, k1);
            argv[0] = k1;
            argv[1] = "acquire";
            argv[2] = a1;
            argv[3] = a2;
            nkeys = 1;
            argc = 4;
        } else {
            hl_keys_seen("route", n, "m:route", k1);
            hl_keys_queue("route", n, k2);
            argv[0] = k1;
            argv[1] = k2;
            argv[2] = a1;
            argv[3] = a2;
            nkeys = 2;
            argc = 4;
        }
        for (i = 0; i < argc; i++)
            lens[i] = strlen(argv[i]);
        if (hl_cluster_script(cl, script, nkeys, CMD_TIMEOUT_MS, res_cb,
                              &rs[n], argc, argv, lens) == HL_OK)
            outstanding++;
    }
    pump(base, CMD_TIMEOUT_MS + 1000);
    for (n = 0; n < SCRIPT_PARTS; n++) {
        if (rs[n].done == 1 && rs[n].type == REDIS_REPLY_INTEGER &&
            rs[n].integer == want)
            good++;
        else if (n - good < 3)
            ht_note("partition %d: done %d type %d '%s'", n, rs[n].done,
                    rs[n].type, rs[n].str);
    }
    return good;
}

static void check_scripts(struct event_base *base, struct hl_cluster *cl) {
    HT_CHECK_BEGIN("hookline scripts through the router for 512 "
                   "partitions: lease acquire 1 then 0 for another "
                   "worker; enqueue 1 then 0 (deduped)");
    HT_ASSERT_EQ_INT(scripts(base, cl, HL_SCRIPT_LEASE, "w1", "60000", 1),
                     SCRIPT_PARTS);
    HT_ASSERT_EQ_INT(scripts(base, cl, HL_SCRIPT_LEASE, "w2", "60000", 0),
                     SCRIPT_PARTS);
    HT_ASSERT_EQ_INT(scripts(base, cl, HL_SCRIPT_ENQUEUE, "60", "{}", 1),
                     SCRIPT_PARTS);
    HT_ASSERT_EQ_INT(scripts(base, cl, HL_SCRIPT_ENQUEUE, "60", "{}", 0),
                     SCRIPT_PARTS);
    HT_CHECK_END();
}

static void check_deadline(struct event_base *base, struct hl_cluster *cl) {
    const char *argv[3] = { "BLPOP", "{dl}list", "1" };
    size_t lens[3] = { 5, 8, 1 };
    struct res r;
    long long t0 = hl_time_mono_ms(), took;

    HT_CHECK_BEGIN("deadline in flight: BLPOP 1 with a 300 ms deadline is "
                   "called back with NULL at ~300 ms, once, and the late "
                   "reply is dropped");
    memset(&r, 0, sizeof(r));
    if (!HT_ASSERT_EQ_INT(hl_cluster_command(cl, argv[1], lens[1], 300,
                                             res_cb, &r, 3, argv, lens),
                          HL_OK))
        goto cleanup;
    outstanding++;
    pump(base, 3000);
    took = hl_time_mono_ms() - t0;
    HT_ASSERT_EQ_INT(r.done, 1);
    HT_ASSERT_EQ_INT(r.type, -1);
    HT_ASSERT_GE_INT(took, 290);
    HT_ASSERT_LT_INT(took, 900);
    /* let the BLPOP's own answer arrive (and be freed, not delivered) */
    outstanding = 1;
    pump(base, 1500);
    outstanding = 0;
    HT_ASSERT_EQ_INT(r.done, 1);
    ht_note("NULL after %lld ms", took);
cleanup:
    HT_CHECK_END();
}

static void check_free_pending(struct ht_cluster *c,
                               struct event_base *base) {
    char err[HL_ERR_LEN];
    struct hl_cluster *cl = hl_cluster_new(base, c->seeds, NULL, 0, err);
    struct res r[4];
    int i;

    HT_CHECK_BEGIN("freed with requests pending (in flight or waiting "
                   "for the map): each callback fires once with NULL");
    if (!HT_ASSERT_TRUE(cl != NULL))
        goto cleanup;
    for (i = 0; i < 4; i++)
        HT_ASSERT_EQ_INT(cmd(cl, &r[i], CMD_TIMEOUT_MS, "GET", "x", NULL),
                         HL_OK);
    hl_cluster_free(cl);
    for (i = 0; i < 4; i++) {
        HT_ASSERT_EQ_INT(r[i].done, 1);
        HT_ASSERT_EQ_INT(r[i].type, -1);
    }
    outstanding = 0;
cleanup:
    HT_CHECK_END();
}

int main(void) {
    struct ht_cluster c;
    struct event_base *base = NULL;
    struct hl_cluster *cl = NULL;
    char err[HL_ERR_LEN];
    long long t0;
    int bad;

    ht_init();
    hl_log_init("test_cluster_route", HL_LOG_ERROR);
    memset(&c, 0, sizeof(c));
    HT_CHECK_BEGIN("cluster up; the router builds the full slot map from "
                   "the seeds");
    t0 = ht_mono_ms();
    if (!HT_ASSERT_EQ_INT(ht_cluster_start(&c, err), HL_OK)) {
        ht_note("%s", err);
        goto cleanup;
    }
    ht_note("cluster up in %lld ms", ht_mono_ms() - t0);
    base = event_base_new();
    cl = base ? hl_cluster_new(base, c.seeds, NULL, 0, err) : NULL;
    if (!HT_ASSERT_TRUE(cl != NULL))
        goto cleanup;
    t0 = ht_mono_ms();
    pump_until_ready(base, cl, 10000);
    if (!HT_ASSERT_TRUE(hl_cluster_ready(cl)))
        goto cleanup;
    ht_note("map in %lld ms", ht_mono_ms() - t0);
    HT_CHECK_END();

    HT_CHECK_BEGIN("SET then GET of 2000 keys (partition queues and plain "
                   "keys) through the router");
    t0 = ht_mono_ms();
    bad = all_keys(base, cl, 1, CMD_TIMEOUT_MS);
    HT_ASSERT_EQ_INT(bad, 0);
    bad = all_keys(base, cl, 0, CMD_TIMEOUT_MS);
    HT_ASSERT_EQ_INT(bad, 0);
    ht_note("4000 commands in %lld ms", ht_mono_ms() - t0);
    HT_CHECK_END();

    check_scripts(base, cl);
    check_store(&c, base);
    check_deadline(base, cl);
    check_migrate(&c, base, cl);
    check_failover(&c, base, cl);
    hl_cluster_free(cl);
    cl = NULL;
    check_free_pending(&c, base);
cleanup:
    hl_cluster_free(cl);
    if (base != NULL)
        event_base_free(base);
    ht_cluster_cleanup(&c);
    return ht_summary();
}
