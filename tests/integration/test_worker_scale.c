/* test_worker_scale.c - several bin/hookline-worker processes sharing the
 * partitions of one Redis (G3b balance), a SIGTERM'd one handing its
 * partitions over, and a SIGKILL'd one with ~50 Send API calls in flight
 * (G3 nothing lost, G4 order kept across the takeover, G5: repeated sends
 * only inside the admitted window, i.e. at most the sends that were in
 * flight at the kill).
 *
 * The stack: our own redis-server, bin/hookline-fakegraph (bearer token
 * checked; a delay rule makes it slow when sends must be in flight),
 * bin/hookline-ingest, and three workers with a token but no page id (the
 * token applies to every page), HOOKLINE_LEASE_MS=1500 so takeovers are
 * quick. Lease values and the live-worker zset are read straight from
 * Redis under DESIGN.md's key names. Every wait is N x M ms. Behaviour of
 * one worker (rules, error classes, drain) is in test_worker.c. */
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

#define PREFIX "hls"
#define PARTS 16
#define NWORKERS 3
#define SECRET "hls-app-secret-6d02b9e4a1"
#define VERIFY "hls-verify-8e1c"
#define TOKEN "hls-page-token-3f7a0c92d5"
#define PAGE "100000000000707"
#define WEBHOOK "/webhook"
#define KILL_USERS 50                 /* conversations on the victim */
#define SLOW_MS 2000                  /* fake Graph answer delay */
#define SLOW_VALGRIND_MS 6000         /* under valgrind; stays below the
                                       * worker's 10 s send timeout */
#define BALANCE_MS 10000              /* G3b */

struct ctx {
    struct ht_stack st;               /* redis, fake Graph, ingest */
    struct ht_proc w[NWORKERS];
    char id[NWORKERS][128];
    int gone[NWORKERS];               /* stopped or killed */
    long req_ms;
};

/* ---- helpers ------------------------------------------------------------- */

static redisContext *db(struct ctx *c) {
    return ht_stack_db(&c->st);
}

/* GET of `key`, copied (caller frees); NULL for nil or an error. */
static char *redis_get(struct ctx *c, const char *key) {
    char *s = NULL;
    size_t len = 0;

    if (db(c) == NULL || ht_redis_str2(db(c), &s, &len, "GET", key) != HL_OK)
        return NULL;
    return s;
}

static void lease_key(char *out, size_t sz, long p) {
    snprintf(out, sz, PREFIX ":{%ld}:lease", p);
}

/* Reads every partition's lease owner into owner[p] (caller frees each). */
static void read_leases(struct ctx *c, char *owner[PARTS]) {
    char key[64];
    long p;

    for (p = 0; p < PARTS; p++) {
        lease_key(key, sizeof(key), p);
        owner[p] = redis_get(c, key);
    }
}

static void free_leases(char *owner[PARTS]) {
    long p;

    for (p = 0; p < PARTS; p++)
        HL_FREE(owner[p]);
}

/* Index of worker id `s` among ours, or -1. */
static int worker_index(struct ctx *c, const char *s) {
    int i;

    for (i = 0; s != NULL && i < NWORKERS; i++) {
        if (strcmp(c->id[i], s) == 0)
            return i;
    }
    return -1;
}

/* 1 when every partition has a lease held by a live worker of ours, each
 * live worker holds at least one and at most `max`, and no gone worker
 * holds any. Fills held[] and the number of unowned/foreign leases. */
static int balanced(struct ctx *c, long max, long held[NWORKERS],
                    long *stray) {
    char *owner[PARTS];
    long p;
    int i, ok = 1;

    memset(held, 0, sizeof(long) * NWORKERS);
    *stray = 0;
    read_leases(c, owner);
    for (p = 0; p < PARTS; p++) {
        i = worker_index(c, owner[p]);
        if (i < 0 || c->gone[i])
            (*stray)++;
        else
            held[i]++;
    }
    free_leases(owner);
    ok = *stray == 0;
    for (i = 0; i < NWORKERS; i++) {
        if (!c->gone[i] && (held[i] < 1 || held[i] > max))
            ok = 0;
    }
    return ok;
}

