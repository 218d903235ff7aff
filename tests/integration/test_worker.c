/* test_worker.c - bin/hookline-worker end to end, one stage at a time:
 * a real redis-server of our own, bin/hookline-fakegraph standing in for
 * the Send API (it checks the bearer token and records every request),
 * bin/hookline-ingest taking signed POSTs, and the worker under test.
 *
 * What it proves: the built-in echo rules answer every fixture kind with
 * exactly the expected text to the right recipient; silent kinds are acked
 * without a send; G4 order within the reorder window (and for a backlog or
 * handed-back events when a worker starts); each Send API error class ends
 * where DESIGN.md says, with a complete dead-letter entry; retries, the
 * rate-limit pause and the 24 h window; G2/G5 (a duplicate POST and a
 * replayed envelope send once); SIGTERM drain (running events finish,
 * queued ones go back to the queue, leases released, exit 0 in 10 s); a
 * rules file (regex, quick replies, mark_seen order, payload_prefix,
 * forward to a signed backend run by this binary, forward_failed); a
 * malformed rules file (exit 2 naming line or rule); no secret in logs.
 *
 * Worker A runs the built-in rules with a pages file (three pages with the
 * right token, one with a revoked one, so a 190 pauses only that page);
 * worker B runs a rules file with MESSENGER_PAGE_ID. Bodies are generated
 * here, or rewritten from the fixtures, with CURRENT timestamps: a reply is
 * only allowed inside the 24 h window. Every wait is N x M ms. Multi-worker
 * balance and SIGKILL takeover are in test_worker_scale.c. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <json-c/json.h>

#include "hl.h"
#include "hl_hmac.h"
#include "../lib/hl_test.h"
#include "../lib/httpc.h"
#include "../lib/proc.h"
#include "../lib/redis_fixture.h"
#include "../lib/stack.h"

#define PREFIX "hlw"
#define PARTS 16
#define SECRET "hlw-app-secret-5c2e81f0a97d"
#define VERIFY "hlw-verify-31d7a0"
#define TOKEN "hlw-page-token-9a4f17c3be62"
#define BAD_TOKEN "hlw-revoked-token-0b3e55d1"
#define PAGE "100000000000101"
#define PAGE_RL "100000000000202"     /* rate limits pause this page only */
#define PAGE_BAD "100000000000303"    /* configured with a revoked token */
#define IG_ACCT "17841400000000404"
#define WEBHOOK "/webhook"
#define REORDER_MS 1000              /* 5x under valgrind: reorder_ms() */
#define LEASE_MS 1500
#define MAX_ATTEMPTS 3
#define DAY_MS (24LL * 3600 * 1000)
#define ORDER_EVENTS 20
#define OTHER_EVENTS 5
#define BE_MAX 16                     /* requests the test backend keeps */
#define BE_BUF 65536

/* ---- the forward backend: a tiny HTTP server thread --------------------- */

struct be_record {
    char path[128];
    char sig[128];                    /* X-Hookline-Signature-256, or "" */
    char *body;                       /* owned */
    size_t len;
};

/* Answers POST /orders with one message and anything else with 400. The
 * thread only touches this struct (under mu); checks read it. */
struct backend {
    int fd;                           /* listening socket, or -1 */
    int port;
    pthread_t th;
    int running;
    atomic_int stop;
    pthread_mutex_t mu;
    struct be_record rec[BE_MAX];
    int n;
};

/* Everything the checks share. */
struct ctx {
    struct ht_stack st;               /* redis, fake Graph (token checked),
                                       * ingest */
    struct ht_proc wa;                /* built-in rules, pages file */
    struct ht_proc wb;                /* rules file, MESSENGER_PAGE_ID */
    struct backend be;
    char wa_id[128];
    char wb_id[128];
    char pages_path[512];
    char rules_path[512];
    char bad_path[512];
    long req_ms;
    int n;                            /* unique mid counter */
    /* the events SIGTERM handed back, answered later by worker B */
    char drain_user[64];
};

/* ---- small helpers ------------------------------------------------------ */

/* The workers' reorder window: the 25 POSTs of the order check must fit
 * in it, and valgrind slows ingest down. */
static long reorder_ms(void) {
    return ht_valgrind() ? 5 * REORDER_MS : REORDER_MS;
}

static redisContext *db(struct ctx *c) {
    return ht_stack_db(&c->st);
}

static long part_of(const char *page, const char *user) {
    return ht_redis_partition(page, user, PARTS);
}

static void key_of(char *out, size_t sz, long part, const char *what) {
    snprintf(out, sz, PREFIX ":{%ld}:%s", part, what);
}

/* A fresh message id for this run. */
static void new_mid(struct ctx *c, char *out, size_t sz) {
    snprintf(out, sz, "mid.hlw.%d.%lld", ++c->n, ht_wall_ms());
}

/* One bulk-string reply of an arbitrary command, copied (caller frees);
 * NULL for nil or an error. */
static char *redis_str(struct ctx *c, int argc, const char **argv) {
    redisReply *r;
    char *s = NULL;

    if (db(c) == NULL)
        return NULL;
    r = redisCommandArgv(db(c), argc, argv, NULL);
    if (r != NULL && r->type == REDIS_REPLY_STRING)
        s = strdup(r->str);
    if (r != NULL)
        freeReplyObject(r);
    return s;
}

static long long redis_int(struct ctx *c, int argc, const char **argv) {
    long long v = -1;

    if (db(c) == NULL || ht_redis_int(db(c), &v, argc, argv) != HL_OK)
        return -1;
    return v;
}

/* Sum of LLEN of every partition's queue and in-flight list. */
static long long backlog(struct ctx *c) {
    char key[128];
    long long sum = 0, n;
    long p;

    for (p = 0; p < PARTS; p++) {
        key_of(key, sizeof(key), p, "q");
        n = ht_redis_llen(db(c), key);
        sum += n < 0 ? 1000000 : n;
        key_of(key, sizeof(key), p, "inflight");
        n = ht_redis_llen(db(c), key);
        sum += n < 0 ? 1000000 : n;
    }
    return sum;
}

/* Waits until every queued or in-flight envelope is acked (or dead-
 * lettered), at most `ms`. 1 when idle. */
static int wait_idle(struct ctx *c, long ms) {
    long tries = ht_budget_ms(ms) / 50, i;

    for (i = 0; i < tries; i++) {
        if (backlog(c) == 0)
            return 1;
        ht_sleep_ms(50);
    }
    return HT_FAIL("queues/in-flight lists not empty after %ld ms: %lld "
                   "envelopes left", ms, backlog(c));
}

/* ---- HTTP to the programs ------------------------------------------------ */

static int http(struct ctx *c, int port, const char *method,
                const char *path, const char *body,
                struct ht_http_resp *r) {
    return ht_http_json(port, method, path, body, c->req_ms, r);
}

/* POSTs a signed webhook body to ingest; 1 when answered 200. */
static int post(struct ctx *c, const char *body) {
    struct ht_http_resp r;
    int ok;

    if (body == NULL)
        return HT_FAIL("no body to POST");
    ht_http_post_signed(c->st.ingest.port, WEBHOOK, SECRET, body, strlen(body),
                        c->req_ms, &r);
    ok = HT_ASSERT_EQ_INT(r.status, 200);
    if (!ok)
        ht_note("POST answered %ld: %s %s", r.status,
                r.body ? r.body : "", r.err);
    ht_http_resp_cleanup(&r);
    return ok;
}

/* A /_fake control call on the fake Graph; 1 when answered 200. */
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

static int fake_reset(struct ctx *c) {
    return fake(c, "DELETE", "/_fake/faults", NULL) &&
           fake(c, "DELETE", "/_fake/requests", NULL);
}

/* The fake Graph's request log (caller frees), or NULL. */
static json_object *fake_log(struct ctx *c) {
    struct ht_http_resp r;
    json_object *o = NULL;

    http(c, c->st.fg.port, "GET", "/_fake/requests", NULL, &r);
    if (r.status == 200 && r.body != NULL)
        o = json_tokener_parse(r.body);
    ht_http_resp_cleanup(&r);
    if (o == NULL || !json_object_is_type(o, json_type_array)) {
        json_object_put(o);
        HT_FAIL("GET /_fake/requests did not give a JSON array");
        return NULL;
    }
    return o;
}

/* The logged requests whose recipient is `user`, oldest first (a new
 * array holding references; caller frees). */
static json_object *to_user(json_object *log, const char *user) {
    json_object *out = json_object_new_array();
    size_t i, n = log != NULL ? json_object_array_length(log) : 0;

    for (i = 0; out != NULL && i < n; i++) {
        json_object *e = json_object_array_get_idx(log, i);
        const char *r = ht_json_str(e, "recipient");
        if (r != NULL && strcmp(r, user) == 0)
            json_object_array_add(out, json_object_get(e));
    }
    return out;
}

static json_object *jget(json_object *o, const char *a, const char *b) {
    json_object *v = NULL;

    if (o == NULL || !json_object_object_get_ex(o, a, &v))
        return NULL;
    if (b == NULL)
        return v;
    if (v == NULL || !json_object_object_get_ex(v, b, &o))
        return NULL;
    return o;
}

/* body.message.text of a logged request, or NULL. */
static const char *req_text(json_object *e) {
    return ht_json_str(jget(jget(e, "body", NULL), "message", NULL),
                       "text");
}

static const char *req_action(json_object *e) {
    return ht_json_str(jget(e, "body", NULL), "sender_action");
}

static int req_count(json_object *log, const char *user) {
    json_object *a = to_user(log, user);
    int n = a != NULL ? (int)json_object_array_length(a) : -1;

    json_object_put(a);
    return n;
}

