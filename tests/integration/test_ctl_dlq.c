/* test_ctl_dlq.c - bin/hookctl stats and the dead-letter workflow against
 * a real stack: a redis-server of our own, the fake Graph API, ingest and
 * one worker.
 *
 * Dead letters are made the real way: the fake Graph answers a permanent
 * error (code 100) once for three users, so the worker dead-letters their
 * messages, and a signed body that is not JSON becomes an ingest-stage
 * entry. Then: stats counts them by reason and shows depth, in-flight,
 * oldest age and owners (a second prefix with a hand-made backlog and no
 * worker); list/show/filters; requeue of an ingest-stage entry is refused
 * (exit 1, entry kept); requeue by id and --all --reason lead to exactly
 * one reply each and remove the entries; purge without --yes changes
 * nothing and exits 2; usage errors exit 2; no secret is ever printed. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "hl.h"
#include "../lib/hl_test.h"
#include "../lib/ctlrun.h"
#include "../lib/httpc.h"
#include "../lib/proc.h"
#include "../lib/redis_fixture.h"
#include "../lib/stack.h"

#define PREFIX "hlc"
#define PREFIX_IDLE "hlcidle"          /* a backlog no worker consumes */
#define PARTS 16
#define SECRET "5f3c1b0a9e8d7c6b5a4f3e2d1c0b9a88"
#define VERIFY "hlc-verify-7e21"
#define TOKEN "EAAhlcPageTokenForTheCtlDlqTest000000000001"
#define PAGE "100000000000777"
#define WEBHOOK "/webhook"
#define OUT_MAX (1 << 20)

struct ctx {
    struct ht_stack st;
    struct ht_proc w;
    long req_ms;
    int mid;
    struct ht_text outputs;            /* every hookctl output, for the
                                        * no-secret check */
    char ingest_id[64];                /* the ingest-stage dead letter */
};

/* Runs bin/hookctl with `args` (NULL-terminated) and the stack's
 * environment for `prefix`, plus `extra` env (may be NULL). 1 when it ran
 * to completion (any exit code). */
static int ctl(struct ctx *c, const char *prefix, const char *const *extra,
               const char *const *args, struct ht_ctlrun *r) {
    char redis[96], pre[64], ingest[96];
    const char *base[] = {
        redis, pre, ingest,
        "HOOKLINE_PARTITIONS=16", "HOOKLINE_LEASE_MS=1500",
        "MESSENGER_APP_SECRET=" SECRET, "MESSENGER_VERIFY_TOKEN=" VERIFY,
        "MESSENGER_PAGE_ID=" PAGE, "MESSENGER_PAGE_ACCESS_TOKEN=" TOKEN,
    };
    const char *env[16];
    size_t n = 0, i;

    snprintf(redis, sizeof(redis), "REDIS_URL=%s", c->st.redis.url);
    snprintf(pre, sizeof(pre), "HOOKLINE_PREFIX=%s", prefix);
    snprintf(ingest, sizeof(ingest), "HOOKLINE_INGEST_URL=http://127.0.0.1:%d",
             c->st.ingest.port);
    /* the first of two same-named entries wins: `extra` goes first */
    for (i = 0; extra != NULL && extra[i] != NULL && n < 6; i++)
        env[n++] = extra[i];
    for (i = 0; i < HL_ARRAY_LEN(base); i++)
        env[n++] = base[i];
    env[n] = NULL;
    if (!ht_ctlrun(args, env, 15000, r))
        return 0;
    ht_text_add(&c->outputs, "%s\n", r->out);
    return 1;
}

/* hookctl --json ... parsed; NULL (check failed) when it is not JSON. */
static json_object *ctl_json(struct ctx *c, const char *const *args,
                             int want_code) {
    struct ht_ctlrun r;
    json_object *o;

    if (!ctl(c, PREFIX, NULL, args, &r))
        return NULL;
    o = ht_ctlrun_json(&r, want_code);
    ht_ctlrun_cleanup(&r);
    return o;
}