/* Polls balanced() for at most `ms`; returns the elapsed ms, or -1. */
static long long wait_balanced(struct ctx *c, long max, long ms,
                               long long t0) {
    long held[NWORKERS], stray = 0;
    long tries = ht_budget_ms(ms) / 100, i;
    int k;

    for (i = 0; i < tries; i++) {
        if (balanced(c, max, held, &stray)) {
            for (k = 0; k < NWORKERS; k++) {
                if (!c->gone[k])
                    ht_note("worker %d (%s) holds %ld", k, c->id[k],
                            held[k]);
            }
            return ht_mono_ms() - t0;
        }
        ht_sleep_ms(100);
    }
    for (k = 0; k < NWORKERS; k++)
        ht_note("worker %d (%s)%s holds %ld", k, c->id[k],
                c->gone[k] ? " [gone]" : "", held[k]);
    ht_note("%ld partitions without a live owner", stray);
    return -1;
}

static long long zcard(struct ctx *c) {
    long long n = -1;

    ht_redis_int2(db(c), &n, "ZCARD", PREFIX ":workers");
    return n;
}

static int in_zset(struct ctx *c, const char *id) {
    const char *argv[3] = { "ZSCORE", PREFIX ":workers", id };
    redisReply *r = db(c) ? redisCommandArgv(db(c), 3, argv, NULL) : NULL;
    int yes = r != NULL && r->type == REDIS_REPLY_STRING;

    if (r != NULL)
        freeReplyObject(r);
    return yes;
}

/* Sum of LLEN of every partition's queue and in-flight list. */
static long long backlog(struct ctx *c) {
    char key[64];
    long long sum = 0, n;
    long p;

    for (p = 0; p < PARTS; p++) {
        snprintf(key, sizeof(key), PREFIX ":{%ld}:q", p);
        n = ht_redis_llen(db(c), key);
        sum += n < 0 ? 1000000 : n;
        snprintf(key, sizeof(key), PREFIX ":{%ld}:inflight", p);
        n = ht_redis_llen(db(c), key);
        sum += n < 0 ? 1000000 : n;
    }
    return sum;
}

static int http(struct ctx *c, int port, const char *method,
                const char *path, const char *body,
                struct ht_http_resp *r) {
    return ht_http_json(port, method, path, body, c->req_ms, r);
}

static long get_status(struct ctx *c, int port, const char *path) {
    return ht_http_status(port, path, c->req_ms);
}

static int fake(struct ctx *c, const char *method, const char *path,
                const char *body) {
    struct ht_http_resp r;
    int ok;

    http(c, c->st.fg.port, method, path, body, &r);
    ok = HT_ASSERT_EQ_INT(r.status, 200);
    if (!ok)
        ht_note("%s %s -> %s %s", method, path, r.body ? r.body : "",
                r.err);
    ht_http_resp_cleanup(&r);
    return ok;
}

static json_object *fake_get(struct ctx *c, const char *path) {
    struct ht_http_resp r;
    json_object *o = NULL;

    http(c, c->st.fg.port, "GET", path, NULL, &r);
    if (r.status == 200 && r.body != NULL)
        o = json_tokener_parse(r.body);
    ht_http_resp_cleanup(&r);
    if (o == NULL)
        HT_FAIL("GET %s on the fake Graph failed", path);
    return o;
}

static long long fake_pending(struct ctx *c) {
    json_object *s = fake_get(c, "/_fake/stats");
    long long n = ht_json_int(s, "pending");

    json_object_put(s);
    return n;
}

/* ---- starting ------------------------------------------------------------ */

static int start_worker(struct ctx *c, int i) {
    char err[HL_ERR_LEN];
    const char *extra[] = {
        "HOOKLINE_PREFIX=" PREFIX, "MESSENGER_PAGE_ACCESS_TOKEN=" TOKEN,
        "HOOKLINE_REORDER_MS=100", NULL
    };

    if (ht_stack_start_worker(&c->st, &c->w[i], SECRET, extra, err)
        != HL_OK)
        return HT_FAIL("worker %d: %s", i, err);
    if (ht_stack_worker_id(&c->w[i], 2000, c->id[i], sizeof(c->id[i]),
                           err) != HL_OK)
        return HT_FAIL("%s", err);
    ht_note("worker %d: %s, metrics on port %d", i, c->id[i],
            c->w[i].port);
    return 1;
}

