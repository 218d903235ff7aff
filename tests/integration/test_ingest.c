/* test_ingest.c - bin/hookline-ingest against a real redis-server of our
 * own: every row of DESIGN.md's HTTP table, the Redis keyspace and envelope
 * it writes, dedupe (G2), the durable ack and 503s under a frozen or dead
 * Redis (G1), signature rules (G6), bounded input (G7), dead letters, and
 * a clean SIGTERM.
 *
 * Two ingest instances share the server: "main" (prefix hlt, a rotation
 * pair of distinctive secrets, debug logging) and "aux" (prefix hlaux, the
 * fixtures' published secrets so their known-answer signatures apply, and
 * HOOKLINE_MAX_BODY=4096 for the size limit). Every check starts from
 * FLUSHALL on that server, computes partitions with the test library's own
 * FNV-1a 64 (not common/'s), and asserts effects that differ when the code
 * is wrong. It does not test the worker or hookctl. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#include "hl.h"
#include "hl_hmac.h"
#include "hl_log.h"
#include "../lib/hl_test.h"
#include "../lib/httpc.h"
#include "../lib/proc.h"
#include "../lib/redis_fixture.h"

#define PREFIX "hlt"
#define AUX_PREFIX "hlaux"
#define VERIFY_TOKEN "hlt-verify-6b1f2e9d40c7"
#define AUX_VERIFY_TOKEN "hlt-auxverify-0c9d7e51"
#define SECRET_OLD "hlt-secret-old-91c3a7e2f5"
#define SECRET_NEW "hlt-secret-new-4d8b0c6a13"
#define SECRET_OTHER "hlt-secret-not-ours-77aa"
#define FIX_SECRET_1 "old-secret-0001"
#define FIX_SECRET_2 "hookline-fixture-secret-3f9a"
#define PARTITIONS 16
#define AUX_MAX_BODY 4096
#define WEBHOOK "/webhook"
#define DEDUPE_TTL 172800
#define BULK_EVENTS 1000
#define CONCURRENT 200
#define DEEP_NESTING 100000

#define FIX_TEXT "webhook/message_text_botman.json"
#define FIX_BATCH "webhook/batch_multi_entry_multi_event_composed.json"

/* Everything the checks share. */
struct ctx {
    struct ht_redis redis;      /* our redis-server */
    struct ht_proc ingest;      /* main instance */
    struct ht_proc aux;         /* fixture secrets, small max body */
    redisContext *db;           /* blocking client for assertions */
    long ack_ms;                /* HOOKLINE_ACK_TIMEOUT_MS of both */
    long slack_ms;              /* how late a 503 may come after that */
    long req_ms;                /* timeout of one HTTP request */
};

/* ---- small helpers --------------------------------------------------- */

static long partition_of(const char *page, const char *user) {
    return ht_redis_partition(page, user, PARTITIONS);
}

/* The blocking client, reconnected when a Redis restart broke it. */
static redisContext *db(struct ctx *c) {
    if (c->db != NULL && c->db->err == 0)
        return c->db;
    if (c->db != NULL)
        redisFree(c->db);
    c->db = ht_redis_connect(&c->redis, 2000);
    return c->db;
}

static int flush(struct ctx *c) {
    if (ht_redis_flushall(db(c)) != HL_OK)
        return HT_FAIL("FLUSHALL failed");
    return 1;
}

static long long queue_len(struct ctx *c, const char *prefix, long part) {
    return ht_redis_queue_len(db(c), prefix, part);
}

static long long queued_total(struct ctx *c, const char *prefix) {
    return ht_redis_queued_total(db(c), prefix, PARTITIONS);
}

static long long key_count(struct ctx *c, const char *prefix) {
    return ht_redis_key_count(db(c), prefix);
}

static long long dlq_len(struct ctx *c, const char *prefix) {
    return ht_redis_dlq_len(db(c), prefix);
}

static json_object *all_items(struct ctx *c, const char *prefix) {
    return ht_redis_all_items(db(c), prefix, PARTITIONS);
}

/* entry[e].messaging[i] of a parsed payload (borrowed), or NULL. */
static json_object *payload_event(json_object *payload, size_t e, size_t i) {
    json_object *entries = NULL;
    json_object *msgs = NULL;
    json_object *entry;

    if (payload == NULL ||
        !json_object_object_get_ex(payload, "entry", &entries))
        return NULL;
    entry = json_object_array_get_idx(entries, e);
    if (entry == NULL || !json_object_object_get_ex(entry, "messaging", &msgs))
        return NULL;
    return json_object_array_get_idx(msgs, i);
}

/* Loads a fixture; a missing one fails the check. Caller frees. */
static char *fixture(const char *rel, size_t *len) {
    char *buf = NULL;

    if (ht_read_fixture(rel, &buf, len) != HL_OK) {
        HT_FAIL("cannot read fixture %s/%s", ht_fixtures_dir(), rel);
        return NULL;
    }
    return buf;
}

/* One text message from `user` to page "PG" with message id `mid`. */
static void text_event(struct ht_text *t, const char *user, const char *mid,
                       long long ts) {
    ht_text_add(t, "{\"sender\":{\"id\":\"%s\"},\"recipient\":{\"id\":\"PG\"},"
                "\"timestamp\":%lld,\"message\":{\"mid\":\"%s\","
                "\"text\":\"hello %s\"}}", user, ts, mid, mid);
}

/* A whole POST body holding one text event (see text_event). Caller
 * frees t.p. */
static void one_event_body(struct ht_text *t, const char *user,
                           const char *mid) {
    ht_text_add(t, "{\"object\":\"page\",\"entry\":[{\"id\":\"PG\","
                "\"time\":1700000000000,\"messaging\":[");
    text_event(t, user, mid, 1700000000123LL);
    ht_text_add(t, "]}]}");
}

static int post(int port, const char *secret, const char *body, size_t len,
                long timeout_ms, struct ht_http_resp *r) {
    return ht_http_post_signed(port, WEBHOOK, secret, body, len, timeout_ms,
                               r);
}

/* POSTs and returns the status (0 on a transport error, reported). */
static long post_status(struct ctx *c, int port, const char *secret,
                        const char *body, size_t len) {
    struct ht_http_resp r;
    long status;

    post(port, secret, body, len, c->req_ms, &r);
    if (r.status == 0)
        ht_note("POST failed: %s", r.err);
    status = r.status;
    ht_http_resp_cleanup(&r);
    return status;
}

/* POSTs with an explicit header list (NULL-terminated). */
static long post_headers(struct ctx *c, const char *const *headers,
                         const char *body, size_t len) {
    struct ht_http_req req;
    struct ht_http_resp r;
    long status;

    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.port = c->ingest.port;
    req.path = WEBHOOK;
    req.headers = headers;
    req.body = body;
    req.body_len = len;
    req.timeout_ms = c->req_ms;
    ht_http_do(&req, &r);
    if (r.status == 0)
        ht_note("POST failed: %s", r.err);
    status = r.status;
    ht_http_resp_cleanup(&r);
    return status;
}

static long get_status(struct ctx *c, int port, const char *path) {
    return ht_http_status(port, path, c->req_ms);
}

/* Polls GET path on `port` until it answers `want` (tries x 100 ms).
 * Returns the last status. */
static long poll_status(struct ctx *c, int port, const char *path,
                        long want, int tries) {
    long status = 0;
    int i;

    for (i = 0; i < tries; i++) {
        status = get_status(c, port, path);
        if (status == want)
            break;
        ht_sleep_ms(100);
    }
    return status;
}

/* POSTs until 200 (tries x 200 ms). Returns the last status. */
static long post_until_ok(struct ctx *c, const char *body, size_t len,
                          int tries) {
    long status = 0;
    int i;

    for (i = 0; i < tries; i++) {
        status = post_status(c, c->ingest.port, SECRET_NEW, body, len);
        if (status == 200)
            break;
        ht_sleep_ms(200);
    }
    return status;
}