/* ---- the stack ------------------------------------------------------- */

static redisContext *db(struct ctx *c) {
    return ht_stack_db(&c->st);
}

static long long dlq_len(struct ctx *c) {
    return ht_redis_dlq_len(db(c), PREFIX);
}

static int fake(struct ctx *c, const char *method, const char *path,
                const char *body) {
    struct ht_http_resp r;
    int ok;

    ht_http_json(c->st.fg.port, method, path, body, c->req_ms, &r);
    ok = HT_ASSERT_EQ_INT(r.status, 200);
    ht_http_resp_cleanup(&r);
    return ok;
}

/* Replies the fake Graph accepted (200) for `user`. -1 on error. */
static int replies_to(struct ctx *c, const char *user) {
    struct ht_http_resp r;
    json_object *log;
    size_t i, n;
    int count = 0;

    ht_http_json(c->st.fg.port, "GET", "/_fake/requests", NULL, c->req_ms,
                 &r);
    log = r.status == 200 && r.body ? json_tokener_parse(r.body) : NULL;
    ht_http_resp_cleanup(&r);
    if (log == NULL)
        return -1;
    n = json_object_array_length(log);
    for (i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(log, i);
        const char *to = ht_json_str(e, "recipient");
        if (to != NULL && strcmp(to, user) == 0 &&
            ht_json_int(e, "answered") == 200)
            count++;
    }
    json_object_put(log);
    return count;
}

/* Waits (100 x 100 ms) for exactly `want` accepted replies to `user`. */
static int wait_replies(struct ctx *c, const char *user, int want) {
    int i, got = -1;

    for (i = 0; i < 100; i++) {
        got = replies_to(c, user);
        if (got >= want)
            break;
        ht_sleep_ms(ht_budget_ms(100) / (ht_valgrind() ? 10 : 1));
    }
    ht_sleep_ms(300);                  /* a duplicate would show by now */
    got = replies_to(c, user);
    if (got != want)
        return HT_FAIL("%d accepted replies to %s, want %d", got, user,
                       want);
    return 1;
}

static int wait_dlq(struct ctx *c, long long want) {
    int i;

    for (i = 0; i < 100; i++) {
        if (dlq_len(c) == want)
            return 1;
        ht_sleep_ms(100);
    }
    return HT_FAIL("dead letters: %lld, want %lld", dlq_len(c), want);
}

/* POSTs one signed text message from `user`; 1 when ingest said 200. */
static int post_message(struct ctx *c, const char *user, const char *text) {
    struct ht_http_resp r;
    char body[1024];
    long long now = ht_wall_ms();
    int ok;

    snprintf(body, sizeof(body),
             "{\"object\":\"page\",\"entry\":[{\"id\":\"" PAGE "\","
             "\"time\":%lld,\"messaging\":[{\"sender\":{\"id\":\"%s\"},"
             "\"recipient\":{\"id\":\"" PAGE "\"},\"timestamp\":%lld,"
             "\"message\":{\"mid\":\"m_hlc_%d\",\"text\":\"%s\"}}]}]}",
             now, user, now, ++c->mid, text);
    ht_http_post_signed(c->st.ingest.port, WEBHOOK, SECRET, body,
                        strlen(body), c->req_ms, &r);
    ok = HT_ASSERT_EQ_INT(r.status, 200);
    ht_http_resp_cleanup(&r);
    return ok;
}

