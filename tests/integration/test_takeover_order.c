/* test_takeover_order.c - G4 across a SIGKILL takeover, the disorder the
 * chaos run found (make chaos, seed 12: "conversation 97 sent #16 after
 * #17").
 *
 * A conversation's newer event arrives first and its older one within the
 * reorder window after it (Messenger delivers out of order like that). The
 * worker that popped the newer one dies before popping the older one, so
 * the newer one waits in the dead worker's in-flight list and the older
 * one in the queue. The next owner recovered the in-flight envelope and
 * started it at once (its window long past), then popped the older one:
 * the replies went out newer first, though both reached ingest within the
 * window of each other. Now recovered envelopes wait until the partition's
 * queue has been popped once, so the older one joins the lane first.
 *
 * Worker A (reorder window 800 ms, lease 1500 ms) holds every partition;
 * five conversations each get their newer event ("two"); once all five
 * sit in A's in-flight lists A is SIGKILLed and the older events ("one")
 * are POSTed, well inside the window; worker B takes over. Every
 * conversation must be answered "one" before "two". Fails without the
 * fix (all five came out "two" first). Every wait is N x M ms. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "hl.h"
#include "../lib/hl_test.h"
#include "../lib/httpc.h"
#include "../lib/proc.h"
#include "../lib/redis_fixture.h"
#include "../lib/stack.h"

#define PREFIX "hlto"
#define PARTS 16
#define SECRET "hlto-app-secret-6a1c93e7b2"
#define VERIFY "hlto-verify-d40e"
#define TOKEN "hlto-page-token-2f8b07c5a9"
#define PAGE "100000000000911"
#define WEBHOOK "/webhook"
#define USERS 5
#define REORDER_MS 800                /* the window both events are in */
#define INFLIGHT_MS 3000              /* A pops the newer events */
#define ANSWER_MS 20000               /* B answers everything */

struct ctx {
    struct ht_stack st;
    struct ht_proc a, b;
    long req_ms;
};

static redisContext *db(struct ctx *c) {
    return ht_stack_db(&c->st);
}

static int start_worker(struct ctx *c, struct ht_proc *w) {
    char err[HL_ERR_LEN];
    const char *extra[] = {
        "HOOKLINE_PREFIX=" PREFIX, "MESSENGER_PAGE_ACCESS_TOKEN=" TOKEN,
        "HOOKLINE_REORDER_MS=800", NULL
    };

    if (ht_stack_start_worker(&c->st, w, SECRET, extra, err) != HL_OK)
        return HT_FAIL("worker: %s", err);
    return 1;
}

/* Every partition's lease is set (one worker runs: it holds them all). */
static int wait_all_leased(struct ctx *c) {
    long tries = ht_budget_ms(10000) / 100, t;
    char key[64];
    long p, held = 0;

    for (t = 0; t < tries; t++) {
        held = 0;
        for (p = 0; p < PARTS; p++) {
            long long n = -1;
            snprintf(key, sizeof(key), PREFIX ":{%ld}:lease", p);
            ht_redis_int2(db(c), &n, "EXISTS", key);
            held += n == 1;
        }
        if (held == PARTS)
            return 1;
        ht_sleep_ms(100);
    }
    return HT_ASSERT_EQ_INT(held, PARTS);
}

static void user_id(int i, char *out, size_t sz) {
    snprintf(out, sz, "u-takeover-%d", i);
}

/* One POST with one event per user: text `text`, timestamp ts + i. */
static int post_events(struct ctx *c, const char *text, long long ts,
                       const char *tag) {
    struct ht_text t = { 0 };
    struct ht_http_resp r;
    char u[32];
    int i, ok;

    ht_text_add(&t, "{\"object\":\"page\",\"entry\":[{\"id\":\"" PAGE "\","
                "\"time\":%lld,\"messaging\":[", ts);
    for (i = 0; i < USERS; i++) {
        user_id(i, u, sizeof(u));
        ht_text_add(&t, "%s{\"sender\":{\"id\":\"%s\"},\"recipient\":{\"id\":"
                    "\"" PAGE "\"},\"timestamp\":%lld,\"message\":{\"mid\":"
                    "\"mid.to.%s.%d\",\"text\":\"%s\"}}", i ? "," : "", u,
                    ts, tag, i, text);
    }
    ht_text_add(&t, "]}]}");
    if (t.failed) {
        free(t.p);
        return HT_FAIL("out of memory");
    }
    ht_http_post_signed(c->st.ingest.port, WEBHOOK, SECRET, t.p, t.len,
                        c->req_ms, &r);
    ok = HT_ASSERT_EQ_INT(r.status, 200);
    ht_http_resp_cleanup(&r);
    free(t.p);
    return ok;
}

/* Sum of LLEN over every partition's in-flight list (or queue). */
static long long total(struct ctx *c, const char *which) {
    char key[64];
    long long sum = 0, n;
    long p;

    for (p = 0; p < PARTS; p++) {
        snprintf(key, sizeof(key), PREFIX ":{%ld}:%s", p, which);
        n = ht_redis_llen(db(c), key);
        sum += n < 0 ? 1000 : n;
    }
    return sum;
}