/* Sum of the samples of metric `name` in Prometheus text, -1 if none. */
static double metric_value(const char *text, const char *name) {
    size_t nlen = strlen(name);
    const char *line = text;
    double sum = -1;

    while (line != NULL && *line != '\0') {
        const char *nl = strchr(line, '\n');
        size_t linelen = nl == NULL ? strlen(line) : (size_t)(nl - line);
        if (line[0] != '#' && linelen > nlen &&
            strncmp(line, name, nlen) == 0 &&
            (line[nlen] == ' ' || line[nlen] == '{')) {
            const char *sp = line + linelen;
            while (sp > line && sp[-1] != ' ')
                sp--;
            sum = (sum < 0 ? 0 : sum) + strtod(sp, NULL);
        }
        line = nl == NULL ? NULL : nl + 1;
    }
    return sum;
}

static double metrics_of(struct ctx *c, const char *name) {
    struct ht_http_resp r;
    double v = -1;

    ht_http_get(c->ingest.port, "/metrics", c->req_ms, &r);
    if (r.status == 200 && r.body != NULL)
        v = metric_value(r.body, name);
    ht_http_resp_cleanup(&r);
    return v;
}

/* ---- setup ------------------------------------------------------------- */

static int start_ingest(struct ctx *c, struct ht_proc *p, int aux) {
    char path[1024];
    char err[HL_ERR_LEN];
    char url[96];
    char ack[32];
    const char *env_main[] = {
        url, "PORT=0", "HOOKLINE_LISTEN=127.0.0.1",
        "MESSENGER_VERIFY_TOKEN=" VERIFY_TOKEN,
        "MESSENGER_APP_SECRET=" SECRET_OLD "," SECRET_NEW,
        "HOOKLINE_PREFIX=" PREFIX, ack, "HOOKLINE_MAX_BODY=1048576",
        "HOOKLINE_PARTITIONS=16", "HOOKLINE_LOG=debug", NULL
    };
    const char *env_aux[] = {
        url, "PORT=0", "HOOKLINE_LISTEN=127.0.0.1",
        "MESSENGER_VERIFY_TOKEN=" AUX_VERIFY_TOKEN,
        "MESSENGER_APP_SECRET=" FIX_SECRET_1 "," FIX_SECRET_2,
        "HOOKLINE_PREFIX=" AUX_PREFIX, ack, "HOOKLINE_MAX_BODY=4096",
        "HOOKLINE_PARTITIONS=16", "HOOKLINE_LOG=info", NULL
    };

    snprintf(url, sizeof(url), "REDIS_URL=%s", c->redis.url);
    snprintf(ack, sizeof(ack), "HOOKLINE_ACK_TIMEOUT_MS=%ld", c->ack_ms);
    if (ht_bin_path("hookline-ingest", path, sizeof(path)) != HL_OK)
        return HT_FAIL("HL_BIN too long");
    if (ht_proc_start_server(p, path, NULL, aux ? env_aux : env_main, err)
        != HL_OK)
        return HT_FAIL("%s", err);
    ht_note("%s ingest listening on port %d", aux ? "aux" : "main",
            p->port);
    return 1;
}

static int check_setup(struct ctx *c) {
    char err[HL_ERR_LEN];
    int ok = 0;

    HT_CHECK_BEGIN("redis-server and two ingests start, PORT=0 announced");
    if (ht_redis_start(&c->redis, err) != HL_OK) {
        HT_FAIL("redis-server: %s", err);
        goto done;
    }
    ht_note("redis-server on port %d", c->redis.port);
    if (!HT_ASSERT_TRUE(db(c) != NULL))
        goto done;
    if (!start_ingest(c, &c->ingest, 0) || !start_ingest(c, &c->aux, 1))
        goto done;
    HT_ASSERT_GT_INT(c->ingest.port, 0);
    HT_ASSERT_NE_INT(c->ingest.port, c->aux.port);
    /* both reach Redis before the checks start (bounded) */
    HT_ASSERT_EQ_INT(poll_status(c, c->ingest.port, "/readyz", 200,
                                 (int)(ht_budget_ms(5000) / 100)), 200);
    HT_ASSERT_EQ_INT(poll_status(c, c->aux.port, "/readyz", 200,
                                 (int)(ht_budget_ms(5000) / 100)), 200);
    ok = !ht_check_failed();
done:
    HT_CHECK_END();
    return ok;
}

/* ---- program surface ---------------------------------------------------- */

static void check_help(struct ctx *c) {
    char path[1024];
    char err[HL_ERR_LEN];
    const char *args[] = { "--help", NULL };
    char *out = NULL;
    size_t len = 0;
    int code = -1;

    (void)c;
    HT_CHECK_BEGIN("--help exits 0 and lists the ingest variables");
    ht_bin_path("hookline-ingest", path, sizeof(path));
    if (ht_proc_run(path, args, NULL, 5000, &code, &out, &len, err)
        != HL_OK) {
        HT_FAIL("%s", err);
    } else {
        HT_ASSERT_EQ_INT(code, 0);
        HT_ASSERT_CONTAINS(out, "MESSENGER_APP_SECRET");
        HT_ASSERT_CONTAINS(out, "MESSENGER_VERIFY_TOKEN");
        HT_ASSERT_CONTAINS(out, "HOOKLINE_ACK_TIMEOUT_MS");
    }
    free(out);
    HT_CHECK_END();
}

/* Runs ingest with `env`, expects exit 2 and `name` in the output, and
 * none of the secrets. */
static void expect_config_error(const char *const *env, const char *name) {
    char path[1024];
    char err[HL_ERR_LEN];
    char *out = NULL;
    size_t len = 0;
    int code = -1;

    ht_bin_path("hookline-ingest", path, sizeof(path));
    if (ht_proc_run(path, NULL, env, 5000, &code, &out, &len, err)
        != HL_OK) {
        HT_FAIL("%s", err);
        return;
    }
    if (!HT_ASSERT_EQ_INT(code, 2) || !HT_ASSERT_CONTAINS(out, name))
        ht_note("case: %s", name);
    HT_ASSERT_NOT_CONTAINS(out, SECRET_NEW);
    HT_ASSERT_NOT_CONTAINS(out, VERIFY_TOKEN);
    free(out);
}

static void check_config_errors(struct ctx *c) {
    char url[96];
    const char *no_token[] = {
        url, "PORT=0", "MESSENGER_APP_SECRET=" SECRET_NEW, NULL
    };
    const char *no_secret[] = {
        url, "PORT=0", "MESSENGER_VERIFY_TOKEN=" VERIFY_TOKEN, NULL
    };
    const char *bad_parts[] = {
        url, "PORT=0", "MESSENGER_VERIFY_TOKEN=" VERIFY_TOKEN,
        "MESSENGER_APP_SECRET=" SECRET_NEW, "HOOKLINE_PARTITIONS=0", NULL
    };
    const char *bad_ack[] = {
        url, "PORT=0", "MESSENGER_VERIFY_TOKEN=" VERIFY_TOKEN,
        "MESSENGER_APP_SECRET=" SECRET_NEW, "HOOKLINE_ACK_TIMEOUT_MS=3s",
        NULL
    };

    snprintf(url, sizeof(url), "REDIS_URL=%s", c->redis.url);
    HT_CHECK_BEGIN("config errors exit 2 naming the variable, not secrets");
    expect_config_error(no_token, "MESSENGER_VERIFY_TOKEN");
    expect_config_error(no_secret, "MESSENGER_APP_SECRET");
    expect_config_error(bad_parts, "HOOKLINE_PARTITIONS");
    expect_config_error(bad_ack, "HOOKLINE_ACK_TIMEOUT_MS");
    HT_CHECK_END();
}

/* ---- GET handshake ------------------------------------------------------ */

