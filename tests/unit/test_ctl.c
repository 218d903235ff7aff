/* test_ctl.c - unit tests of hookctl's pure decisions (hookctl/checks.c,
 * linked from libctl.a) and of the payload builders it uses
 * (hl_event_build_*, hl_batch_build in common/).
 *
 * What it proves: each secret shape rule passes the right shape and names
 * the classic mistakes (pasted space or newline, quotes, the App ID for
 * the secret, upper case, an app token for a page token) without ever
 * copying the value into its text; the handshake and signed-POST answers
 * are classified by status and exact body, and each fix line names the
 * variable to change; Graph's error body, /me and subscribed_apps are
 * read (including a real captured 190/463 error); subscribed_apps is
 * matched to our app by id (another app's `messages` does not count;
 * with our app unknown any app does); the URLs hookctl builds (ingest
 * default, Graph with version, bad node refused, query appended, user
 * info and query kept out of what is shown, even a password holding '@'
 * or '/'); and a built text
 * message or read receipt parses back through hl_batch_split with the
 * identity DESIGN.md gives it and the text byte for byte. */
#include "../lib/hl_test.h"
#include "hl.h"
#include "hl_batch.h"
#include "hl_cfg.h"
#include "hl_envelope.h"
#include "hl_event.h"
#include "hl_json.h"
#include "../../hookctl/checks.h"
#include "../../hookctl/ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#define GOOD_SECRET "5f3c1b0a9e8d7c6b5a4f3e2d1c0b9a88"
#define GOOD_TOKEN "EAAGm0PX4ZCpsBAPageTokenForUnitTests00000001"

/* ---- helpers ------------------------------------------------------------- */

static enum ctl_status app(const char *s, char why[CTL_WHY_LEN]) {
    return ctl_shape_app_secret(s, strlen(s), why);
}

static enum ctl_status vt(const char *s, char why[CTL_WHY_LEN]) {
    return ctl_shape_verify_token(s, strlen(s), why);
}

static enum ctl_status pt(const char *s, char why[CTL_WHY_LEN]) {
    return ctl_shape_page_token(s, strlen(s), why);
}

/* A failing shape whose text holds `needle` and not the value. */
static void bad_app(const char *value, const char *needle) {
    char why[CTL_WHY_LEN];

    HT_ASSERT_EQ_INT(app(value, why), CTL_ST_FAIL);
    HT_ASSERT_CONTAINS(why, needle);
    HT_ASSERT_NOT_CONTAINS(why, "5f3c1b0a9e8d");
}

/* ---- secret shapes ------------------------------------------------------- */

static void check_app_secret(void) {
    char why[CTL_WHY_LEN];

    HT_CHECK_BEGIN("app secret: 32 lower-case hex passes; pasted space, "
                   "newline, quotes, App ID, length, case, non-hex fail");
    HT_ASSERT_EQ_INT(app(GOOD_SECRET, why), CTL_ST_PASS);
    HT_ASSERT_EQ_STR(why, "");
    bad_app(GOOD_SECRET " ", "space or a line break");
    bad_app(GOOD_SECRET "\n", "space or a line break");
    bad_app(" " GOOD_SECRET, "space or a line break");
    bad_app("5f3c1b0a9e8d 7c6b5a4f3e2d1c0b9a8", "space or a line break");
    bad_app("\"" GOOD_SECRET "\"", "quote");
    bad_app("'5f3c1b0a9e8d7c6b5a4f3e2d1c0b9a'", "quote");
    bad_app("1234567890123456", "App ID");
    bad_app("5f3c1b0a9e8d7c6b5a4f3e2d1c0b9a8", "31 characters");
    bad_app(GOOD_SECRET "0", "33 characters");
    bad_app("5F3C1B0A9E8D7C6B5A4F3E2D1C0B9A88", "upper-case");
    bad_app("5f3c1b0a9e8d7c6b5a4f3e2d1c0b9agg", "other than 0-9 and a-f");
    bad_app("", "empty");
    HT_CHECK_END();
}

