/* test_fakegraph.c - bin/hookline-fakegraph, the stand-in Graph API the
 * worker, hookctl and e2e tests rely on: the Send API answer and its
 * checks, both ways of passing the token and the 190 for a wrong one, the
 * request log and counters, fault rules (status + Graph error, count,
 * recipient, percent, delay, drop), subscribed_apps (another app's too,
 * from POST /_fake/subscriptions), GET /app, Graph-style 404s, a
 * client leaving during a delayed answer, the global delay, no token in
 * its logs, and a clean SIGTERM with answers still pending (under ASan a
 * leak there is a non-zero exit).
 *
 * Two instances: "main" checks MESSENGER_PAGE_ACCESS_TOKEN and logs at
 * debug; "open" has no token (any token passes) and FAKEGRAPH_DELAY_MS.
 * Every check starts by clearing main's rules and request log. It needs
 * no Redis and does not test the worker. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <json-c/json.h>

#include "hl.h"
#include "hl_test.h"
#include "httpc.h"
#include "proc.h"
#include "../fakegraph/fakegraph.h"

#define TOKEN "fg-test-token-7f3a91c2e5d4"
#define BEARER "Authorization: Bearer " TOKEN
#define CT_JSON "Content-Type: application/json"
#define PAGE "1000000000000001"
#define SEND_PATH "/v25.0/" PAGE "/messages"
#define SUBS_PATH "/v25.0/" PAGE "/subscribed_apps"
#define PSID_A "1254459154682919"
#define PSID_B "6003918279651111"
#define GLOBAL_DELAY_MS 300
#define RULE_DELAY_MS 400
#define SLACK_MS 30               /* timer granularity allowance */

struct ctx {
    struct ht_proc main;          /* token checked, debug log */
    struct ht_proc open;          /* any token, global delay */
    long req_ms;                  /* timeout of one HTTP request */
};

/* ---- small helpers --------------------------------------------------- */

static int request(struct ctx *c, int port, const char *method,
                   const char *path, const char *const *headers,
                   const char *body, struct ht_http_resp *r) {
    struct ht_http_req q;

    memset(&q, 0, sizeof(q));
    q.method = method;
    q.port = port;
    q.path = path;
    q.headers = headers;
    q.body = body;
    q.body_len = body != NULL ? strlen(body) : 0;
    q.timeout_ms = c->req_ms;
    return ht_http_do(&q, r);
}

/* POST a Send API body to main with the bearer token. */
static int send_json(struct ctx *c, const char *body,
                     struct ht_http_resp *r) {
    const char *h[] = { BEARER, CT_JSON, NULL };

    return request(c, c->main.port, "POST", SEND_PATH, h, body, r);
}

static void text_body(char *out, size_t sz, const char *psid,
                      const char *text) {
    snprintf(out, sz, "{\"recipient\":{\"id\":\"%s\"},\"messaging_type\":"
             "\"RESPONSE\",\"message\":{\"text\":\"%s\"}}", psid, text);
}

static int send_text(struct ctx *c, const char *psid, const char *text,
                     struct ht_http_resp *r) {
    char body[512];

    text_body(body, sizeof(body), psid, text);
    return send_json(c, body, r);
}

/* Parses a response body; NULL (and a failure) when it is not JSON. */
static json_object *parse(const struct ht_http_resp *r) {
    json_object *o = r->body != NULL ? json_tokener_parse(r->body) : NULL;

    if (o == NULL)
        HT_FAIL("not JSON: %s", r->body != NULL ? r->body : "(no body)");
    return o;
}

/* obj["a"]["b"]... (NULL-terminated keys); NULL when missing. */
static json_object *jget(json_object *o, ...) {
    va_list ap;
    const char *k;

    va_start(ap, o);
    while (o != NULL && (k = va_arg(ap, const char *)) != NULL) {
        json_object *v = NULL;
        if (!json_object_object_get_ex(o, k, &v))
            v = NULL;
        o = v;
    }
    va_end(ap);
    return o;
}

static const char *jstr(json_object *o) {
    return o != NULL && json_object_is_type(o, json_type_string)
           ? json_object_get_string(o) : NULL;
}

/* Length of a JSON array, or -1 when `a` is not one. */
static long long alen(json_object *a) {
    return a != NULL && json_object_is_type(a, json_type_array)
           ? (long long)json_object_array_length(a) : -1;
}

static long long jint(json_object *o) {
    return o != NULL && (json_object_is_type(o, json_type_int) ||
                         json_object_is_type(o, json_type_boolean))
           ? (long long)json_object_get_int64(o) : -999;
}

/* error.code of a Graph error answer, or -1. */
static long long error_code(const struct ht_http_resp *r) {
    json_object *o = r->body != NULL ? json_tokener_parse(r->body) : NULL;
    long long code = o != NULL ? jint(jget(o, "error", "code", NULL)) : -1;

    json_object_put(o);
    return code;
}

static int control(struct ctx *c, int port, const char *method,
                   const char *path, const char *body) {
    struct ht_http_resp r;
    int ok;

    request(c, port, method, path, NULL, body, &r);
    ok = HT_ASSERT_EQ_INT(r.status, 200);
    if (!ok)
        ht_note("%s %s -> %s", method, path, r.body ? r.body : r.err);
    ht_http_resp_cleanup(&r);
    return ok;
}

static int add_rule(struct ctx *c, const char *rule) {
    return control(c, c->main.port, "POST", "/_fake/faults", rule);
}

static int reset(struct ctx *c) {
    return control(c, c->main.port, "DELETE", "/_fake/faults", NULL) &&
           control(c, c->main.port, "DELETE", "/_fake/requests", NULL);
}

