/* test_ctl_sentinel.c - bin/hookctl through REDIS_URL=redis-sentinel://
 * (tests/lib/sentinel_fixture.h: a primary, its replica, three sentinels
 * monitoring it as HT_SENTINEL_MASTER).
 *
 * A backlog and dead letters are written on the primary; then `stats
 * --json` reads them through the sentinels' answer, also when the first
 * sentinel named in the URL is not there; `doctor`'s redis line passes and
 * names the master and the sentinels; a master name no sentinel knows
 * exits 1 saying so; a sentinel with a password is asked with
 * HOOKLINE_SENTINEL_PASSWORD (and without it or with a wrong one the
 * run exits 1 saying why); after the primary is SIGKILLed and a replica
 * promoted, a new hookctl run reads the same figures from the new primary
 * and `dlq purge --yes` (a write: a replica would refuse it) empties the
 * list there. Every wait is bounded; only PIDs the fixture started are
 * signalled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "hl.h"
#include "hl_keys.h"
#include "../lib/hl_test.h"
#include "../lib/ctlrun.h"
#include "../lib/redis_fixture.h"
#include "../lib/sentinel_fixture.h"

#define PREFIX "hcs"
#define PAGE "100000000000888"
#define QUEUED 5                       /* envelopes in partition 3 */
#define DEAD 2                         /* dead letters */
#define FAILOVER_MS 20000
#define TIMEOUT_MS 5000

/* Runs bin/hookctl `args` with REDIS_URL=`url` and the variable `extra`
 * ("NAME=value", or NULL). 1 when it ran. */
static int ctl_env(const char *url, const char *extra,
                   const char *const *args, struct ht_ctlrun *r) {
    char redis[256];
    const char *env[] = {
        redis, "HOOKLINE_PREFIX=" PREFIX, "HOOKLINE_PARTITIONS=8",
        "MESSENGER_APP_SECRET=5f3c1b0a9e8d7c6b5a4f3e2d1c0b9a66",
        "MESSENGER_VERIFY_TOKEN=hcs-verify",
        "MESSENGER_PAGE_ID=" PAGE,
        "MESSENGER_PAGE_ACCESS_TOKEN=EAAhcsPageTokenForTheCtlSentinel0001",
        /* doctor's HTTP checks fail fast instead of going out */
        "HOOKLINE_INGEST_URL=http://127.0.0.1:9",
        "GRAPH_API_BASE=http://127.0.0.1:9",
        extra,
        NULL,
    };

    snprintf(redis, sizeof(redis), "REDIS_URL=%s", url);
    if (!ht_ctlrun(args, env, 20000, r))
        return 0;
    HT_ASSERT_NOT_CONTAINS(r->out, "Sanitizer");
    HT_ASSERT_NOT_CONTAINS(r->out, "runtime error");
    return 1;
}

static int ctl(const char *url, const char *const *args,
               struct ht_ctlrun *r) {
    return ctl_env(url, NULL, args, r);
}

/* `stats --json` through `url`: 1 when it exits 0 with QUEUED queued
 * and `dead` dead letters. */
static int stats_say_env(const char *url, const char *extra,
                         long long dead) {
    const char *args[] = { "--json", "stats", NULL };
    json_object *o = NULL, *t = NULL, *d = NULL;
    struct ht_ctlrun r;
    int ok = 0;

    if (!ctl_env(url, extra, args, &r))
        return 0;
    if (HT_ASSERT_EQ_INT(r.code, 0))
        o = json_tokener_parse(r.out);
    else
        ht_note("output: %s", r.out);
    ht_ctlrun_cleanup(&r);
    if (!HT_ASSERT_TRUE(o != NULL))
        return 0;
    json_object_object_get_ex(o, "totals", &t);
    json_object_object_get_ex(o, "dead_letters", &d);
    ok = HT_ASSERT_EQ_INT(ht_json_int(t, "queued"), QUEUED) &&
         HT_ASSERT_EQ_INT(ht_json_int(d, "total"), dead);
    json_object_put(o);
    return ok;
}