static void check_verify_token(void) {
    char why[CTL_WHY_LEN], big[CTL_VERIFY_TOKEN_MAX + 2];

    HT_CHECK_BEGIN("verify token: no whitespace, quotes or control "
                   "characters, at most 256 characters");
    HT_ASSERT_EQ_INT(vt("hl-verify-7e21", why), CTL_ST_PASS);
    HT_ASSERT_EQ_INT(vt("hl-verify-7e21\n", why), CTL_ST_FAIL);
    HT_ASSERT_CONTAINS(why, "line break");
    HT_ASSERT_NOT_CONTAINS(why, "hl-verify");
    HT_ASSERT_EQ_INT(vt("hl verify", why), CTL_ST_FAIL);
    HT_ASSERT_EQ_INT(vt("\"hl-verify\"", why), CTL_ST_FAIL);
    HT_ASSERT_CONTAINS(why, "quote");
    HT_ASSERT_EQ_INT(vt("hl\x01verify", why), CTL_ST_FAIL);
    HT_ASSERT_CONTAINS(why, "control");
    memset(big, 'v', sizeof(big) - 2);
    big[sizeof(big) - 2] = '\0';
    HT_ASSERT_EQ_INT(vt(big, why), CTL_ST_PASS);             /* 256 */
    big[sizeof(big) - 2] = 'v';
    big[sizeof(big) - 1] = '\0';
    HT_ASSERT_EQ_INT(vt(big, why), CTL_ST_FAIL);             /* 257 */
    HT_ASSERT_CONTAINS(why, "257 characters");
    HT_ASSERT_EQ_INT(vt("", why), CTL_ST_FAIL);
    HT_CHECK_END();
}

static void check_page_token(void) {
    char why[CTL_WHY_LEN];

    HT_CHECK_BEGIN("page token: EAA and 32+ characters pass; another "
                   "prefix warns; short, app token, spaces, quotes fail");
    HT_ASSERT_EQ_INT(pt(GOOD_TOKEN, why), CTL_ST_PASS);
    HT_ASSERT_EQ_INT(pt("XYZGm0PX4ZCpsBAPageTokenForUnitTests00000001", why),
                     CTL_ST_WARN);
    HT_ASSERT_CONTAINS(why, "EAA");
    HT_ASSERT_EQ_INT(pt("EAAshort", why), CTL_ST_FAIL);
    HT_ASSERT_CONTAINS(why, "8 characters");
    HT_ASSERT_EQ_INT(pt("1000000000000001|abcdefabcdefabcdefabcdefabcdef12",
                        why), CTL_ST_FAIL);
    HT_ASSERT_CONTAINS(why, "app access token");
    HT_ASSERT_NOT_CONTAINS(why, "abcdef");
    HT_ASSERT_EQ_INT(pt(GOOD_TOKEN "\r\n", why), CTL_ST_FAIL);
    HT_ASSERT_EQ_INT(pt("Bearer " GOOD_TOKEN, why), CTL_ST_FAIL);
    HT_ASSERT_EQ_INT(pt("'" GOOD_TOKEN "'", why), CTL_ST_FAIL);
    HT_ASSERT_NOT_CONTAINS(why, "EAAGm0PX");
    HT_CHECK_END();
}

/* ---- answers of ingest --------------------------------------------------- */