static void check_handshake(struct ctx *c) {
    static const char *const refused[] = {
        WEBHOOK "?hub.mode=subscribe&hub.verify_token=wrong"
        "&hub.challenge=1158201444",
        WEBHOOK "?hub.mode=subscribe&hub.challenge=1158201444",
        WEBHOOK "?hub.mode=unsubscribe&hub.verify_token=" VERIFY_TOKEN
        "&hub.challenge=1158201444",
        WEBHOOK "?hub.verify_token=" VERIFY_TOKEN "&hub.challenge=11582",
        WEBHOOK "?hub.mode=subscribe&hub.verify_token=" VERIFY_TOKEN "x"
        "&hub.challenge=1158201444",
        WEBHOOK "?hub.mode=subscribe&hub.verify_token=hlt-verify"
        "&hub.challenge=1158201444",
    };
    struct ht_http_resp r;
    size_t i;

    HT_CHECK_BEGIN("GET handshake: 200 + challenge for the token, else 403");
    ht_http_get(c->ingest.port, WEBHOOK "?hub.mode=subscribe"
                "&hub.verify_token=" VERIFY_TOKEN
                "&hub.challenge=1158201444", c->req_ms, &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    HT_ASSERT_EQ_STR(r.body, "1158201444");
    ht_http_resp_cleanup(&r);
    /* a second token/challenge pair: the body is the challenge, not a
     * constant */
    ht_http_get(c->aux.port, WEBHOOK "?hub.challenge=CHALLENGE_ACCEPTED_7"
                "&hub.verify_token=" AUX_VERIFY_TOKEN "&hub.mode=subscribe",
                c->req_ms, &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    HT_ASSERT_EQ_STR(r.body, "CHALLENGE_ACCEPTED_7");
    ht_http_resp_cleanup(&r);
    for (i = 0; i < HL_ARRAY_LEN(refused); i++) {
        ht_http_get(c->ingest.port, refused[i], c->req_ms, &r);
        if (!HT_ASSERT_EQ_INT(r.status, 403))
            ht_note("GET %s", refused[i]);
        HT_ASSERT_NOT_CONTAINS(r.body, "1158201444");
        ht_http_resp_cleanup(&r);
    }
    /* the other instance's token is not this one's */
    ht_http_get(c->ingest.port, WEBHOOK "?hub.mode=subscribe"
                "&hub.verify_token=" AUX_VERIFY_TOKEN "&hub.challenge=5",
                c->req_ms, &r);
    HT_ASSERT_EQ_INT(r.status, 403);
    ht_http_resp_cleanup(&r);
    HT_CHECK_END();
}

/* ---- signed POSTs that enqueue ------------------------------------------- */

/* Asserts the envelope of message_text_botman.json. */
static void assert_text_envelope(json_object *env, json_object *event,
                                 long long t0, long long t1) {
    json_object *ev = NULL;

    HT_ASSERT_EQ_INT(ht_json_int(env, "v"), 1);
    HT_ASSERT_EQ_STR(ht_json_str(env, "id"), "m:mid.1480279487147:4388d3b344");
    HT_ASSERT_EQ_STR(ht_json_str(env, "object"), "page");
    HT_ASSERT_EQ_STR(ht_json_str(env, "page"), "111899832631525");
    HT_ASSERT_EQ_STR(ht_json_str(env, "user"), "1433960459967306");
    HT_ASSERT_EQ_INT(ht_json_int(env, "ts"), 1480279487147LL);
    HT_ASSERT_GE_INT(ht_json_int(env, "rx"), t0 - 5);
    HT_ASSERT_LE_INT(ht_json_int(env, "rx"), t1 + 5);
    HT_ASSERT_EQ_STR(ht_json_str(env, "kind"), "message");
    HT_ASSERT_EQ_INT(ht_json_bool(env, "standby"), 0);
    if (HT_ASSERT_TRUE(json_object_object_get_ex(env, "event", &ev)) &&
        !HT_ASSERT_TRUE(json_object_equal(ev, event)))
        ht_note("event: %s", json_object_to_json_string(ev));
}

static void check_enqueue_text(struct ctx *c) {
    const char *mid = "mid.1480279487147:4388d3b344";
    long n = partition_of("111899832631525", "1433960459967306");
    char key[HL_KEY_MAX];
    struct ht_http_resp r;
    json_object *fix = NULL;
    json_object *items = NULL;
    long long t0, t1, ttl = -1;
    size_t len = 0;
    char *body = NULL;

    HT_CHECK_BEGIN("signed page POST: 200 EVENT_RECEIVED, envelope at "
                   "fnv1a64(page:user)%16, seen key with TTL");
    flush(c);
    body = fixture(FIX_TEXT, &len);
    if (body == NULL)
        goto cleanup;
    fix = json_tokener_parse(body);
    t0 = ht_wall_ms();
    post(c->ingest.port, SECRET_NEW, body, len, c->req_ms, &r);
    t1 = ht_wall_ms();
    HT_ASSERT_EQ_INT(r.status, 200);
    HT_ASSERT_EQ_STR(r.body, "EVENT_RECEIVED");
    ht_http_resp_cleanup(&r);
    HT_ASSERT_EQ_INT(queued_total(c, PREFIX), 1);
    HT_ASSERT_EQ_INT(queue_len(c, PREFIX, n), 1);
    items = ht_redis_queue_items(db(c), PREFIX, n);
    if (HT_ASSERT_TRUE(items != NULL && fix != NULL) &&
        HT_ASSERT_EQ_INT(json_object_array_length(items), 1)) {
        assert_text_envelope(json_object_array_get_idx(items, 0),
                             payload_event(fix, 0, 0), t0, t1);
    }
    snprintf(key, sizeof(key), "%s:{%ld}:seen:m:%s", PREFIX, n, mid);
    ht_redis_int2(db(c), &ttl, "TTL", key);
    HT_ASSERT_GT_INT(ttl, 0);
    HT_ASSERT_LE_INT(ttl, DEDUPE_TTL);
    /* nothing under the default prefix: HOOKLINE_PREFIX is honoured */
    HT_ASSERT_EQ_INT(key_count(c, "hookline"), 0);
cleanup:
    json_object_put(items);
    json_object_put(fix);
    free(body);
    HT_CHECK_END();
}

/* Asserts that each partition queue of PREFIX holds exactly as many
 * envelopes as the conversations (page, users[i]) that map to it. */
static void assert_spread(struct ctx *c, const char *page,
                          const char *const *users, size_t n) {
    long expect[PARTITIONS] = { 0 };
    long p;
    size_t i;

    for (i = 0; i < n; i++)
        expect[partition_of(page, users[i])]++;
    for (p = 0; p < PARTITIONS; p++) {
        if (!HT_ASSERT_EQ_INT(queue_len(c, PREFIX, p), expect[p]))
            ht_note("partition %ld", p);
    }
}

/* Asserts one envelope of the composed batch: kind, ts, id prefix. */
static void assert_batch_item(json_object *items, const char *kind,
                              long long ts, const char *id_prefix) {
    json_object *o = ht_json_find(items, "kind", kind);
    const char *id = ht_json_str(o, "id");

    if (!HT_ASSERT_TRUE(o != NULL)) {
        ht_note("no envelope of kind %s", kind);
        return;
    }
    HT_ASSERT_EQ_INT(ht_json_int(o, "ts"), ts);
    if (!HT_ASSERT_TRUE(id != NULL &&
                        strncmp(id, id_prefix, strlen(id_prefix)) == 0))
        ht_note("kind %s: id %s, expected prefix %s", kind,
                id == NULL ? "(none)" : id, id_prefix);
    HT_ASSERT_EQ_STR(ht_json_str(o, "page"), "PAGE_ID");
    HT_ASSERT_EQ_STR(ht_json_str(o, "user"), "USER_ID");
}

static void check_enqueue_batch(struct ctx *c) {
    long n = partition_of("PAGE_ID", "USER_ID");
    json_object *items = NULL;
    size_t len = 0;
    char *body = NULL;

    HT_CHECK_BEGIN("2 entries x 2 events: all 4 envelopes land with "
                   "kind, ts rules and ids");
    flush(c);
    body = fixture(FIX_BATCH, &len);
    if (body == NULL)
        goto cleanup;
    HT_ASSERT_EQ_INT(post_status(c, c->ingest.port, SECRET_NEW, body, len),
                     200);
    HT_ASSERT_EQ_INT(queued_total(c, PREFIX), 4);
    HT_ASSERT_EQ_INT(queue_len(c, PREFIX, n), 4);
    items = ht_redis_queue_items(db(c), PREFIX, n);
    assert_batch_item(items, "message", 1458692752478LL,
                      "m:mid.1457764197618:41d102a3e1ae206a38");
    /* no timestamp: falls back to the entry's time */
    assert_batch_item(items, "delivery", 1458692752478LL, "d:");
    assert_batch_item(items, "read", 1458668856463LL, "rd:");
    /* 1234567890 < 10^11: seconds */
    assert_batch_item(items, "other", 1234567890000LL, "h:");
cleanup:
    json_object_put(items);
    free(body);
    HT_CHECK_END();
}

static void check_instagram_standby_echo(struct ctx *c) {
    json_object *items = NULL;
    json_object *o;
    size_t len = 0;
    char *body = NULL;
    static const char *const standby_users[] = { "user1", "user2", "0" };
    size_t i;
    int standby = 0;

    HT_CHECK_BEGIN("instagram object, standby[] and echoes: object, "
                   "standby flag and user as the contract says");
    flush(c);
    body = fixture("webhook/ig_text_real.json", &len);
    if (body == NULL)
        goto cleanup;
    HT_ASSERT_EQ_INT(post_status(c, c->ingest.port, SECRET_NEW, body, len),
                     200);
    HT_ASSERT_EQ_INT(queue_len(c, PREFIX, partition_of("17841472110558136",
                     "489760440872775")), 1);
    items = all_items(c, PREFIX);
    o = ht_json_find(items, "kind", "message");
    HT_ASSERT_EQ_STR(ht_json_str(o, "object"), "instagram");
    HT_ASSERT_EQ_STR(ht_json_str(o, "page"), "17841472110558136");
    json_object_put(items);
    items = NULL;
    free(body);

    flush(c);
    body = fixture("webhook/standby_plus_messaging_botbuilder.json", &len);
    if (body == NULL)
        goto cleanup;
    HT_ASSERT_EQ_INT(post_status(c, c->ingest.port, SECRET_NEW, body, len),
                     200);
    HT_ASSERT_EQ_INT(queued_total(c, PREFIX), 3);
    assert_spread(c, "page1", standby_users, 3);
    items = all_items(c, PREFIX);
    for (i = 0; items != NULL && i < json_object_array_length(items); i++)
        standby += ht_json_bool(json_object_array_get_idx(items, i),
                                "standby") == 1;
    HT_ASSERT_EQ_INT(standby, 2);
    o = ht_json_find(items, "kind", "message");
    HT_ASSERT_EQ_INT(ht_json_bool(o, "standby"), 0);
    HT_ASSERT_EQ_STR(ht_json_str(o, "user"), "0");
    HT_ASSERT_EQ_INT(ht_json_int(o, "ts"), 2222222000LL);
    json_object_put(items);
    items = NULL;
    free(body);

    flush(c);
    body = fixture("webhook/echo_text_app_id_m4j.json", &len);
    if (body == NULL)
        goto cleanup;
    HT_ASSERT_EQ_INT(post_status(c, c->ingest.port, SECRET_NEW, body, len),
                     200);
    /* an echo belongs to the conversation of its recipient */
    HT_ASSERT_EQ_INT(queue_len(c, PREFIX, partition_of("PAGE_ID",
                                                       "USER_ID")), 1);
    items = all_items(c, PREFIX);
    o = ht_json_find(items, "kind", "echo");
    HT_ASSERT_EQ_STR(ht_json_str(o, "user"), "USER_ID");
    HT_ASSERT_EQ_STR(ht_json_str(o, "id"),
                     "m:mid.1457764197618:41d102a3e1ae206a38");
cleanup:
    json_object_put(items);
    free(body);
    HT_CHECK_END();
}

/* ---- POSTs that must not enqueue ---------------------------------------- */

static void check_bad_signatures(struct ctx *c) {
    char sig[HL_SIG_LEN + 8];
    char hdr[160];
    const char *h_sig[3] = { "Content-Type: application/json", hdr, NULL };
    char *body = NULL;
    char *raw = NULL;
    char *esc = NULL;
    size_t len = 0, rawlen = 0, esclen = 0;
    double before;

    HT_CHECK_BEGIN("missing/wrong/legacy/re-serialised signature: 401 and "
                   "no key stored");
    flush(c);
    before = metrics_of(c, "hookline_signature_failures_total");
    body = fixture(FIX_TEXT, &len);
    raw = fixture("webhook/message_non_ascii_raw_utf8_derived.json",
                  &rawlen);
    esc = fixture("webhook/message_non_ascii_escaped_derived.json",
                  &esclen);
    if (body == NULL || raw == NULL || esc == NULL)
        goto cleanup;
    /* no signature header at all */
    HT_ASSERT_EQ_INT(post_status(c, c->ingest.port, NULL, body, len), 401);
    /* signed with a secret ingest does not hold */
    HT_ASSERT_EQ_INT(post_status(c, c->ingest.port, SECRET_OTHER, body,
                                 len), 401);
    /* the right HMAC without the "sha256=" prefix */
    HT_ASSERT_EQ_INT(ht_http_sign(SECRET_NEW, body, len, sig, sizeof(sig)),
                     HL_OK);
    snprintf(hdr, sizeof(hdr), "X-Hub-Signature-256: %s",
             sig + strlen(HL_SIG_PREFIX));
    HT_ASSERT_EQ_INT(post_headers(c, h_sig, body, len), 401);
    /* the right HMAC, one hex digit changed */
    sig[HL_SIG_LEN - 1] = sig[HL_SIG_LEN - 1] == '0' ? '1' : '0';
    snprintf(hdr, sizeof(hdr), "X-Hub-Signature-256: %s", sig);
    HT_ASSERT_EQ_INT(post_headers(c, h_sig, body, len), 401);
    /* empty header value */
    snprintf(hdr, sizeof(hdr), "X-Hub-Signature-256;");
    HT_ASSERT_EQ_INT(post_headers(c, h_sig, body, len), 401);
    /* legacy sha1 header only (fixture KAT value; secret "Bar") */
    snprintf(hdr, sizeof(hdr),
             "X-Hub-Signature: sha1=74432bfe572675092cc81b5ac903ff3f971b04e5");
    HT_ASSERT_EQ_INT(post_headers(c, h_sig, body, len), 401);
    /* signature of the \u-escaped bytes presented with the raw UTF-8 body
     * (what a re-serialising proxy produces) */
    HT_ASSERT_EQ_INT(ht_http_sign(SECRET_NEW, esc, esclen, sig, sizeof(sig)),
                     HL_OK);
    snprintf(hdr, sizeof(hdr), "X-Hub-Signature-256: %s", sig);
    HT_ASSERT_EQ_INT(post_headers(c, h_sig, raw, rawlen), 401);
    HT_ASSERT_EQ_INT(key_count(c, PREFIX), 0);
    HT_ASSERT_EQ_INT(key_count(c, ""), 0);
    /* control: the same escaped body with its own signature is accepted */
    HT_ASSERT_EQ_INT(post_headers(c, h_sig, esc, esclen), 200);
    HT_ASSERT_EQ_INT(queued_total(c, PREFIX), 1);
    /* the counter moved by exactly the 7 refusals */
    if (HT_ASSERT_TRUE(before >= 0))
        HT_ASSERT_EQ_INT((long long)metrics_of(c,
                         "hookline_signature_failures_total"),
                         (long long)before + 7);
cleanup:
    free(esc);
    free(raw);
    free(body);
    HT_CHECK_END();
}

/* Reads a signature fixture: its body bytes, header name and value. */
static int load_sig_fixture(const char *rel, char **body, size_t *len,
                            char *hdr, size_t hdrsz) {
    char path[1024];
    char *text = NULL;
    json_object *o = NULL;
    size_t tlen = 0;
    const char *file;
    int ok = 0;

    *body = NULL;
    text = fixture(rel, &tlen);
    o = text == NULL ? NULL : json_tokener_parse(text);
    file = ht_json_str(o, "body_file");
    if (file == NULL || ht_json_str(o, "header") == NULL) {
        HT_FAIL("bad signature fixture %s", rel);
        goto cleanup;
    }
    /* body_file is relative to the signature/ directory */
    snprintf(path, sizeof(path), "signature/%s", file);
    *body = fixture(path, len);
    snprintf(hdr, hdrsz, "%s: %s", ht_json_str(o, "header_name"),
             ht_json_str(o, "header"));
    ok = *body != NULL;
cleanup:
    json_object_put(o);
    free(text);
    return ok;
}

static long post_aux_fixture(struct ctx *c, const char *rel) {
    char hdr[256];
    const char *headers[3] = { "Content-Type: application/json", hdr,
                               NULL };
    struct ht_http_req req;
    struct ht_http_resp r;
    char *body = NULL;
    size_t len = 0;
    long status = -1;

    if (!load_sig_fixture(rel, &body, &len, hdr, sizeof(hdr)))
        return -1;
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.port = c->aux.port;
    req.path = WEBHOOK;
    req.headers = headers;
    req.body = body;
    req.body_len = len;
    req.timeout_ms = c->req_ms;
    ht_http_do(&req, &r);
    status = r.status;
    if (status == 0)
        ht_note("%s: %s", rel, r.err);
    ht_http_resp_cleanup(&r);
    free(body);
    return status;
}

static void check_signature_fixtures(struct ctx *c) {
    HT_CHECK_BEGIN("published signature fixtures: valid ones 200, "
                   "invalid ones 401 (secrets old-secret-0001,<fixture>)");
    flush(c);
    HT_ASSERT_EQ_INT(post_aux_fixture(c,
                     "signature/negative_escaped_sig_on_raw_body.json"), 401);
    HT_ASSERT_EQ_INT(post_aux_fixture(c,
                     "signature/negative_missing_prefix.json"), 401);
    HT_ASSERT_EQ_INT(post_aux_fixture(c,
                     "signature/negative_wrong_secret.json"), 401);
    HT_ASSERT_EQ_INT(key_count(c, ""), 0);
    HT_ASSERT_EQ_INT(post_aux_fixture(c,
                     "signature/computed_non_ascii_escaped.json"), 200);
    HT_ASSERT_EQ_INT(post_aux_fixture(c,
                     "signature/computed_non_ascii_raw_utf8.json"), 200);
    /* the header matches only the SECOND secret of the rotation list */
    HT_ASSERT_EQ_INT(post_aux_fixture(c,
                     "signature/rotation_second_secret.json"), 200);
    /* escaped and raw bodies are one event (same mid): enqueued once;
     * plus the 4 of the batch */
    HT_ASSERT_EQ_INT(queued_total(c, AUX_PREFIX), 5);
    HT_ASSERT_EQ_INT(queued_total(c, PREFIX), 0);
    HT_CHECK_END();
}

static void check_not_page(struct ctx *c) {
    char *body = NULL;
    size_t len = 0;

    HT_CHECK_BEGIN("valid signature, object notpage: 200, nothing stored");
    flush(c);
    body = fixture("webhook/edge_object_not_page_courier.json", &len);
    if (body != NULL) {
        HT_ASSERT_EQ_INT(post_status(c, c->ingest.port, SECRET_NEW, body,
                                     len), 200);
        HT_ASSERT_EQ_INT(key_count(c, PREFIX), 0);
    }
    free(body);
    HT_CHECK_END();
}

/* Asserts dead letter `idx` of the main prefix: reason, stage, raw. */
static void assert_dlq(struct ctx *c, long idx, const char *reason,
                       const char *raw) {
    json_object *e = ht_redis_dlq_entry(db(c), PREFIX, idx);
    const char *id = ht_json_str(e, "id");

    if (!HT_ASSERT_TRUE(e != NULL))
        return;
    HT_ASSERT_EQ_INT(ht_json_int(e, "v"), 1);
    HT_ASSERT_EQ_STR(ht_json_str(e, "reason"), reason);
    HT_ASSERT_EQ_STR(ht_json_str(e, "stage"), "ingest");
    HT_ASSERT_TRUE(id != NULL && id[0] != '\0');
    if (raw != NULL)
        HT_ASSERT_EQ_STR(ht_json_str(e, "raw"), raw);
    json_object_put(e);
}

static void check_malformed_payload(struct ctx *c) {
    static const char not_json[] = "this is not JSON {\"object\":\"page\"";
    static const char bad_shape[] = "{\"object\":\"page\",\"entry\":5}";
    struct ht_http_resp r;

    HT_CHECK_BEGIN("valid signature, not JSON / wrong shape: 400 and a "
                   "malformed_payload dead letter holding the raw body");
    flush(c);
    post(c->ingest.port, SECRET_NEW, not_json, strlen(not_json), c->req_ms,
         &r);
    HT_ASSERT_EQ_INT(r.status, 400);
    ht_http_resp_cleanup(&r);
    HT_ASSERT_EQ_INT(dlq_len(c, PREFIX), 1);
    assert_dlq(c, 0, "malformed_payload", not_json);
    HT_ASSERT_EQ_INT(post_status(c, c->ingest.port, SECRET_NEW, bad_shape,
                                 strlen(bad_shape)), 400);
    HT_ASSERT_EQ_INT(dlq_len(c, PREFIX), 2);
    /* newest first */
    assert_dlq(c, 0, "malformed_payload", bad_shape);
    assert_dlq(c, 1, "malformed_payload", not_json);
    HT_ASSERT_EQ_INT(queued_total(c, PREFIX), 0);
    HT_CHECK_END();
}

/* A copy of message_text_botman.json padded with spaces after the first
 * '{' to exactly `size` bytes (still the same JSON). Caller frees. */
static char *padded_body(size_t size) {
    char *body = NULL;
    char *out = NULL;
    size_t len = 0;

    body = fixture(FIX_TEXT, &len);
    if (body == NULL || len < 2 || size < len)
        goto cleanup;
    while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == ' '))
        len--;
    out = malloc(size + 1);
    if (out == NULL)
        goto cleanup;
    out[0] = '{';
    memset(out + 1, ' ', size - len);
    memcpy(out + 1 + (size - len), body + 1, len - 1);
    out[size] = '\0';
cleanup:
    free(body);
    return out;
}