static int check_setup(struct ctx *c) {
    char err[HL_ERR_LEN];
    int ok = 0;

    HT_CHECK_BEGIN("redis-server, fake Graph and ingest start");
    if (ht_redis_start(&c->st.redis, err) != HL_OK) {
        HT_FAIL("redis-server: %s", err);
        goto done;
    }
    if (!HT_ASSERT_TRUE(db(c) != NULL))
        goto done;
    if (ht_stack_start_fakegraph(&c->st, TOKEN, err) != HL_OK) {
        HT_FAIL("fakegraph: %s", err);
        goto done;
    }
    if (ht_stack_start_ingest(&c->st, &c->st.ingest, PREFIX, VERIFY, SECRET,
                              NULL, err) != HL_OK) {
        HT_FAIL("ingest: %s", err);
        goto done;
    }
    ok = !ht_check_failed();
done:
    HT_CHECK_END();
    return ok;
}

/* ---- G3b ----------------------------------------------------------------- */

static int check_three_balance(struct ctx *c) {
    long long t0 = ht_mono_ms(), took;
    int i, ok = 0;

    HT_CHECK_BEGIN("G3b: 3 workers -> within 10 s every partition has one "
                   "lease, held by our 3 ids, none over ceil(16/3) = 6");
    for (i = 0; i < NWORKERS; i++) {
        if (!start_worker(c, i))
            goto done;
    }
    took = wait_balanced(c, (PARTS + NWORKERS - 1) / NWORKERS, BALANCE_MS,
                         t0);
    if (!HT_ASSERT_GE_INT(took, 0))
        goto done;
    ht_note("balanced %lld ms after the first start", took);
    HT_ASSERT_EQ_INT(zcard(c), NWORKERS);
    ok = !ht_check_failed();
done:
    HT_CHECK_END();
    return ok;
}

static void check_all_ready(struct ctx *c) {
    long tries = ht_budget_ms(BALANCE_MS) / 100, t;
    long status[NWORKERS];
    int i, ready = 0;

    HT_CHECK_BEGIN("every one of the 3 balanced workers answers /readyz "
                   "200 within 10 s (each holds its share)");
    for (t = 0; t < tries && ready < NWORKERS; t++) {
        ready = 0;
        for (i = 0; i < NWORKERS; i++) {
            status[i] = get_status(c, c->w[i].port, "/readyz");
            ready += status[i] == 200;
        }
        if (ready < NWORKERS)
            ht_sleep_ms(100);
    }
    for (i = 0; i < NWORKERS; i++) {
        if (!HT_ASSERT_EQ_INT(status[i], 200))
            ht_note("worker %d (%s) /readyz %ld", i, c->id[i], status[i]);
    }
    HT_CHECK_END();
}

static void check_sigterm_rebalance(struct ctx *c) {
    const int v = 1;
    long long t0;
    int code = -1;
    long long took;

    HT_CHECK_BEGIN("SIGTERM one of 3: it exits 0 within 10 s; within 10 s "
                   "the other 2 hold all 16, at most 8 each");
    t0 = ht_mono_ms();
    HT_ASSERT_EQ_INT(ht_proc_signal(&c->w[v], SIGTERM), HL_OK);
    if (!HT_ASSERT_EQ_INT(ht_proc_wait_exit(&c->w[v], ht_budget_ms(10000),
                                            &code), HL_OK) ||
        !HT_ASSERT_EQ_INT(code, 0))
        ht_proc_dump_log(&c->w[v], 4000);
    c->gone[v] = 1;
    ht_note("exited %d after %lld ms", code, ht_mono_ms() - t0);
    took = wait_balanced(c, PARTS / 2, BALANCE_MS, t0);
    if (HT_ASSERT_GE_INT(took, 0))
        ht_note("rebalanced %lld ms after the SIGTERM", took);
    HT_ASSERT_EQ_INT(in_zset(c, c->id[v]), 0);
    HT_ASSERT_EQ_INT(zcard(c), NWORKERS - 1);
    HT_CHECK_END();
}

/* ---- SIGKILL with sends in flight ---------------------------------------- */

struct kill_run {
    int victim, survivor;
    char users[KILL_USERS][32];
    long long in_flight;              /* fake Graph answers pending */
    long long kill_ms;                /* monotonic time of the SIGKILL */
};

/* Picks KILL_USERS users whose conversations live on partitions the
 * victim holds. */
static int pick_users(struct ctx *c, struct kill_run *k) {
    char *owner[PARTS];
    int n = 0, i;

    read_leases(c, owner);
    for (i = 0; i < 100000 && n < KILL_USERS; i++) {
        char u[32];
        long p;
        snprintf(u, sizeof(u), "sk-%d", i);
        p = ht_redis_partition(PAGE, u, PARTS);
        if (owner[p] != NULL && strcmp(owner[p], c->id[k->victim]) == 0) {
            memcpy(k->users[n], u, sizeof(u));
            n++;
        }
    }
    free_leases(owner);
    return HT_ASSERT_EQ_INT(n, KILL_USERS);
}