static void check_handshake(void) {
    const char *ch = "4f1d2c3b4a596877";
    const char *fix;

    HT_CHECK_BEGIN("handshake: 200 with exactly the challenge passes; each "
                   "other answer has its class and a fix naming the "
                   "variable");
    HT_ASSERT_EQ_INT(ctl_answer_handshake(200, 0, ch, strlen(ch), ch),
                     CTL_ANS_OK);
    HT_ASSERT_TRUE(ctl_fix_handshake(CTL_ANS_OK, 0) == NULL);
    HT_ASSERT_EQ_INT(ctl_answer_handshake(200, 0, "4f1d2c3b4a596877\n", 17,
                                          ch), CTL_ANS_WRONG_BODY);
    HT_ASSERT_EQ_INT(ctl_answer_handshake(200, 0, "ok", 2, ch),
                     CTL_ANS_WRONG_BODY);
    HT_ASSERT_EQ_INT(ctl_answer_handshake(200, 0, NULL, 0, ch),
                     CTL_ANS_WRONG_BODY);
    HT_ASSERT_EQ_INT(ctl_answer_handshake(403, 0, "Forbidden", 9, ch),
                     CTL_ANS_FORBIDDEN);
    HT_ASSERT_EQ_INT(ctl_answer_handshake(404, 0, NULL, 0, ch),
                     CTL_ANS_NOT_FOUND);
    HT_ASSERT_EQ_INT(ctl_answer_handshake(0, CTL_HTTP_F_CONNECT, NULL, 0, ch),
                     CTL_ANS_CONNECT);
    HT_ASSERT_EQ_INT(ctl_answer_handshake(0, CTL_HTTP_F_TLS, NULL, 0, ch),
                     CTL_ANS_TLS);
    HT_ASSERT_EQ_INT(ctl_answer_handshake(0, CTL_HTTP_F_TIMEOUT, NULL, 0, ch),
                     CTL_ANS_TIMEOUT);
    HT_ASSERT_EQ_INT(ctl_answer_handshake(502, 0, NULL, 0, ch),
                     CTL_ANS_STATUS);
    fix = ctl_fix_handshake(CTL_ANS_FORBIDDEN, 0);
    HT_ASSERT_CONTAINS(fix, "MESSENGER_VERIFY_TOKEN");
    HT_ASSERT_CONTAINS(ctl_fix_handshake(CTL_ANS_NOT_FOUND, 0),
                       "HOOKLINE_WEBHOOK_PATH");
    HT_ASSERT_CONTAINS(ctl_fix_handshake(CTL_ANS_CONNECT, 0),
                       "HOOKLINE_INGEST_URL");
    HT_ASSERT_CONTAINS(ctl_fix_handshake(CTL_ANS_CONNECT, 0), "not running");
    HT_ASSERT_CONTAINS(ctl_fix_handshake(CTL_ANS_TLS, 1),
                       "HOOKLINE_PUBLIC_URL");
    HT_ASSERT_CONTAINS(ctl_fix_handshake(CTL_ANS_TLS, 1), "certificate");
    HT_ASSERT_CONTAINS(ctl_fix_handshake(CTL_ANS_FORBIDDEN, 1),
                       "MESSENGER_VERIFY_TOKEN");
    HT_CHECK_END();
}

static void check_post(void) {
    HT_CHECK_BEGIN("signed POST: 200 EVENT_RECEIVED passes; 401 points at "
                   "the app secret, 503 at ingest's Redis");
    HT_ASSERT_EQ_INT(ctl_answer_post(200, 0, "EVENT_RECEIVED", 14),
                     CTL_ANS_OK);
    HT_ASSERT_TRUE(ctl_fix_post(CTL_ANS_OK) == NULL);
    HT_ASSERT_EQ_INT(ctl_answer_post(200, 0, "OK", 2), CTL_ANS_WRONG_BODY);
    HT_ASSERT_EQ_INT(ctl_answer_post(401, 0, "Unauthorized", 12),
                     CTL_ANS_UNAUTHORIZED);
    HT_ASSERT_CONTAINS(ctl_fix_post(CTL_ANS_UNAUTHORIZED),
                       "MESSENGER_APP_SECRET");
    HT_ASSERT_EQ_INT(ctl_answer_post(503, 0, NULL, 0), CTL_ANS_UNAVAILABLE);
    HT_ASSERT_CONTAINS(ctl_fix_post(CTL_ANS_UNAVAILABLE), "Redis");
    HT_ASSERT_EQ_INT(ctl_answer_post(0, CTL_HTTP_F_CONNECT, NULL, 0),
                     CTL_ANS_CONNECT);
    HT_ASSERT_CONTAINS(ctl_fix_post(CTL_ANS_CONNECT), "HOOKLINE_INGEST_URL");
    HT_CHECK_END();
}

/* ---- answers of the Graph API -------------------------------------------- */