/* Requests to `user` answered `status` (0: any). */
static int answered_count(json_object *log, const char *user, int status) {
    json_object *a = to_user(log, user);
    size_t i;
    int n = 0;

    for (i = 0; a != NULL && i < json_object_array_length(a); i++) {
        long long s = ht_json_int(json_object_array_get_idx(a, i),
                                  "answered");
        n += status == 0 || s == status;
    }
    json_object_put(a);
    return n;
}

/* Polls the fake Graph until each of `users` has at least want[i]
 * requests answered `status` (0: any), at most `ms`. 1 when reached. */
static int wait_sends(struct ctx *c, const char *const *users,
                      const int *want, size_t n, int status, long ms) {
    long tries = ht_budget_ms(ms) / 100, t;
    json_object *log = NULL;
    size_t i;
    int done = 0;

    for (t = 0; t < tries && !done; t++) {
        json_object_put(log);
        log = fake_log(c);
        done = log != NULL;
        for (i = 0; done && i < n; i++)
            done = answered_count(log, users[i], status) >= want[i];
        if (!done)
            ht_sleep_ms(100);
    }
    for (i = 0; !done && i < n; i++) {
        if (answered_count(log, users[i], status) < want[i])
            HT_FAIL("after %ld ms %s has %d requests answered %d, want "
                    "%d", ms, users[i], answered_count(log, users[i],
                    status), status, want[i]);
    }
    json_object_put(log);
    return done;
}

static int wait_send(struct ctx *c, const char *user, int want, int status,
                     long ms) {
    const char *u[1] = { user };

    return wait_sends(c, u, &want, 1, status, ms);
}

/* Sum of the samples of metric `name` whose labels contain `label` (NULL:
 * any) in Prometheus text; -1 when none. */
static double metric(const char *text, const char *name, const char *label) {
    size_t nlen = strlen(name);
    const char *line = text;
    double sum = -1;

    while (line != NULL && *line != '\0') {
        const char *nl = strchr(line, '\n');
        size_t len = nl == NULL ? strlen(line) : (size_t)(nl - line);
        char buf[512];
        if (len < sizeof(buf) && line[0] != '#' &&
            strncmp(line, name, nlen) == 0 &&
            (line[nlen] == ' ' || line[nlen] == '{')) {
            memcpy(buf, line, len);
            buf[len] = '\0';
            if (label == NULL || strstr(buf, label) != NULL) {
                const char *sp = strrchr(buf, ' ');
                sum = (sum < 0 ? 0 : sum) + strtod(sp ? sp + 1 : buf, NULL);
            }
        }
        line = nl == NULL ? NULL : nl + 1;
    }
    return sum;
}

/* A metric of the worker at `port` (see metric()); -1 when unreachable. */
static double worker_metric(struct ctx *c, int port, const char *name,
                            const char *label) {
    struct ht_http_resp r;
    double v = -1;

    http(c, port, "GET", "/metrics", NULL, &r);
    if (r.status == 200 && r.body != NULL)
        v = metric(r.body, name, label);
    ht_http_resp_cleanup(&r);
    return v < 0 ? 0 : v;
}

static long get_status(struct ctx *c, int port, const char *path) {
    return ht_http_status(port, path, c->req_ms);
}

/* ---- bodies -------------------------------------------------------------- */

static void text_event(struct ht_text *t, const char *page, const char *user,
                       const char *mid, long long ts, const char *text) {
    ht_text_add(t, "{\"sender\":{\"id\":\"%s\"},\"recipient\":{\"id\":\"%s\"},"
                "\"timestamp\":%lld,\"message\":{\"mid\":\"%s\",\"text\":"
                "\"%s\"}}", user, page, ts, mid, text);
}

static void postback_event(struct ht_text *t, const char *page,
                           const char *user, const char *mid, long long ts,
                           const char *payload) {
    ht_text_add(t, "{\"sender\":{\"id\":\"%s\"},\"recipient\":{\"id\":\"%s\"},"
                "\"timestamp\":%lld,\"postback\":{\"mid\":\"%s\",\"title\":"
                "\"Button\",\"payload\":\"%s\"}}", user, page, ts, mid,
                payload);
}

/* A POST body of one text message (caller frees). */
static char *text_body(const char *page, const char *user, const char *mid,
                       long long ts, const char *text) {
    struct ht_text t = { 0 };

    ht_text_add(&t, "{\"object\":\"page\",\"entry\":[{\"id\":\"%s\",\"time\":"
                "%lld,\"messaging\":[", page, ts);
    text_event(&t, page, user, mid, ts, text);
    ht_text_add(&t, "]}]}");
    if (t.failed)
        HL_FREE(t.p);
    return t.p;
}

static char *postback_body(const char *page, const char *user,
                           const char *mid, long long ts,
                           const char *payload) {
    struct ht_text t = { 0 };

    ht_text_add(&t, "{\"object\":\"page\",\"entry\":[{\"id\":\"%s\",\"time\":"
                "%lld,\"messaging\":[", page, ts);
    postback_event(&t, page, user, mid, ts, payload);
    ht_text_add(&t, "]}]}");
    if (t.failed)
        HL_FREE(t.p);
    return t.p;
}

static void set_str(json_object *o, const char *k, const char *v) {
    if (o != NULL && json_object_is_type(o, json_type_object))
        json_object_object_add(o, k, json_object_new_string(v));
}

/* Points one fixture event at this run's page and user: the party that
 * was the fixture's page becomes `page`, the other one `user`. */
static void rewrite_event(json_object *ev, const char *old_page,
                          const char *page, const char *user,
                          const char *mid, long long ts,
                          const char *payload) {
    json_object *s = jget(ev, "sender", NULL), *r = jget(ev, "recipient",
                                                         NULL);
    const char *sid = ht_json_str(s, "id");

    if (sid != NULL && strcmp(sid, old_page) == 0) {
        set_str(s, "id", page);
        set_str(r, "id", user);
    } else {
        if (sid != NULL)
            set_str(s, "id", user);
        set_str(r, "id", page);
    }
    if (jget(ev, "timestamp", NULL) != NULL)
        json_object_object_add(ev, "timestamp", json_object_new_int64(ts));
    if (jget(ev, "message", "mid") != NULL)
        set_str(jget(ev, "message", NULL), "mid", mid);
    if (jget(ev, "postback", "mid") != NULL)
        set_str(jget(ev, "postback", NULL), "mid", mid);
    if (payload != NULL && jget(ev, "postback", NULL) != NULL)
        set_str(jget(ev, "postback", NULL), "payload", payload);
}

/* A fixture payload rewritten for this run: every entry becomes `page` at
 * `ts`, every event gets timestamp `ts` (when it has one), `user`, `mid`
 * and, when not NULL, postback `payload`. Caller frees; NULL (and a
 * failure) when the fixture cannot be read. */