static int check_setup(struct ctx *c) {
    const char *wenv[] = { "HOOKLINE_PREFIX=" PREFIX,
                           "MESSENGER_PAGE_ID=" PAGE,
                           "MESSENGER_PAGE_ACCESS_TOKEN=" TOKEN,
                           "HOOKLINE_REORDER_MS=50", NULL };
    char err[HL_ERR_LEN];
    int ok = 0;

    HT_CHECK_BEGIN("redis-server, fake Graph, ingest and a worker start");
    if (ht_redis_start(&c->st.redis, err) != HL_OK) {
        HT_FAIL("redis-server: %s", err);
        goto done;
    }
    if (ht_stack_start_fakegraph(&c->st, TOKEN, err) != HL_OK ||
        ht_stack_start_ingest(&c->st, &c->st.ingest, PREFIX, VERIFY, SECRET,
                              NULL, err) != HL_OK ||
        ht_stack_start_worker(&c->st, &c->w, SECRET, wenv, err) != HL_OK) {
        HT_FAIL("%s", err);
        goto done;
    }
    ok = HT_ASSERT_EQ_INT(ht_http_wait_status(c->w.port, "/readyz", 200,
                                              100, c->req_ms), 200);
done:
    HT_CHECK_END();
    return ok;
}

/* ---- making dead letters ---------------------------------------------- */

static const char *const users[] = { "u-dl1", "u-dl2", "u-dl3" };

static int check_make_dead_letters(struct ctx *c) {
    const char *notjson = "this is not json";
    struct ht_http_resp r;
    json_object *e;
    char fault[256];
    int i;

    HT_CHECK_BEGIN("three permanent send failures and one malformed body "
                   "become four dead letters");
    for (i = 0; i < 3; i++) {
        snprintf(fault, sizeof(fault), "{\"status\":400,\"error\":{\"code\":"
                 "100,\"message\":\"(#100) No matching user found\"},"
                 "\"count\":1,\"recipient\":\"%s\"}", users[i]);
        fake(c, "POST", "/_fake/faults", fault);
        post_message(c, users[i], "please answer");
    }
    wait_dlq(c, 3);
    ht_http_post_signed(c->st.ingest.port, WEBHOOK, SECRET, notjson,
                        strlen(notjson), c->req_ms, &r);
    HT_ASSERT_EQ_INT(r.status, 400);
    ht_http_resp_cleanup(&r);
    wait_dlq(c, 4);
    e = ht_redis_dlq_entry(db(c), PREFIX, 0);
    HT_ASSERT_EQ_STR(ht_json_str(e, "reason"), "malformed_payload");
    snprintf(c->ingest_id, sizeof(c->ingest_id), "%s",
             ht_json_str(e, "id") ? ht_json_str(e, "id") : "");
    json_object_put(e);
    HT_CHECK_END();
    return !ht_check_failed();
}

/* ---- stats ----------------------------------------------------------- */

static json_object *jpath(json_object *o, const char *a, const char *b) {
    json_object *x = NULL, *y = NULL;

    if (!json_object_object_get_ex(o, a, &x))
        return NULL;
    if (b == NULL)
        return x;
    return json_object_object_get_ex(x, b, &y) ? y : NULL;
}

static void check_stats(struct ctx *c) {
    const char *args[] = { "--json", "stats", NULL };
    const char *human[] = { "stats", NULL };
    json_object *o, *by;
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("stats: dead letters by reason, one live worker owning "
                   "every partition, empty queues");
    o = ctl_json(c, args, 0);
    by = jpath(jpath(o, "dead_letters", NULL), "by_reason", NULL);
    HT_ASSERT_EQ_INT(ht_json_int(jpath(o, "dead_letters", NULL), "total"), 4);
    HT_ASSERT_EQ_INT(ht_json_int(by, "send_permanent"), 3);
    HT_ASSERT_EQ_INT(ht_json_int(by, "malformed_payload"), 1);
    HT_ASSERT_EQ_INT(ht_json_int(o, "live_workers"), 1);
    HT_ASSERT_EQ_INT(ht_json_int(jpath(o, "totals", NULL),
                                 "unowned_partitions"), 0);
    HT_ASSERT_EQ_INT(ht_json_int(jpath(o, "totals", NULL), "queued"), 0);
    HT_ASSERT_EQ_INT(json_object_array_length(jpath(o, "partitions", NULL)),
                     PARTS);
    json_object_put(o);
    if (ctl(c, PREFIX, NULL, human, &r)) {
        HT_ASSERT_EQ_INT(r.code, 0);
        HT_ASSERT_CONTAINS(r.out, "WORKERS: 1 live");
        HT_ASSERT_CONTAINS(r.out, "send_permanent");
        HT_ASSERT_CONTAINS(r.out, "16/16 owned");
        ht_ctlrun_cleanup(&r);
    }
    HT_CHECK_END();
}