static void check_graph_error(void) {
    struct ctl_graph_err e;
    json_object *fx = NULL, *raw = NULL;
    char *buf = NULL, text[1024];
    const char *body;
    size_t len = 0;

    HT_CHECK_BEGIN("Graph error body: a captured 190/463 is read with its "
                   "message and fbtrace_id; 190's fix is a new page token");
    if (!HT_ASSERT_EQ_INT(ht_read_fixture(
            "send_api/error_190_463_session_expired.json", &buf, &len),
            HL_OK))
        goto cleanup;
    fx = json_tokener_parse(buf);
    if (!json_object_object_get_ex(fx, "body_raw", &raw)) {
        HT_FAIL("fixture has no body_raw");
        goto cleanup;
    }
    body = json_object_get_string(raw);
    HT_ASSERT_EQ_INT(ctl_graph_error_parse(body, strlen(body), &e), HL_OK);
    HT_ASSERT_EQ_INT(e.code, 190);
    HT_ASSERT_EQ_INT(e.subcode, 463);
    HT_ASSERT_EQ_STR(e.type, "OAuthException");
    HT_ASSERT_EQ_STR(e.trace, "AXS25JPViBb5AY5tP5EzTnD");
    HT_ASSERT_CONTAINS(e.message, "Session has expired");
    ctl_graph_error_text(400, body, strlen(body), text, sizeof(text));
    HT_ASSERT_CONTAINS(text, "Graph API error 190 (subcode 463, "
                       "OAuthException)");
    HT_ASSERT_CONTAINS(text, "fbtrace_id AXS25JPViBb5AY5tP5EzTnD");
    HT_ASSERT_CONTAINS(ctl_fix_graph(190, 463), "Messenger settings");
    HT_ASSERT_CONTAINS(ctl_fix_graph(200, -1), "permission");
    HT_ASSERT_EQ_INT(ctl_graph_error_parse("<html>", 6, &e), HL_EINVAL);
    HT_ASSERT_EQ_INT(e.code, -1);
    ctl_graph_error_text(502, "<html>", 6, text, sizeof(text));
    HT_ASSERT_EQ_STR(text, "HTTP 502 and no Graph error in the body");
cleanup:
    json_object_put(fx);
    free(buf);
    HT_CHECK_END();
}

static void check_graph_reads(void) {
    static const char subs[] =
        "{\"data\":[{\"id\":\"1\",\"name\":\"other\",\"subscribed_fields\":"
        "[\"feed\"]},{\"id\":\"2\",\"name\":\"hookline\","
        "\"subscribed_fields\":[\"messages\",\"messaging_postbacks\"]}]}";
    static const char me[] = "{\"id\":\"777\",\"name\":\"Shop\"}";
    json_object *root = NULL, *data = NULL;
    char id[64], name[64], fields[64], tiny[12];
    const char *an = NULL, *ai = NULL;

    HT_CHECK_BEGIN("/me, subscribed_apps (an app's name, id and fields, "
                   "cut with ...) and {\"success\":true} are read");
    HT_ASSERT_EQ_INT(ctl_me_parse(me, strlen(me), id, sizeof(id), name,
                                  sizeof(name)), HL_OK);
    HT_ASSERT_EQ_STR(id, "777");
    HT_ASSERT_EQ_STR(name, "Shop");
    HT_ASSERT_EQ_INT(ctl_me_parse("{\"name\":\"x\"}", 12, id, sizeof(id),
                                  name, sizeof(name)), HL_EINVAL);
    HT_ASSERT_EQ_INT(ctl_subs_parse(subs, strlen(subs), &root, &data), HL_OK);
    ctl_subs_fields(json_object_array_get_idx(data, 1), fields,
                    sizeof(fields));
    HT_ASSERT_EQ_STR(fields, "messages, messaging_postbacks");
    ctl_subs_fields(json_object_array_get_idx(data, 1), tiny, sizeof(tiny));
    HT_ASSERT_EQ_STR(tiny, "messages...");
    ctl_subs_app_names(json_object_array_get_idx(data, 1), &an, &ai);
    HT_ASSERT_EQ_STR(an, "hookline");
    HT_ASSERT_EQ_STR(ai, "2");
    ctl_subs_app_names(NULL, &an, &ai);
    HT_ASSERT_EQ_STR(an, "?");
    HT_ASSERT_EQ_STR(ai, "?");
    json_object_put(root);
    root = NULL;
    HT_ASSERT_EQ_INT(ctl_subs_parse("{\"data\":[]}", 11, &root, &data),
                     HL_OK);
    HT_ASSERT_EQ_INT(json_object_array_length(data), 0);
    json_object_put(root);
    root = NULL;
    HT_ASSERT_EQ_INT(ctl_subs_parse("{\"error\":{}}", 12, &root, &data),
                     HL_EINVAL);
    HT_ASSERT_TRUE(root == NULL);
    HT_ASSERT_TRUE(ctl_graph_success("{\"success\":true}", 16));
    HT_ASSERT_TRUE(!ctl_graph_success("{\"success\":false}", 17));
    HT_ASSERT_TRUE(!ctl_graph_success("{}", 2));
    HT_CHECK_END();
}

/* The "id" of the entry ctl_subs_match() judged, or "(none)". */
static const char *judged(json_object *app) {
    json_object *v = NULL;

    if (app == NULL || !json_object_object_get_ex(app, "id", &v))
        return "(none)";
    return json_object_get_string(v);
}