static void check_max_body(struct ctx *c) {
    char *at = NULL;
    char *over = NULL;
    char *huge = NULL;

    HT_CHECK_BEGIN("HOOKLINE_MAX_BODY=4096: 4096 bytes accepted, 4097 and "
                   "64 KiB are 413");
    flush(c);
    at = padded_body(AUX_MAX_BODY);
    over = padded_body(AUX_MAX_BODY + 1);
    huge = padded_body(AUX_MAX_BODY * 16);
    if (!HT_ASSERT_TRUE(at != NULL && over != NULL && huge != NULL))
        goto cleanup;
    HT_ASSERT_EQ_INT(post_status(c, c->aux.port, FIX_SECRET_2, over,
                                 AUX_MAX_BODY + 1), 413);
    HT_ASSERT_EQ_INT(post_status(c, c->aux.port, FIX_SECRET_2, huge,
                                 AUX_MAX_BODY * 16), 413);
    HT_ASSERT_EQ_INT(key_count(c, AUX_PREFIX), 0);
    HT_ASSERT_EQ_INT(post_status(c, c->aux.port, FIX_SECRET_2, at,
                                 AUX_MAX_BODY), 200);
    HT_ASSERT_EQ_INT(queued_total(c, AUX_PREFIX), 1);
    /* still serving after the refusals */
    HT_ASSERT_EQ_INT(get_status(c, c->aux.port, "/healthz"), 200);
cleanup:
    free(huge);
    free(over);
    free(at);
    HT_CHECK_END();
}