static int stats_say(const char *url, long long dead) {
    return stats_say_env(url, NULL, dead);
}

/* Writes the backlog and the dead letters on the primary. */
static int seed(struct ht_sentinel *f) {
    redisContext *db = ht_redis_connect(&f->data[f->primary], TIMEOUT_MS);
    char q[HL_KEY_MAX], dlq[HL_KEY_MAX], item[256];
    const char *push[3] = { "LPUSH", q, item };
    long long n = 0;
    int i, ok = db != NULL;

    hl_keys_queue(PREFIX, 3, q);
    for (i = 0; ok && i < QUEUED; i++) {
        snprintf(item, sizeof(item), "{\"v\":1,\"id\":\"m:s%d\",\"object\":"
                 "\"page\",\"page\":\"" PAGE "\",\"user\":\"u-s\",\"ts\":1,"
                 "\"rx\":1,\"kind\":\"message\",\"standby\":false,"
                 "\"event\":{}}", i);
        ok = ht_redis_int(db, &n, 3, push) == HL_OK;
    }
    hl_keys_dlq(PREFIX, dlq);
    push[1] = dlq;
    for (i = 0; ok && i < DEAD; i++) {
        snprintf(item, sizeof(item), "{\"v\":1,\"id\":\"d%d\",\"reason\":"
                 "\"malformed_payload\",\"stage\":\"ingest\",\"raw\":\"x\"}",
                 i);
        ok = ht_redis_int(db, &n, 3, push) == HL_OK;
    }
    /* the replica has it before a failover */
    if (ok) {
        const char *wait[3] = { "WAIT", "1", "2000" };
        ok = ht_redis_int(db, &n, 3, wait) == HL_OK && n == 1;
    }
    if (db != NULL)
        redisFree(db);
    return ok;
}

static void check_stats(struct ht_sentinel *f) {
    char url[sizeof(f->url) + 32], err[HL_ERR_LEN];
    int dead_port = 0;

    HT_CHECK_BEGIN("stats --json through the sentinels reads the "
                   "primary's backlog and dead letters, also with a dead "
                   "first sentinel in the URL");
    if (!HT_ASSERT_TRUE(seed(f)))
        goto done;
    stats_say(f->url, DEAD);
    if (!HT_ASSERT_EQ_INT(ht_free_port(&dead_port, err), HL_OK))
        goto done;
    snprintf(url, sizeof(url), "redis-sentinel://127.0.0.1:%d,%s/%s",
             dead_port, f->seeds, HT_SENTINEL_MASTER);
    stats_say(url, DEAD);
done:
    HT_CHECK_END();
}

static void check_unknown_master(struct ht_sentinel *f) {
    const char *args[] = { "stats", NULL };
    char url[sizeof(f->url) + 32];
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("a master name no sentinel knows: exit 1, and the "
                   "message says so");
    snprintf(url, sizeof(url), "redis-sentinel://%s/nosuchmaster",
             f->seeds);
    if (ctl(url, args, &r)) {
        HT_ASSERT_EQ_INT(r.code, 1);
        HT_ASSERT_CONTAINS(r.out, "named a primary for master "
                           "nosuchmaster");
        HT_ASSERT_CONTAINS(r.out, "does not know master nosuchmaster");
        ht_ctlrun_cleanup(&r);
    }
    HT_CHECK_END();
}

static void check_doctor(struct ht_sentinel *f) {
    const char *args[] = { "doctor", NULL };
    char want[sizeof(f->seeds) + 128];
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("doctor: the redis line passes and names the master "
                   "and the sentinels");
    snprintf(want, sizeof(want), "✓ redis: Redis at " HT_SENTINEL_MASTER
             " via sentinels %s answers PING", f->seeds);
    if (ctl(f->url, args, &r)) {
        HT_ASSERT_CONTAINS(r.out, want);
        if (ht_check_failed())
            ht_note("doctor said:\n%s", r.out);
        ht_ctlrun_cleanup(&r);
    }
    HT_CHECK_END();
}