static void check_subs_match(void) {
    /* our app 900.., another app 1000.. (a page-shaped id) with messages */
    static const char two[] =
        "{\"data\":[{\"id\":\"1000000000000001\",\"name\":\"other\","
        "\"subscribed_fields\":[\"messages\"]},{\"id\":\"900000000000001\","
        "\"name\":\"hookline\",\"subscribed_fields\":[\"feed\"]}]}";
    static const char others[] =
        "{\"data\":[{\"id\":\"1000000000000001\",\"name\":\"other\","
        "\"subscribed_fields\":[\"messages\"]},{\"id\":9000000000000010,"
        "\"subscribed_fields\":[\"messages\"]}]}";
    static const char ours[] =
        "{\"data\":[{\"id\":\"7\",\"subscribed_fields\":[\"feed\"]},"
        "{\"id\":900000000000001,\"subscribed_fields\":[\"feed\","
        "\"messages\"]}]}";
    json_object *root = NULL, *data = NULL, *app = NULL;

    HT_CHECK_BEGIN("subscribed_apps matched to our app: another app's "
                   "`messages` does not count; unknown app: any app does");
    if (HT_ASSERT_EQ_INT(ctl_subs_parse(two, strlen(two), &root, &data),
                         HL_OK)) {
        HT_ASSERT_EQ_INT(ctl_subs_match(data, "900000000000001", "messages",
                                        &app), CTL_SUBS_NO_FIELD);
        HT_ASSERT_EQ_STR(judged(app), "900000000000001");
        HT_ASSERT_EQ_INT(ctl_subs_match(data, "900000000000001", "feed",
                                        &app), CTL_SUBS_OK);
        HT_ASSERT_EQ_STR(judged(app), "900000000000001");
        /* our app unknown: the other app's messages count */
        HT_ASSERT_EQ_INT(ctl_subs_match(data, NULL, "messages", &app),
                         CTL_SUBS_OK);
        HT_ASSERT_EQ_STR(judged(app), "1000000000000001");
        HT_ASSERT_EQ_INT(ctl_subs_match(data, NULL, "message_reads", &app),
                         CTL_SUBS_NO_FIELD);
        HT_ASSERT_EQ_STR(judged(app), "1000000000000001");
    }
    json_object_put(root);
    root = NULL;
    if (HT_ASSERT_EQ_INT(ctl_subs_parse(others, strlen(others), &root,
                                        &data), HL_OK)) {
        /* ids are compared whole: no prefix match, numbers as text */
        HT_ASSERT_EQ_INT(ctl_subs_match(data, "900000000000001", "messages",
                                        &app), CTL_SUBS_OTHERS);
        HT_ASSERT_TRUE(app == NULL);
        HT_ASSERT_EQ_INT(ctl_subs_match(data, "9000000000000010", "messages",
                                        &app), CTL_SUBS_OK);
    }
    json_object_put(root);
    root = NULL;
    if (HT_ASSERT_EQ_INT(ctl_subs_parse(ours, strlen(ours), &root, &data),
                         HL_OK)) {
        HT_ASSERT_EQ_INT(ctl_subs_match(data, "900000000000001", "messages",
                                        &app), CTL_SUBS_OK);
        HT_ASSERT_EQ_STR(judged(app), "900000000000001");
    }
    json_object_put(root);
    root = NULL;
    if (HT_ASSERT_EQ_INT(ctl_subs_parse("{\"data\":[]}", 11, &root, &data),
                         HL_OK)) {
        HT_ASSERT_EQ_INT(ctl_subs_match(data, "900000000000001", "messages",
                                        &app), CTL_SUBS_NONE);
        HT_ASSERT_EQ_INT(ctl_subs_match(data, NULL, "messages", &app),
                         CTL_SUBS_NONE);
        HT_ASSERT_TRUE(app == NULL);
    }
    json_object_put(root);
    HT_CHECK_END();
}

/* ---- URLs and arguments -------------------------------------------------- */