static char *fixture_body(const char *rel, const char *page,
                          const char *user, const char *mid, long long ts,
                          const char *payload) {
    static const char *const lists[] = { "messaging", "standby" };
    json_object *root = NULL, *entries;
    char *buf = NULL, *out = NULL;
    size_t len = 0, e, i, k;

    if (ht_read_fixture(rel, &buf, &len) != HL_OK) {
        HT_FAIL("cannot read fixture %s", rel);
        return NULL;
    }
    root = json_tokener_parse(buf);
    free(buf);
    entries = jget(root, "entry", NULL);
    for (e = 0; entries != NULL && e < json_object_array_length(entries);
         e++) {
        json_object *entry = json_object_array_get_idx(entries, e);
        char old_page[128];
        snprintf(old_page, sizeof(old_page), "%s",
                 ht_json_str(entry, "id") ? ht_json_str(entry, "id") : "");
        set_str(entry, "id", page);
        json_object_object_add(entry, "time", json_object_new_int64(ts));
        for (k = 0; k < HL_ARRAY_LEN(lists); k++) {
            json_object *evs = jget(entry, lists[k], NULL);
            for (i = 0; evs != NULL && i < json_object_array_length(evs);
                 i++)
                rewrite_event(json_object_array_get_idx(evs, i), old_page,
                              page, user, mid, ts, payload);
        }
    }
    if (root != NULL)
        out = strdup(json_object_to_json_string_ext(root,
                     JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    else
        HT_FAIL("fixture %s is not JSON", rel);
    json_object_put(root);
    return out;
}

/* ---- dead letters -------------------------------------------------------- */

/* The dead letter whose envelope has id `event_id` (caller frees), or
 * NULL. */
static json_object *dlq_find(struct ctx *c, const char *event_id) {
    long long n = ht_redis_dlq_len(db(c), PREFIX), i;

    for (i = 0; i < n; i++) {
        json_object *d = ht_redis_dlq_entry(db(c), PREFIX, (long)i);
        const char *id = ht_json_str(jget(d, "envelope", NULL), "id");
        if (id != NULL && strcmp(id, event_id) == 0)
            return d;
        json_object_put(d);
    }
    return NULL;
}

static json_object *wait_dlq(struct ctx *c, const char *event_id, long ms) {
    long tries = ht_budget_ms(ms) / 100, i;
    json_object *d = NULL;

    for (i = 0; i < tries && d == NULL; i++) {
        d = dlq_find(c, event_id);
        if (d == NULL)
            ht_sleep_ms(100);
    }
    if (d == NULL)
        HT_FAIL("no dead letter for %s after %ld ms", event_id, ms);
    return d;
}

static int is_hex16(const char *s) {
    size_t i;

    if (s == NULL || strlen(s) != 16)
        return 0;
    for (i = 0; i < 16; i++) {
        if (strchr("0123456789abcdef", s[i]) == NULL)
            return 0;
    }
    return 1;
}

/* What a dead letter must say (http/code/subcode -1: absent). */
struct want_dlq {
    const char *reason;
    char event_id[80];                /* filled by dead_letter_case() */
    const char *page;
    const char *user;
    const char *text;                 /* event.message.text */
    long long http, code, subcode;
    long long attempts;
    long long t0;                     /* wall ms before the POST */
};

static void assert_dlq(struct ctx *c, json_object *d,
                       const struct want_dlq *w) {
    json_object *err = jget(d, "error", NULL);
    json_object *env = jget(d, "envelope", NULL);
    long long now = ht_wall_ms();

    HT_ASSERT_EQ_INT(ht_json_int(d, "v"), 1);
    HT_ASSERT_TRUE(is_hex16(ht_json_str(d, "id")));
    HT_ASSERT_EQ_STR(ht_json_str(d, "reason"), w->reason);
    HT_ASSERT_EQ_STR(ht_json_str(d, "stage"), "worker");
    HT_ASSERT_EQ_STR(ht_json_str(d, "worker"), c->wa_id);
    HT_ASSERT_EQ_INT(ht_json_int(d, "attempts"), w->attempts);
    HT_ASSERT_TRUE(err != NULL && json_object_is_type(err,
                                                      json_type_object));
    HT_ASSERT_EQ_INT(ht_json_int(err, "http"), w->http);
    HT_ASSERT_EQ_INT(ht_json_int(err, "code"), w->code);
    HT_ASSERT_EQ_INT(ht_json_int(err, "subcode"), w->subcode);
    HT_ASSERT_TRUE(ht_json_str(err, "message") != NULL);
    HT_ASSERT_GE_INT(ht_json_int(d, "failed"), w->t0);
    HT_ASSERT_LE_INT(ht_json_int(d, "failed"), now);
    HT_ASSERT_GE_INT(ht_json_int(d, "first_failed"), w->t0);
    HT_ASSERT_LE_INT(ht_json_int(d, "first_failed"),
                     ht_json_int(d, "failed"));
    /* the envelope as queued, event included */
    HT_ASSERT_EQ_INT(ht_json_int(env, "v"), 1);
    HT_ASSERT_EQ_STR(ht_json_str(env, "id"), w->event_id);
    HT_ASSERT_EQ_STR(ht_json_str(env, "kind"), "message");
    HT_ASSERT_EQ_STR(ht_json_str(env, "page"), w->page);
    HT_ASSERT_EQ_STR(ht_json_str(env, "user"), w->user);
    HT_ASSERT_EQ_STR(ht_json_str(jget(jget(env, "event", NULL), "message",
                                      NULL), "text"), w->text);
    HT_ASSERT_EQ_STR(ht_json_str(jget(jget(env, "event", NULL), "sender",
                                      NULL), "id"), w->user);
}

/* ---- the forward backend ---------------------------------------------- */

/* Value of header `name` in the header block `h` (NUL-terminated), copied
 * into out; 1 when present. */
static int header_value(const char *h, const char *name, char *out,
                        size_t sz) {
    size_t n = strlen(name);
    const char *p = h;

    while (p != NULL && *p != '\0') {
        const char *eol = strstr(p, "\r\n");
        if (eol == NULL || eol == p)
            break;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            size_t len;
            while (*v == ' ')
                v++;
            len = (size_t)(eol - v);
            if (len >= sz)
                len = sz - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return 1;
        }
        p = eol + 2;
    }
    return 0;
}

static void be_answer(int fd, int status, const char *body) {
    char head[256];
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: "
                     "application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n", status,
                     status == 200 ? "OK" : "Bad Request", strlen(body));

    if (n > 0 && write(fd, head, (size_t)n) == n)
        (void)!write(fd, body, strlen(body));
}

