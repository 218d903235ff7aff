/* test_ctl_setup.c - bin/hookctl sign, send-test, subscribe and doctor
 * against a real stack: a redis-server of our own, the fake Graph API
 * (started here with MESSENGER_PAGE_ID too, so its GET /me names the
 * page), ingest and one worker.
 *
 * What it proves: sign prints hl_hmac_sign of a file's exact bytes and
 * the public known answer of tests/fixtures/signature; sign without a
 * secret exits 2 naming it. send-test --text is accepted and the worker's
 * "You said: <text>" reaches the fake Graph with the text byte for byte;
 * a wrong app secret shows ingest's 401 and exits 1. subscribe sends the
 * default fields in a form body with the token in a header and shows
 * them; a revoked token shows Graph's 190. doctor fails on an
 * unsubscribed page (fix: hookctl subscribe) and passes on the good
 * stack (only the appendonly warning and the unset public URL not
 * passing); it fails the subscription when only another app (set through
 * POST /_fake/subscriptions) gets the page's messages, or ours is
 * subscribed without them, and falls back to "any app" with a warning
 * when GET /app fails; a wrong verify token, a wrong app secret, a badly shaped
 * secret, another page's id, a revoked token, Redis unreachable, no
 * config, an http:// public URL and a stopped worker each fail their own
 * line with its fix. --json parses with "ok". Usage errors exit 2. No
 * output of any run holds a secret (page token, app secret, verify token,
 * or the wrong ones given). Every secret is shaped right (32 hex app
 * secret, EAA page token) except where the test is about a shape, and the
 * public signature fixture's own secret. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "hl.h"
#include "hl_hmac.h"
#include "../lib/hl_test.h"
#include "../lib/ctlrun.h"
#include "../lib/httpc.h"
#include "../lib/proc.h"
#include "../lib/redis_fixture.h"
#include "../lib/stack.h"
#include "../fakegraph/fakegraph.h"

#define PREFIX "hls"
#define SECRET "7c1e5a9b3d2f4e6a8b0c1d2e3f4a5b6c"
#define WRONG_SECRET "0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a"
#define VERIFY "hls-verify-3b9d0e"
#define WRONG_VERIFY "hls-verify-other-81c2"
#define TOKEN "EAAhlsPageTokenForTheCtlSetupTest00000000001"
#define REVOKED_TOKEN "EAAhlsRevokedPageTokenForTheSetupTest000009"
#define PAGE "100000000000888"
#define OTHER_PAGE "100000000000999"
#define FOREIGN_APP "555000000000123"     /* another app on our page */
#define OUR_APP "this app (" FG_APP_NAME ", id " FG_APP_ID ")"
#define LEASE "1500"
#define DEFAULT_FIELDS "messages,messaging_postbacks,messaging_optins," \
                       "messaging_referrals,message_reactions"
#define NENV 24

/* The environment of one hookctl run; NULL leaves a variable unset. */
struct cenv {
    const char *secret, *verify, *token, *page, *public_url;
    const char *redis;        /* a whole REDIS_URL; NULL: the stack's */
    int use_port;             /* PORT=<ingest> instead of INGEST_URL */
};

struct ctx {
    struct ht_stack st;
    struct ht_proc w;
    long req_ms;
    struct ht_text outputs;   /* every hookctl output, for check_no_secrets */
    char tmp[512];            /* a payload file written here */
};

static struct cenv good_env(void) {
    struct cenv e;

    memset(&e, 0, sizeof(e));
    e.secret = SECRET;
    e.verify = VERIFY;
    e.token = TOKEN;
    e.page = PAGE;
    return e;
}

/* "NAME=value" into a slot of `buf` (room for NENV entries of 256). */
static const char *var(char (*buf)[256], int *n, const char *name,
                       const char *value) {
    snprintf(buf[*n], sizeof(buf[*n]), "%s=%s", name, value);
    return buf[(*n)++];
}

/* Runs bin/hookctl `args` (NULL-terminated) with environment `e`. 1 when
 * it ran to completion (any exit code); its output is kept for the
 * no-secret check. */