/* A backlog under a prefix no worker serves: depth, age, no owner. */
static void check_stats_backlog(struct ctx *c) {
    const char *args[] = { "--json", "stats", NULL };
    char env[512], key[64];
    const char *push[3] = { "LPUSH", key, env };
    long long rx = ht_wall_ms() - 7000, n = 0;
    struct ht_ctlrun r;
    json_object *o = NULL, *p3;

    HT_CHECK_BEGIN("stats: queue depth, oldest age and no owner for a "
                   "backlog nobody consumes");
    snprintf(key, sizeof(key), PREFIX_IDLE ":{3}:q");
    snprintf(env, sizeof(env), "{\"v\":1,\"id\":\"m:old\",\"object\":"
             "\"page\",\"page\":\"" PAGE "\",\"user\":\"u-x\",\"ts\":%lld,"
             "\"rx\":%lld,\"kind\":\"message\",\"standby\":false,"
             "\"event\":{}}", rx, rx);
    ht_redis_int(db(c), &n, 3, push);
    push[2] = "{\"v\":1,\"id\":\"m:new\",\"object\":\"page\",\"page\":"
              "\"1\",\"user\":\"u\",\"ts\":1,\"rx\":9999999999999,"
              "\"kind\":\"message\",\"standby\":false,\"event\":{}}";
    ht_redis_int(db(c), &n, 3, push);
    HT_ASSERT_EQ_INT(n, 2);
    if (ctl(c, PREFIX_IDLE, NULL, args, &r)) {
        HT_ASSERT_EQ_INT(r.code, 0);
        o = json_tokener_parse(r.out);
        ht_ctlrun_cleanup(&r);
    }
    p3 = json_object_array_get_idx(jpath(o, "partitions", NULL), 3);
    HT_ASSERT_EQ_INT(ht_json_int(p3, "queued"), 2);
    /* the oldest is the right end: the first pushed */
    HT_ASSERT_GE_INT(ht_json_int(p3, "oldest_age_ms"), 7000);
    HT_ASSERT_LT_INT(ht_json_int(p3, "oldest_age_ms"), 60000);
    HT_ASSERT_TRUE(json_object_object_get_ex(p3, "owner", NULL));
    HT_ASSERT_EQ_STR(ht_json_str(p3, "owner"), NULL);
    HT_ASSERT_EQ_INT(ht_json_int(jpath(o, "totals", NULL),
                                 "unowned_partitions"), PARTS);
    HT_ASSERT_EQ_INT(ht_json_int(jpath(o, "totals", NULL), "queued"), 2);
    HT_ASSERT_EQ_INT(ht_json_int(o, "live_workers"), 0);
    json_object_put(o);
    HT_CHECK_END();
}

/* ---- list and show ----------------------------------------------------- */

