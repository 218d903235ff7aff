/* test_chaos.c - the short chaos run inside `make test` (the long one is
 * `make chaos`, the same driver: tests/chaos/). 35 s of signed events at
 * 100 ev/s over 100 conversations into ingest while three workers are
 * SIGKILLed every 5-9 s and started again 0.5-2 s later, Redis is
 * SIGKILLed once and restarted on its append-only file, and the fake
 * Graph fails 10% of the sends with 500 and answers ~5% after the
 * workers' 1 s send timeout. Then: nothing acknowledged is lost (G3), no
 * conversation goes out of order where G4 promises order, every repeated
 * send lies in a G5 window measured at a kill, the queues drain, and
 * every program exits 0 on SIGTERM (under ASan: no leak).
 *
 * First, the Redis fixture's append-only mode on its own: what it
 * acknowledged survives SIGKILL + restart, and cleanup removes its files;
 * and the driver's G5 window measurement on a made-up request log (kills
 * rarely land inside the real window, so the run alone would leave that
 * code path untested).
 *
 * The seed is printed; CHAOS_SEED=<n> replays a run's choices (timing
 * still differs). Every wait is bounded by the driver. Under valgrind
 * (make valgrind) it is a trickle: 5 ev/s for 40 s, 5 s send timeout and
 * lease, kills every 10-14 s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hl.h"
#include "../lib/hl_test.h"
#include "../lib/redis_fixture.h"
#include "../chaos/chaos.h"
#include "../chaos/chaos_int.h"
#include "hl_keys.h"

#define AOF_KEY "chaos-aof-probe"
#define AOF_VALUE "kept-across-sigkill"

static void check_aof_fixture(void) {
    struct ht_redis r;
    char err[HL_ERR_LEN], dir[512];
    const char *set[3] = { "SET", AOF_KEY, AOF_VALUE };
    redisContext *c = NULL;
    redisReply *rep = NULL;
    char *v = NULL;
    size_t len = 0;
    struct stat st;

    HT_CHECK_BEGIN("redis fixture, AOF mode: a SET answered before a "
                   "SIGKILL is there after the restart; cleanup removes "
                   "the directory with its appendonlydir");
    memset(&r, 0, sizeof(r));
    if (ht_redis_start_aof(&r, err) != HL_OK) {
        HT_FAIL("redis-server: %s", err);
        goto cleanup;
    }
    c = ht_redis_connect(&r, 2000);
    if (!HT_ASSERT_TRUE(c != NULL))
        goto cleanup;
    rep = redisCommandArgv(c, 3, set, NULL);
    HT_ASSERT_TRUE(rep != NULL && rep->type == REDIS_REPLY_STATUS);
    redisFree(c);
    c = NULL;
    HT_ASSERT_EQ_INT(ht_redis_kill(&r), HL_OK);
    if (!HT_ASSERT_EQ_INT(ht_redis_restart(&r, err), HL_OK)) {
        ht_note("restart: %s", err);
        goto cleanup;
    }
    c = ht_redis_connect(&r, 2000);
    if (HT_ASSERT_TRUE(c != NULL) &&
        HT_ASSERT_EQ_INT(ht_redis_str2(c, &v, &len, "GET", AOF_KEY), HL_OK))
        HT_ASSERT_EQ_STR(v, AOF_VALUE);
cleanup:
    free(v);
    if (rep != NULL)
        freeReplyObject(rep);
    if (c != NULL)
        redisFree(c);
    snprintf(dir, sizeof(dir), "%s", r.dir);
    ht_redis_cleanup(&r);
    if (dir[0] != '\0')
        HT_ASSERT_TRUE(stat(dir, &st) != 0);
    HT_CHECK_END();
}

/* A request log entry for event `seq` of conversation 0. */
static void log_entry(struct ht_text *t, long long n, int seq, int answered,
                      long long delay, const char *user) {
    ht_text_add(t, "%s{\"seq\":%lld,\"t_ms\":%lld,\"recipient\":\"%s\","
                "\"answered\":%d,\"delay_ms\":%lld,\"body\":{\"message\":"
                "{\"text\":\"You said: " CHAOS_TAG " 0 %d\"}}}",
                n > 1 ? "," : "[", n, ht_wall_ms(), user, answered, delay,
                seq);
}