/* Reads one request from `fd`, records it and answers it. */
static void be_serve(struct backend *be, int fd) {
    char *buf = malloc(BE_BUF + 1);
    char cl[32] = "0", expect[64] = "", sig[128] = "", path[128] = "";
    size_t got = 0, need = 0, hlen = 0;
    char *end = NULL, *hdrs;
    ssize_t r;

    if (buf == NULL)
        return;
    while (end == NULL && got < BE_BUF) {
        r = read(fd, buf + got, BE_BUF - got);
        if (r <= 0)
            goto cleanup;
        got += (size_t)r;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (end == NULL)
        goto cleanup;
    hlen = (size_t)(end - buf) + 4;
    /* keep the last header's CRLF: header_value() walks CRLF lines */
    end[2] = '\0';
    hdrs = strstr(buf, "\r\n") + 2;
    header_value(hdrs, "Content-Length", cl, sizeof(cl));
    header_value(hdrs, "Expect", expect, sizeof(expect));
    header_value(hdrs, "X-Hookline-Signature-256", sig, sizeof(sig));
    sscanf(buf, "%*s %127s", path);
    need = (size_t)strtoul(cl, NULL, 10);
    if (need > BE_BUF - hlen)
        goto cleanup;
    if (got < hlen + need && strncasecmp(expect, "100-continue", 12) == 0)
        (void)!write(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    while (got < hlen + need) {
        r = read(fd, buf + got, BE_BUF - got);
        if (r <= 0)
            goto cleanup;
        got += (size_t)r;
    }
    pthread_mutex_lock(&be->mu);
    if (be->n < BE_MAX) {
        struct be_record *rec = &be->rec[be->n];
        rec->body = malloc(need + 1);
        if (rec->body != NULL) {
            memcpy(rec->body, buf + hlen, need);
            rec->body[need] = '\0';
            rec->len = need;
            snprintf(rec->path, sizeof(rec->path), "%s", path);
            snprintf(rec->sig, sizeof(rec->sig), "%s", sig);
            be->n++;
        }
    }
    pthread_mutex_unlock(&be->mu);
    if (strcmp(path, "/orders") == 0)
        be_answer(fd, 200, "{\"messages\":[{\"text\":\"from backend\"}]}");
    else
        be_answer(fd, 400, "{\"error\":\"this backend is broken\"}");
cleanup:
    free(buf);
}

static void *be_main(void *arg) {
    struct backend *be = arg;

    while (!atomic_load(&be->stop)) {
        struct pollfd p = { be->fd, POLLIN, 0 };
        struct timeval tv = { 2, 0 };
        int fd;
        if (poll(&p, 1, 100) <= 0)
            continue;
        fd = accept(be->fd, NULL, NULL);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        be_serve(be, fd);
        close(fd);
    }
    return NULL;
}

static int be_start(struct backend *be) {
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);

    be->fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (be->fd < 0 || bind(be->fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(be->fd, 16) != 0 ||
        getsockname(be->fd, (struct sockaddr *)&a, &alen) != 0)
        return HT_FAIL("backend socket: %s", strerror(errno));
    be->port = ntohs(a.sin_port);
    if (pthread_create(&be->th, NULL, be_main, be) != 0)
        return HT_FAIL("pthread_create failed");
    be->running = 1;
    return 1;
}

static void be_stop(struct backend *be) {
    int i;

    if (be->running) {
        atomic_store(&be->stop, 1);
        pthread_join(be->th, NULL);
        be->running = 0;
    }
    if (be->fd >= 0)
        close(be->fd);
    be->fd = -1;
    for (i = 0; i < be->n; i++)
        HL_FREE(be->rec[i].body);
    be->n = 0;
}

/* ---- starting the stack -------------------------------------------------- */

/* Polls GET /readyz of a worker until 200, at most `ms`. */
static int wait_ready(struct ctx *c, struct ht_proc *w, long ms) {
    long tries = ht_budget_ms(ms) / 100, i;

    for (i = 0; i < tries; i++) {
        if (get_status(c, w->port, "/readyz") == 200)
            return 1;
        ht_sleep_ms(100);
    }
    ht_proc_dump_log(w, 4000);
    return HT_FAIL("worker /readyz not 200 after %ld ms", ms);
}

static int start_worker(struct ctx *c, struct ht_proc *w, int rules,
                        char *id, size_t idsz) {
    char err[HL_ERR_LEN], file[600], reorder[48];
    const char *extra[8];
    int n = 0;

    extra[n++] = "HOOKLINE_PREFIX=" PREFIX;
    snprintf(reorder, sizeof(reorder), "HOOKLINE_REORDER_MS=%ld",
             reorder_ms());
    extra[n++] = reorder;
    extra[n++] = "HOOKLINE_MAX_ATTEMPTS=3";
    if (rules) {
        snprintf(file, sizeof(file), "HOOKLINE_RULES=%s", c->rules_path);
        extra[n++] = file;
        extra[n++] = "MESSENGER_PAGE_ID=" PAGE;
        extra[n++] = "MESSENGER_PAGE_ACCESS_TOKEN=" TOKEN;
    } else {
        snprintf(file, sizeof(file), "HOOKLINE_PAGES_FILE=%s",
                 c->pages_path);
        extra[n++] = file;
    }
    extra[n] = NULL;
    if (ht_stack_start_worker(&c->st, w, SECRET, extra, err) != HL_OK)
        return HT_FAIL("worker: %s", err);
    if (ht_stack_worker_id(w, 2000, id, idsz, err) != HL_OK)
        return HT_FAIL("%s", err);
    ht_note("worker %s: metrics on port %d", id, w->port);
    return 1;
}

static int start_fakegraph(struct ctx *c) {
    char err[HL_ERR_LEN];

    if (ht_stack_start_fakegraph(&c->st, TOKEN, err) != HL_OK)
        return HT_FAIL("fakegraph: %s", err);
    return 1;
}

static int start_ingest(struct ctx *c) {
    char err[HL_ERR_LEN];

    if (ht_stack_start_ingest(&c->st, &c->st.ingest, PREFIX, VERIFY, SECRET,
                              NULL, err) != HL_OK)
        return HT_FAIL("ingest: %s", err);
    return 1;
}

static int write_pages(struct ctx *c) {
    static const char pages[] =
        "{\"pages\":["
        "{\"id\":\"" PAGE "\",\"access_token\":\"" TOKEN "\"},"
        "{\"id\":\"" PAGE_RL "\",\"access_token\":\"" TOKEN "\"},"
        "{\"id\":\"" PAGE_BAD "\",\"access_token\":\"" BAD_TOKEN "\"},"
        "{\"id\":\"" IG_ACCT "\",\"access_token\":\"" TOKEN "\"}]}";

    snprintf(c->pages_path, sizeof(c->pages_path), "%s/hlw-pages-%ld.json",
             ht_tmpdir(), (long)getpid());
    if (ht_write_file(c->pages_path, pages, sizeof(pages) - 1) != HL_OK)
        return HT_FAIL("cannot write %s", c->pages_path);
    return 1;
}

/* The number of partitions whose lease holds `id`. */
static long leases_of(struct ctx *c, const char *id) {
    char key[128];
    long n = 0, p;

    for (p = 0; p < PARTS; p++) {
        const char *argv[2] = { "GET", key };
        char *v;
        key_of(key, sizeof(key), p, "lease");
        v = redis_str(c, 2, argv);
        n += v != NULL && strcmp(v, id) == 0;
        free(v);
    }
    return n;
}

static long long zscore_exists(struct ctx *c, const char *id) {
    const char *argv[3] = { "ZSCORE", PREFIX ":workers", id };
    char *v = redis_str(c, 3, argv);
    long long ok = v != NULL;

    free(v);
    return ok;
}

static int check_setup(struct ctx *c) {
    char err[HL_ERR_LEN];
    int ok = 0;

    HT_CHECK_BEGIN("redis, fake Graph, ingest and worker A start; A holds "
                   "all 16 leases under its id and is ready");
    if (ht_redis_start(&c->st.redis, err) != HL_OK) {
        HT_FAIL("redis-server: %s", err);
        goto done;
    }
    if (!HT_ASSERT_TRUE(db(c) != NULL) || !write_pages(c) ||
        !start_fakegraph(c) || !start_ingest(c) ||
        !start_worker(c, &c->wa, 0, c->wa_id, sizeof(c->wa_id)) ||
        !wait_ready(c, &c->wa, 10000))
        goto done;
    HT_ASSERT_EQ_INT(leases_of(c, c->wa_id), PARTS);
    HT_ASSERT_EQ_INT(zscore_exists(c, c->wa_id), 1);
    HT_ASSERT_EQ_INT(get_status(c, c->wa.port, "/healthz"), 200);
    ok = !ht_check_failed();
done:
    HT_CHECK_END();
    return ok;
}

/* ---- built-in rules ------------------------------------------------------ */

struct echo_case {
    const char *fixture;
    const char *page;
    const char *payload;              /* postback payload override */
    const char *reply;
};

static void check_echo_replies(struct ctx *c) {
    static const struct echo_case cases[] = {
        { "webhook/message_text_botman.json", PAGE, NULL, "You said: Hi" },
        { "webhook/message_quick_reply_botman.json", PAGE, NULL,
          "You said: Red" },
        { "webhook/message_attachment_image_courier.json", PAGE, NULL,
          "I received your attachment." },
        { "webhook/message_attachment_audio_botman.json", PAGE, NULL,
          "I received your attachment." },
        { "webhook/message_sticker_like_real.json", PAGE, NULL,
          "I received your attachment." },
        { "webhook/postback_get_started_courier.json", PAGE, "GET_STARTED",
          "Welcome. Tell me what you need." },
        { "webhook/postback_no_mid_botman.json", PAGE, NULL,
          "Postback received: MY_PAYLOAD" },
        { "webhook/ig_text_real.json", IG_ACCT, NULL, "You said: Omg" },
    };
    enum { N = HL_ARRAY_LEN(cases) };
    char users[N][32], mid[64], path[128];
    const char *uptr[N];
    int want[N];
    json_object *log = NULL;
    size_t i;

    HT_CHECK_BEGIN("built-in rules: text, quick reply, image, audio, "
                   "sticker, GET_STARTED, other postback, IG text each get "
                   "exactly the expected reply, to the right recipient");
    fake_reset(c);
    for (i = 0; i < N; i++) {
        char *body;
        snprintf(users[i], sizeof(users[i]), "u-echo-%zu", i);
        uptr[i] = users[i];
        want[i] = 1;
        new_mid(c, mid, sizeof(mid));
        body = fixture_body(cases[i].fixture, cases[i].page, users[i], mid,
                            ht_wall_ms(), cases[i].payload);
        post(c, body);
        free(body);
    }
    if (!wait_sends(c, uptr, want, N, 0, 10000) || !wait_idle(c, 5000))
        goto cleanup;
    log = fake_log(c);
    HT_ASSERT_EQ_INT(json_object_array_length(log), N);
    for (i = 0; i < N; i++) {
        json_object *a = to_user(log, users[i]);
        json_object *e = json_object_array_get_idx(a, 0);
        json_object *body = jget(e, "body", NULL);
        ht_note("%s -> \"%s\"", cases[i].fixture,
                req_text(e) ? req_text(e) : "(none)");
        snprintf(path, sizeof(path), "/v25.0/%s/messages", cases[i].page);
        HT_ASSERT_EQ_INT(json_object_array_length(a), 1);
        HT_ASSERT_EQ_STR(req_text(e), cases[i].reply);
        HT_ASSERT_EQ_STR(ht_json_str(e, "method"), "POST");
        HT_ASSERT_EQ_STR(ht_json_str(e, "path"), path);
        HT_ASSERT_EQ_STR(ht_json_str(jget(body, "recipient", NULL), "id"),
                         users[i]);
        HT_ASSERT_EQ_STR(ht_json_str(body, "messaging_type"), "RESPONSE");
        HT_ASSERT_EQ_INT(ht_json_bool(e, "token_ok"), 1);
        HT_ASSERT_EQ_STR(ht_json_str(e, "token_via"), "header");
        HT_ASSERT_EQ_INT(ht_json_int(e, "answered"), 200);
        json_object_put(a);
    }
    HT_ASSERT_EQ_INT(ht_redis_dlq_len(db(c), PREFIX), 0);
cleanup:
    json_object_put(log);
    HT_CHECK_END();
}

struct silent_case {
    const char *fixture;
    const char *user;
};

/* HGET of the conversation hash of (PAGE, user). Caller frees. */
static char *conv_field(struct ctx *c, const char *user, const char *f) {
    char key[256];
    const char *argv[3] = { "HGET", key, f };

    snprintf(key, sizeof(key), PREFIX ":{%ld}:conv:%s:%s",
             part_of(PAGE, user), PAGE, user);
    return redis_str(c, 3, argv);
}

static void check_silent_kinds(struct ctx *c) {
    static const struct silent_case cases[] = {
        { "webhook/echo_text_app_id_m4j.json", "u-silent-echo" },
        { "webhook/standby_postback_empty_real_tock.json",
          "u-silent-standby" },
        { "webhook/delivery_without_mids_m4j.json", "u-silent-delivery" },
        { "webhook/read_botman.json", "u-silent-read" },
    };
    char mid[64], tsbuf[32];
    double ev0, silent0, norule0;
    long long ts = ht_wall_ms();
    json_object *log = NULL;
    char *body;
    size_t i;

    HT_CHECK_BEGIN("echo, standby, delivery and read get no reply, are "
                   "acked and update the conversation hash (not the user "
                   "window)");
    fake_reset(c);
    ev0 = worker_metric(c, c->wa.port, "hookline_worker_events_total", NULL);
    silent0 = worker_metric(c, c->wa.port, "hookline_worker_events_total",
                            "result=\"silent\"");
    norule0 = worker_metric(c, c->wa.port, "hookline_worker_events_total",
                            "result=\"no_rule\"");
    for (i = 0; i < HL_ARRAY_LEN(cases); i++) {
        new_mid(c, mid, sizeof(mid));
        body = fixture_body(cases[i].fixture, PAGE, cases[i].user, mid, ts,
                            NULL);
        post(c, body);
        free(body);
    }
    /* a control event: proves the worker was running all along */
    new_mid(c, mid, sizeof(mid));
    body = text_body(PAGE, "u-silent-control", mid, ts, "control");
    post(c, body);
    free(body);
    if (!wait_send(c, "u-silent-control", 1, 200, 10000) ||
        !wait_idle(c, 5000))
        goto cleanup;
    log = fake_log(c);
    HT_ASSERT_EQ_INT(json_object_array_length(log), 1);
    snprintf(tsbuf, sizeof(tsbuf), "%lld", ts);
    for (i = 0; i < HL_ARRAY_LEN(cases); i++) {
        char *last = conv_field(c, cases[i].user, "last_ts");
        char *lu = conv_field(c, cases[i].user, "last_user_ms");
        HT_ASSERT_EQ_INT(req_count(log, cases[i].user), 0);
        if (!HT_ASSERT_EQ_STR(last, tsbuf))
            ht_note("conversation of %s", cases[i].user);
        HT_ASSERT_EQ_STR(lu, NULL);
        free(last);
        free(lu);
    }
    {
        char *lu = conv_field(c, "u-silent-control", "last_user_ms");
        HT_ASSERT_EQ_STR(lu, tsbuf);
        free(lu);
    }
    HT_ASSERT_EQ_INT(worker_metric(c, c->wa.port,
                                   "hookline_worker_events_total", NULL) -
                     ev0, 5);
    HT_ASSERT_EQ_INT(worker_metric(c, c->wa.port,
                                   "hookline_worker_events_total",
                                   "result=\"silent\"") - silent0, 2);
    HT_ASSERT_EQ_INT(worker_metric(c, c->wa.port,
                                   "hookline_worker_events_total",
                                   "result=\"no_rule\"") - norule0, 2);
    HT_ASSERT_EQ_INT(ht_redis_dlq_len(db(c), PREFIX), 0);
cleanup:
    json_object_put(log);
    HT_CHECK_END();
}

/* ---- G4: order ----------------------------------------------------------- */

/* 1 when the requests to `user` are exactly want[0..n-1] in that order. */
static int texts_in_order(json_object *log, const char *user,
                          char want[][48], int n) {
    json_object *a = to_user(log, user);
    int i, ok = HT_ASSERT_EQ_INT(json_object_array_length(a), n);

    for (i = 0; ok && i < n; i++) {
        const char *t = req_text(json_object_array_get_idx(a, i));
        if (t == NULL || strcmp(t, want[i]) != 0) {
            ok = HT_FAIL("%s: request %d is \"%s\", want \"%s\"", user, i,
                         t ? t : "(none)", want[i]);
        }
    }
    json_object_put(a);
    return ok;
}

static void check_reorder(struct ctx *c) {
    char want_ord[ORDER_EVENTS][48], want_oth[OTHER_EVENTS][48];
    char mid[64], text[32];
    const char *users[2] = { "u-order", "u-order-other" };
    int want[2] = { ORDER_EVENTS, OTHER_EVENTS };
    long long t0 = ht_wall_ms(), start, took;
    json_object *log = NULL;
    int i, k = 0;

    HT_CHECK_BEGIN("G4: 20 events POSTed in reverse timestamp order within "
                   "the reorder window are answered in timestamp order; "
                   "another conversation is answered too");
    fake_reset(c);
    for (i = 0; i < ORDER_EVENTS; i++)
        snprintf(want_ord[i], sizeof(want_ord[i]), "You said: ord %02d", i);
    for (i = 0; i < OTHER_EVENTS; i++)
        snprintf(want_oth[i], sizeof(want_oth[i]), "You said: oth %d", i);
    start = ht_mono_ms();
    for (i = ORDER_EVENTS - 1; i >= 0; i--) {
        char *body;
        new_mid(c, mid, sizeof(mid));
        snprintf(text, sizeof(text), "ord %02d", i);
        body = text_body(PAGE, users[0], mid, t0 + i * 10, text);
        post(c, body);
        free(body);
        if (i % 4 == 0 && k < OTHER_EVENTS) {
            new_mid(c, mid, sizeof(mid));
            snprintf(text, sizeof(text), "oth %d", k);
            body = text_body(PAGE, users[1], mid, t0 + k * 10, text);
            post(c, body);
            free(body);
            k++;
        }
    }
    took = ht_mono_ms() - start;
    ht_note("25 POSTs took %lld ms (reorder window %ld ms)", took,
            reorder_ms());
    if (took >= reorder_ms() - 100) {
        HT_FAIL("the POSTs took longer than the reorder window: this run "
                "cannot judge G4");
        goto cleanup;
    }
    if (!wait_sends(c, users, want, 2, 200, 15000) || !wait_idle(c, 5000))
        goto cleanup;
    log = fake_log(c);
    texts_in_order(log, users[0], want_ord, ORDER_EVENTS);
    texts_in_order(log, users[1], want_oth, OTHER_EVENTS);
cleanup:
    json_object_put(log);
    HT_CHECK_END();
}

/* ---- Send API error classes ---------------------------------------------- */

static void check_transient_then_ok(struct ctx *c) {
    const char *u = "u-transient";
    char mid[64], *body;
    double retries0, trans0;
    long long dlq0;
    json_object *log = NULL, *a = NULL;

    HT_CHECK_BEGIN("500 (code 2) twice then OK: exactly one successful "
                   "send, no dead letter, retries +2");
    fake_reset(c);
    fake(c, "POST", "/_fake/faults", "{\"status\":500,\"error\":{\"code\":2},"
         "\"count\":2,\"recipient\":\"u-transient\"}");
    retries0 = worker_metric(c, c->wa.port, "hookline_send_retries_total",
                             NULL);
    trans0 = worker_metric(c, c->wa.port, "hookline_send_api_calls_total",
                           "result=\"transient\"");
    dlq0 = ht_redis_dlq_len(db(c), PREFIX);
    new_mid(c, mid, sizeof(mid));
    body = text_body(PAGE, u, mid, ht_wall_ms(), "flaky");
    post(c, body);
    free(body);
    if (!wait_send(c, u, 1, 200, 10000) || !wait_idle(c, 5000))
        goto cleanup;
    log = fake_log(c);
    a = to_user(log, u);
    HT_ASSERT_EQ_INT(json_object_array_length(a), 3);
    HT_ASSERT_EQ_INT(answered_count(log, u, 500), 2);
    HT_ASSERT_EQ_INT(answered_count(log, u, 200), 1);
    HT_ASSERT_EQ_INT(ht_json_int(json_object_array_get_idx(a, 2),
                                 "answered"), 200);
    HT_ASSERT_EQ_STR(req_text(json_object_array_get_idx(a, 2)),
                     "You said: flaky");
    HT_ASSERT_EQ_INT(ht_redis_dlq_len(db(c), PREFIX), dlq0);
    HT_ASSERT_EQ_INT(worker_metric(c, c->wa.port,
                                   "hookline_send_retries_total", NULL) -
                     retries0, 2);
    HT_ASSERT_EQ_INT(worker_metric(c, c->wa.port,
                                   "hookline_send_api_calls_total",
                                   "result=\"transient\"") - trans0, 2);
cleanup:
    json_object_put(a);
    json_object_put(log);
    HT_CHECK_END();
}

/* Posts one text from `user` to `page`, waits for its dead letter and
 * checks it against `w` (event id, page, user, text and t0 filled here),
 * then that the fake Graph saw exactly `sends` requests to the user. */
static void dead_letter_case(struct ctx *c, const char *page,
                             const char *user, const char *text,
                             long long ts, struct want_dlq *w, int sends) {
    char mid[64];
    char *body;
    json_object *d = NULL, *log = NULL;

    new_mid(c, mid, sizeof(mid));
    snprintf(w->event_id, sizeof(w->event_id), "m:%s", mid);
    w->page = page;
    w->user = user;
    w->text = text;
    w->t0 = ht_wall_ms();
    body = text_body(page, user, mid, ts, text);
    post(c, body);
    free(body);
    d = wait_dlq(c, w->event_id, 10000);
    if (d == NULL || !wait_idle(c, 5000))
        goto cleanup;
    assert_dlq(c, d, w);
    log = fake_log(c);
    HT_ASSERT_EQ_INT(req_count(log, user), sends);
cleanup:
    json_object_put(log);
    json_object_put(d);
}

static void check_token_invalid(struct ctx *c) {
    struct want_dlq w = { "token_invalid", "", NULL, NULL, NULL,
                          400, 190, -1, 1, 0 };
    json_object *log = NULL, *a = NULL;

    HT_CHECK_BEGIN("190 (revoked page token) -> dead letter token_invalid "
                   "with error, attempts, worker and envelope");
    fake_reset(c);
    dead_letter_case(c, PAGE_BAD, "u-token", "token please",
                     ht_wall_ms(), &w, 1);
    log = fake_log(c);
    a = to_user(log, "u-token");
    /* the worker really sent the configured (revoked) token */
    HT_ASSERT_EQ_INT(ht_json_bool(json_object_array_get_idx(a, 0),
                                  "token_ok"), 0);
    HT_ASSERT_EQ_STR(ht_json_str(json_object_array_get_idx(a, 0),
                                 "token_via"), "header");
    json_object_put(a);
    json_object_put(log);
    HT_CHECK_END();
}

static void check_outside_window_graph(struct ctx *c) {
    struct want_dlq w = { "outside_window", "", NULL, NULL, NULL,
                          400, 10, 2018278, 1, 0 };

    HT_CHECK_BEGIN("10/2018278 from Graph -> dead letter outside_window, "
                   "not retried");
    fake_reset(c);
    fake(c, "POST", "/_fake/faults", "{\"status\":400,\"error\":{\"code\":10,"
         "\"subcode\":2018278},\"count\":1,\"recipient\":\"u-window\"}");
    dead_letter_case(c, PAGE, "u-window", "late", ht_wall_ms(), &w, 1);
    HT_CHECK_END();
}

static void check_permanent(struct ctx *c) {
    struct want_dlq w = { "send_permanent", "", NULL, NULL, NULL,
                          400, 100, 2018001, 1, 0 };
    json_object *d;

    HT_CHECK_BEGIN("100/2018001 -> dead letter send_permanent carrying "
                   "Graph's message and fbtrace_id, not retried");
    fake_reset(c);
    fake(c, "POST", "/_fake/faults", "{\"status\":400,\"error\":{\"code\":100,"
         "\"subcode\":2018001,\"message\":\"(#100) No matching user found\","
         "\"fbtrace_id\":\"HLWtrace100\"},\"count\":1,"
         "\"recipient\":\"u-perm\"}");
    dead_letter_case(c, PAGE, "u-perm", "nobody", ht_wall_ms(), &w, 1);
    d = dlq_find(c, w.event_id);
    HT_ASSERT_EQ_STR(ht_json_str(jget(d, "error", NULL), "fbtrace_id"),
                     "HLWtrace100");
    HT_ASSERT_EQ_STR(ht_json_str(jget(d, "error", NULL), "message"),
                     "(#100) No matching user found");
    json_object_put(d);
    HT_CHECK_END();
}

static void check_exhausted(struct ctx *c) {
    struct want_dlq w = { "send_exhausted", "", NULL, NULL, NULL,
                          500, 2, -1, MAX_ATTEMPTS, 0 };
    json_object *log = NULL;

    HT_CHECK_BEGIN("always 500 with HOOKLINE_MAX_ATTEMPTS=3 -> "
                   "send_exhausted after exactly 3 attempts");
    fake_reset(c);
    fake(c, "POST", "/_fake/faults", "{\"status\":500,\"error\":{\"code\":2},"
         "\"recipient\":\"u-exhaust\"}");
    dead_letter_case(c, PAGE, "u-exhaust", "never", ht_wall_ms(), &w,
                     MAX_ATTEMPTS);
    log = fake_log(c);
    HT_ASSERT_EQ_INT(answered_count(log, "u-exhaust", 500), MAX_ATTEMPTS);
    json_object_put(log);
    fake_reset(c);
    HT_CHECK_END();
}

static void check_rate_limited(struct ctx *c) {
    const char *u = "u-ratelimit";
    char mid[64], eid[80], *body;
    json_object *log = NULL, *a = NULL, *d = NULL;
    long long gap;

    HT_CHECK_BEGIN("613 once: the page pauses (0.5-1 s), then the same "
                   "send succeeds; no dead letter");
    fake_reset(c);
    fake(c, "POST", "/_fake/faults", "{\"status\":400,\"error\":{\"code\":613},"
         "\"count\":1,\"recipient\":\"u-ratelimit\"}");
    new_mid(c, mid, sizeof(mid));
    snprintf(eid, sizeof(eid), "m:%s", mid);
    body = text_body(PAGE_RL, u, mid, ht_wall_ms(), "slow down");
    post(c, body);
    free(body);
    if (!wait_send(c, u, 1, 200, 10000) || !wait_idle(c, 5000))
        goto cleanup;
    log = fake_log(c);
    a = to_user(log, u);
    if (!HT_ASSERT_EQ_INT(json_object_array_length(a), 2))
        goto cleanup;
    HT_ASSERT_EQ_INT(ht_json_int(json_object_array_get_idx(a, 0),
                                 "answered"), 400);
    HT_ASSERT_EQ_INT(ht_json_int(json_object_array_get_idx(a, 1),
                                 "answered"), 200);
    HT_ASSERT_EQ_STR(req_text(json_object_array_get_idx(a, 1)),
                     "You said: slow down");
    gap = ht_json_int(json_object_array_get_idx(a, 1), "t_ms") -
          ht_json_int(json_object_array_get_idx(a, 0), "t_ms");
    ht_note("retried %lld ms after the 613", gap);
    HT_ASSERT_GE_INT(gap, 450);
    HT_ASSERT_LE_INT(gap, ht_budget_ms(5000));
    d = dlq_find(c, eid);
    HT_ASSERT_TRUE(d == NULL);
cleanup:
    json_object_put(d);
    json_object_put(a);
    json_object_put(log);
    HT_CHECK_END();
}

static void check_window_by_timestamp(struct ctx *c) {
    struct want_dlq w = { "outside_window", "", NULL, NULL, NULL,
                          -1, -1, -1, 0, 0 };
    char mid[64], *body;
    json_object *log = NULL, *a = NULL;

    HT_CHECK_BEGIN("24 h window by the event timestamp: 24 h + 5 min old "
                   "-> outside_window without a Send API call; 23 h old "
                   "-> RESPONSE reply");
    fake_reset(c);
    new_mid(c, mid, sizeof(mid));
    body = text_body(PAGE, "u-recent", mid, ht_wall_ms() - DAY_MS +
                     3600 * 1000, "yesterday");
    post(c, body);
    free(body);
    dead_letter_case(c, PAGE, "u-stale", "too old",
                     ht_wall_ms() - DAY_MS - 5 * 60 * 1000, &w, 0);
    if (!wait_send(c, "u-recent", 1, 200, 10000))
        goto cleanup;
    log = fake_log(c);
    a = to_user(log, "u-recent");
    HT_ASSERT_EQ_INT(json_object_array_length(a), 1);
    HT_ASSERT_EQ_STR(req_text(json_object_array_get_idx(a, 0)),
                     "You said: yesterday");
    HT_ASSERT_EQ_STR(ht_json_str(jget(json_object_array_get_idx(a, 0),
                                      "body", NULL), "messaging_type"),
                     "RESPONSE");
cleanup:
    json_object_put(a);
    json_object_put(log);
    HT_CHECK_END();
}

/* ---- G2 / G5: once ------------------------------------------------------- */

static void check_duplicate_and_replay(struct ctx *c) {
    const char *u = "u-dup";
    char mid[64], mid2[64], key[256], env[1024], qkey[128];
    long long ts = ht_wall_ms(), now;
    long part = part_of(PAGE, u);
    json_object *log = NULL;
    char *body;
    int i;

    HT_CHECK_BEGIN("a duplicate POST sends once (G2); the same envelope "
                   "pushed again is acked without a second send, thanks "
                   "to its done key (G5)");
    fake_reset(c);
    new_mid(c, mid, sizeof(mid));
    body = text_body(PAGE, u, mid, ts, "twice");
    post(c, body);
    post(c, body);
    free(body);
    if (!wait_send(c, u, 1, 200, 10000) || !wait_idle(c, 5000))
        goto cleanup;
    snprintf(key, sizeof(key), PREFIX ":{%ld}:done:m:%s:0", part, mid);
    {
        const char *argv[2] = { "EXISTS", key };
        const char *ttl[2] = { "TTL", key };
        HT_ASSERT_EQ_INT(redis_int(c, 2, argv), 1);
        HT_ASSERT_GT_INT(redis_int(c, 2, ttl), 0);
    }
    /* replay: the envelope as DESIGN.md describes it, straight onto the
     * partition queue (as a takeover or a dlq requeue would) */
    now = ht_wall_ms();
    snprintf(env, sizeof(env), "{\"v\":1,\"id\":\"m:%s\",\"object\":\"page\","
             "\"page\":\"%s\",\"user\":\"%s\",\"ts\":%lld,\"rx\":%lld,"
             "\"kind\":\"message\",\"standby\":false,\"event\":{\"sender\":"
             "{\"id\":\"%s\"},\"recipient\":{\"id\":\"%s\"},\"timestamp\":"
             "%lld,\"message\":{\"mid\":\"%s\",\"text\":\"twice\"}}}", mid,
             PAGE, u, ts, now, u, PAGE, ts, mid);
    key_of(qkey, sizeof(qkey), part, "q");
    {
        const char *argv[3] = { "LPUSH", qkey, env };
        HT_ASSERT_EQ_INT(redis_int(c, 3, argv), 1);
    }
    /* a later event of the same conversation: its reply proves the replay
     * (earlier in the lane) has been handled */
    new_mid(c, mid2, sizeof(mid2));
    body = text_body(PAGE, u, mid2, ts + 1, "after replay");
    post(c, body);
    free(body);
    if (!wait_send(c, u, 2, 200, 10000) || !wait_idle(c, 5000))
        goto cleanup;
    for (i = 0; i < 10; i++)
        ht_sleep_ms(50);      /* nothing else is pending: idle above */
    log = fake_log(c);
    HT_ASSERT_EQ_INT(req_count(log, u), 2);
    {
        char w[2][48] = { "You said: twice", "You said: after replay" };
        texts_in_order(log, u, w, 2);
    }
cleanup:
    json_object_put(log);
    HT_CHECK_END();
}

/* ---- SIGTERM ------------------------------------------------------------- */

static void check_sigterm_drain(struct ctx *c) {
    const char *u = "u-drain";
    char mid[64], text[32], qkey[128], ikey[128], done[256];
    long long ts = ht_wall_ms(), t0, took;
    long part = part_of(PAGE, u);
    long tries, i;
    json_object *log = NULL;
    int code = -1;
    char *body;

    HT_CHECK_BEGIN("SIGTERM with one send running and 3 events queued "
                   "behind it: the running one finishes, the queued go "
                   "back to the queue, leases released, exit 0 within 10 s");
    snprintf(c->drain_user, sizeof(c->drain_user), "%s", u);
    fake_reset(c);
    fake(c, "POST", "/_fake/faults", "{\"delay_ms\":2500,\"count\":1,"
         "\"recipient\":\"u-drain\"}");
    key_of(qkey, sizeof(qkey), part, "q");
    key_of(ikey, sizeof(ikey), part, "inflight");
    new_mid(c, mid, sizeof(mid));
    snprintf(done, sizeof(done), PREFIX ":{%ld}:done:m:%s:0", part, mid);
    body = text_body(PAGE, u, mid, ts, "drain running");
    post(c, body);
    free(body);
    /* the first send is in flight (its answer takes 2.5 s) */
    if (!wait_send(c, u, 1, 0, 5000))
        goto cleanup;
    for (i = 1; i <= 3; i++) {
        new_mid(c, mid, sizeof(mid));
        snprintf(text, sizeof(text), "hello drain %ld", i);
        body = text_body(PAGE, u, mid, ts + i, text);
        post(c, body);
        free(body);
    }
    tries = ht_budget_ms(2000) / 20;
    for (i = 0; i < tries; i++) {
        if (ht_redis_llen(db(c), qkey) == 0 &&
            ht_redis_llen(db(c), ikey) == 4)
            break;
        ht_sleep_ms(20);
    }
    if (!HT_ASSERT_EQ_INT(ht_redis_llen(db(c), ikey), 4))
        goto cleanup;
    t0 = ht_mono_ms();
    HT_ASSERT_EQ_INT(ht_proc_signal(&c->wa, SIGTERM), HL_OK);
    if (!HT_ASSERT_EQ_INT(ht_proc_wait_exit(&c->wa, ht_budget_ms(10000),
                                            &code), HL_OK) ||
        !HT_ASSERT_EQ_INT(code, 0))
        ht_proc_dump_log(&c->wa, 6000);
    took = ht_mono_ms() - t0;
    ht_note("worker A exited %d after %lld ms", code, took);
    log = fake_log(c);
    /* the running send finished and was recorded and acked */
    HT_ASSERT_EQ_INT(req_count(log, u), 1);
    {
        json_object *a = to_user(log, u);
        HT_ASSERT_EQ_STR(req_text(json_object_array_get_idx(a, 0)),
                         "You said: drain running");
        json_object_put(a);
    }
    {
        const char *argv[2] = { "EXISTS", done };
        HT_ASSERT_EQ_INT(redis_int(c, 2, argv), 1);
    }
    /* the queued ones are back on the queue, none left in flight */
    HT_ASSERT_EQ_INT(ht_redis_llen(db(c), qkey), 3);
    HT_ASSERT_EQ_INT(ht_redis_llen(db(c), ikey), 0);
    HT_ASSERT_EQ_INT(leases_of(c, c->wa_id), 0);
    HT_ASSERT_EQ_INT(zscore_exists(c, c->wa_id), 0);
cleanup:
    json_object_put(log);
    HT_CHECK_END();
}

/* ---- rules file (worker B) ----------------------------------------------- */

static int write_rules(struct ctx *c) {
    struct ht_text t = { 0 };
    int ok;

    ht_text_add(&t,
        "{\"rules\":[\n"
        " {\"match\":{\"kind\":\"message\","
        "\"text_regex\":\"^(hi|hello)( |$)\"},\n"
        "  \"actions\":[{\"type\":\"sender_action\","
        "\"action\":\"mark_seen\"},\n"
        "    {\"type\":\"reply\",\"text\":\"Hello! You wrote: {text}\",\n"
        "     \"quick_replies\":[{\"content_type\":\"text\","
        "\"title\":\"Prices\",\"payload\":\"PRICES\"}]}]},\n"
        " {\"match\":{\"kind\":\"postback\",\"payload_prefix\":\"BUY_\"},\n"
        "  \"actions\":[{\"type\":\"forward\","
        "\"url\":\"http://127.0.0.1:%d/orders\"}]},\n"
        " {\"match\":{\"kind\":\"postback\",\"payload_prefix\":\"FAIL_\"},\n"
        "  \"actions\":[{\"type\":\"forward\","
        "\"url\":\"http://127.0.0.1:%d/broken\"}]}\n"
        "]}\n", c->be.port, c->be.port);
    snprintf(c->rules_path, sizeof(c->rules_path), "%s/hlw-rules-%ld.json",
             ht_tmpdir(), (long)getpid());
    ok = !t.failed && ht_write_file(c->rules_path, t.p, t.len) == HL_OK;
    free(t.p);
    return ok ? 1 : HT_FAIL("cannot write %s", c->rules_path);
}

/* 1 when the replies (mark_seen requests skipped) to `user` in `log` are
 * exactly want[0..n-1] in that order. */
static int replies_in_order(json_object *log, const char *user,
                            char want[][48], int n) {
    json_object *a = to_user(log, user);
    size_t j;
    int k = 0, ok = 1;

    for (j = 0; a != NULL && j < json_object_array_length(a); j++) {
        const char *t = req_text(json_object_array_get_idx(a, j));
        if (t == NULL)
            continue;               /* the mark_seen before each reply */
        if (k < n && strcmp(t, want[k]) != 0)
            ok = HT_FAIL("%s: reply %d is \"%s\", want \"%s\"", user, k,
                         t, want[k]);
        k++;
    }
    json_object_put(a);
    return HT_ASSERT_EQ_INT(k, n) && ok;
}

/* Worker B starts on a backlog: the 3 events SIGTERM handed back, and 5
 * events of another conversation POSTed in reverse timestamp order (within
 * the window of each other) while no worker ran, aged past the window so
 * no timer can sort them. Three checks. Returns 1 when B runs. */
static int check_start_rules_worker(struct ctx *c) {
    const char *u = "u-backlog";
    char mid[64], text[32], want_bl[5][48], want_dr[3][48];
    const char *users[2] = { u, c->drain_user };
    int want[2] = { 10, 6 };        /* mark_seen + reply per event */
    long long ts = ht_wall_ms(), last, age;
    json_object *log = NULL;
    int i, ok = 0;

    HT_CHECK_BEGIN("worker B (rules file, MESSENGER_PAGE_ID) starts on a "
                   "backlog and answers all of it");
    fake_reset(c);
    for (i = 4; i >= 0; i--) {
        char *body;
        new_mid(c, mid, sizeof(mid));
        snprintf(text, sizeof(text), "hello bl %d", i);
        body = text_body(PAGE, u, mid, ts + i, text);
        post(c, body);
        free(body);
    }
    last = ht_mono_ms();
    for (i = 0; i < 5; i++)
        snprintf(want_bl[i], sizeof(want_bl[i]), "Hello! You wrote: hello "
                 "bl %d", i);
    for (i = 0; i < 3; i++)
        snprintf(want_dr[i], sizeof(want_dr[i]), "Hello! You wrote: hello "
                 "drain %d", i + 1);
    if (!be_start(&c->be) || !write_rules(c))
        goto cleanup;
    /* the backlog is older than the reorder window when B first pops it */
    age = ht_mono_ms() - last;
    if (age < reorder_ms() + 200)
        ht_sleep_ms((long)(reorder_ms() + 200 - age));
    if (!start_worker(c, &c->wb, 1, c->wb_id, sizeof(c->wb_id)) ||
        !wait_ready(c, &c->wb, 10000))
        goto cleanup;
    ok = 1;
    if (!wait_sends(c, users, want, 2, 200, 15000) || !wait_idle(c, 5000))
        goto cleanup;
    log = fake_log(c);
cleanup:
    HT_CHECK_END();
    if (!ok)
        return 0;
    HT_CHECK_BEGIN("G4 after SIGTERM: the 3 handed-back events of a "
                   "conversation run in timestamp order on the next worker");
    if (HT_ASSERT_TRUE(log != NULL))
        replies_in_order(log, c->drain_user, want_dr, 3);
    HT_CHECK_END();
    HT_CHECK_BEGIN("G4 for a backlog: 5 events POSTed in reverse timestamp "
                   "order while no worker ran are answered in timestamp "
                   "order");
    if (HT_ASSERT_TRUE(log != NULL))
        replies_in_order(log, u, want_bl, 5);
    HT_CHECK_END();
    json_object_put(log);
    return ok;
}

static void check_rules_regex(struct ctx *c) {
    char mid[64], *body;
    long long ts = ht_wall_ms();
    json_object *log = NULL, *a = NULL, *seen, *reply, *qr;

    HT_CHECK_BEGIN("rules file: text_regex matches case-insensitively -> "
                   "mark_seen, then the reply with quick replies; a text "
                   "no rule matches gets nothing");
    fake_reset(c);
    new_mid(c, mid, sizeof(mid));
    body = text_body(PAGE, "u-nomatch", mid, ts, "well hello");
    post(c, body);
    free(body);
    new_mid(c, mid, sizeof(mid));
    body = text_body(PAGE, "u-regex", mid, ts, "HELLO there");
    post(c, body);
    free(body);
    if (!wait_send(c, "u-regex", 2, 200, 10000) || !wait_idle(c, 5000))
        goto cleanup;
    log = fake_log(c);
    a = to_user(log, "u-regex");
    if (!HT_ASSERT_EQ_INT(json_object_array_length(a), 2))
        goto cleanup;
    seen = json_object_array_get_idx(a, 0);
    reply = json_object_array_get_idx(a, 1);
    HT_ASSERT_EQ_STR(req_action(seen), "mark_seen");
    HT_ASSERT_LT_INT(ht_json_int(seen, "seq"), ht_json_int(reply, "seq"));
    HT_ASSERT_EQ_STR(req_text(reply), "Hello! You wrote: HELLO there");
    HT_ASSERT_EQ_STR(ht_json_str(jget(reply, "body", NULL),
                                 "messaging_type"), "RESPONSE");
    qr = jget(jget(jget(reply, "body", NULL), "message", NULL),
              "quick_replies", NULL);
    HT_ASSERT_TRUE(qr != NULL && json_object_is_type(qr, json_type_array) &&
                   json_object_array_length(qr) == 1);
    HT_ASSERT_EQ_STR(ht_json_str(json_object_array_get_idx(qr, 0),
                                 "title"), "Prices");
    HT_ASSERT_EQ_STR(ht_json_str(json_object_array_get_idx(qr, 0),
                                 "payload"), "PRICES");
    HT_ASSERT_EQ_INT(req_count(log, "u-nomatch"), 0);
    HT_ASSERT_EQ_INT(json_object_array_length(log), 2);
cleanup:
    json_object_put(a);
    json_object_put(log);
    HT_CHECK_END();
}

static void check_rules_forward(struct ctx *c) {
    char mid[64], mid_fail[64], mid_none[64], eid[80];
    char sig[HL_SIG_LEN + 1], *body;
    long long ts = ht_wall_ms();
    json_object *log = NULL, *a = NULL, *env = NULL, *d = NULL;
    struct be_record rec;
    int n;

    HT_CHECK_BEGIN("payload_prefix -> forward: the backend gets the signed "
                   "envelope and its answer is sent; a failing backend -> "
                   "forward_failed; no match -> nothing");
    fake_reset(c);
    memset(&rec, 0, sizeof(rec));
    new_mid(c, mid, sizeof(mid));
    body = postback_body(PAGE, "u-fwd", mid, ts, "BUY_42");
    post(c, body);
    free(body);
    new_mid(c, mid_fail, sizeof(mid_fail));
    body = postback_body(PAGE, "u-fwd-fail", mid_fail, ts, "FAIL_9");
    post(c, body);
    free(body);
    new_mid(c, mid_none, sizeof(mid_none));
    body = postback_body(PAGE, "u-fwd-none", mid_none, ts, "SELL_1");
    post(c, body);
    free(body);
    if (!wait_send(c, "u-fwd", 1, 200, 10000))
        goto cleanup;
    snprintf(eid, sizeof(eid), "p:%s", mid_fail);
    d = wait_dlq(c, eid, 10000);
    if (!wait_idle(c, 5000))
        goto cleanup;
    /* what the backend received */
    pthread_mutex_lock(&c->be.mu);
    n = c->be.n;
    if (n >= 1) {
        int i;
        for (i = 0; i < n; i++) {
            if (strcmp(c->be.rec[i].path, "/orders") == 0 &&
                rec.body == NULL) {
                rec = c->be.rec[i];
                rec.body = strdup(c->be.rec[i].body);
            }
        }
    }
    pthread_mutex_unlock(&c->be.mu);
    HT_ASSERT_EQ_INT(n, 2);
    if (!HT_ASSERT_TRUE(rec.body != NULL))
        goto cleanup;
    if (!HT_ASSERT_EQ_INT(hl_hmac_sign(SECRET, strlen(SECRET), rec.body,
                                       rec.len, sig), HL_OK))
        goto cleanup;
    HT_ASSERT_EQ_STR(rec.sig, sig);
    env = json_tokener_parse(rec.body);
    snprintf(eid, sizeof(eid), "p:%s", mid);
    HT_ASSERT_EQ_INT(ht_json_int(env, "v"), 1);
    HT_ASSERT_EQ_STR(ht_json_str(env, "id"), eid);
    HT_ASSERT_EQ_STR(ht_json_str(env, "kind"), "postback");
    HT_ASSERT_EQ_STR(ht_json_str(env, "page"), PAGE);
    HT_ASSERT_EQ_STR(ht_json_str(env, "user"), "u-fwd");
    HT_ASSERT_EQ_STR(ht_json_str(jget(jget(env, "event", NULL), "postback",
                                      NULL), "payload"), "BUY_42");
    /* the backend's message went to the user */
    log = fake_log(c);
    a = to_user(log, "u-fwd");
    HT_ASSERT_EQ_INT(json_object_array_length(a), 1);
    HT_ASSERT_EQ_STR(req_text(json_object_array_get_idx(a, 0)),
                     "from backend");
    HT_ASSERT_EQ_STR(ht_json_str(jget(json_object_array_get_idx(a, 0),
                                      "body", NULL), "messaging_type"),
                     "RESPONSE");
    HT_ASSERT_EQ_INT(req_count(log, "u-fwd-fail"), 0);
    HT_ASSERT_EQ_INT(req_count(log, "u-fwd-none"), 0);
    HT_ASSERT_EQ_STR(ht_json_str(d, "reason"), "forward_failed");
    HT_ASSERT_EQ_INT(ht_json_int(jget(d, "error", NULL), "http"), 400);
    HT_ASSERT_EQ_STR(ht_json_str(d, "worker"), c->wb_id);
cleanup:
    free(rec.body);
    json_object_put(d);
    json_object_put(env);
    json_object_put(a);
    json_object_put(log);
    HT_CHECK_END();
}

/* ---- malformed rules ----------------------------------------------------- */

/* Runs a worker on rules `text`; expects exit 2 and every `needles[i]`
 * in its output. */
static void expect_bad_rules(struct ctx *c, const char *what,
                             const char *text, const char *const *needles) {
    char path[1024], err[HL_ERR_LEN], url[96], rules[600];
    const char *env[] = { url, rules, "HOOKLINE_PREFIX=hlw-bad",
                          "MESSENGER_PAGE_ACCESS_TOKEN=" TOKEN, NULL };
    char *out = NULL;
    size_t len = 0, i;
    int code = -1;

    snprintf(url, sizeof(url), "REDIS_URL=%s", c->st.redis.url);
    snprintf(rules, sizeof(rules), "HOOKLINE_RULES=%s", c->bad_path);
    if (text != NULL && ht_write_file(c->bad_path, text, strlen(text))
        != HL_OK) {
        HT_FAIL("cannot write %s", c->bad_path);
        return;
    }
    if (text == NULL)
        unlink(c->bad_path);
    ht_bin_path("hookline-worker", path, sizeof(path));
    if (ht_proc_run(path, NULL, env, 10000, &code, &out, &len, err)
        != HL_OK) {
        HT_FAIL("%s: %s", what, err);
        return;
    }
    if (!HT_ASSERT_EQ_INT(code, 2))
        ht_note("case: %s", what);
    for (i = 0; needles[i] != NULL; i++) {
        if (!HT_ASSERT_CONTAINS(out, needles[i]))
            ht_note("case: %s; output: %s", what, out);
    }
    HT_ASSERT_NOT_CONTAINS(out, TOKEN);
    free(out);
}

static void check_bad_rules(struct ctx *c) {
    static const char bad_json[] =
        "{\"rules\":[\n"
        "  {\"match\":{\"kind\":\"message\"},\n"
        "   \"actions\":[{\"type\":\"reply\",\"text\":\"x\"}]}\n"
        "  {\"match\":{\"kind\":\"postback\"},\n"
        "   \"actions\":[{\"type\":\"reply\",\"text\":\"y\"}]}\n"
        "]}\n";
    static const char bad_type[] =
        "{\"rules\":[\n"
        "  {\"match\":{\"kind\":\"message\"},\n"
        "   \"actions\":[{\"type\":\"reply\",\"text\":\"x\"}]},\n"
        "  {\"match\":{\"kind\":\"postback\"},\n"
        "   \"actions\":[{\"type\":\"teleport\"}]}\n"
        "]}\n";
    static const char bad_regex[] =
        "{\"rules\":[{\"match\":{\"kind\":\"message\","
        "\"text_regex\":\"(unclosed\"},"
        "\"actions\":[{\"type\":\"reply\",\"text\":\"x\"}]}]}";
    const char *n_json[] = { "line 4", NULL };
    const char *n_type[] = { "rule 1", "teleport", NULL };
    const char *n_regex[] = { "rule 0", "text_regex", NULL };
    const char *n_missing[] = { "HOOKLINE_RULES", "hlw-bad-rules", NULL };

    HT_CHECK_BEGIN("a malformed rules file: exit 2 naming the line (bad "
                   "JSON) or the rule and the problem (unknown action type, "
                   "bad regex, missing file)");
    snprintf(c->bad_path, sizeof(c->bad_path), "%s/hlw-bad-rules-%ld.json",
             ht_tmpdir(), (long)getpid());
    expect_bad_rules(c, "bad JSON", bad_json, n_json);
    expect_bad_rules(c, "unknown action type", bad_type, n_type);
    expect_bad_rules(c, "bad regex", bad_regex, n_regex);
    expect_bad_rules(c, "missing file", NULL, n_missing);
    unlink(c->bad_path);
    HT_CHECK_END();
}

/* ---- shutdown and logs --------------------------------------------------- */

static void check_sigterm_b(struct ctx *c) {
    int code = -1;

    HT_CHECK_BEGIN("SIGTERM: worker B exits 0 within 10 s (no leaks under "
                   "ASan), its leases and live entry are gone");
    HT_ASSERT_EQ_INT(ht_proc_signal(&c->wb, SIGTERM), HL_OK);
    if (!HT_ASSERT_EQ_INT(ht_proc_wait_exit(&c->wb, ht_budget_ms(10000),
                                            &code), HL_OK) ||
        !HT_ASSERT_EQ_INT(code, 0))
        ht_proc_dump_log(&c->wb, 6000);
    HT_ASSERT_EQ_INT(leases_of(c, c->wb_id), 0);
    HT_ASSERT_EQ_INT(zscore_exists(c, c->wb_id), 0);
    HT_CHECK_END();
}

static void check_no_secrets(struct ctx *c) {
    static const char *const secrets[] = { TOKEN, BAD_TOKEN, SECRET };
    struct ht_proc *ws[2] = { &c->wa, &c->wb };
    size_t i, k, len;

    HT_CHECK_BEGIN("the page tokens and the app secret never appear in the "
                   "workers' output");
    for (k = 0; k < 2; k++) {
        char *log = NULL;
        if (!HT_ASSERT_EQ_INT(ht_proc_read_log(ws[k], &log, &len), HL_OK))
            continue;
        HT_ASSERT_CONTAINS(log, "\"started\"");
        for (i = 0; i < HL_ARRAY_LEN(secrets); i++)
            HT_ASSERT_NOT_CONTAINS(log, secrets[i]);
        free(log);
    }
    HT_CHECK_END();
}

/* ---- main ---------------------------------------------------------------- */

int main(void) {
    struct ctx c;
    int rc;

    ht_init();
    memset(&c, 0, sizeof(c));
    ht_stack_init(&c.st);
    c.wa.pid = c.wb.pid = -1;
    c.be.fd = -1;
    pthread_mutex_init(&c.be.mu, NULL);
    c.req_ms = ht_budget_ms(5000);
    if (check_setup(&c)) {
        check_echo_replies(&c);
        check_silent_kinds(&c);
        check_reorder(&c);
        check_transient_then_ok(&c);
        check_token_invalid(&c);
        check_outside_window_graph(&c);
        check_permanent(&c);
        check_exhausted(&c);
        check_rate_limited(&c);
        check_window_by_timestamp(&c);
        check_duplicate_and_replay(&c);
        check_sigterm_drain(&c);
        if (check_start_rules_worker(&c)) {
            check_rules_regex(&c);
            check_rules_forward(&c);
            check_sigterm_b(&c);
        }
        check_bad_rules(&c);
        check_no_secrets(&c);
    }
    rc = ht_summary();
    ht_proc_cleanup(&c.wb);
    ht_proc_cleanup(&c.wa);
    ht_stack_cleanup(&c.st);
    be_stop(&c.be);
    pthread_mutex_destroy(&c.be.mu);
    if (c.pages_path[0] != '\0')
        unlink(c.pages_path);
    if (c.rules_path[0] != '\0')
        unlink(c.rules_path);
    return rc;
}