static int ctl(struct ctx *c, const struct cenv *e, const char *const *args,
               struct ht_ctlrun *r) {
    char buf[NENV][256], num[32];
    const char *env[NENV + 1];
    int n = 0, k = 0;

    snprintf(num, sizeof(num), "http://127.0.0.1:%d", c->st.fg.port);
    env[k++] = var(buf, &n, "GRAPH_API_BASE", num);
    env[k++] = var(buf, &n, "REDIS_URL", e->redis ? e->redis
                                                  : c->st.redis.url);
    env[k++] = var(buf, &n, "HOOKLINE_PREFIX", PREFIX);
    env[k++] = var(buf, &n, "HOOKLINE_LEASE_MS", LEASE);
    if (e->use_port) {
        snprintf(num, sizeof(num), "%d", c->st.ingest.port);
        env[k++] = var(buf, &n, "PORT", num);
    } else {
        snprintf(num, sizeof(num), "http://127.0.0.1:%d", c->st.ingest.port);
        env[k++] = var(buf, &n, "HOOKLINE_INGEST_URL", num);
    }
    if (e->secret)
        env[k++] = var(buf, &n, "MESSENGER_APP_SECRET", e->secret);
    if (e->verify)
        env[k++] = var(buf, &n, "MESSENGER_VERIFY_TOKEN", e->verify);
    if (e->token)
        env[k++] = var(buf, &n, "MESSENGER_PAGE_ACCESS_TOKEN", e->token);
    if (e->page)
        env[k++] = var(buf, &n, "MESSENGER_PAGE_ID", e->page);
    if (e->public_url)
        env[k++] = var(buf, &n, "HOOKLINE_PUBLIC_URL", e->public_url);
    env[k] = NULL;
    if (!ht_ctlrun(args, env, 30000, r))
        return 0;
    ht_text_add(&c->outputs, "%s\n", r->out);
    return 1;
}

/* Runs hookctl and asserts its exit code; prints the output on a
 * mismatch. 1 when it ran. */
static int ctl_code(struct ctx *c, const struct cenv *e,
                    const char *const *args, int want, struct ht_ctlrun *r) {
    if (!ctl(c, e, args, r))
        return 0;
    if (!HT_ASSERT_EQ_INT(r->code, want))
        ht_note("output:\n%s", r->out);
    return 1;
}

/* The line of `out` starting with `prefix` (e.g. "✗ handshake:"), with
 * the line after it (its fix), copied into `line`; "" when none. */
static const char *line_of(const char *out, const char *prefix, char *line,
                           size_t sz) {
    const char *p = out;

    line[0] = '\0';
    while (p != NULL && *p != '\0') {
        if (strncmp(p, prefix, strlen(prefix)) == 0) {
            const char *nl = strchr(p, '\n');
            const char *end = nl ? strchr(nl + 1, '\n') : NULL;
            size_t n = end ? (size_t)(end - p) : strlen(p);
            snprintf(line, sz, "%.*s", (int)n, p);
            return line;
        }
        p = strchr(p, '\n');
        if (p != NULL)
            p++;
    }
    return line;
}

/* Asserts `out` has a line starting with `prefix` whose text (and fix
 * line) holds `needle` (NULL: any). */
static int has_line(const char *out, const char *prefix,
                    const char *needle) {
    char line[2048];

    line_of(out, prefix, line, sizeof(line));
    if (line[0] == '\0')
        return HT_FAIL("no line \"%s\" in:\n%s", prefix, out);
    if (needle != NULL && strstr(line, needle) == NULL)
        return HT_FAIL("line \"%s\" lacks \"%s\":\n%s", prefix, needle,
                       line);
    return 1;
}

/* ---- the fake Graph's request log ---------------------------------------- */

static json_object *fake_log(struct ctx *c) {
    struct ht_http_resp r;
    json_object *log = NULL;

    ht_http_json(c->st.fg.port, "GET", "/_fake/requests", NULL, c->req_ms,
                 &r);
    if (r.status == 200 && r.body != NULL)
        log = json_tokener_parse(r.body);
    ht_http_resp_cleanup(&r);
    return log;
}

/* A control request to the fake Graph (`body` JSON or NULL); 1 on 200. */
static int fake_body(struct ctx *c, const char *method, const char *path,
                     const char *body) {
    struct ht_http_resp r;
    int ok;

    ht_http_json(c->st.fg.port, method, path, body, c->req_ms, &r);
    ok = HT_ASSERT_EQ_INT(r.status, 200);
    if (!ok)
        ht_note("%s %s: %s", method, path, r.body ? r.body : "");
    ht_http_resp_cleanup(&r);
    return ok;
}

static int fake(struct ctx *c, const char *method, const char *path) {
    return fake_body(c, method, path, NULL);
}

/* The text of the newest accepted Send API call to `user`, copied into
 * `out` ("" when none). */
static void reply_to(struct ctx *c, const char *user, char *out, size_t sz) {
    json_object *log = fake_log(c), *body, *msg, *text;
    size_t i, n = log ? json_object_array_length(log) : 0;

    out[0] = '\0';
    for (i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(log, i);
        const char *to = ht_json_str(e, "recipient");
        if (to == NULL || strcmp(to, user) != 0 ||
            ht_json_int(e, "answered") != 200)
            continue;
        if (json_object_object_get_ex(e, "body", &body) &&
            json_object_object_get_ex(body, "message", &msg) &&
            json_object_object_get_ex(msg, "text", &text))
            snprintf(out, sz, "%s", json_object_get_string(text));
    }
    json_object_put(log);
}