static void check_list(struct ctx *c) {
    const char *all[] = { "dlq", "list", NULL };
    const char *js[] = { "dlq", "list", "--json", NULL };
    const char *reason[] = { "--json", "dlq", "list", "--reason",
                             "send_permanent", NULL };
    const char *one[] = { "--json", "dlq", "list", "--limit", "1", NULL };
    json_object *o;
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("dlq list: newest first, --reason and --limit filter, "
                   "human lines name reason, stage and event");
    if (ctl(c, PREFIX, NULL, all, &r)) {
        HT_ASSERT_EQ_INT(r.code, 0);
        HT_ASSERT_CONTAINS(r.out, c->ingest_id);
        HT_ASSERT_CONTAINS(r.out, "malformed_payload");
        HT_ASSERT_CONTAINS(r.out, "user u-dl2");
        HT_ASSERT_CONTAINS(r.out, "No matching user found");
        ht_ctlrun_cleanup(&r);
    }
    o = ctl_json(c, js, 0);
    HT_ASSERT_EQ_INT(json_object_array_length(o), 4);
    json_object_put(o);
    o = ctl_json(c, reason, 0);
    HT_ASSERT_EQ_INT(json_object_array_length(o), 3);
    HT_ASSERT_EQ_INT(ht_json_count(o, "reason", "send_permanent"), 3);
    json_object_put(o);
    o = ctl_json(c, one, 0);
    HT_ASSERT_EQ_INT(json_object_array_length(o), 1);
    HT_ASSERT_EQ_STR(ht_json_str(json_object_array_get_idx(o, 0), "id"),
                     c->ingest_id);
    json_object_put(o);
    HT_CHECK_END();
}

static void check_show(struct ctx *c) {
    const char *show[] = { "dlq", "show", c->ingest_id, NULL };
    const char *none[] = { "dlq", "show", "0000000000000000", NULL };
    json_object *o;
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("dlq show: the whole entry by id; an unknown id exits 1");
    o = ctl_json(c, show, 0);
    HT_ASSERT_EQ_STR(ht_json_str(o, "id"), c->ingest_id);
    HT_ASSERT_EQ_STR(ht_json_str(o, "raw"), "this is not json");
    json_object_put(o);
    if (ctl(c, PREFIX, NULL, none, &r)) {
        HT_ASSERT_EQ_INT(r.code, 1);
        HT_ASSERT_CONTAINS(r.out, "no dead letter with id 0000000000000000");
        ht_ctlrun_cleanup(&r);
    }
    HT_CHECK_END();
}

/* ---- requeue ------------------------------------------------------------ */

/* The id of the dead letter of `user` (worker stage); "" if none. */
static void id_of(struct ctx *c, const char *user, char *out, size_t sz) {
    long i, n = (long)dlq_len(c);

    out[0] = '\0';
    for (i = 0; i < n; i++) {
        json_object *e = ht_redis_dlq_entry(db(c), PREFIX, i), *env = NULL;
        json_object_object_get_ex(e, "envelope", &env);
        if (ht_json_str(env, "user") != NULL &&
            strcmp(ht_json_str(env, "user"), user) == 0)
            snprintf(out, sz, "%s", ht_json_str(e, "id"));
        json_object_put(e);
    }
}

static void check_requeue_ingest_refused(struct ctx *c) {
    const char *args[] = { "dlq", "requeue", c->ingest_id, NULL };
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("dlq requeue of an ingest-stage entry: refused with the "
                   "reason, exit 1, entry kept");
    if (ctl(c, PREFIX, NULL, args, &r)) {
        HT_ASSERT_EQ_INT(r.code, 1);
        HT_ASSERT_CONTAINS(r.out, "ingest-stage");
        HT_ASSERT_CONTAINS(r.out, "nothing to put back");
        ht_ctlrun_cleanup(&r);
    }
    HT_ASSERT_EQ_INT(dlq_len(c), 4);
    HT_CHECK_END();
}

static void check_requeue_one(struct ctx *c) {
    char id[64];
    const char *args[] = { "dlq", "requeue", id, NULL };
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("dlq requeue ID: the entry leaves the list and the user "
                   "gets exactly one reply");
    id_of(c, "u-dl1", id, sizeof(id));
    HT_ASSERT_NE_STR(id, "");
    HT_ASSERT_EQ_INT(replies_to(c, "u-dl1"), 0);
    if (ctl(c, PREFIX, NULL, args, &r)) {
        HT_ASSERT_EQ_INT(r.code, 0);
        HT_ASSERT_CONTAINS(r.out, "requeued 1");
        ht_ctlrun_cleanup(&r);
    }
    HT_ASSERT_EQ_INT(dlq_len(c), 3);
    wait_replies(c, "u-dl1", 1);
    HT_CHECK_END();
}