static json_object *fake_log(struct ctx *c) {
    struct ht_http_resp r;
    json_object *o = NULL;

    ht_http_get(c->st.fg.port, "/_fake/requests", c->req_ms, &r);
    if (r.status == 200 && r.body != NULL)
        o = json_tokener_parse(r.body);
    ht_http_resp_cleanup(&r);
    return o;
}

/* The reply texts sent to `user`, in the fake Graph's order, joined. */
static void replies_to(json_object *log, const char *user, char *out,
                       size_t sz) {
    size_t i, used = 0;

    out[0] = '\0';
    for (i = 0; log != NULL && i < json_object_array_length(log); i++) {
        json_object *e = json_object_array_get_idx(log, i), *b, *m;
        const char *r = ht_json_str(e, "recipient"), *text;
        int n;
        if (r == NULL || strcmp(r, user) != 0 ||
            ht_json_int(e, "answered") != 200 ||
            !json_object_object_get_ex(e, "body", &b) ||
            !json_object_object_get_ex(b, "message", &m))
            continue;
        text = ht_json_str(m, "text");
        n = snprintf(out + used, sz - used, "%s%s", used ? "," : "",
                     text ? text : "?");
        if (n < 0 || (size_t)n >= sz - used)
            return;
        used += (size_t)n;
    }
}

static int check_setup(struct ctx *c) {
    char err[HL_ERR_LEN];
    int ok = 0;

    HT_CHECK_BEGIN("redis-server, fake Graph, ingest and worker A start; "
                   "A holds every partition");
    if (ht_redis_start(&c->st.redis, err) != HL_OK) {
        HT_FAIL("redis-server: %s", err);
        goto done;
    }
    if (ht_stack_start_fakegraph(&c->st, TOKEN, err) != HL_OK ||
        ht_stack_start_ingest(&c->st, &c->st.ingest, PREFIX, VERIFY, SECRET,
                              NULL, err) != HL_OK) {
        HT_FAIL("%s", err);
        goto done;
    }
    if (!start_worker(c, &c->a) || !wait_all_leased(c))
        goto done;
    ok = !ht_check_failed();
done:
    HT_CHECK_END();
    return ok;
}

static int check_kill_between(struct ctx *c, long long ts) {
    long tries = ht_budget_ms(INFLIGHT_MS) / 5, t;
    long long posted, gap;
    int code = -1, ok = 0;

    HT_CHECK_BEGIN("the newer event of 5 conversations is popped by A, A "
                   "is SIGKILLed, then the older ones reach ingest inside "
                   "the window (800 ms)");
    posted = ht_mono_ms();
    if (!post_events(c, "two", ts + 1, "two"))
        goto done;
    for (t = 0; t < tries && total(c, "inflight") < USERS; t++)
        ht_sleep_ms(5);
    if (!HT_ASSERT_EQ_INT(total(c, "inflight"), USERS) ||
        !HT_ASSERT_EQ_INT(ht_proc_signal(&c->a, SIGKILL), HL_OK))
        goto done;
    ht_proc_wait_exit(&c->a, 2000, &code);
    if (!post_events(c, "one", ts, "one"))
        goto done;
    gap = ht_mono_ms() - posted;
    ht_note("older events POSTed %lld ms after the newer ones", gap);
    if (!ht_valgrind())
        HT_ASSERT_LT_INT(gap, REORDER_MS);
    HT_ASSERT_EQ_INT(total(c, "q"), USERS);
    ok = !ht_check_failed();
done:
    HT_CHECK_END();
    return ok;
}

static void check_order_after_takeover(struct ctx *c) {
    long tries = ht_budget_ms(ANSWER_MS) / 200, t;
    json_object *log = NULL;
    char u[32], seen[256];
    int i;

    HT_CHECK_BEGIN("worker B takes the partitions over and answers every "
                   "conversation \"one\" before \"two\" (G4)");
    if (!start_worker(c, &c->b))
        goto done;
    for (t = 0; t < tries; t++) {
        if (total(c, "q") == 0 && total(c, "inflight") == 0)
            break;
        ht_sleep_ms(200);
    }
    HT_ASSERT_EQ_INT(total(c, "inflight"), 0);
    log = fake_log(c);
    if (!HT_ASSERT_TRUE(log != NULL))
        goto done;
    for (i = 0; i < USERS; i++) {
        user_id(i, u, sizeof(u));
        replies_to(log, u, seen, sizeof(seen));
        if (!HT_ASSERT_EQ_STR(seen, "You said: one,You said: two"))
            ht_note("%s got: %s", u, seen);
    }
done:
    json_object_put(log);
    HT_CHECK_END();
}

int main(void) {
    struct ctx c;
    int rc;

    ht_init();
    memset(&c, 0, sizeof(c));
    ht_stack_init(&c.st);
    c.a.pid = -1;
    c.b.pid = -1;
    c.req_ms = ht_budget_ms(5000);
    if (check_setup(&c) && check_kill_between(&c, ht_wall_ms()))
        check_order_after_takeover(&c);
    rc = ht_summary();
    ht_proc_cleanup(&c.a);
    ht_proc_cleanup(&c.b);
    ht_stack_cleanup(&c.st);
    return rc;
}