/* GET a /_fake JSON document from `port` (caller owns; NULL on failure). */
static json_object *fetch(struct ctx *c, int port, const char *path) {
    struct ht_http_resp r;
    json_object *o = NULL;

    request(c, port, "GET", path, NULL, NULL, &r);
    if (HT_ASSERT_EQ_INT(r.status, 200))
        o = parse(&r);
    ht_http_resp_cleanup(&r);
    return o;
}

static long long stat_at(struct ctx *c, int port, const char *key) {
    json_object *s = fetch(c, port, "/_fake/stats");
    long long v = jint(jget(s, key, NULL));

    json_object_put(s);
    return v;
}

static long long stat_of(struct ctx *c, const char *key) {
    return stat_at(c, c->main.port, key);
}

/* Opens a TCP connection to 127.0.0.1:port and writes `req` without
 * reading any answer. Returns the socket, or -1. */
static int raw_send(int port, const char *req) {
    struct sockaddr_in a;
    size_t off = 0, len = strlen(req);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    while (off < len) {
        ssize_t n = write(fd, req + off, len - off);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    return fd;
}

/* A raw Send API POST (bearer token) to `port`. */
static int raw_send_text(int port) {
    static const char body[] =
        "{\"recipient\":{\"id\":\"" PSID_A "\"},\"message\":{\"text\":\"x\"}}";
    char req[1024];

    snprintf(req, sizeof(req), "POST " SEND_PATH " HTTP/1.1\r\n"
             "Host: 127.0.0.1\r\n" BEARER "\r\n" CT_JSON "\r\n"
             "Content-Length: %zu\r\n\r\n%s", sizeof(body) - 1, body);
    return raw_send(port, req);
}

/* ---- setup and program surface -------------------------------------- */

static int start(struct ht_proc *p, const char *const *env) {
    char path[1024];
    char err[HL_ERR_LEN];

    if (ht_bin_path("hookline-fakegraph", path, sizeof(path)) != HL_OK)
        return HT_FAIL("HL_BIN too long");
    if (ht_proc_start_server(p, path, NULL, env, err) != HL_OK)
        return HT_FAIL("%s", err);
    ht_note("%s listening on port %d", p->name, p->port);
    return 1;
}

static int check_setup(struct ctx *c) {
    const char *env_main[] = {
        "PORT=0", "HOOKLINE_LISTEN=127.0.0.1", "HOOKLINE_LOG=debug",
        "MESSENGER_PAGE_ACCESS_TOKEN=" TOKEN, "FAKEGRAPH_DELAY_MS=0",
        "FAKEGRAPH_SEED=7", NULL
    };
    const char *env_open[] = {
        "PORT=0", "HOOKLINE_LISTEN=127.0.0.1", "HOOKLINE_LOG=info",
        "FAKEGRAPH_DELAY_MS=300", NULL
    };
    int ok;

    HT_CHECK_BEGIN("two fakegraphs start with PORT=0 and announce ports");
    ok = start(&c->main, env_main) && start(&c->open, env_open);
    if (ok) {
        HT_ASSERT_GT_INT(c->main.port, 0);
        HT_ASSERT_NE_INT(c->main.port, c->open.port);
    }
    ok = ok && !ht_check_failed();
    HT_CHECK_END();
    return ok;
}

static void check_help_and_args(void) {
    char path[1024];
    char err[HL_ERR_LEN];
    const char *help[] = { "--help", NULL };
    const char *bad[] = { "--bogus", NULL };
    const char *bad_delay[] = { "PORT=0", "FAKEGRAPH_DELAY_MS=soon", NULL };
    const char *bad_port[] = { "PORT=70000", NULL };
    char *out = NULL;
    size_t len = 0;
    int code = -1;

    HT_CHECK_BEGIN("--help exits 0 with endpoints; bad args/env exit 2");
    ht_bin_path("hookline-fakegraph", path, sizeof(path));
    if (ht_proc_run(path, help, NULL, 5000, &code, &out, &len, err)
        == HL_OK) {
        HT_ASSERT_EQ_INT(code, 0);
        HT_ASSERT_CONTAINS(out, "MESSENGER_PAGE_ACCESS_TOKEN");
        HT_ASSERT_CONTAINS(out, "PORT");
        HT_ASSERT_CONTAINS(out, "/_fake/faults");
        HT_ASSERT_CONTAINS(out, "/_fake/requests");
        HT_ASSERT_CONTAINS(out, "FAKEGRAPH_DELAY_MS");
    } else {
        HT_FAIL("%s", err);
    }
    HL_FREE(out);
    if (ht_proc_run(path, bad, NULL, 5000, &code, &out, &len, err) == HL_OK)
        HT_ASSERT_EQ_INT(code, 2);
    HL_FREE(out);
    if (ht_proc_run(path, NULL, bad_delay, 5000, &code, &out, &len, err)
        == HL_OK) {
        HT_ASSERT_EQ_INT(code, 2);
        HT_ASSERT_CONTAINS(out, "FAKEGRAPH_DELAY_MS");
    }
    HL_FREE(out);
    if (ht_proc_run(path, NULL, bad_port, 5000, &code, &out, &len, err)
        == HL_OK) {
        HT_ASSERT_EQ_INT(code, 2);
        HT_ASSERT_CONTAINS(out, "PORT");
    }
    HL_FREE(out);
    HT_CHECK_END();
}

/* ---- Send API ---------------------------------------------------------- */

static void check_send_ok(struct ctx *c) {
    struct ht_http_resp r1, r2;
    json_object *a = NULL, *b = NULL;
    const char *mid1, *mid2;

    HT_CHECK_BEGIN("send: 200 {recipient_id, message_id}, compact, unique");
    reset(c);
    send_text(c, PSID_A, "hello", &r1);
    send_text(c, PSID_A, "again", &r2);
    if (HT_ASSERT_EQ_INT(r1.status, 200) && HT_ASSERT_EQ_INT(r2.status, 200)
        && (a = parse(&r1)) != NULL && (b = parse(&r2)) != NULL) {
        HT_ASSERT_EQ_STR(jstr(jget(a, "recipient_id", NULL)), PSID_A);
        mid1 = jstr(jget(a, "message_id", NULL));
        mid2 = jstr(jget(b, "message_id", NULL));
        HT_ASSERT_TRUE(mid1 != NULL && strncmp(mid1, "m_", 2) == 0);
        HT_ASSERT_NE_STR(mid1, mid2);
        /* Graph sends compact JSON, recipient_id first */
        HT_ASSERT_TRUE(strncmp(r1.body, "{\"recipient_id\":\"" PSID_A
                               "\",\"message_id\":\"m_", 48) == 0);
        HT_ASSERT_EQ_INT(json_object_object_length(a), 2);
    }
    json_object_put(a);
    json_object_put(b);
    ht_http_resp_cleanup(&r1);
    ht_http_resp_cleanup(&r2);
    HT_CHECK_END();
}

static void check_request_log(struct ctx *c) {
    struct ht_http_resp r;
    json_object *log = NULL, *later = NULL, *e;
    char path[64];
    long long seq;

    HT_CHECK_BEGIN("request log: entry per send in order, ?since, DELETE");
    reset(c);
    send_text(c, PSID_A, "first", &r);
    ht_http_resp_cleanup(&r);
    send_text(c, PSID_B, "second", &r);
    ht_http_resp_cleanup(&r);
    log = fetch(c, c->main.port, "/_fake/requests");
    if (log == NULL || !HT_ASSERT_EQ_INT(alen(log), 2))
        goto done;
    e = json_object_array_get_idx(log, 0);
    HT_ASSERT_EQ_STR(jstr(jget(e, "method", NULL)), "POST");
    HT_ASSERT_EQ_STR(jstr(jget(e, "path", NULL)), SEND_PATH);
    HT_ASSERT_EQ_STR(jstr(jget(e, "page", NULL)), PAGE);
    HT_ASSERT_EQ_STR(jstr(jget(e, "recipient", NULL)), PSID_A);
    HT_ASSERT_EQ_INT(jint(jget(e, "token_ok", NULL)), 1);
    HT_ASSERT_EQ_STR(jstr(jget(e, "token_via", NULL)), "header");
    HT_ASSERT_EQ_INT(jint(jget(e, "answered", NULL)), 200);
    HT_ASSERT_EQ_STR(jstr(jget(e, "fault", NULL)), "none");
    HT_ASSERT_EQ_STR(jstr(jget(e, "body", "message", "text", NULL)),
                     "first");
    HT_ASSERT_EQ_STR(jstr(jget(e, "body", "messaging_type", NULL)),
                     "RESPONSE");
    HT_ASSERT_GT_INT(jint(jget(e, "t_ms", NULL)), ht_wall_ms() - 60000);
    seq = jint(jget(e, "seq", NULL));
    e = json_object_array_get_idx(log, 1);
    HT_ASSERT_EQ_STR(jstr(jget(e, "recipient", NULL)), PSID_B);
    HT_ASSERT_EQ_INT(jint(jget(e, "seq", NULL)), seq + 1);
    snprintf(path, sizeof(path), "/_fake/requests?since=%lld", seq);
    later = fetch(c, c->main.port, path);
    if (later != NULL && HT_ASSERT_EQ_INT(alen(later), 1))
        HT_ASSERT_EQ_STR(jstr(jget(json_object_array_get_idx(later, 0),
                                   "recipient", NULL)), PSID_B);
    json_object_put(later);
    control(c, c->main.port, "DELETE", "/_fake/requests", NULL);
    later = fetch(c, c->main.port, "/_fake/requests");
    HT_ASSERT_EQ_INT(alen(later), 0);
    HT_ASSERT_EQ_INT(stat_of(c, "requests"), 0);
done:
    json_object_put(later);
    json_object_put(log);
    HT_CHECK_END();
}

static void check_token_ways(struct ctx *c) {
    const char *ct[] = { CT_JSON, NULL };
    const char *oauth[] = { "Authorization: OAuth " TOKEN, CT_JSON, NULL };
    char body[512];
    struct ht_http_resp r;
    json_object *log = NULL;

    HT_CHECK_BEGIN("token as access_token param or OAuth header: 200");
    reset(c);
    text_body(body, sizeof(body), PSID_A, "param");
    request(c, c->main.port, "POST", SEND_PATH "?access_token=" TOKEN, ct,
            body, &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    ht_http_resp_cleanup(&r);
    request(c, c->main.port, "POST", SEND_PATH, oauth, body, &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    ht_http_resp_cleanup(&r);
    log = fetch(c, c->main.port, "/_fake/requests");
    if (log != NULL && HT_ASSERT_EQ_INT(alen(log), 2)) {
        HT_ASSERT_EQ_STR(jstr(jget(json_object_array_get_idx(log, 0),
                                   "token_via", NULL)), "query");
        HT_ASSERT_EQ_STR(jstr(jget(json_object_array_get_idx(log, 1),
                                   "token_via", NULL)), "header");
    }
    json_object_put(log);
    HT_CHECK_END();
}

static void check_token_wrong(struct ctx *c) {
    const char *wrong[] = { "Authorization: Bearer not-the-token", CT_JSON,
                            NULL };
    const char *prefix[] = { "Authorization: Bearer fg-test-token", CT_JSON,
                             NULL };
    const char *ct[] = { CT_JSON, NULL };
    const char *const *cases[] = { wrong, prefix, ct };
    char body[512];
    struct ht_http_resp r;
    json_object *o = NULL, *log = NULL;
    size_t i;

    HT_CHECK_BEGIN("wrong, partial or missing token: 400 OAuthException 190");
    reset(c);
    text_body(body, sizeof(body), PSID_A, "nope");
    for (i = 0; i < HL_ARRAY_LEN(cases); i++) {
        request(c, c->main.port, "POST", SEND_PATH, cases[i], body, &r);
        HT_ASSERT_EQ_INT(r.status, 400);
        o = parse(&r);
        HT_ASSERT_EQ_INT(jint(jget(o, "error", "code", NULL)), 190);
        HT_ASSERT_EQ_STR(jstr(jget(o, "error", "type", NULL)),
                         "OAuthException");
        HT_ASSERT_TRUE(jstr(jget(o, "error", "fbtrace_id", NULL)) != NULL);
        json_object_put(o);
        ht_http_resp_cleanup(&r);
    }
    request(c, c->main.port, "POST", SEND_PATH "?access_token=x", ct, body,
            &r);
    HT_ASSERT_EQ_INT(error_code(&r), 190);
    ht_http_resp_cleanup(&r);
    log = fetch(c, c->main.port, "/_fake/requests");
    if (log != NULL && HT_ASSERT_EQ_INT(alen(log), 4)) {
        for (i = 0; i < 4; i++)
            HT_ASSERT_EQ_INT(jint(jget(json_object_array_get_idx(log, i),
                                       "token_ok", NULL)), 0);
        HT_ASSERT_EQ_STR(jstr(jget(json_object_array_get_idx(log, 2),
                                   "token_via", NULL)), "none");
    }
    HT_ASSERT_EQ_INT(stat_of(c, "rejected"), 4);
    json_object_put(log);
    HT_CHECK_END();
}

static void check_send_validation(struct ctx *c) {
    static const char *const bad[] = {
        "{\"recipient\":{\"id\":\"" PSID_A "\"},\"message\":{\"text\":",
        "{\"messaging_type\":\"RESPONSE\",\"message\":{\"text\":\"x\"}}",
        "{\"recipient\":{\"id\":\"" PSID_A "\"}}",
        "{\"recipient\":{\"id\":\"" PSID_A "\"},\"message\":{\"text\":\"x\"},"
        "\"sender_action\":\"typing_on\"}",
        "{\"recipient\":{\"id\":\"" PSID_A "\"},\"messaging_type\":"
        "\"MESSAGE_TAG\",\"message\":{\"text\":\"x\"}}",
        "{\"recipient\":{\"id\":\"" PSID_A "\"},\"message\":{\"text\":\"\"}}",
        "{\"recipient\":{\"id\":\"" PSID_A "\"},\"sender_action\":\"dance\"}",
    };
    struct ht_http_resp r;
    json_object *o = NULL;
    size_t i;

    HT_CHECK_BEGIN("malformed Send API bodies: 400 code 100; actions, tags");
    reset(c);
    for (i = 0; i < HL_ARRAY_LEN(bad); i++) {
        send_json(c, bad[i], &r);
        if (!HT_ASSERT_EQ_INT(r.status, 400) ||
            !HT_ASSERT_EQ_INT(error_code(&r), 100))
            ht_note("case %zu: %s", i, bad[i]);
        ht_http_resp_cleanup(&r);
    }
    send_json(c, "{\"recipient\":{\"id\":\"" PSID_A "\"},\"sender_action\":"
              "\"typing_on\"}", &r);
    if (HT_ASSERT_EQ_INT(r.status, 200) && (o = parse(&r)) != NULL) {
        HT_ASSERT_EQ_STR(jstr(jget(o, "recipient_id", NULL)), PSID_A);
        HT_ASSERT_TRUE(jget(o, "message_id", NULL) == NULL);
    }
    json_object_put(o);
    ht_http_resp_cleanup(&r);
    send_json(c, "{\"recipient\":{\"id\":\"" PSID_A "\"},\"messaging_type\":"
              "\"MESSAGE_TAG\",\"tag\":\"HUMAN_AGENT\",\"message\":"
              "{\"text\":\"later\"}}", &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    ht_http_resp_cleanup(&r);
    HT_CHECK_END();
}

/* ---- faults ------------------------------------------------------------ */

static void check_fault_count(struct ctx *c) {
    struct ht_http_resp r;
    json_object *o = NULL, *log = NULL;
    int i;

    HT_CHECK_BEGIN("fault count 2, status 500 code 2: 500, 500, then 200");
    reset(c);
    add_rule(c, "{\"status\":500,\"error\":{\"code\":2,\"message\":"
             "\"An unexpected error has occurred.\",\"is_transient\":true},"
             "\"count\":2}");
    for (i = 0; i < 2; i++) {
        send_text(c, PSID_A, "x", &r);
        HT_ASSERT_EQ_INT(r.status, 500);
        o = parse(&r);
        HT_ASSERT_EQ_INT(jint(jget(o, "error", "code", NULL)), 2);
        HT_ASSERT_EQ_INT(jint(jget(o, "error", "is_transient", NULL)), 1);
        HT_ASSERT_EQ_STR(jstr(jget(o, "error", "message", NULL)),
                         "An unexpected error has occurred.");
        HT_ASSERT_EQ_STR(jstr(jget(o, "error", "type", NULL)),
                         "OAuthException");
        json_object_put(o);
        ht_http_resp_cleanup(&r);
    }
    send_text(c, PSID_A, "x", &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    ht_http_resp_cleanup(&r);
    HT_ASSERT_EQ_INT(stat_of(c, "faulted"), 2);
    HT_ASSERT_EQ_INT(stat_of(c, "ok"), 1);
    HT_ASSERT_EQ_INT(stat_of(c, "rules"), 0);
    log = fetch(c, c->main.port, "/_fake/requests");
    if (log != NULL && HT_ASSERT_EQ_INT(alen(log), 3)) {
        json_object *e0 = json_object_array_get_idx(log, 0);
        HT_ASSERT_EQ_STR(jstr(jget(e0, "fault", NULL)), "status");
        HT_ASSERT_EQ_INT(jint(jget(e0, "answered", NULL)), 500);
        HT_ASSERT_EQ_STR(jstr(jget(json_object_array_get_idx(log, 2),
                                   "fault", NULL)), "none");
    }
    json_object_put(log);
    HT_CHECK_END();
}

static void check_fault_recipient(struct ctx *c) {
    struct ht_http_resp r;
    json_object *o = NULL;

    HT_CHECK_BEGIN("per-recipient fault: only that PSID gets 551/1545041");
    reset(c);
    add_rule(c, "{\"recipient\":\"" PSID_A "\",\"status\":400,\"error\":"
             "{\"code\":551,\"subcode\":1545041,\"message\":\"(#551) This "
             "person isn't available right now.\"},\"count\":1}");
    send_text(c, PSID_B, "b", &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    ht_http_resp_cleanup(&r);
    send_text(c, PSID_A, "a", &r);
    HT_ASSERT_EQ_INT(r.status, 400);
    o = parse(&r);
    HT_ASSERT_EQ_INT(jint(jget(o, "error", "code", NULL)), 551);
    HT_ASSERT_EQ_INT(jint(jget(o, "error", "error_subcode", NULL)), 1545041);
    json_object_put(o);
    ht_http_resp_cleanup(&r);
    send_text(c, PSID_A, "a", &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    ht_http_resp_cleanup(&r);
    HT_CHECK_END();
}

static void check_fault_delay(struct ctx *c) {
    struct ht_http_resp r;
    json_object *log = NULL, *e;
    long long fast;

    HT_CHECK_BEGIN("delay_ms 400: the answer (200) comes measurably later");
    reset(c);
    send_text(c, PSID_A, "quick", &r);
    fast = r.elapsed_ms;
    HT_ASSERT_EQ_INT(r.status, 200);
    ht_http_resp_cleanup(&r);
    add_rule(c, "{\"delay_ms\":400,\"count\":1}");
    send_text(c, PSID_A, "slow", &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    HT_ASSERT_GE_INT(r.elapsed_ms, RULE_DELAY_MS - SLACK_MS);
    HT_ASSERT_LT_INT(fast, RULE_DELAY_MS / 2);
    ht_note("plain %lld ms, delayed %lld ms", fast, r.elapsed_ms);
    ht_http_resp_cleanup(&r);
    log = fetch(c, c->main.port, "/_fake/requests");
    if (log != NULL && HT_ASSERT_EQ_INT(alen(log), 2)) {
        e = json_object_array_get_idx(log, 1);
        HT_ASSERT_EQ_STR(jstr(jget(e, "fault", NULL)), "delay");
        HT_ASSERT_EQ_INT(jint(jget(e, "delay_ms", NULL)), RULE_DELAY_MS);
        HT_ASSERT_EQ_INT(jint(jget(e, "answered", NULL)), 200);
    }
    json_object_put(log);
    HT_CHECK_END();
}

static void check_fault_drop(struct ctx *c) {
    struct ht_http_resp r;
    json_object *log = NULL, *e;
    int rc;

    HT_CHECK_BEGIN("drop: connection closed without an answer, then fine");
    reset(c);
    add_rule(c, "{\"drop\":true,\"count\":1}");
    rc = send_text(c, PSID_A, "gone", &r);
    HT_ASSERT_EQ_INT(rc, HL_EIO);
    HT_ASSERT_EQ_INT(r.status, 0);
    ht_note("client saw: %s", r.err);
    ht_http_resp_cleanup(&r);
    send_text(c, PSID_A, "back", &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    ht_http_resp_cleanup(&r);
    log = fetch(c, c->main.port, "/_fake/requests");
    if (log != NULL && HT_ASSERT_EQ_INT(alen(log), 2)) {
        e = json_object_array_get_idx(log, 0);
        HT_ASSERT_EQ_STR(jstr(jget(e, "fault", NULL)), "drop");
        HT_ASSERT_EQ_INT(jint(jget(e, "answered", NULL)), 0);
    }
    json_object_put(log);
    HT_CHECK_END();
}

static void check_client_leaves(struct ctx *c) {
    struct ht_http_resp r;
    int fd1, fd2;
    long long t0;

    HT_CHECK_BEGIN("client leaves during a delayed answer or drop: no harm");
    reset(c);
    add_rule(c, "[{\"delay_ms\":300,\"count\":1},"
             "{\"drop\":true,\"delay_ms\":300,\"count\":1}]");
    fd1 = raw_send_text(c->main.port);
    fd2 = raw_send_text(c->main.port);
    HT_ASSERT_TRUE(fd1 >= 0 && fd2 >= 0);
    /* both recorded (and pending) before the clients go away */
    t0 = ht_mono_ms();
    while (stat_of(c, "pending") < 2 && ht_mono_ms() - t0 < 2000)
        ht_sleep_ms(20);
    HT_ASSERT_EQ_INT(stat_of(c, "pending"), 2);
    if (fd1 >= 0)
        close(fd1);
    if (fd2 >= 0)
        close(fd2);
    ht_sleep_ms(ht_budget_ms(600));
    HT_ASSERT_EQ_INT(stat_of(c, "pending"), 0);
    HT_ASSERT_TRUE(ht_proc_alive(&c->main));
    send_text(c, PSID_A, "still here", &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    ht_http_resp_cleanup(&r);
    HT_CHECK_END();
}

static void check_fault_percent(struct ctx *c) {
    struct ht_http_resp r;
    int i, ok = 0, failed = 0;

    HT_CHECK_BEGIN("percent 0 never fires, percent 100 always does");
    reset(c);
    add_rule(c, "{\"status\":503,\"percent\":0}");
    for (i = 0; i < 5; i++) {
        send_text(c, PSID_A, "p", &r);
        ok += r.status == 200;
        ht_http_resp_cleanup(&r);
    }
    HT_ASSERT_EQ_INT(ok, 5);
    reset(c);
    add_rule(c, "{\"status\":503,\"percent\":100}");
    for (i = 0; i < 3; i++) {
        send_text(c, PSID_A, "p", &r);
        failed += r.status == 503 && error_code(&r) == 2;
        ht_http_resp_cleanup(&r);
    }
    HT_ASSERT_EQ_INT(failed, 3);
    HT_CHECK_END();
}

static void check_fault_rules_api(struct ctx *c) {
    static const char *const bad[] = {
        "{\"statsu\":500}", "{\"drop\":true,\"status\":500}",
        "{\"status\":99}", "{\"count\":0}", "{\"percent\":101}",
        "{\"error\":{\"cod\":2}}", "{\"endpoint\":\"feed\"}", "[]", "not json",
    };
    struct ht_http_resp r;
    json_object *rules = NULL;
    size_t i;

    HT_CHECK_BEGIN("rule API: bad rules 400 naming the field; list; clear");
    reset(c);
    for (i = 0; i < HL_ARRAY_LEN(bad); i++) {
        request(c, c->main.port, "POST", "/_fake/faults", NULL, bad[i], &r);
        if (!HT_ASSERT_EQ_INT(r.status, 400))
            ht_note("case %s", bad[i]);
        ht_http_resp_cleanup(&r);
    }
    request(c, c->main.port, "POST", "/_fake/faults", NULL, bad[0], &r);
    HT_ASSERT_CONTAINS(r.body, "statsu");
    ht_http_resp_cleanup(&r);
    add_rule(c, "{\"status\":500,\"count\":3,\"recipient\":\"" PSID_B "\"}");
    rules = fetch(c, c->main.port, "/_fake/faults");
    if (rules != NULL &&
        HT_ASSERT_EQ_INT(alen(rules), 1)) {
        json_object *e = json_object_array_get_idx(rules, 0);
        HT_ASSERT_EQ_INT(jint(jget(e, "count", NULL)), 3);
        HT_ASSERT_EQ_STR(jstr(jget(e, "recipient", NULL)), PSID_B);
        HT_ASSERT_EQ_INT(jint(jget(e, "error", "code", NULL)), 2);
    }
    json_object_put(rules);
    control(c, c->main.port, "DELETE", "/_fake/faults", NULL);
    rules = fetch(c, c->main.port, "/_fake/faults");
    HT_ASSERT_EQ_INT(alen(rules), 0);
    json_object_put(rules);
    HT_CHECK_END();
}

/* ---- subscribed_apps, 404, open instance ------------------------------- */

static void check_subscribed_apps(struct ctx *c) {
    const char *h[] = { BEARER, NULL };
    const char *form[] = {
        "Content-Type: application/x-www-form-urlencoded", NULL };
    struct ht_http_resp r;
    json_object *o = NULL, *f;

    HT_CHECK_BEGIN("subscribed_apps: POST fields, GET shows them, DELETE");
    reset(c);
    request(c, c->main.port, "GET", SUBS_PATH, h, NULL, &r);
    o = parse(&r);
    HT_ASSERT_EQ_INT(r.status, 200);
    HT_ASSERT_EQ_INT(alen(jget(o, "data", NULL)), 0);
    json_object_put(o);
    ht_http_resp_cleanup(&r);
    request(c, c->main.port, "POST", SUBS_PATH "?subscribed_fields=messages,"
            "messaging_postbacks", h, NULL, &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    HT_ASSERT_EQ_STR(r.body, "{\"success\":true}");
    ht_http_resp_cleanup(&r);
    request(c, c->main.port, "GET", SUBS_PATH, h, NULL, &r);
    o = parse(&r);
    f = jget(json_object_array_get_idx(jget(o, "data", NULL), 0),
             "subscribed_fields", NULL);
    HT_ASSERT_EQ_STR(jstr(jget(json_object_array_get_idx(
        jget(o, "data", NULL), 0), "name", NULL)), "hookline");
    if (HT_ASSERT_EQ_INT(alen(f), 2)) {
        HT_ASSERT_EQ_STR(jstr(json_object_array_get_idx(f, 0)), "messages");
        HT_ASSERT_EQ_STR(jstr(json_object_array_get_idx(f, 1)),
                         "messaging_postbacks");
    }
    json_object_put(o);
    ht_http_resp_cleanup(&r);
    /* form body carrying the token and fields replaces the set */
    request(c, c->main.port, "POST", SUBS_PATH, form, "access_token=" TOKEN
            "&subscribed_fields=message_echoes", &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    ht_http_resp_cleanup(&r);
    request(c, c->main.port, "GET", SUBS_PATH "?access_token=" TOKEN, NULL,
            NULL, &r);
    o = parse(&r);
    f = jget(json_object_array_get_idx(jget(o, "data", NULL), 0),
             "subscribed_fields", NULL);
    HT_ASSERT_EQ_INT(alen(f), 1);
    json_object_put(o);
    ht_http_resp_cleanup(&r);
    request(c, c->main.port, "POST", SUBS_PATH "?subscribed_fields=mesages",
            h, NULL, &r);
    HT_ASSERT_EQ_INT(r.status, 400);
    HT_ASSERT_EQ_INT(error_code(&r), 100);
    ht_http_resp_cleanup(&r);
    request(c, c->main.port, "POST", SUBS_PATH "?subscribed_fields=messages",
            NULL, NULL, &r);
    HT_ASSERT_EQ_INT(error_code(&r), 190);
    ht_http_resp_cleanup(&r);
    request(c, c->main.port, "DELETE", SUBS_PATH, h, NULL, &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    ht_http_resp_cleanup(&r);
    request(c, c->main.port, "GET", SUBS_PATH, h, NULL, &r);
    o = parse(&r);
    HT_ASSERT_EQ_INT(alen(jget(o, "data", NULL)), 0);
    json_object_put(o);
    ht_http_resp_cleanup(&r);
    HT_CHECK_END();
}

/* The "id" of app i in a subscribed_apps answer. */
static const char *app_id(json_object *o, size_t i) {
    return jstr(jget(json_object_array_get_idx(jget(o, "data", NULL), i),
                     "id", NULL));
}

static void check_app_and_other_apps(struct ctx *c) {
    const char *h[] = { BEARER, NULL };
    struct ht_http_resp r;
    json_object *o = NULL;

    HT_CHECK_BEGIN("GET /app names the fake app (not the page id), is "
                   "token-checked and faultable; another app's "
                   "subscription is listed next to ours, never replaced "
                   "or removed by Graph requests");
    reset(c);
    HT_ASSERT_TRUE(strcmp(FG_APP_ID, PAGE) != 0);
    request(c, c->main.port, "GET", "/v25.0/app", h, NULL, &r);
    o = parse(&r);
    HT_ASSERT_EQ_INT(r.status, 200);
    HT_ASSERT_EQ_STR(jstr(jget(o, "id", NULL)), FG_APP_ID);
    HT_ASSERT_EQ_STR(jstr(jget(o, "name", NULL)), FG_APP_NAME);
    json_object_put(o);
    ht_http_resp_cleanup(&r);
    request(c, c->main.port, "GET", "/app", NULL, NULL, &r);
    HT_ASSERT_EQ_INT(error_code(&r), 190);
    ht_http_resp_cleanup(&r);
    request(c, c->main.port, "POST", "/v25.0/app", h, NULL, &r);
    HT_ASSERT_EQ_INT(r.status, 404);
    ht_http_resp_cleanup(&r);
    add_rule(c, "{\"endpoint\":\"app\",\"status\":500,\"count\":1}");
    request(c, c->main.port, "GET", "/v25.0/app", h, NULL, &r);
    HT_ASSERT_EQ_INT(r.status, 500);
    ht_http_resp_cleanup(&r);
    control(c, c->main.port, "DELETE", "/_fake/subscriptions", NULL);
    control(c, c->main.port, "POST", "/_fake/subscriptions", "{\"page\":\""
            PAGE "\",\"app_id\":\"555\",\"name\":\"other\","
            "\"fields\":\"messages\"}");
    request(c, c->main.port, "POST", SUBS_PATH "?subscribed_fields=feed", h,
            NULL, &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    ht_http_resp_cleanup(&r);
    request(c, c->main.port, "GET", SUBS_PATH, h, NULL, &r);
    o = parse(&r);
    if (HT_ASSERT_EQ_INT(alen(jget(o, "data", NULL)), 2)) {
        HT_ASSERT_EQ_STR(app_id(o, 0), "555");
        HT_ASSERT_EQ_STR(app_id(o, 1), FG_APP_ID);
    }
    json_object_put(o);
    ht_http_resp_cleanup(&r);
    request(c, c->main.port, "DELETE", SUBS_PATH, h, NULL, &r);
    ht_http_resp_cleanup(&r);
    request(c, c->main.port, "GET", SUBS_PATH, h, NULL, &r);
    o = parse(&r);
    if (HT_ASSERT_EQ_INT(alen(jget(o, "data", NULL)), 1))
        HT_ASSERT_EQ_STR(app_id(o, 0), "555");
    json_object_put(o);
    ht_http_resp_cleanup(&r);
    request(c, c->main.port, "POST", "/_fake/subscriptions", NULL,
            "{\"page\":\"" PAGE "\",\"app_id\":\"5\",\"fields\":"
            "\"mesages\"}", &r);
    HT_ASSERT_EQ_INT(r.status, 400);
    HT_ASSERT_CONTAINS(r.body, "mesages");
    ht_http_resp_cleanup(&r);
    control(c, c->main.port, "DELETE", "/_fake/subscriptions", NULL);
    HT_CHECK_END();
}

static void check_not_found(struct ctx *c) {
    const char *h[] = { BEARER, NULL };
    static const char *const paths[] = {
        "/v25.0/" PAGE "/feed", "/nope", "/v25.0", "/v25.0/" PAGE
        "/messages/x", "/_fake/nothing",
    };
    struct ht_http_resp r;
    size_t i;

    HT_CHECK_BEGIN("unknown paths and methods: Graph-style 404; /healthz");
    reset(c);
    for (i = 0; i < HL_ARRAY_LEN(paths); i++) {
        request(c, c->main.port, "GET", paths[i], h, NULL, &r);
        if (!HT_ASSERT_EQ_INT(r.status, 404))
            ht_note("path %s", paths[i]);
        HT_ASSERT_CONTAINS(r.body, "\"error\"");
        ht_http_resp_cleanup(&r);
    }
    request(c, c->main.port, "GET", SEND_PATH, h, NULL, &r);
    HT_ASSERT_EQ_INT(r.status, 404);
    HT_ASSERT_EQ_INT(error_code(&r), 100);
    ht_http_resp_cleanup(&r);
    request(c, c->main.port, "GET", "/healthz", NULL, NULL, &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    ht_http_resp_cleanup(&r);
    HT_CHECK_END();
}

static void check_open_instance(struct ctx *c) {
    const char *any[] = { "Authorization: Bearer anything-goes", CT_JSON,
                          NULL };
    const char *none[] = { CT_JSON, NULL };
    char body[512];
    struct ht_http_resp r;

    HT_CHECK_BEGIN("no configured token: any token passes; global delay");
    text_body(body, sizeof(body), PSID_A, "open");
    request(c, c->open.port, "POST", SEND_PATH, any, body, &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    HT_ASSERT_GE_INT(r.elapsed_ms, GLOBAL_DELAY_MS - SLACK_MS);
    ht_note("delayed answer took %lld ms", r.elapsed_ms);
    ht_http_resp_cleanup(&r);
    request(c, c->open.port, "POST", SEND_PATH, none, body, &r);
    HT_ASSERT_EQ_INT(error_code(&r), 190);
    ht_http_resp_cleanup(&r);
    request(c, c->open.port, "GET", "/_fake/stats", NULL, NULL, &r);
    HT_ASSERT_EQ_INT(r.status, 200);
    HT_ASSERT_LT_INT(r.elapsed_ms, GLOBAL_DELAY_MS);
    ht_http_resp_cleanup(&r);
    HT_CHECK_END();
}

/* ---- logs and shutdown --------------------------------------------------- */

static void check_no_token_logged(struct ctx *c) {
    char *log = NULL;
    size_t len = 0;

    HT_CHECK_BEGIN("the page token never appears in fakegraph's log");
    if (ht_proc_read_log(&c->main, &log, &len) == HL_OK) {
        HT_ASSERT_CONTAINS(log, "\"graph_request\"");
        HT_ASSERT_NOT_CONTAINS(log, TOKEN);
        HT_ASSERT_NOT_CONTAINS(log, "access_token");
    } else {
        HT_FAIL("cannot read the log");
    }
    free(log);
    HT_CHECK_END();
}

/* SIGTERM with a delayed answer in flight: exit 0 (ASan fails the exit
 * on a leak). */
static void stop_with_pending(struct ctx *c, struct ht_proc *p) {
    char *log = NULL;
    size_t len = 0;
    int fd, code = -1;
    long long t0 = ht_mono_ms();

    fd = raw_send_text(p->port);
    HT_ASSERT_TRUE(fd >= 0);
    while (stat_at(c, p->port, "pending") < 1 && ht_mono_ms() - t0 < 2000)
        ht_sleep_ms(10);
    ht_proc_signal(p, SIGTERM);
    if (ht_proc_wait_exit(p, ht_budget_ms(5000), &code) != HL_OK)
        HT_FAIL("%s did not exit within 5 s of SIGTERM", p->name);
    if (!HT_ASSERT_EQ_INT(code, 0))
        ht_proc_dump_log(p, 4000);
    if (ht_proc_read_log(p, &log, &len) == HL_OK) {
        HT_ASSERT_CONTAINS(log, "\"pending_discarded\"");
        HT_ASSERT_CONTAINS(log, "\"stopped\"");
    }
    free(log);
    if (fd >= 0)
        close(fd);
}

static void check_sigterm(struct ctx *c) {
    HT_CHECK_BEGIN("SIGTERM with answers pending: exit 0, nothing leaked");
    reset(c);
    add_rule(c, "{\"delay_ms\":60000}");
    stop_with_pending(c, &c->main);
    stop_with_pending(c, &c->open);
    HT_CHECK_END();
}

int main(void) {
    struct ctx c;
    int rc;

    ht_init();
    memset(&c, 0, sizeof(c));
    c.main.pid = -1;
    c.open.pid = -1;
    c.req_ms = ht_budget_ms(5000);
    check_help_and_args();
    if (check_setup(&c)) {
        check_send_ok(&c);
        check_request_log(&c);
        check_token_ways(&c);
        check_token_wrong(&c);
        check_send_validation(&c);
        check_fault_count(&c);
        check_fault_recipient(&c);
        check_fault_delay(&c);
        check_fault_drop(&c);
        check_client_leaves(&c);
        check_fault_percent(&c);
        check_fault_rules_api(&c);
        check_subscribed_apps(&c);
        check_app_and_other_apps(&c);
        check_not_found(&c);
        check_open_instance(&c);
        check_no_token_logged(&c);
        check_sigterm(&c);
    }
    rc = ht_summary();
    ht_proc_cleanup(&c.open);
    ht_proc_cleanup(&c.main);
    return rc;
}