static void check_window_measure(void) {
    struct chaos_opts o;
    struct chaos_book *b = NULL;
    struct ht_redis r;
    struct ht_text t = { 0 };
    unsigned char all[16], none[16];
    char err[HL_ERR_LEN], id[128], key[HL_KEY_MAX];
    redisContext *c = NULL;
    struct ht_kv *kv = NULL;
    long long n = -1, set = -1;

    HT_CHECK_BEGIN("G5 window measurement: of two accepted sends (and a "
                   "late 200) only the one without its done key counts, "
                   "and only in its own partition");
    memset(&r, 0, sizeof(r));
    chaos_opts_default(&o);
    o.convs = 1;
    o.rate = 2;
    o.seconds = 1;
    o.swap_pct = 0;
    memset(all, 1, sizeof(all));
    memset(none, 0, sizeof(none));
    b = chaos_book_new(&o, 16);
    if (!HT_ASSERT_TRUE(b != NULL) || !HT_ASSERT_EQ_INT(b->nev, 2))
        goto cleanup;
    log_entry(&t, 1, 1, 200, 0, b->conv[0].user);
    log_entry(&t, 2, 2, 200, 0, b->conv[0].user);
    log_entry(&t, 3, 2, 200, o.delay_ms, b->conv[0].user);
    ht_text_add(&t, "]");
    if (!HT_ASSERT_EQ_INT(t.failed, 0) ||
        !HT_ASSERT_EQ_INT(chaos_book_feed(b, t.p, t.len), HL_OK))
        goto cleanup;
    HT_ASSERT_EQ_INT(b->sends_ok, 2);
    HT_ASSERT_EQ_INT(b->sends_late, 1);
    if (ht_redis_start(&r, err) != HL_OK) {
        HT_FAIL("redis-server: %s", err);
        goto cleanup;
    }
    c = ht_redis_connect(&r, 2000);
    kv = ht_kv_single("127.0.0.1", r.port, 2000);
    if (!HT_ASSERT_TRUE(c != NULL) || !HT_ASSERT_TRUE(kv != NULL))
        goto cleanup;
    chaos_book_event_id(b, (size_t)b->conv[0].ev[1], id, sizeof(id));
    hl_keys_done("chx", b->conv[0].part, id, 0, key);
    {
        const char *argv[3] = { "SETNX", key, "1" };
        ht_redis_int(c, &set, 3, argv);
    }
    HT_ASSERT_EQ_INT(set, 1);
    HT_ASSERT_EQ_INT(chaos_book_window(b, kv, "chx", none, 0, &n), HL_OK);
    HT_ASSERT_EQ_INT(n, 0);
    HT_ASSERT_EQ_INT(chaos_book_window(b, kv, "chx", all, 0, &n), HL_OK);
    HT_ASSERT_EQ_INT(n, 1);
    HT_ASSERT_EQ_INT(b->ev[b->conv[0].ev[0]].windows, 1);
    HT_ASSERT_EQ_INT(b->ev[b->conv[0].ev[1]].windows, 0);
    HT_ASSERT_EQ_INT(b->ev[b->conv[0].ev[1]].done_seen, 1);
cleanup:
    ht_kv_free(kv);
    if (c != NULL)
        redisFree(c);
    ht_redis_cleanup(&r);
    free(t.p);
    chaos_book_free(b);
    HT_CHECK_END();
}

static void short_opts(struct chaos_opts *o) {
    chaos_opts_default(o);
    o->seconds = 35;
    o->rate = 100;
    o->convs = 100;
    o->kill_min_ms = 5000;
    o->kill_max_ms = 9000;
    o->restart_min_ms = 500;
    o->restart_max_ms = 2000;
    o->drain_s = 90;
    o->seed = chaos_seed_from_env();
    o->verbose = 1;
    if (ht_valgrind())
        chaos_opts_trickle(o);
}

int main(void) {
    struct chaos_opts o;
    struct chaos_report *rep = calloc(1, sizeof(*rep));
    int ran;

    ht_init();
    check_aof_fixture();
    check_window_measure();
    short_opts(&o);
    HT_CHECK_BEGIN("the chaos run is driven to its end: stack up, the "
                   "load, at least 2 worker SIGKILLs and 1 Redis restart, "
                   "the queues drained, every program exits 0 on SIGTERM");
    ran = chaos_test_run(&o, rep);
    if (ran) {
        HT_ASSERT_GE_INT(rep->kills, 2);
        HT_ASSERT_EQ_INT(rep->redis_restarts, 1);
        HT_ASSERT_GT_INT(rep->acked, o.rate * o.seconds * 9 / 10);
        HT_ASSERT_EQ_INT(rep->drained, 1);
        HT_ASSERT_EQ_INT(rep->exits_bad, 0);
    }
    HT_CHECK_END();
    if (ran) {
        HT_CHECK_BEGIN("G3: every acknowledged event answered or "
                       "dead-lettered");
        HT_ASSERT_EQ_INT(rep->lost, 0);
        HT_ASSERT_GT_INT(rep->answered, 0);
        HT_CHECK_END();
        HT_CHECK_BEGIN("G4: no conversation's accepted sends go backwards "
                       "where the reorder window promises order");
        HT_ASSERT_EQ_INT(rep->out_of_order, 0);
        HT_ASSERT_GT_INT(rep->order_checked, 0);
        HT_CHECK_END();
        HT_CHECK_BEGIN("G5: repeated sends <= the windows measured at the "
                       "kills, none unexplained");
        HT_ASSERT_LE_INT(rep->repeats, rep->window);
        HT_ASSERT_EQ_INT(rep->unexplained, 0);
        HT_CHECK_END();
        HT_CHECK_BEGIN("the fake Graph saw replies to our events only, the "
                       "dead letters hold ours only, no other violation");
        HT_ASSERT_EQ_INT(rep->sends_foreign, 0);
        HT_ASSERT_EQ_INT(rep->dlq_foreign, 0);
        if (!HT_ASSERT_EQ_INT(rep->violations, 0))
            ht_note("violations:\n%s", rep->notes);
        HT_CHECK_END();
    }
    free(rep);
    return ht_summary();
}