/* ---- setup --------------------------------------------------------------- */

static int start_fakegraph(struct ctx *c, char err[HL_ERR_LEN]) {
    const char *env[] = {
        "PORT=0", "HOOKLINE_LISTEN=127.0.0.1",
        "MESSENGER_PAGE_ACCESS_TOKEN=" TOKEN, "MESSENGER_PAGE_ID=" PAGE,
        NULL
    };
    char path[512];

    if (ht_bin_path("hookline-fakegraph", path, sizeof(path)) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "HL_BIN too long");
        return HL_ETOOBIG;
    }
    return ht_proc_start_server(&c->st.fg, path, NULL, env, err);
}

static int check_setup(struct ctx *c) {
    const char *wenv[] = { "HOOKLINE_PREFIX=" PREFIX,
                           "MESSENGER_PAGE_ID=" PAGE,
                           "MESSENGER_PAGE_ACCESS_TOKEN=" TOKEN,
                           "HOOKLINE_REORDER_MS=50", NULL };
    char err[HL_ERR_LEN];
    int ok = 0;

    HT_CHECK_BEGIN("redis-server, fake Graph (with a page id), ingest and "
                   "a worker start");
    if (ht_redis_start(&c->st.redis, err) != HL_OK) {
        HT_FAIL("redis-server: %s", err);
        goto done;
    }
    if (start_fakegraph(c, err) != HL_OK ||
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

/* ---- sign ---------------------------------------------------------------- */

static void check_sign(struct ctx *c) {
    static const char rel[] =
        "webhook/message_non_ascii_escaped_derived.json";
    const char *args[] = { "sign", NULL, NULL };
    const char *jargs[] = { "--json", "sign", NULL, NULL };
    char path[512], want[HL_SIG_LEN + 2];
    struct cenv e = good_env();
    struct ht_ctlrun r;
    json_object *o;
    char *body = NULL;
    size_t len = 0;

    HT_CHECK_BEGIN("sign prints hl_hmac_sign of the file's exact bytes "
                   "(also as --json)");
    if (!HT_ASSERT_EQ_INT(ht_fixture_path(rel, path, sizeof(path)), HL_OK) ||
        !HT_ASSERT_EQ_INT(ht_read_file(path, &body, &len), HL_OK))
        goto done;
    hl_hmac_sign(SECRET, strlen(SECRET), body, len, want);
    want[HL_SIG_LEN] = '\n';
    want[HL_SIG_LEN + 1] = '\0';
    args[1] = path;
    if (ctl_code(c, &e, args, 0, &r)) {
        HT_ASSERT_EQ_STR(r.out, want);
        ht_ctlrun_cleanup(&r);
    }
    jargs[2] = path;
    if (ctl_code(c, &e, jargs, 0, &r)) {
        o = json_tokener_parse(r.out);
        want[HL_SIG_LEN] = '\0';
        HT_ASSERT_EQ_STR(ht_json_str(o, "header"), "X-Hub-Signature-256");
        HT_ASSERT_EQ_STR(ht_json_str(o, "value"), want);
        json_object_put(o);
        ht_ctlrun_cleanup(&r);
    }
done:
    free(body);
    HT_CHECK_END();
}

/* The public known answer: botbuilder's CRLF body. Its secret is the
 * fixture's own ("TestAppSecret"), not shaped like Meta's: sign does not
 * judge shapes, doctor does. */
static void check_sign_known_answer(struct ctx *c) {
    const char *args[] = { "sign", NULL, NULL };
    char path[512], body_path[600], want[128];
    struct cenv e = good_env();
    json_object *fx = NULL;
    struct ht_ctlrun r;
    char *buf = NULL, *slash;
    size_t len = 0;

    HT_CHECK_BEGIN("sign matches the public botbuilder known answer "
                   "(CRLF body, no final newline)");
    if (!HT_ASSERT_EQ_INT(ht_read_fixture(
            "signature/public_botbuilder_crlf_sha256.json", &buf, &len),
            HL_OK))
        goto done;
    fx = json_tokener_parse(buf);
    if (!HT_ASSERT_TRUE(ht_json_str(fx, "secret") != NULL &&
                        ht_json_str(fx, "body_file") != NULL &&
                        ht_json_str(fx, "header") != NULL))
        goto done;
    ht_fixture_path("signature/x", path, sizeof(path));
    slash = strrchr(path, '/');
    *slash = '\0';
    snprintf(body_path, sizeof(body_path), "%s/%s", path,
             ht_json_str(fx, "body_file"));
    snprintf(want, sizeof(want), "%s\n", ht_json_str(fx, "header"));
    e.secret = ht_json_str(fx, "secret");
    args[1] = body_path;
    if (ctl_code(c, &e, args, 0, &r)) {
        HT_ASSERT_EQ_STR(r.out, want);
        ht_ctlrun_cleanup(&r);
    }
done:
    json_object_put(fx);
    free(buf);
    HT_CHECK_END();
}

static void check_sign_errors(struct ctx *c) {
    const char *args[] = { "sign", "/nonexistent/hookline-payload.json",
                           NULL };
    const char *none[] = { "sign", NULL };
    struct cenv e = good_env();
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("sign: no MESSENGER_APP_SECRET exits 2 naming it; an "
                   "unreadable file exits 1; no FILE exits 2");
    e.secret = NULL;
    if (ctl_code(c, &e, args, 2, &r)) {
        HT_ASSERT_CONTAINS(r.out, "MESSENGER_APP_SECRET");
        ht_ctlrun_cleanup(&r);
    }
    e.secret = SECRET;
    if (ctl_code(c, &e, args, 1, &r)) {
        HT_ASSERT_CONTAINS(r.out, "cannot open");
        ht_ctlrun_cleanup(&r);
    }
    if (ctl_code(c, &e, none, 2, &r))
        ht_ctlrun_cleanup(&r);
    HT_CHECK_END();
}

/* ---- send-test ----------------------------------------------------------- */

static void check_send_text(struct ctx *c) {
    static const char text[] =
        "Hi \"there\" \\ / <b> caf\xc3\xa9 \xf0\x9f\x91\x8b";
    const char *args[] = { "send-test", "--text", text, "--user",
                           "psid-setup-1", NULL };
    char want[256], got[256] = "";
    struct cenv e = good_env();
    struct ht_ctlrun r;
    int i;

    HT_CHECK_BEGIN("send-test --text: 200 from ingest (PORT default URL), "
                   "then the worker's \"You said: <text>\" reaches the "
                   "fake Graph byte for byte");
    e.use_port = 1;
    if (ctl_code(c, &e, args, 0, &r)) {
        HT_ASSERT_CONTAINS(r.out, "HTTP 200 EVENT_RECEIVED");
        HT_ASSERT_CONTAINS(r.out, "m_hookctl_");
        ht_ctlrun_cleanup(&r);
    }
    snprintf(want, sizeof(want), "You said: %s", text);
    for (i = 0; i < 100; i++) {
        reply_to(c, "psid-setup-1", got, sizeof(got));
        if (got[0] != '\0')
            break;
        ht_sleep_ms(ht_budget_ms(100) / (ht_valgrind() ? 10 : 1));
    }
    HT_ASSERT_EQ_STR(got, want);
    HT_CHECK_END();
}

static void check_send_file(struct ctx *c) {
    const char *args[] = { "--json", "send-test", c->tmp, NULL };
    char body[512];
    long long now = ht_wall_ms();
    struct cenv e = good_env();
    json_object *o;
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("send-test FILE --json: the file's bytes signed and "
                   "accepted; the JSON says ok, status and body");
    snprintf(body, sizeof(body), "{\"object\":\"page\",\"entry\":[{\"id\":"
             "\"" PAGE "\",\"time\":%lld,\"messaging\":[{\"sender\":{\"id\":"
             "\"psid-setup-2\"},\"recipient\":{\"id\":\"" PAGE "\"},"
             "\"timestamp\":%lld,\"read\":{\"watermark\":%lld}}]}]}\n",
             now, now, now);
    snprintf(c->tmp, sizeof(c->tmp), "%s/hl-ctl-setup-%d.json",
             ht_tmpdir(), (int)getpid());
    if (!HT_ASSERT_EQ_INT(ht_write_file(c->tmp, body, strlen(body)), HL_OK))
        goto done;
    if (ctl_code(c, &e, args, 0, &r)) {
        o = json_tokener_parse(r.out);
        HT_ASSERT_EQ_INT(ht_json_bool(o, "ok"), 1);
        HT_ASSERT_EQ_INT(ht_json_int(o, "status"), 200);
        HT_ASSERT_EQ_STR(ht_json_str(o, "body"), "EVENT_RECEIVED");
        json_object_put(o);
        ht_ctlrun_cleanup(&r);
    }
done:
    HT_CHECK_END();
}

static void check_send_wrong_secret(struct ctx *c) {
    const char *args[] = { "send-test", "--text", "hello", NULL };
    const char *usage[] = { "send-test", NULL };
    struct cenv e = good_env();
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("send-test with another app secret than ingest's: 401 "
                   "shown with its fix, exit 1; no payload exits 2");
    e.secret = WRONG_SECRET;
    if (ctl_code(c, &e, args, 1, &r)) {
        HT_ASSERT_CONTAINS(r.out, "HTTP 401");
        HT_ASSERT_CONTAINS(r.out, "fix: ingest's MESSENGER_APP_SECRET");
        ht_ctlrun_cleanup(&r);
    }
    if (ctl_code(c, &e, usage, 2, &r))
        ht_ctlrun_cleanup(&r);
    HT_CHECK_END();
}

/* ---- doctor and subscribe ------------------------------------------------ */

static void check_doctor_unsubscribed(struct ctx *c) {
    const char *args[] = { "doctor", NULL };
    struct cenv e = good_env();
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("doctor before subscribe: exit 1, every line passes "
                   "but the subscription, whose fix is hookctl subscribe");
    fake(c, "DELETE", "/_fake/subscriptions");
    if (ctl_code(c, &e, args, 1, &r)) {
        has_line(r.out, "✓ config:", NULL);
        has_line(r.out, "✓ secrets:", NULL);
        has_line(r.out, "✓ handshake:", NULL);
        has_line(r.out, "✓ signed_post:", "EVENT_RECEIVED");
        has_line(r.out, "✓ page_token:", PAGE);
        has_line(r.out, "✓ workers:", "1 live worker owns all 16");
        has_line(r.out, "✗ subscription:", "fix: run `hookctl subscribe`");
        HT_ASSERT_CONTAINS(r.out, "1 check failed");
        ht_ctlrun_cleanup(&r);
    }
    HT_CHECK_END();
}

static void check_subscribe(struct ctx *c) {
    const char *args[] = { "subscribe", NULL };
    struct cenv e = good_env();
    json_object *log;
    struct ht_ctlrun r;
    size_t i, n;
    int posts = 0;

    HT_CHECK_BEGIN("subscribe: exit 0, default fields sent form-encoded "
                   "with the token in a header, and shown back");
    fake(c, "DELETE", "/_fake/requests");
    if (ctl_code(c, &e, args, 0, &r)) {
        HT_ASSERT_CONTAINS(r.out, "✓ page " PAGE ": app hookline");
        HT_ASSERT_CONTAINS(r.out, "messages, messaging_postbacks, "
                           "messaging_optins, messaging_referrals, "
                           "message_reactions");
        ht_ctlrun_cleanup(&r);
    }
    log = fake_log(c);
    n = log ? json_object_array_length(log) : 0;
    for (i = 0; i < n; i++) {
        json_object *q = json_object_array_get_idx(log, i);
        if (strcmp(ht_json_str(q, "method") ? ht_json_str(q, "method")
                                            : "", "POST") != 0)
            continue;
        posts++;
        HT_ASSERT_EQ_STR(ht_json_str(q, "path"),
                         "/v25.0/" PAGE "/subscribed_apps");
        HT_ASSERT_EQ_STR(ht_json_str(q, "fields"), DEFAULT_FIELDS);
        HT_ASSERT_EQ_STR(ht_json_str(q, "token_via"), "header");
        HT_ASSERT_EQ_INT(ht_json_int(q, "answered"), 200);
    }
    HT_ASSERT_EQ_INT(posts, 1);
    json_object_put(log);
    HT_CHECK_END();
}

static void check_subscribe_json_and_errors(struct ctx *c) {
    const char *jargs[] = { "--json", "subscribe", "--fields",
                            "messages,messaging_postbacks", NULL };
    const char *args[] = { "subscribe", NULL };
    const char *bad[] = { "subscribe", "--fields", "messages,,x", NULL };
    struct cenv e = good_env();
    json_object *o, *pages = NULL, *subs = NULL, *fields = NULL;
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("subscribe --json --fields; a revoked token shows "
                   "Graph's 190 (exit 1); no token or no page id exit 2");
    if (ctl_code(c, &e, jargs, 0, &r)) {
        o = json_tokener_parse(r.out);
        HT_ASSERT_EQ_INT(ht_json_bool(o, "ok"), 1);
        json_object_object_get_ex(o, "pages", &pages);
        json_object_object_get_ex(json_object_array_get_idx(pages, 0),
                                  "subscribed", &subs);
        json_object_object_get_ex(json_object_array_get_idx(subs, 0),
                                  "subscribed_fields", &fields);
        HT_ASSERT_EQ_INT(json_object_array_length(fields), 2);
        HT_ASSERT_EQ_STR(json_object_get_string(
            json_object_array_get_idx(fields, 0)), "messages");
        HT_ASSERT_EQ_STR(json_object_get_string(
            json_object_array_get_idx(fields, 1)), "messaging_postbacks");
        json_object_put(o);
        ht_ctlrun_cleanup(&r);
    }
    e.token = REVOKED_TOKEN;
    if (ctl_code(c, &e, args, 1, &r)) {
        HT_ASSERT_CONTAINS(r.out, "Graph API error 190");
        HT_ASSERT_CONTAINS(r.out, "fix: the page access token is expired");
        ht_ctlrun_cleanup(&r);
    }
    e.token = NULL;
    if (ctl_code(c, &e, args, 2, &r)) {
        HT_ASSERT_CONTAINS(r.out, "MESSENGER_PAGE_ACCESS_TOKEN");
        ht_ctlrun_cleanup(&r);
    }
    e.token = TOKEN;
    e.page = NULL;
    if (ctl_code(c, &e, args, 2, &r)) {
        HT_ASSERT_CONTAINS(r.out, "MESSENGER_PAGE_ID");
        ht_ctlrun_cleanup(&r);
    }
    e.page = PAGE;
    if (ctl_code(c, &e, bad, 2, &r))
        ht_ctlrun_cleanup(&r);
    HT_CHECK_END();
}

static void check_doctor_good(struct ctx *c) {
    const char *args[] = { "doctor", NULL };
    const char *jargs[] = { "--json", "doctor", NULL };
    struct cenv e = good_env();
    json_object *o, *checks;
    struct ht_ctlrun r;
    size_t i, n = 0;

    HT_CHECK_BEGIN("doctor on the good stack: exit 0, no ✗, the redis "
                   "warning names CONFIG SET appendonly, --json ok:true "
                   "with 9 checks");
    fake(c, "DELETE", "/_fake/subscriptions");
    if (ctl(c, &e, (const char *const[]){ "subscribe", NULL }, &r))
        ht_ctlrun_cleanup(&r);
    if (ctl_code(c, &e, args, 0, &r)) {
        HT_ASSERT_NOT_CONTAINS(r.out, "✗");
        has_line(r.out, "✓ subscription:", OUR_APP " gets its messages");
        has_line(r.out, "! redis:", "CONFIG SET appendonly yes");
        has_line(r.out, "- public_url:", "HOOKLINE_PUBLIC_URL");
        HT_ASSERT_CONTAINS(r.out, "all checks passed");
        ht_note("doctor said:\n%s", r.out);
        ht_ctlrun_cleanup(&r);
    }
    if (ctl_code(c, &e, jargs, 0, &r)) {
        o = json_tokener_parse(r.out);
        HT_ASSERT_EQ_INT(ht_json_bool(o, "ok"), 1);
        if (json_object_object_get_ex(o, "checks", &checks))
            n = json_object_array_length(checks);
        HT_ASSERT_EQ_INT(n, 9);
        for (i = 0; i < n; i++) {
            json_object *k = json_object_array_get_idx(checks, i);
            HT_ASSERT_TRUE(ht_json_str(k, "check") != NULL &&
                           ht_json_str(k, "status") != NULL &&
                           ht_json_str(k, "detail") != NULL &&
                           json_object_object_get_ex(k, "fix", NULL));
        }
        HT_ASSERT_EQ_INT(ht_json_count(checks, "status", "fail"), 0);
        HT_ASSERT_EQ_STR(ht_json_str(json_object_array_get_idx(checks, 0),
                                     "check"), "config");
        json_object_put(o);
        ht_ctlrun_cleanup(&r);
    }
    HT_CHECK_END();
}

/* The fake's page PAGE with another app subscribed to `fields`. */
static int foreign_app(struct ctx *c, const char *fields) {
    char body[256];

    snprintf(body, sizeof(body), "{\"page\":\"" PAGE "\",\"app_id\":\""
             FOREIGN_APP "\",\"name\":\"someone-else\",\"fields\":\"%s\"}",
             fields);
    return fake_body(c, "POST", "/_fake/subscriptions", body);
}

static void check_doctor_foreign_app(struct ctx *c) {
    const char *args[] = { "doctor", NULL };
    const char *sub[] = { "subscribe", "--fields", "message_reactions",
                          NULL };
    struct cenv e = good_env();
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("doctor: only ANOTHER app subscribed to messages fails "
                   "the subscription line (ours is told by GET /app); "
                   "/app failing falls back to any app, with a warning");
    fake(c, "DELETE", "/_fake/subscriptions");
    foreign_app(c, "messages");
    if (ctl_code(c, &e, args, 1, &r)) {
        has_line(r.out, "✗ subscription:", OUR_APP " is not subscribed");
        has_line(r.out, "✗ subscription:", "1 other app is (someone-else, "
                 "id " FOREIGN_APP ": messages)");
        has_line(r.out, "✗ subscription:", "fix: run `hookctl subscribe`");
        HT_ASSERT_CONTAINS(r.out, "1 check failed");
        ht_ctlrun_cleanup(&r);
    }
    if (ctl(c, &e, sub, &r))
        ht_ctlrun_cleanup(&r);
    if (ctl_code(c, &e, args, 1, &r)) {
        has_line(r.out, "✗ subscription:", OUR_APP " is subscribed to "
                 "message_reactions, but not to messages");
        ht_ctlrun_cleanup(&r);
    }
    /* our app unknown: the other app's messages count, with a warning */
    fake_body(c, "POST", "/_fake/faults", "{\"endpoint\":\"app\","
              "\"status\":500,\"count\":1}");
    if (ctl_code(c, &e, args, 0, &r)) {
        has_line(r.out, "✓ subscription:", "warning: cannot tell which "
                 "app is ours (GET /app with the page token: Graph API "
                 "error 2");
        ht_ctlrun_cleanup(&r);
    }
    fake(c, "DELETE", "/_fake/faults");
    fake(c, "DELETE", "/_fake/subscriptions");
    if (ctl(c, &e, (const char *const[]){ "subscribe", NULL }, &r))
        ht_ctlrun_cleanup(&r);
    HT_CHECK_END();
}

static void check_doctor_wrong_verify(struct ctx *c) {
    const char *args[] = { "doctor", NULL };
    struct cenv e = good_env();
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("doctor with another verify token than ingest's: the "
                   "handshake line fails (403) with its fix");
    e.verify = WRONG_VERIFY;
    if (ctl_code(c, &e, args, 1, &r)) {
        has_line(r.out, "✗ handshake:", "403");
        has_line(r.out, "✗ handshake:", "fix: ingest has another "
                 "MESSENGER_VERIFY_TOKEN");
        has_line(r.out, "✓ signed_post:", NULL);
        ht_ctlrun_cleanup(&r);
    }
    HT_CHECK_END();
}

static void check_doctor_wrong_secret(struct ctx *c) {
    const char *args[] = { "doctor", NULL };
    struct cenv e = good_env();
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("doctor with a well-shaped but wrong app secret: the "
                   "signed POST fails with 401 and points at the secret");
    e.secret = WRONG_SECRET;
    if (ctl_code(c, &e, args, 1, &r)) {
        has_line(r.out, "✓ secrets:", NULL);
        has_line(r.out, "✗ signed_post:", "401");
        has_line(r.out, "✗ signed_post:", "fix: ingest's "
                 "MESSENGER_APP_SECRET differs");
        ht_ctlrun_cleanup(&r);
    }
    HT_CHECK_END();
}

static void check_doctor_bad_shape(struct ctx *c) {
    const char *args[] = { "doctor", NULL };
    const char *jargs[] = { "--json", "doctor", NULL };
    struct cenv e = good_env();
    json_object *o;
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("doctor with a trailing space on the app secret: the "
                   "secrets line fails naming the space, never the value");
    e.secret = SECRET " ";
    if (ctl_code(c, &e, args, 1, &r)) {
        has_line(r.out, "✗ secrets:", "space or a line break");
        has_line(r.out, "✗ secrets:", "App settings > Basic");
        HT_ASSERT_NOT_CONTAINS(r.out, "7c1e5a9b");
        ht_ctlrun_cleanup(&r);
    }
    if (ctl_code(c, &e, jargs, 1, &r)) {
        o = json_tokener_parse(r.out);
        HT_ASSERT_EQ_INT(ht_json_bool(o, "ok"), 0);
        HT_ASSERT_NOT_CONTAINS(r.out, "7c1e5a9b");
        json_object_put(o);
        ht_ctlrun_cleanup(&r);
    }
    HT_CHECK_END();
}

static void check_doctor_tokens(struct ctx *c) {
    const char *args[] = { "doctor", NULL };
    struct cenv e = good_env();
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("doctor: a revoked page token fails with Graph's 190 "
                   "and its fix; the token of another page is told apart");
    e.token = REVOKED_TOKEN;
    if (ctl_code(c, &e, args, 1, &r)) {
        has_line(r.out, "✗ page_token:", "Graph API error 190");
        has_line(r.out, "✗ page_token:", "Messenger settings > Access "
                 "tokens");
        has_line(r.out, "- subscription:", "not accepted");
        ht_ctlrun_cleanup(&r);
    }
    e.token = TOKEN;
    e.page = OTHER_PAGE;
    if (ctl_code(c, &e, args, 1, &r)) {
        has_line(r.out, "✗ page_token:", "belongs to \"Fake Page\" (id "
                 PAGE ")");
        has_line(r.out, "✗ page_token:", "not a user token or another "
                 "page's token");
        ht_ctlrun_cleanup(&r);
    }
    HT_CHECK_END();
}

static void check_doctor_redis_down(struct ctx *c) {
    const char *args[] = { "doctor", NULL };
    struct cenv e = good_env();
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("doctor with REDIS_URL where nothing listens: redis "
                   "fails with its fix, workers skipped, exit 1");
    e.redis = "redis://127.0.0.1:1/0";
    if (ctl_code(c, &e, args, 1, &r)) {
        has_line(r.out, "✗ redis:", "fix: start Redis, or set REDIS_URL");
        has_line(r.out, "- workers:", "needs Redis");
        ht_ctlrun_cleanup(&r);
    }
    HT_CHECK_END();
}

static void check_doctor_config(struct ctx *c) {
    const char *args[] = { "doctor", NULL };
    struct cenv e;
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("doctor with no secrets or page set: config names what "
                   "is missing; the checks that need them are skipped");
    memset(&e, 0, sizeof(e));
    if (ctl_code(c, &e, args, 1, &r)) {
        has_line(r.out, "✗ config:", "MESSENGER_VERIFY_TOKEN");
        has_line(r.out, "✗ config:", "MESSENGER_APP_SECRET");
        has_line(r.out, "✗ config:", "MESSENGER_PAGE_ID");
        has_line(r.out, "- secrets:", NULL);
        has_line(r.out, "- handshake:", "MESSENGER_VERIFY_TOKEN");
        has_line(r.out, "- signed_post:", "MESSENGER_APP_SECRET");
        has_line(r.out, "- page_token:", NULL);
        has_line(r.out, "✓ workers:", NULL);
        ht_ctlrun_cleanup(&r);
    }
    HT_CHECK_END();
}

static void check_doctor_public(struct ctx *c) {
    const char *args[] = { "doctor", NULL };
    char url[128];
    struct cenv e = good_env();
    struct ht_ctlrun r;

    HT_CHECK_BEGIN("doctor with HOOKLINE_PUBLIC_URL: http:// fails (Meta "
                   "needs https); https to a plain-http port fails TLS");
    e.public_url = "http://bot.example.invalid/webhook";
    if (ctl_code(c, &e, args, 1, &r)) {
        has_line(r.out, "✗ public_url:", "not an https:// URL");
        has_line(r.out, "✗ public_url:", "trusted CA");
        ht_ctlrun_cleanup(&r);
    }
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/webhook",
             c->st.ingest.port);
    e.public_url = url;
    if (ctl_code(c, &e, args, 1, &r)) {
        has_line(r.out, "✗ public_url:", "GET https://127.0.0.1:");
        has_line(r.out, "✗ public_url:", "fix: TLS failed");
        ht_ctlrun_cleanup(&r);
    }
    HT_CHECK_END();
}

static void check_doctor_no_worker(struct ctx *c) {
    const char *args[] = { "doctor", NULL };
    struct cenv e = good_env();
    struct ht_ctlrun r;
    int code = -1;

    HT_CHECK_BEGIN("doctor after the worker stops: the workers line fails "
                   "with its fix");
    if (HT_ASSERT_EQ_INT(ht_proc_signal(&c->w, SIGTERM), HL_OK) &&
        HT_ASSERT_EQ_INT(ht_proc_wait_exit(&c->w, ht_budget_ms(15000),
                                           &code), HL_OK))
        HT_ASSERT_EQ_INT(code, 0);
    if (ctl_code(c, &e, args, 1, &r)) {
        has_line(r.out, "✗ workers:", "no live worker");
        has_line(r.out, "✗ workers:", "fix: start hookline-worker");
        ht_ctlrun_cleanup(&r);
    }
    HT_CHECK_END();
}

static void check_no_secrets(struct ctx *c) {
    static const char *const secrets[] = {
        SECRET, WRONG_SECRET, VERIFY, WRONG_VERIFY, TOKEN, REVOKED_TOKEN,
        "TestAppSecret"
    };
    size_t i;

    HT_CHECK_BEGIN("no hookctl output holds a secret (page tokens, app "
                   "secrets, verify tokens, the ones given wrong too)");
    HT_ASSERT_TRUE(c->outputs.p != NULL && !c->outputs.failed);
    for (i = 0; i < HL_ARRAY_LEN(secrets); i++)
        HT_ASSERT_NOT_CONTAINS(c->outputs.p, secrets[i]);
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
    if (check_setup(&c)) {
        check_sign(&c);
        check_sign_known_answer(&c);
        check_sign_errors(&c);
        check_send_text(&c);
        check_send_file(&c);
        check_send_wrong_secret(&c);
        check_doctor_unsubscribed(&c);
        check_subscribe(&c);
        check_subscribe_json_and_errors(&c);
        check_doctor_good(&c);
        check_doctor_foreign_app(&c);
        check_doctor_wrong_verify(&c);
        check_doctor_wrong_secret(&c);
        check_doctor_bad_shape(&c);
        check_doctor_tokens(&c);
        check_doctor_redis_down(&c);
        check_doctor_config(&c);
        check_doctor_public(&c);
        check_doctor_no_worker(&c);
        check_no_secrets(&c);
    }
    rc = ht_summary();
    if (c.w.pid > 0 && ht_proc_signal(&c.w, SIGTERM) == HL_OK)
        (void)ht_proc_wait_exit(&c.w, ht_budget_ms(10000), &code);
    ht_proc_cleanup(&c.w);
    ht_stack_cleanup(&c.st);
    if (c.tmp[0] != '\0')
        unlink(c.tmp);
    free(c.outputs.p);
    return rc;
}