static void check_requeue_all(struct ctx *c) {
    const char *args[] = { "--json", "dlq", "requeue", "--all", "--reason",
                           "send_permanent", NULL };
    json_object *o, *arr = NULL;

    HT_CHECK_BEGIN("dlq requeue --all --reason send_permanent: both left "
                   "are answered once; the ingest entry stays");
    o = ctl_json(c, args, 0);
    json_object_object_get_ex(o, "requeued", &arr);
    HT_ASSERT_EQ_INT(arr ? (long)json_object_array_length(arr) : 0, 2);
    HT_ASSERT_EQ_INT(ht_json_bool(o, "ok"), 1);
    json_object_put(o);
    wait_replies(c, "u-dl2", 1);
    wait_replies(c, "u-dl3", 1);
    HT_ASSERT_EQ_INT(dlq_len(c), 1);
    HT_ASSERT_EQ_INT(replies_to(c, "u-dl1"), 1);
    HT_CHECK_END();
}

/* ---- purge -------------------------------------------------------------- */

static void check_purge(struct ctx *c) {
    const char *dry[] = { "dlq", "purge", NULL };
    const char *other[] = { "dlq", "purge", "--reason", "send_permanent",
                            "--yes", NULL };
    const char *yes[] = { "dlq", "purge", "--yes", NULL };
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("dlq purge: without --yes nothing changes (exit 2); "
                   "--reason limits it; --yes empties the list");
    if (ctl(c, PREFIX, NULL, dry, &r)) {
        HT_ASSERT_EQ_INT(r.code, 2);
        HT_ASSERT_CONTAINS(r.out, "would remove 1");
        HT_ASSERT_CONTAINS(r.out, "--yes");
        ht_ctlrun_cleanup(&r);
    }
    HT_ASSERT_EQ_INT(dlq_len(c), 1);
    if (ctl(c, PREFIX, NULL, other, &r)) {
        HT_ASSERT_EQ_INT(r.code, 0);
        HT_ASSERT_CONTAINS(r.out, "removed 0");
        ht_ctlrun_cleanup(&r);
    }
    HT_ASSERT_EQ_INT(dlq_len(c), 1);
    if (ctl(c, PREFIX, NULL, yes, &r)) {
        HT_ASSERT_EQ_INT(r.code, 0);
        HT_ASSERT_CONTAINS(r.out, "removed 1");
        ht_ctlrun_cleanup(&r);
    }
    HT_ASSERT_EQ_INT(dlq_len(c), 0);
    HT_CHECK_END();
}

/* ---- requeue against a failure that repeats ------------------------------ */

/* Accepted or refused: every send the fake Graph logged for `user`. */
static int sends_to(struct ctx *c, const char *user) {
    struct ht_http_resp r;
    json_object *log;
    int n;

    ht_http_json(c->st.fg.port, "GET", "/_fake/requests", NULL, c->req_ms,
                 &r);
    log = r.status == 200 && r.body ? json_tokener_parse(r.body) : NULL;
    ht_http_resp_cleanup(&r);
    n = log != NULL ? ht_json_count(log, "recipient", user) : -1;
    json_object_put(log);
    return n;
}