/* One POST: two text events per user ("one", then "two"). */
static int post_pairs(struct ctx *c, struct kill_run *k) {
    struct ht_text t = { 0 };
    struct ht_http_resp r;
    long long ts = ht_wall_ms();
    int i, ok;

    ht_text_add(&t, "{\"object\":\"page\",\"entry\":[{\"id\":\"" PAGE "\","
                "\"time\":%lld,\"messaging\":[", ts);
    for (i = 0; i < KILL_USERS; i++) {
        int j;
        for (j = 0; j < 2; j++) {
            ht_text_add(&t, "%s{\"sender\":{\"id\":\"%s\"},\"recipient\":"
                        "{\"id\":\"" PAGE "\"},\"timestamp\":%lld,"
                        "\"message\":{\"mid\":\"mid.%s.%d\",\"text\":\"%s\"}}",
                        i + j > 0 ? "," : "", k->users[i], ts + j,
                        k->users[i], j, j == 0 ? "one" : "two");
        }
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

static int check_sigkill_takeover(struct ctx *c, struct kill_run *k) {
    char rule[64];
    long tries, i;
    long slow = ht_valgrind() ? SLOW_VALGRIND_MS : SLOW_MS;
    long long took;

    HT_CHECK_BEGIN("SIGKILL a worker with ~50 sends in flight: within 10 s "
                   "the survivor holds all 16 partitions");
    k->victim = 0;
    k->survivor = 2;
    if (!pick_users(c, k))
        goto done;
    snprintf(rule, sizeof(rule), "{\"delay_ms\":%ld}", slow);
    if (!fake(c, "DELETE", "/_fake/requests", NULL) ||
        !fake(c, "POST", "/_fake/faults", rule) || !post_pairs(c, k))
        goto done;
    /* every conversation's first send is waiting for its slow answer
     * (past the delay, answers would start coming back) */
    tries = slow / 20;
    for (i = 0; i < tries && fake_pending(c) < KILL_USERS; i++)
        ht_sleep_ms(20);
    k->in_flight = fake_pending(c);
    if (!HT_ASSERT_EQ_INT(ht_proc_signal(&c->w[k->victim], SIGKILL), HL_OK))
        goto done;
    k->kill_ms = ht_mono_ms();
    c->gone[k->victim] = 1;
    ht_note("SIGKILL with %lld sends in flight", k->in_flight);
    HT_ASSERT_GE_INT(k->in_flight, KILL_USERS);
    took = wait_balanced(c, PARTS, BALANCE_MS, k->kill_ms);
    if (HT_ASSERT_GE_INT(took, 0))
        ht_note("survivor holds all 16 %lld ms after the SIGKILL", took);
done:
    HT_CHECK_END();
    return k->kill_ms > 0;
}

/* Index of the first / last request to `user` with `text` in `log`, and
 * the count. */
static int find_text(json_object *log, const char *user, const char *text,
                     long *first, long *last) {
    size_t i, n = json_object_array_length(log);
    int count = 0;

    *first = *last = -1;
    for (i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(log, i), *b = NULL, *m;
        const char *r = ht_json_str(e, "recipient");
        if (r == NULL || strcmp(r, user) != 0 ||
            !json_object_object_get_ex(e, "body", &b) ||
            !json_object_object_get_ex(b, "message", &m) ||
            ht_json_str(m, "text") == NULL ||
            strcmp(ht_json_str(m, "text"), text) != 0)
            continue;
        if (*first < 0)
            *first = (long)i;
        *last = (long)i;
        count++;
    }
    return count;
}

static void check_sigkill_nothing_lost(struct ctx *c, struct kill_run *k) {
    long tries = ht_budget_ms(30000) / 200, t;
    json_object *log = NULL;
    long long repeats = 0, dlq;
    int i, missing = 0, misordered = 0;

    HT_CHECK_BEGIN("after the SIGKILL every event is answered (G3), each "
                   "conversation in order (G4), repeats <= sends in flight "
                   "at the kill (G5)");
    for (t = 0; t < tries; t++) {
        if (backlog(c) == 0 && fake_pending(c) == 0)
            break;
        ht_sleep_ms(200);
    }
    if (!HT_ASSERT_EQ_INT(backlog(c), 0)) {
        ht_proc_dump_log(&c->w[k->survivor], 4000);
        goto cleanup;
    }
    log = fake_get(c, "/_fake/requests");
    if (log == NULL)
        goto cleanup;
    for (i = 0; i < KILL_USERS; i++) {
        long f1, l1, f2, l2;
        int n1 = find_text(log, k->users[i], "You said: one", &f1, &l1);
        int n2 = find_text(log, k->users[i], "You said: two", &f2, &l2);
        if (n1 < 1 || n2 < 1) {
            missing++;
            HT_FAIL("%s got \"one\" x%d, \"two\" x%d", k->users[i], n1, n2);
            continue;
        }
        repeats += (n1 - 1) + (n2 - 1);
        if (l1 > f2) {
            misordered++;
            if (misordered <= 3)
                HT_FAIL("%s: a \"one\" was sent after the first \"two\" "
                        "(requests %ld > %ld)", k->users[i], l1, f2);
        }
    }
    {
        /* what one conversation looked like, for the record */
        struct ht_text seq = { 0 };
        size_t j;
        for (j = 0; j < json_object_array_length(log); j++) {
            json_object *e = json_object_array_get_idx(log, j), *b, *m;
            const char *r = ht_json_str(e, "recipient");
            if (r == NULL || strcmp(r, k->users[0]) != 0 ||
                !json_object_object_get_ex(e, "body", &b) ||
                !json_object_object_get_ex(b, "message", &m))
                continue;
            ht_text_add(&seq, " %s at %lld ms;", ht_json_str(m, "text"),
                        ht_json_int(e, "t_ms") % 100000);
        }
        ht_note("%s:%s", k->users[0], seq.p ? seq.p : " (nothing)");
        free(seq.p);
    }
    ht_note("%lld repeated sends, %lld were in flight at the kill; %d of "
            "%d conversations out of order", repeats, k->in_flight,
            misordered, KILL_USERS);
    HT_ASSERT_EQ_INT(missing, 0);
    HT_ASSERT_EQ_INT(misordered, 0);
    HT_ASSERT_LE_INT(repeats, k->in_flight);
    dlq = ht_redis_dlq_len(db(c), PREFIX);
    HT_ASSERT_EQ_INT(dlq, 0);
cleanup:
    json_object_put(log);
    fake(c, "DELETE", "/_fake/faults", NULL);
    HT_CHECK_END();
}

static void check_sigterm_last(struct ctx *c, int s) {
    long long leases = -1;
    int code = -1;

    HT_CHECK_BEGIN("SIGTERM the last worker: exit 0 within 10 s (no leaks "
                   "under ASan), no lease and no live entry left");
    HT_ASSERT_EQ_INT(ht_proc_signal(&c->w[s], SIGTERM), HL_OK);
    if (!HT_ASSERT_EQ_INT(ht_proc_wait_exit(&c->w[s], ht_budget_ms(10000),
                                            &code), HL_OK) ||
        !HT_ASSERT_EQ_INT(code, 0))
        ht_proc_dump_log(&c->w[s], 6000);
    c->gone[s] = 1;
    leases = 0;
    {
        char *owner[PARTS];
        long p;
        read_leases(c, owner);
        for (p = 0; p < PARTS; p++)
            leases += owner[p] != NULL;
        free_leases(owner);
    }
    HT_ASSERT_EQ_INT(leases, 0);
    HT_ASSERT_EQ_INT(zcard(c), 0);
    HT_CHECK_END();
}

int main(void) {
    struct ctx c;
    struct kill_run k;
    int rc, i;

    ht_init();
    memset(&c, 0, sizeof(c));
    memset(&k, 0, sizeof(k));
    ht_stack_init(&c.st);
    for (i = 0; i < NWORKERS; i++)
        c.w[i].pid = -1;
    c.req_ms = ht_budget_ms(5000);
    if (check_setup(&c) && check_three_balance(&c)) {
        check_all_ready(&c);
        check_sigterm_rebalance(&c);
        if (check_sigkill_takeover(&c, &k))
            check_sigkill_nothing_lost(&c, &k);
        check_sigterm_last(&c, 2);
    }
    rc = ht_summary();
    for (i = 0; i < NWORKERS; i++)
        ht_proc_cleanup(&c.w[i]);
    ht_stack_cleanup(&c.st);
    return rc;
}