static void check_urls(void) {
    char path[] = "/webhook", ingest[] = "https://bot.example.com/";
    char base[] = "https://graph.facebook.com", ver[] = "v25.0";
    struct hl_cfg cfg;
    char url[256], shown[256];

    HT_CHECK_BEGIN("URLs: ingest default and HOOKLINE_INGEST_URL, Graph "
                   "with version, bad node refused, query appended, user "
                   "info and query never shown");
    memset(&cfg, 0, sizeof(cfg));
    cfg.port = 3000;
    cfg.webhook_path = path;
    HT_ASSERT_EQ_INT(ctl_url_ingest(&cfg, url, sizeof(url)), HL_OK);
    HT_ASSERT_EQ_STR(url, "http://127.0.0.1:3000/webhook");
    cfg.ingest_url = ingest;
    HT_ASSERT_EQ_INT(ctl_url_ingest(&cfg, url, sizeof(url)), HL_OK);
    HT_ASSERT_EQ_STR(url, "https://bot.example.com/webhook");
    HT_ASSERT_EQ_INT(ctl_url_ingest(&cfg, url, 12), HL_ETOOBIG);
    cfg.graph_api_base = base;
    cfg.graph_api_version = ver;
    HT_ASSERT_EQ_INT(ctl_url_graph(&cfg, "777", "subscribed_apps", NULL, url,
                                   sizeof(url)), HL_OK);
    HT_ASSERT_EQ_STR(url,
                     "https://graph.facebook.com/v25.0/777/subscribed_apps");
    HT_ASSERT_EQ_INT(ctl_url_graph(&cfg, "me", NULL, "fields=id,name", url,
                                   sizeof(url)), HL_OK);
    HT_ASSERT_EQ_STR(url, "https://graph.facebook.com/v25.0/me?fields=id,"
                     "name");
    HT_ASSERT_EQ_INT(ctl_url_graph(&cfg, "../x", NULL, NULL, url,
                                   sizeof(url)), HL_EINVAL);
    HT_ASSERT_EQ_INT(ctl_url_graph(&cfg, "7?access_token=x", NULL, NULL, url,
                                   sizeof(url)), HL_EINVAL);
    snprintf(url, sizeof(url), "https://h/w");
    HT_ASSERT_EQ_INT(ctl_url_add_query(url, sizeof(url), "a=1"), HL_OK);
    HT_ASSERT_EQ_INT(ctl_url_add_query(url, sizeof(url), "b=2"), HL_OK);
    HT_ASSERT_EQ_STR(url, "https://h/w?a=1&b=2");
    HT_ASSERT_EQ_INT(ctl_url_add_query(url, 20, "c=3"), HL_ETOOBIG);
    HT_ASSERT_EQ_STR(url, "https://h/w?a=1&b=2");
    ctl_url_origin("https://user:pw@bot.example.com:8443/hook?t=secret",
                   shown, sizeof(shown));
    HT_ASSERT_EQ_STR(shown, "https://bot.example.com:8443");
    ctl_url_shown("https://user:pw@bot.example.com:8443/hook?t=secret",
                  shown, sizeof(shown));
    HT_ASSERT_EQ_STR(shown, "https://bot.example.com:8443/hook");
    ctl_url_shown("no-scheme", shown, sizeof(shown));
    HT_ASSERT_EQ_STR(shown, "(unparsable URL)");
    HT_ASSERT_TRUE(ctl_url_is_https("HTTPS://x"));
    HT_ASSERT_TRUE(!ctl_url_is_https("http://x"));
    HT_ASSERT_TRUE(ctl_fields_valid("messages,message_reactions"));
    HT_ASSERT_TRUE(!ctl_fields_valid("messages,,feed"));
    HT_ASSERT_TRUE(!ctl_fields_valid("messages,"));
    HT_ASSERT_TRUE(!ctl_fields_valid("messages feed"));
    HT_ASSERT_TRUE(!ctl_fields_valid(""));
    HT_CHECK_END();
}

/* Every shown form of `url` is `want` (origin) / `want_shown`, and holds
 * none of the password `pw`. */
static void origin_is(const char *url, const char *want,
                      const char *want_shown, const char *pw) {
    char shown[256];

    ctl_url_origin(url, shown, sizeof(shown));
    HT_ASSERT_EQ_STR(shown, want);
    if (pw != NULL)
        HT_ASSERT_NOT_CONTAINS(shown, pw);
    ctl_url_shown(url, shown, sizeof(shown));
    HT_ASSERT_EQ_STR(shown, want_shown);
    if (pw != NULL)
        HT_ASSERT_NOT_CONTAINS(shown, pw);
}