static void check_requeue_all_once(struct ctx *c) {
    const char *args[] = { "--json", "dlq", "requeue", "--all", NULL };
    const char *purge[] = { "dlq", "purge", "--yes", NULL };
    json_object *o, *arr = NULL;
    struct ht_ctlrun r;
    int i;

    HT_CHECK_BEGIN("dlq requeue --all while every send keeps failing: each "
                   "entry is requeued once, its new dead letter is not");
    fake(c, "POST", "/_fake/faults", "{\"status\":400,\"error\":{\"code\":"
         "100},\"recipient\":\"u-loop\"}");
    for (i = 0; i < 3; i++)
        post_message(c, "u-loop", "fails every time");
    wait_dlq(c, 3);
    HT_ASSERT_EQ_INT(sends_to(c, "u-loop"), 3);
    o = ctl_json(c, args, 0);
    json_object_object_get_ex(o, "requeued", &arr);
    HT_ASSERT_EQ_INT(arr ? (long)json_object_array_length(arr) : 0, 3);
    json_object_put(o);
    wait_dlq(c, 3);
    ht_sleep_ms(500);                 /* more sends would show by now */
    HT_ASSERT_EQ_INT(sends_to(c, "u-loop"), 6);
    HT_ASSERT_EQ_INT(dlq_len(c), 3);
    fake(c, "DELETE", "/_fake/faults", NULL);
    if (ctl(c, PREFIX, NULL, purge, &r)) {
        HT_ASSERT_EQ_INT(r.code, 0);
        HT_ASSERT_CONTAINS(r.out, "removed 3");
        ht_ctlrun_cleanup(&r);
    }
    HT_CHECK_END();
}

/* The same envelope bytes queued twice (a requeue racing the worker's own
 * dead letter of it): both copies leave inflight, one reply is sent. */
static void check_same_envelope_twice(struct ctx *c) {
    char env[768], q[64], inf[64];
    const char *push[4] = { "LPUSH", q, env, env };
    long long now = ht_wall_ms(), n = 0, left = -1;
    long part = ht_redis_partition(PAGE, "u-twice", PARTS);
    int i;

    HT_CHECK_BEGIN("the same envelope queued twice is run twice, answered "
                   "once (done keys) and leaves nothing in flight");
    snprintf(q, sizeof(q), PREFIX ":{%ld}:q", part);
    snprintf(inf, sizeof(inf), PREFIX ":{%ld}:inflight", part);
    snprintf(env, sizeof(env), "{\"v\":1,\"id\":\"m:m_twice\",\"object\":"
             "\"page\",\"page\":\"" PAGE "\",\"user\":\"u-twice\",\"ts\":"
             "%lld,\"rx\":%lld,\"kind\":\"message\",\"standby\":false,"
             "\"event\":{\"sender\":{\"id\":\"u-twice\"},\"recipient\":"
             "{\"id\":\"" PAGE "\"},\"timestamp\":%lld,\"message\":{\"mid\":"
             "\"m_twice\",\"text\":\"twice\"}}}", now, now, now);
    /* one command: both copies wait for the same pop */
    ht_redis_int(db(c), &n, 4, push);
    HT_ASSERT_EQ_INT(n, 2);
    for (i = 0; i < 100; i++) {
        left = ht_redis_llen(db(c), q) + ht_redis_llen(db(c), inf);
        if (left == 0)
            break;
        ht_sleep_ms(100);
    }
    HT_ASSERT_EQ_INT(left, 0);
    wait_replies(c, "u-twice", 1);
    HT_CHECK_END();
}

/* ---- usage and failures ------------------------------------------------- */

static void expect_code(struct ctx *c, const char *const *args, int want,
                        const char *needle) {
    struct ht_ctlrun r;

    if (!ctl(c, PREFIX, NULL, args, &r))
        return;
    if (!HT_ASSERT_EQ_INT(r.code, want))
        ht_note("args %s %s: %s", args[0], args[1] ? args[1] : "", r.out);
    if (needle != NULL)
        HT_ASSERT_CONTAINS(r.out, needle);
    ht_ctlrun_cleanup(&r);
}