static void check_methods_paths(struct ctx *c) {
    static const char *const methods[] = { "PUT", "DELETE", "PATCH" };
    struct ht_http_req req;
    struct ht_http_resp r;
    size_t i;

    HT_CHECK_BEGIN("other method on /webhook is 405, unknown path 404");
    memset(&req, 0, sizeof(req));
    req.port = c->ingest.port;
    req.timeout_ms = c->req_ms;
    req.path = WEBHOOK;
    for (i = 0; i < HL_ARRAY_LEN(methods); i++) {
        req.method = methods[i];
        req.body = i == 0 ? "{}" : NULL;
        req.body_len = i == 0 ? 2 : 0;
        ht_http_do(&req, &r);
        if (!HT_ASSERT_EQ_INT(r.status, 405))
            ht_note("%s %s", req.method, req.path);
        ht_http_resp_cleanup(&r);
    }
    HT_ASSERT_EQ_INT(get_status(c, c->ingest.port, "/nope"), 404);
    HT_ASSERT_EQ_INT(get_status(c, c->ingest.port, "/webhookx"), 404);
    HT_ASSERT_EQ_INT(get_status(c, c->ingest.port, "/"), 404);
    req.method = "POST";
    req.path = "/nope";
    req.body = "{}";
    req.body_len = 2;
    ht_http_do(&req, &r);
    HT_ASSERT_EQ_INT(r.status, 404);
    ht_http_resp_cleanup(&r);
    HT_CHECK_END();
}