static void check_url_user_info(void) {
    HT_CHECK_BEGIN("user info is never shown: a password with '@' is cut "
                   "at the last '@', one with '/' makes the URL unshown");
    origin_is("https://u:p@ss@bot.example.com/hook?x=1",
              "https://bot.example.com", "https://bot.example.com/hook",
              "ss");
    origin_is("https://u:p@s@s@h:8443/a/b@c", "https://h:8443",
              "https://h:8443/a/b@c", "p@s");
    origin_is("http://user@[::1]:3000/webhook", "http://[::1]:3000",
              "http://[::1]:3000/webhook", "user");
    origin_is("https://u:secretpw/x@h/hook", "(unparsable URL)",
              "(unparsable URL)", "secretpw");
    origin_is("https://u:pw@/hook", "(unparsable URL)", "(unparsable URL)",
              "pw");
    origin_is("https://h:x1/hook", "(unparsable URL)", "(unparsable URL)",
              NULL);
    origin_is("https://graph.facebook.com", "https://graph.facebook.com",
              "https://graph.facebook.com", NULL);
    HT_CHECK_END();
}

/* ---- payload builders ---------------------------------------------------- */

/* Builds and serialises `ev` into a page body, then splits it back. */
static int round_trip(json_object *ev, struct hl_batch *b) {
    json_object *root = NULL, *back = NULL;
    const char *s;
    size_t n = 0;
    int rc;

    memset(b, 0, sizeof(*b));
    if (hl_batch_build("page", "100000000000777", 1700000000000LL, ev,
                       &root) != HL_OK)
        return HT_FAIL("hl_batch_build failed");
    s = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN, &n);
    rc = hl_json_parse(s, n, HL_JSON_DEPTH, &back);
    json_object_put(root);
    if (rc != HL_OK)
        return HT_FAIL("built body does not parse");
    rc = hl_batch_split(back, 16, 1700000000999LL, b);
    json_object_put(back);
    return HT_ASSERT_EQ_INT(rc, HL_OK) && HT_ASSERT_EQ_INT(b->n, 1);
}

static void check_builders(void) {
    static const char text[] =
        "h\xc3\xa9llo \"q\" \\ / <b>\n\ttab \xf0\x9f\x91\x8b";
    struct hl_envelope env;
    struct hl_batch b;
    json_object *ev = NULL, *m = NULL, *t = NULL;

    HT_CHECK_BEGIN("hl_event_build_message/read + hl_batch_build parse back "
                   "through hl_batch_split: kind, page, user, id, text");
    if (hl_event_build_message("100000000000777", "psid-1", 1700000000000LL,
                               "m_hookctl_ab12", text, &ev) == HL_OK &&
        round_trip(ev, &b)) {
        HT_ASSERT_EQ_INT(b.items[0].malformed, 0);
        HT_ASSERT_EQ_STR(hl_kind_name(b.items[0].info.kind), "message");
        HT_ASSERT_EQ_STR(b.items[0].info.page, "100000000000777");
        HT_ASSERT_EQ_STR(b.items[0].info.user, "psid-1");
        HT_ASSERT_EQ_STR(b.items[0].info.id, "m:m_hookctl_ab12");
        HT_ASSERT_EQ_INT(b.items[0].info.ts, 1700000000000LL);
        if (HT_ASSERT_EQ_INT(hl_envelope_parse(b.items[0].data,
                                               b.items[0].len, &env),
                             HL_OK)) {
            json_object_object_get_ex(env.event, "message", &m);
            json_object_object_get_ex(m, "text", &t);
            HT_ASSERT_EQ_STR(json_object_get_string(t), text);
            hl_envelope_cleanup(&env);
        }
    }
    hl_batch_cleanup(&b);
    ev = NULL;
    if (hl_event_build_read("100000000000777", "hookline-doctor",
                            1700000000001LL, 1700000000002LL, &ev) == HL_OK &&
        round_trip(ev, &b)) {
        HT_ASSERT_EQ_STR(hl_kind_name(b.items[0].info.kind), "read");
        HT_ASSERT_EQ_STR(b.items[0].info.user, "hookline-doctor");
        HT_ASSERT_EQ_STR(b.items[0].info.id,
                         "rd:hookline-doctor:1700000000002");
    }
    hl_batch_cleanup(&b);
    HT_CHECK_END();
}

int main(void) {
    ht_init();
    check_app_secret();
    check_verify_token();
    check_page_token();
    check_handshake();
    check_post();
    check_graph_error();
    check_graph_reads();
    check_subs_match();
    check_urls();
    check_url_user_info();
    check_builders();
    return ht_summary();
}