static void check_failover(struct ht_sentinel *f) {
    const char *purge[] = { "--json", "dlq", "purge", "--yes", NULL };
    char err[HL_ERR_LEN], dlq[HL_KEY_MAX];
    redisContext *db = NULL;
    struct ht_ctlrun r;
    int port = 0;

    HT_CHECK_BEGIN("after a failover a new run finds the promoted "
                   "primary: same figures, and purge (a write) works");
    if (!HT_ASSERT_EQ_INT(ht_sentinel_kill_primary(f), HL_OK))
        goto done;
    if (!HT_ASSERT_EQ_INT(ht_sentinel_wait_failover(f, FAILOVER_MS, &port,
                                                    err), HL_OK)) {
        ht_note("%s", err);
        goto done;
    }
    stats_say(f->url, DEAD);
    if (ctl(f->url, purge, &r)) {
        const char *doc = strpbrk(r.out, "{");
        json_object *o = doc != NULL ? json_tokener_parse(doc) : NULL;
        HT_ASSERT_EQ_INT(r.code, 0);
        HT_ASSERT_EQ_INT(ht_json_int(o, "removed"), DEAD);
        json_object_put(o);
        ht_ctlrun_cleanup(&r);
    }
    db = ht_redis_connect(&f->data[f->primary], TIMEOUT_MS);
    hl_keys_dlq(PREFIX, dlq);
    HT_ASSERT_EQ_INT(ht_redis_llen(db, dlq), 0);
    HT_ASSERT_EQ_INT(f->data[f->primary].port, port);
done:
    if (db != NULL)
        redisFree(db);
    HT_CHECK_END();
}

static void check_sentinel_auth(struct ht_sentinel *f) {
    static const char pw[] = "hcs-sentinel-pass-8d2a";
    const char *args[] = { "stats", NULL };
    char url[128];
    struct ht_ctlrun r;
    int set = 0;

    HT_CHECK_BEGIN("a sentinel with a password: stats works with "
                   "HOOKLINE_SENTINEL_PASSWORD; without it or with a wrong "
                   "one exit 1 saying why, never showing the password");
    if (!HT_ASSERT_EQ_INT(ht_sentinel_password(f, 0, NULL, pw), HL_OK))
        goto done;
    set = 1;
    snprintf(url, sizeof(url), "redis-sentinel://127.0.0.1:%d/%s",
             f->sent[0].port, HT_SENTINEL_MASTER);
    stats_say_env(url, "HOOKLINE_SENTINEL_PASSWORD=hcs-sentinel-pass-8d2a",
                  DEAD);
    if (ctl(url, args, &r)) {
        HT_ASSERT_EQ_INT(r.code, 1);
        HT_ASSERT_CONTAINS(r.out, "NOAUTH");
        ht_ctlrun_cleanup(&r);
    }
    if (ctl_env(url, "HOOKLINE_SENTINEL_PASSWORD=not-it", args, &r)) {
        HT_ASSERT_EQ_INT(r.code, 1);
        HT_ASSERT_CONTAINS(r.out, "AUTH: WRONGPASS");
        HT_ASSERT_NOT_CONTAINS(r.out, "not-it");
        ht_ctlrun_cleanup(&r);
    }
done:
    if (set)
        HT_ASSERT_EQ_INT(ht_sentinel_password(f, 0, pw, NULL), HL_OK);
    HT_CHECK_END();
}

int main(void) {
    struct ht_sentinel f;
    char err[HL_ERR_LEN];
    int rc;

    ht_init();
    memset(&f, 0, sizeof(f));
    HT_CHECK_BEGIN("a primary, its replica and 3 sentinels that agree");
    rc = ht_sentinel_start(&f, err);
    if (!HT_ASSERT_EQ_INT(rc, HL_OK))
        ht_note("%s", err);
    HT_CHECK_END();
    if (rc == HL_OK) {
        check_stats(&f);
        check_unknown_master(&f);
        check_doctor(&f);
        check_sentinel_auth(&f);
        check_failover(&f);
    }
    ht_sentinel_cleanup(&f);
    return ht_summary();
}