static void check_usage(struct ctx *c) {
    const char *a1[] = { "dlq", NULL };
    const char *a2[] = { "dlq", "list", "--limit", "0", NULL };
    const char *a3[] = { "dlq", "requeue", NULL };
    const char *a4[] = { "dlq", "list", "--reason", "nope", NULL };
    const char *a5[] = { "stats", "extra", NULL };
    const char *a6[] = { "frobnicate", NULL };
    const char *a7[] = { "dlq", "requeue", "--reason", "send_permanent",
                         "abc", NULL };
    const char *a8[] = { "dlq", "requeue", "ffffffffffffffff", NULL };
    const char *help[] = { "dlq", "--help", NULL };

    HT_CHECK_BEGIN("usage errors exit 2 with the usage; an unknown id "
                   "exits 1; --help exits 0");
    expect_code(c, a1, 2, "Usage:");
    expect_code(c, a2, 2, "--limit");
    expect_code(c, a3, 2, "requeue takes IDs");
    expect_code(c, a4, 2, "unknown reason nope");
    expect_code(c, a5, 2, "unexpected argument extra");
    expect_code(c, a6, 2, "unknown command frobnicate");
    expect_code(c, a7, 2, NULL);
    expect_code(c, a8, 1, "no dead letter with id ffffffffffffffff");
    expect_code(c, help, 0, "dlq requeue ID");
    HT_CHECK_END();
}

static void check_redis_down(struct ctx *c) {
    const char *env[] = { "REDIS_URL=redis://127.0.0.1:1/0", NULL };
    const char *args[] = { "stats", NULL };
    const char *bad[] = { "REDIS_URL=http://nope", NULL };
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("Redis unreachable: exit 1 saying so; a bad REDIS_URL: "
                   "exit 2 naming it");
    if (ctl(c, PREFIX, env, args, &r)) {
        HT_ASSERT_EQ_INT(r.code, 1);
        HT_ASSERT_CONTAINS(r.out, "cannot reach Redis at 127.0.0.1:1");
        ht_ctlrun_cleanup(&r);
    }
    if (ctl(c, PREFIX, bad, args, &r)) {
        HT_ASSERT_EQ_INT(r.code, 2);
        HT_ASSERT_CONTAINS(r.out, "REDIS_URL");
        ht_ctlrun_cleanup(&r);
    }
    HT_CHECK_END();
}

static void check_no_secrets(struct ctx *c) {
    HT_CHECK_BEGIN("no hookctl output holds the app secret, verify token "
                   "or page token");
    HT_ASSERT_TRUE(!c->outputs.failed && c->outputs.p != NULL);
    if (c->outputs.p != NULL) {
        HT_ASSERT_NOT_CONTAINS(c->outputs.p, SECRET);
        HT_ASSERT_NOT_CONTAINS(c->outputs.p, VERIFY);
        HT_ASSERT_NOT_CONTAINS(c->outputs.p, TOKEN);
    }
    HT_CHECK_END();
}

int main(void) {
    struct ctx c;
    int rc, code;

    ht_init();
    memset(&c, 0, sizeof(c));
    ht_stack_init(&c.st);
    c.w.pid = -1;
    c.req_ms = ht_budget_ms(5000);
    if (check_setup(&c) && check_make_dead_letters(&c)) {
        check_stats(&c);
        check_stats_backlog(&c);
        check_list(&c);
        check_show(&c);
        check_requeue_ingest_refused(&c);
        check_requeue_one(&c);
        check_requeue_all(&c);
        check_purge(&c);
        check_requeue_all_once(&c);
        check_same_envelope_twice(&c);
        check_usage(&c);
        check_redis_down(&c);
        check_no_secrets(&c);
    }
    rc = ht_summary();
    if (c.w.pid > 0 && ht_proc_signal(&c.w, SIGTERM) == HL_OK)
        (void)ht_proc_wait_exit(&c.w, ht_budget_ms(10000), &code);
    ht_proc_cleanup(&c.w);
    ht_stack_cleanup(&c.st);
    free(c.outputs.p);
    return rc;
}