static void check_health_metrics(struct ctx *c) {
    struct ht_http_resp r;
    double before, after;

    HT_CHECK_BEGIN("/healthz and /readyz 200, /metrics counts signature "
                   "failures");
    HT_ASSERT_EQ_INT(get_status(c, c->ingest.port, "/healthz"), 200);
    HT_ASSERT_EQ_INT(get_status(c, c->ingest.port, "/readyz"), 200);
    ht_http_get(c->ingest.port, "/metrics", c->req_ms, &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    HT_ASSERT_CONTAINS(r.body, "hookline_signature_failures_total");
    ht_http_resp_cleanup(&r);
    before = metrics_of(c, "hookline_signature_failures_total");
    post_status(c, c->ingest.port, SECRET_OTHER, "{}", 2);
    post_status(c, c->ingest.port, NULL, "{}", 2);
    after = metrics_of(c, "hookline_signature_failures_total");
    HT_ASSERT_GE_INT((long long)before, 0);
    HT_ASSERT_EQ_INT((long long)after, (long long)before + 2);
    HT_CHECK_END();
}

/* ---- dedupe and rotation ------------------------------------------------- */

static void check_duplicate(struct ctx *c) {
    struct ht_text other = { 0 };
    char *body = NULL;
    size_t len = 0;

    HT_CHECK_BEGIN("duplicate POST enqueues once");
    flush(c);
    body = fixture(FIX_TEXT, &len);
    if (body == NULL)
        goto cleanup;
    HT_ASSERT_EQ_INT(post_status(c, c->ingest.port, SECRET_NEW, body, len),
                     200);
    HT_ASSERT_EQ_INT(post_status(c, c->ingest.port, SECRET_NEW, body, len),
                     200);
    HT_ASSERT_EQ_INT(queued_total(c, PREFIX), 1);
    /* control: another mid of the same user is a new event */
    one_event_body(&other, "1433960459967306", "mid.dup.other");
    HT_ASSERT_EQ_INT(post_status(c, c->ingest.port, SECRET_NEW, other.p,
                                 other.len), 200);
    HT_ASSERT_EQ_INT(queued_total(c, PREFIX), 2);
cleanup:
    free(other.p);
    free(body);
    HT_CHECK_END();
}

static void check_same_mid_in_one_post(struct ctx *c) {
    char *body = NULL;
    size_t len = 0;

    HT_CHECK_BEGIN("same mid twice in one POST enqueues once");
    flush(c);
    body = fixture("webhook/batch_two_entries_same_mid_courier.json", &len);
    if (body != NULL) {
        HT_ASSERT_EQ_INT(post_status(c, c->ingest.port, SECRET_NEW, body,
                                     len), 200);
        HT_ASSERT_EQ_INT(queued_total(c, PREFIX), 1);
        HT_ASSERT_EQ_INT(queue_len(c, PREFIX, partition_of("1234567890",
                                                           "5678")), 1);
    }
    free(body);
    HT_CHECK_END();
}

static void check_rotation(struct ctx *c) {
    struct ht_text a = { 0 }, b = { 0 }, d = { 0 };
    json_object *items = NULL;

    HT_CHECK_BEGIN("secret rotation \"old,new\": both accepted, a third "
                   "refused");
    flush(c);
    one_event_body(&a, "rot-user-1", "mid.rot.old");
    one_event_body(&b, "rot-user-2", "mid.rot.new");
    one_event_body(&d, "rot-user-3", "mid.rot.other");
    HT_ASSERT_EQ_INT(post_status(c, c->ingest.port, SECRET_OLD, a.p, a.len),
                     200);
    HT_ASSERT_EQ_INT(post_status(c, c->ingest.port, SECRET_NEW, b.p, b.len),
                     200);
    HT_ASSERT_EQ_INT(post_status(c, c->ingest.port, SECRET_OTHER, d.p,
                                 d.len), 401);
    HT_ASSERT_EQ_INT(queued_total(c, PREFIX), 2);
    items = all_items(c, PREFIX);
    HT_ASSERT_EQ_INT(ht_json_count(items, "id", "m:mid.rot.old"), 1);
    HT_ASSERT_EQ_INT(ht_json_count(items, "id", "m:mid.rot.new"), 1);
    HT_ASSERT_EQ_INT(ht_json_count(items, "id", "m:mid.rot.other"), 0);
    json_object_put(items);
    free(a.p);
    free(b.p);
    free(d.p);
    HT_CHECK_END();
}

/* ---- volume ------------------------------------------------------------- */

static void check_bulk(struct ctx *c) {
    long expect[PARTITIONS] = { 0 };
    struct ht_text t = { 0 };
    struct ht_http_resp r;
    long n;
    int i;

    HT_CHECK_BEGIN("1000-event batch: 200 and exactly 1000 envelopes, each "
                   "in its partition");
    flush(c);
    ht_text_add(&t, "{\"object\":\"page\",\"entry\":[{\"id\":\"PG\","
                "\"time\":1700000000000,\"messaging\":[");
    for (i = 0; i < BULK_EVENTS; i++) {
        char user[32], mid[32];
        snprintf(user, sizeof(user), "bulk-user-%d", i);
        snprintf(mid, sizeof(mid), "mid.bulk.%d", i);
        if (i > 0)
            ht_text_add(&t, ",");
        text_event(&t, user, mid, 1700000000000LL + i);
        expect[partition_of("PG", user)]++;
    }
    ht_text_add(&t, "]}]}");
    if (!HT_ASSERT_TRUE(!t.failed))
        goto cleanup;
    post(c->ingest.port, SECRET_NEW, t.p, t.len, ht_budget_ms(20000), &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    ht_note("1000-event POST (%zu bytes) answered in %lld ms", t.len,
            r.elapsed_ms);
    ht_http_resp_cleanup(&r);
    HT_ASSERT_EQ_INT(queued_total(c, PREFIX), BULK_EVENTS);
    for (n = 0; n < PARTITIONS; n++) {
        if (!HT_ASSERT_EQ_INT(queue_len(c, PREFIX, n), expect[n]))
            ht_note("partition %ld", n);
    }
cleanup:
    free(t.p);
    HT_CHECK_END();
}

static void check_concurrent(struct ctx *c) {
    struct ht_http_req *reqs = NULL;
    struct ht_http_resp *resps = NULL;
    struct ht_text *bodies = NULL;
    char (*hdrs)[128] = NULL;
    const char *(*hlist)[3] = NULL;
    int ok200 = 0;
    int i;

    HT_CHECK_BEGIN("200 concurrent connections posting distinct events: "
                   "all 200, exactly 200 envelopes");
    flush(c);
    reqs = calloc(CONCURRENT, sizeof(*reqs));
    resps = calloc(CONCURRENT, sizeof(*resps));
    bodies = calloc(CONCURRENT, sizeof(*bodies));
    hdrs = calloc(CONCURRENT, sizeof(*hdrs));
    hlist = calloc(CONCURRENT, sizeof(*hlist));
    if (!HT_ASSERT_TRUE(reqs && resps && bodies && hdrs && hlist))
        goto cleanup;
    for (i = 0; i < CONCURRENT; i++) {
        char user[32], mid[32], sig[HL_SIG_LEN + 1];
        snprintf(user, sizeof(user), "conc-user-%d", i);
        snprintf(mid, sizeof(mid), "mid.conc.%d", i);
        one_event_body(&bodies[i], user, mid);
        ht_http_sign(SECRET_NEW, bodies[i].p, bodies[i].len, sig,
                     sizeof(sig));
        snprintf(hdrs[i], sizeof(hdrs[i]), "X-Hub-Signature-256: %s", sig);
        hlist[i][0] = "Content-Type: application/json";
        hlist[i][1] = hdrs[i];
        hlist[i][2] = NULL;
        reqs[i].method = "POST";
        reqs[i].port = c->ingest.port;
        reqs[i].path = WEBHOOK;
        reqs[i].headers = hlist[i];
        reqs[i].body = bodies[i].p;
        reqs[i].body_len = bodies[i].len;
        reqs[i].timeout_ms = ht_budget_ms(20000);
    }
    ht_http_many(reqs, resps, CONCURRENT, ht_budget_ms(30000));
    for (i = 0; i < CONCURRENT; i++) {
        if (resps[i].status == 200)
            ok200++;
        else if (CONCURRENT - ok200 <= 5 || i < 5)
            ht_note("request %d: status %ld %s", i, resps[i].status,
                    resps[i].err);
    }
    HT_ASSERT_EQ_INT(ok200, CONCURRENT);
    HT_ASSERT_EQ_INT(queued_total(c, PREFIX), CONCURRENT);
cleanup:
    for (i = 0; resps != NULL && i < CONCURRENT; i++)
        ht_http_resp_cleanup(&resps[i]);
    for (i = 0; bodies != NULL && i < CONCURRENT; i++)
        free(bodies[i].p);
    free(hlist);
    free(hdrs);
    free(bodies);
    free(resps);
    free(reqs);
    HT_CHECK_END();
}

static void check_deep_json(struct ctx *c) {
    char *deep = malloc(DEEP_NESTING);

    HT_CHECK_BEGIN("100,000 nested '[' signed: 400, ingest stays up");
    flush(c);
    if (!HT_ASSERT_TRUE(deep != NULL))
        goto cleanup;
    memset(deep, '[', DEEP_NESTING);
    HT_ASSERT_EQ_INT(post_status(c, c->ingest.port, SECRET_NEW, deep,
                                 DEEP_NESTING), 400);
    HT_ASSERT_EQ_INT(get_status(c, c->ingest.port, "/healthz"), 200);
    HT_ASSERT_TRUE(ht_proc_alive(&c->ingest));
    HT_ASSERT_EQ_INT(queued_total(c, PREFIX), 0);
cleanup:
    free(deep);
    HT_CHECK_END();
}

static void check_malformed_event(struct ctx *c) {
    struct ht_text t = { 0 };
    char *body = NULL;
    size_t len = 0;

    HT_CHECK_BEGIN("event without sender/recipient: 200, malformed_event "
                   "dead letter; good events of the POST still enqueued");
    flush(c);
    body = fixture("webhook/edge_empty_messaging_event_botman.json", &len);
    if (body == NULL)
        goto cleanup;
    HT_ASSERT_EQ_INT(post_status(c, c->ingest.port, SECRET_NEW, body, len),
                     200);
    HT_ASSERT_EQ_INT(dlq_len(c, PREFIX), 1);
    assert_dlq(c, 0, "malformed_event", NULL);
    HT_ASSERT_EQ_INT(queued_total(c, PREFIX), 0);
    ht_text_add(&t, "{\"object\":\"page\",\"entry\":[{\"id\":\"PG\","
                "\"time\":1700000000000,\"messaging\":[{},");
    text_event(&t, "good-user", "mid.good.1", 1700000000999LL);
    ht_text_add(&t, "]}]}");
    HT_ASSERT_EQ_INT(post_status(c, c->ingest.port, SECRET_NEW, t.p, t.len),
                     200);
    HT_ASSERT_EQ_INT(queued_total(c, PREFIX), 1);
    HT_ASSERT_EQ_INT(queue_len(c, PREFIX, partition_of("PG", "good-user")),
                     1);
    HT_ASSERT_EQ_INT(dlq_len(c, PREFIX), 2);
    assert_dlq(c, 0, "malformed_event", NULL);
cleanup:
    free(t.p);
    free(body);
    HT_CHECK_END();
}

/* ---- Redis outages (G1) -------------------------------------------------- */

static void check_redis_frozen(struct ctx *c) {
    struct ht_text a = { 0 }, b = { 0 };
    struct ht_http_resp r;
    json_object *items = NULL;

    HT_CHECK_BEGIN("Redis frozen (SIGSTOP): 503 within the ack deadline; "
                   "after SIGCONT 200, the retried event enqueued once");
    flush(c);
    one_event_body(&a, "stop-user-1", "mid.stop.1");
    one_event_body(&b, "stop-user-2", "mid.stop.2");
    if (!HT_ASSERT_EQ_INT(ht_redis_pause(&c->redis), HL_OK))
        goto cleanup;
    post(c->ingest.port, SECRET_NEW, a.p, a.len, c->ack_ms + 5000, &r);
    HT_ASSERT_EQ_INT(r.status, 503);
    HT_ASSERT_LT_INT(r.elapsed_ms, c->ack_ms + c->slack_ms);
    ht_note("503 after %lld ms (deadline %ld ms)", r.elapsed_ms, c->ack_ms);
    ht_http_resp_cleanup(&r);
    ht_redis_resume(&c->redis);
    HT_ASSERT_EQ_INT(post_until_ok(c, b.p, b.len, 10), 200);
    /* Meta retries the 503'd POST: accepted, and enqueued exactly once
     * (its first EVALSHA may have run when Redis woke up) */
    HT_ASSERT_EQ_INT(post_until_ok(c, a.p, a.len, 10), 200);
    items = all_items(c, PREFIX);
    HT_ASSERT_EQ_INT(ht_json_count(items, "id", "m:mid.stop.1"), 1);
    HT_ASSERT_EQ_INT(ht_json_count(items, "id", "m:mid.stop.2"), 1);
    HT_ASSERT_EQ_INT(queued_total(c, PREFIX), 2);
cleanup:
    if (c->redis.paused)
        ht_redis_resume(&c->redis);
    json_object_put(items);
    free(a.p);
    free(b.p);
    HT_CHECK_END();
}

/* Lines of `log` from `from` on that hold `msg`. */
static int lines_with(const char *log, size_t len, size_t from,
                      const char *msg) {
    const char *p = log + (from < len ? from : len);
    int n = 0;

    while (*p != '\0') {
        const char *end = strchr(p, '\n');
        size_t l = end != NULL ? (size_t)(end - p) : strlen(p);
        n += memmem(p, l, msg, strlen(msg)) != NULL;
        p += l + (end != NULL);
    }
    return n;
}

static void check_redis_killed(struct ctx *c) {
    char err[HL_ERR_LEN];
    struct ht_text a = { 0 };
    struct ht_http_resp r;
    char *log = NULL;
    size_t len = 0, from;
    long status;
    long long t0, killed;

    HT_CHECK_BEGIN("Redis killed: 503 fast, /readyz not 200; the retries "
                   "of 5 s of outage log at most 3 lines of each kind; "
                   "restarted on the "
                   "same port: /readyz 200 and POST 200 within 10 s");
    flush(c);
    one_event_body(&a, "kill-user-1", "mid.kill.1");
    if (!HT_ASSERT_EQ_INT(ht_proc_read_log(&c->ingest, &log, &from), HL_OK))
        goto cleanup;
    free(log);
    log = NULL;
    killed = ht_mono_ms();
    if (!HT_ASSERT_EQ_INT(ht_redis_kill(&c->redis), HL_OK))
        goto cleanup;
    post(c->ingest.port, SECRET_NEW, a.p, a.len, c->ack_ms + 5000, &r);
    HT_ASSERT_EQ_INT(r.status, 503);
    HT_ASSERT_LT_INT(r.elapsed_ms, c->ack_ms + c->slack_ms);
    ht_note("503 after %lld ms", r.elapsed_ms);
    ht_http_resp_cleanup(&r);
    status = poll_status(c, c->ingest.port, "/readyz", 503, 20);
    HT_ASSERT_NE_INT(status, 200);
    HT_ASSERT_EQ_INT(get_status(c, c->ingest.port, "/healthz"), 200);
    /* reconnects back off to 1 s: 5 s is 6 or more refused connects, of
     * which the first 3 are logged (hl_log_repeat(), per kind) */
    if (ht_mono_ms() - killed < 5000)
        ht_sleep_ms((long)(5000 - (ht_mono_ms() - killed)));
    if (HT_ASSERT_EQ_INT(ht_proc_read_log(&c->ingest, &log, &len), HL_OK)) {
        static const char *const msgs[] = {
            "\"redis_connect_failed\"", "\"redis_disconnected\"",
            "\"redis_connect_timeout\"", "\"redis_setup_failed\""
        };
        int n, total = 0;
        size_t i;
        for (i = 0; i < HL_ARRAY_LEN(msgs); i++) {
            n = lines_with(log, len, from, msgs[i]);
            total += n;
            if (!HT_ASSERT_LE_INT(n, HL_LOG_REPEAT_FIRST))
                ht_note("%d lines of %s", n, msgs[i]);
        }
        ht_note("%d reconnect failure lines in 5 s of outage", total);
        HT_ASSERT_GE_INT(lines_with(log, len, from, msgs[0]), 1);
    }
    /* our own connection died with the server */
    redisFree(c->db);
    c->db = NULL;
    if (ht_redis_restart(&c->redis, err) != HL_OK) {
        HT_FAIL("restart: %s", err);
        goto cleanup;
    }
    t0 = ht_mono_ms();
    HT_ASSERT_EQ_INT(poll_status(c, c->ingest.port, "/readyz", 200,
                                 (int)(ht_budget_ms(10000) / 100)), 200);
    HT_ASSERT_EQ_INT(post_until_ok(c, a.p, a.len, 10), 200);
    ht_note("ready and accepting %lld ms after the restart",
            ht_mono_ms() - t0);
    HT_ASSERT_EQ_INT(queued_total(c, PREFIX), 1);
    HT_ASSERT_EQ_INT(poll_status(c, c->aux.port, "/readyz", 200,
                                 (int)(ht_budget_ms(10000) / 100)), 200);
cleanup:
    free(log);
    free(a.p);
    HT_CHECK_END();
}

/* ---- shutdown and logs --------------------------------------------------- */

static void check_sigterm(struct ctx *c) {
    long budget = ht_budget_ms(5000);
    int code = -1;

    HT_CHECK_BEGIN("SIGTERM: both ingests exit 0 within 5 s (no leaks "
                   "under ASan/valgrind)");
    HT_ASSERT_EQ_INT(ht_proc_signal(&c->ingest, SIGTERM), HL_OK);
    HT_ASSERT_EQ_INT(ht_proc_signal(&c->aux, SIGTERM), HL_OK);
    if (!HT_ASSERT_EQ_INT(ht_proc_wait_exit(&c->ingest, budget, &code),
                          HL_OK) || !HT_ASSERT_EQ_INT(code, 0))
        ht_proc_dump_log(&c->ingest, 6000);
    if (!HT_ASSERT_EQ_INT(ht_proc_wait_exit(&c->aux, budget, &code),
                          HL_OK) || !HT_ASSERT_EQ_INT(code, 0))
        ht_proc_dump_log(&c->aux, 6000);
    HT_CHECK_END();
}

static void check_no_secrets_logged(struct ctx *c) {
    static const char *const secrets[] = {
        VERIFY_TOKEN, AUX_VERIFY_TOKEN, SECRET_OLD, SECRET_NEW,
        FIX_SECRET_1, FIX_SECRET_2
    };
    char *main_log = NULL;
    char *aux_log = NULL;
    size_t len = 0;
    size_t i;

    HT_CHECK_BEGIN("app secrets and verify tokens never appear in ingest's "
                   "output");
    if (!HT_ASSERT_EQ_INT(ht_proc_read_log(&c->ingest, &main_log, &len),
                          HL_OK) ||
        !HT_ASSERT_EQ_INT(ht_proc_read_log(&c->aux, &aux_log, &len), HL_OK))
        goto cleanup;
    /* the logs are not empty: the check can see what ingest wrote */
    HT_ASSERT_CONTAINS(main_log, "\"listening\"");
    for (i = 0; i < HL_ARRAY_LEN(secrets); i++) {
        HT_ASSERT_NOT_CONTAINS(main_log, secrets[i]);
        HT_ASSERT_NOT_CONTAINS(aux_log, secrets[i]);
    }
cleanup:
    free(aux_log);
    free(main_log);
    HT_CHECK_END();
}

/* ---- main ---------------------------------------------------------------- */

int main(void) {
    struct ctx c;
    int rc;

    ht_init();
    memset(&c, 0, sizeof(c));
    c.ingest.pid = -1;
    c.aux.pid = -1;
    c.redis.pid = -1;
    /* valgrind slows ingest 10-50x: a longer deadline keeps the 1000-event
     * POST from turning into a 503 there */
    c.ack_ms = ht_valgrind() ? 2000 : 1000;
    c.slack_ms = ht_valgrind() ? 1500 : 500;
    c.req_ms = ht_budget_ms(5000);
    if (check_setup(&c)) {
        check_help(&c);
        check_config_errors(&c);
        check_handshake(&c);
        check_enqueue_text(&c);
        check_enqueue_batch(&c);
        check_instagram_standby_echo(&c);
        check_bad_signatures(&c);
        check_signature_fixtures(&c);
        check_not_page(&c);
        check_malformed_payload(&c);
        check_max_body(&c);
        check_methods_paths(&c);
        check_health_metrics(&c);
        check_duplicate(&c);
        check_same_mid_in_one_post(&c);
        check_rotation(&c);
        check_bulk(&c);
        check_concurrent(&c);
        check_deep_json(&c);
        check_malformed_event(&c);
        check_redis_frozen(&c);
        check_redis_killed(&c);
        check_sigterm(&c);
        check_no_secrets_logged(&c);
    }
    rc = ht_summary();
    if (c.db != NULL)
        redisFree(c.db);
    ht_proc_cleanup(&c.aux);
    ht_proc_cleanup(&c.ingest);
    ht_redis_cleanup(&c.redis);
    return rc;
}
