/* test_classify.c - unit tests of worker/classify.c: what a Send API
 * answer means for the event (DESIGN.md "Send API errors"). Every error
 * fixture in tests/fixtures/send_api/ maps to its class (613 rate limited,
 * 190 token invalid, 10/2018278 and 10/2018065 outside the window,
 * 100/230/551 permanent, code 2 with HTTP 500 transient), the 200 answers
 * are ok, a failed transfer (HTTP 0) is transient, and the rest of Meta's
 * published table is covered code by code. The Graph error fields are
 * read back from the parsed error (code, subcode, type, message,
 * fbtrace_id, is_transient, http). Garbage bodies never crash and long
 * texts are cut inside their fixed buffers, between UTF-8 characters. */
#include "../lib/hl_test.h"
#include "hl.h"
#include "hl_dlq.h"
#include "hl_json.h"
#include "classify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

/* A fixture's HTTP status when the source did not record one: Graph
 * answers 400 for these client errors (see each fixture's note). */
#define DEFAULT_ERROR_STATUS 400

struct fixture_case {
    const char *file;
    enum worker_outcome want;
    long long code, subcode;
};

/* Reads a send_api fixture: the exact body bytes (body_raw, or the
 * compact wire form, or "body" serialized) and its HTTP status. Caller
 * frees *body. NULL root on failure (reported). */
static json_object *load(const char *file, char **body, size_t *len,
                         int *http) {
    char rel[256], *buf = NULL;
    size_t n = 0;
    json_object *root, *v = NULL;
    const char *s;

    *body = NULL;
    snprintf(rel, sizeof(rel), "send_api/%s", file);
    if (ht_read_fixture(rel, &buf, &n) != HL_OK) {
        HT_FAIL("cannot read fixture %s", rel);
        return NULL;
    }
    root = json_tokener_parse(buf);
    free(buf);
    if (root == NULL) {
        HT_FAIL("fixture %s is not JSON", rel);
        return NULL;
    }
    s = ht_json_str(root, "body_raw");
    if (s == NULL)
        s = ht_json_str(root, "body_on_wire");
    if (s == NULL && json_object_object_get_ex(root, "body", &v))
        s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
    *body = s != NULL ? strdup(s) : NULL;
    *len = *body != NULL ? strlen(*body) : 0;
    *http = (int)ht_json_int(root, "http_status");
    if (*http < 0)
        *http = DEFAULT_ERROR_STATUS;
    return root;
}

static void check_error_fixtures(void) {
    static const struct fixture_case cases[] = {
        { "error_613_rate_limit.json", WO_RATE_LIMITED, 613, 0 },
        { "error_190_463_session_expired.json", WO_TOKEN_INVALID, 190, 463 },
        { "error_190_docs_example.json", WO_TOKEN_INVALID, 190, 1234567 },
        { "error_10_2018278_outside_window_reconstructed.json",
          WO_OUTSIDE_WINDOW, 10, 2018278 },
        { "error_10_2018065_outside_window_escaped.json",
          WO_OUTSIDE_WINDOW, 10, 2018065 },
        { "error_100_no_matching_user.json", WO_PERMANENT, 100, 0 },
        { "error_230_permission.json", WO_PERMANENT, 230, 0 },
        { "error_551_1545041_unavailable.json", WO_PERMANENT, 551,
          1545041 },
        { "error_2_transient_500.json", WO_TRANSIENT, 2, 0 },
    };
    size_t i;

    HT_CHECK_BEGIN("every send_api error fixture maps to its class and its "
                   "Graph error fields are read");
    for (i = 0; i < HL_ARRAY_LEN(cases); i++) {
        struct worker_graph_error e;
        json_object *root, *b = NULL, *err = NULL;
        enum worker_outcome o;
        char *body = NULL;
        size_t len = 0;
        int http = 0;

        root = load(cases[i].file, &body, &len, &http);
        if (root == NULL)
            continue;
        if (json_object_object_get_ex(root, "body", &b))
            json_object_object_get_ex(b, "error", &err);
        o = worker_classify(http, body, len, &e);
        if (!HT_ASSERT_EQ_STR(worker_outcome_name(o),
                              worker_outcome_name(cases[i].want)))
            ht_note("fixture %s (HTTP %d)", cases[i].file, http);
        HT_ASSERT_EQ_INT(e.http, http);
        HT_ASSERT_EQ_INT(e.code, cases[i].code);
        HT_ASSERT_EQ_INT(e.subcode, cases[i].subcode);
        HT_ASSERT_EQ_STR(e.message, ht_json_str(err, "message"));
        HT_ASSERT_EQ_STR(e.type, ht_json_str(err, "type"));
        HT_ASSERT_EQ_STR(e.fbtrace_id, ht_json_str(err, "fbtrace_id") ?
                         ht_json_str(err, "fbtrace_id") : "");
        HT_ASSERT_EQ_INT(e.is_transient,
                         ht_json_bool(err, "is_transient") == 1);
        free(body);
        json_object_put(root);
    }
    HT_CHECK_END();
}

static void check_ok_fixtures(void) {
    static const char *const files[] = {
        "response_200_text.json", "response_200_generic_template.json",
        "response_200_attachment_upload.json"
    };
    size_t i;

    HT_CHECK_BEGIN("the 200 answers of the fixtures are ok, with no error "
                   "fields");
    for (i = 0; i < HL_ARRAY_LEN(files); i++) {
        struct worker_graph_error e;
        char *body = NULL;
        size_t len = 0;
        int http = 0;
        json_object *root = load(files[i], &body, &len, &http);
        if (root == NULL)
            continue;
        HT_ASSERT_EQ_INT(http, 200);
        HT_ASSERT_EQ_STR(worker_outcome_name(worker_classify(http, body, len,
                                                             &e)), "ok");
        HT_ASSERT_EQ_INT(e.http, 200);
        HT_ASSERT_EQ_INT(e.code, 0);
        HT_ASSERT_EQ_STR(e.message, "");
        free(body);
        json_object_put(root);
    }
    HT_CHECK_END();
}

static void check_transfer_failed(void) {
    struct worker_graph_error e;
    static const char partial[] = "{\"error\":{\"code\":190";

    HT_CHECK_BEGIN("HTTP 0 (timeout, reset, refused) is transient, with or "
                   "without bytes");
    memset(&e, 0x55, sizeof(e));
    HT_ASSERT_EQ_INT(worker_classify(0, NULL, 0, &e), WO_TRANSIENT);
    HT_ASSERT_EQ_INT(e.http, 0);
    HT_ASSERT_EQ_INT(e.code, 0);
    HT_ASSERT_EQ_STR(e.message, "");
    /* a cut answer that would say 190 is still a failed transfer */
    HT_ASSERT_EQ_INT(worker_classify(0, partial, sizeof(partial) - 1, &e),
                     WO_TRANSIENT);
    HT_CHECK_END();
}

/* A Graph error body for code/subcode (subcode < 0: none). */
static void error_body(char *out, size_t sz, long long code,
                       long long subcode, int transient) {
    char sub[48] = "";

    if (subcode >= 0)
        snprintf(sub, sizeof(sub), ",\"error_subcode\":%lld", subcode);
    snprintf(out, sz, "{\"error\":{\"message\":\"m\",\"type\":"
             "\"OAuthException\",%s\"code\":%lld%s,\"fbtrace_id\":\"T\"}}",
             transient ? "\"is_transient\":true," : "", code, sub);
}

struct code_case {
    int http;
    long long code, subcode;
    int transient;
    enum worker_outcome want;
};

static void check_code_table(void) {
    static const struct code_case cases[] = {
        /* transient: codes 1, 2, 341, 1200; HTTP 5xx */
        { 500, 1, -1, 1, WO_TRANSIENT },
        { 500, 2, -1, 1, WO_TRANSIENT },
        { 400, 2, -1, 0, WO_TRANSIENT },
        { 400, 341, -1, 0, WO_TRANSIENT },
        { 400, 1200, -1, 0, WO_TRANSIENT },
        { 503, 999999, -1, 0, WO_TRANSIENT },
        /* rate limited: 4, 17, 32, 613 */
        { 400, 4, -1, 0, WO_RATE_LIMITED },
        { 400, 17, -1, 0, WO_RATE_LIMITED },
        { 400, 32, -1, 0, WO_RATE_LIMITED },
        { 400, 613, -1, 0, WO_RATE_LIMITED },
        { 400, 613, 1893016, 0, WO_RATE_LIMITED },
        /* token, page */
        { 400, 190, -1, 0, WO_TOKEN_INVALID },
        { 401, 190, 460, 0, WO_TOKEN_INVALID },
        { 400, 368, -1, 0, WO_PAGE_BLOCKED },
        { 400, 368, 1390008, 0, WO_PAGE_BLOCKED },
        /* the 24 h window: Messenger and Instagram subcodes */
        { 400, 10, 2018278, 0, WO_OUTSIDE_WINDOW },
        { 400, 10, 2534022, 0, WO_OUTSIDE_WINDOW },
        /* permanent */
        { 400, 10, 2018300, 0, WO_PERMANENT },
        { 400, 10, -1, 0, WO_PERMANENT },
        { 400, 100, -1, 0, WO_PERMANENT },
        { 400, 100, 2018001, 0, WO_PERMANENT },
        { 400, 200, -1, 0, WO_PERMANENT },
        { 403, 230, -1, 0, WO_PERMANENT },
        { 400, 551, 1545041, 0, WO_PERMANENT },
        { 400, 123456, -1, 0, WO_PERMANENT },
        /* an unknown code that says it is transient */
        { 400, 123456, -1, 1, WO_TRANSIENT },
    };
    size_t i;

    HT_CHECK_BEGIN("DESIGN's table code by code: 1/2/341/1200/5xx "
                   "transient, 4/17/32/613 rate limited, 190 token, 368 "
                   "page blocked, 10/2018278 and 10/2534022 window, "
                   "10/2018300, 100, 200, 230, 551 permanent");
    for (i = 0; i < HL_ARRAY_LEN(cases); i++) {
        struct worker_graph_error e;
        char body[512];
        enum worker_outcome o;

        error_body(body, sizeof(body), cases[i].code, cases[i].subcode,
                   cases[i].transient);
        o = worker_classify(cases[i].http, body, strlen(body), &e);
        if (!HT_ASSERT_EQ_STR(worker_outcome_name(o),
                              worker_outcome_name(cases[i].want)))
            ht_note("HTTP %d code %lld subcode %lld", cases[i].http,
                    cases[i].code, cases[i].subcode);
        HT_ASSERT_EQ_INT(e.code, cases[i].code);
        HT_ASSERT_EQ_INT(e.subcode, cases[i].subcode < 0 ? 0
                                                         : cases[i].subcode);
        HT_ASSERT_EQ_STR(e.fbtrace_id, "T");
    }
    HT_CHECK_END();
}

static void check_without_graph_error(void) {
    static const char html[] = "<html><body>502 Bad Gateway</body></html>";
    static const char not_obj[] = "{\"error\":\"nope\"}";
    static const char empty[] = "{}";
    struct worker_graph_error e;

    HT_CHECK_BEGIN("answers without a Graph error: 5xx transient, 429 rate "
                   "limited, other 4xx permanent, 2xx ok");
    HT_ASSERT_EQ_INT(worker_classify(502, html, sizeof(html) - 1, &e),
                     WO_TRANSIENT);
    HT_ASSERT_EQ_INT(e.code, 0);
    HT_ASSERT_EQ_INT(worker_classify(500, NULL, 0, &e), WO_TRANSIENT);
    HT_ASSERT_EQ_INT(worker_classify(504, empty, 2, &e), WO_TRANSIENT);
    HT_ASSERT_EQ_INT(worker_classify(429, NULL, 0, &e), WO_RATE_LIMITED);
    HT_ASSERT_EQ_INT(worker_classify(400, html, sizeof(html) - 1, &e),
                     WO_PERMANENT);
    HT_ASSERT_EQ_INT(worker_classify(404, not_obj, sizeof(not_obj) - 1, &e),
                     WO_PERMANENT);
    HT_ASSERT_EQ_INT(e.http, 404);
    HT_ASSERT_EQ_INT(worker_classify(201, NULL, 0, &e), WO_OK);
    HT_ASSERT_EQ_INT(worker_classify(204, html, sizeof(html) - 1, &e),
                     WO_OK);
    HT_CHECK_END();
}

static void check_long_and_odd_fields(void) {
    struct worker_graph_error e;
    char *body = malloc(8192);
    char big[1000];
    size_t n;

    HT_CHECK_BEGIN("long message/type/fbtrace_id are cut inside their "
                   "buffers and NUL-terminated; non-string fields do not "
                   "crash");
    if (!HT_ASSERT_TRUE(body != NULL))
        goto cleanup;
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    n = (size_t)snprintf(body, 8192, "{\"error\":{\"message\":\"%s\",\"type\":"
                         "\"%s\",\"code\":613,\"fbtrace_id\":\"%s\"}}", big,
                         big, big);
    HT_ASSERT_EQ_INT(worker_classify(400, body, n, &e), WO_RATE_LIMITED);
    HT_ASSERT_EQ_INT(strlen(e.message), sizeof(e.message) - 1);
    HT_ASSERT_EQ_INT(strlen(e.type), sizeof(e.type) - 1);
    HT_ASSERT_EQ_INT(strlen(e.fbtrace_id), sizeof(e.fbtrace_id) - 1);
    /* code as a string, message as a number: still classified by HTTP */
    n = (size_t)snprintf(body, 8192, "{\"error\":{\"message\":5,\"code\":"
                         "[1],\"error_subcode\":{}}}");
    HT_ASSERT_EQ_INT(worker_classify(500, body, n, &e), WO_TRANSIENT);
    /* a deep body is refused by the depth limit, not recursed into */
    {
        size_t d;
        for (d = 0; d < 4000; d++)
            body[d] = '[';
        HT_ASSERT_EQ_INT(worker_classify(400, body, 4000, &e),
                         WO_PERMANENT);
        HT_ASSERT_EQ_INT(e.code, 0);
    }
cleanup:
    free(body);
    HT_CHECK_END();
}

/* The dead letter the worker writes for `e`, read back as hookctl does:
 * 1 when the message survives. */
static int dead_letter_keeps(const struct worker_graph_error *e) {
    struct hl_dlq_error de = { e->http, e->code, e->subcode, e->message,
                               e->fbtrace_id };
    struct hl_dlq_entry d;
    struct hl_dlq_view v;
    char *out = NULL;
    size_t len = 0;
    int ok;

    memset(&d, 0, sizeof(d));
    d.reason = HL_DLQ_SEND_PERMANENT;
    d.worker_stage = 1;
    d.error = &de;
    if (hl_dlq_build(&d, &out, &len) != HL_OK)
        return HT_FAIL("hl_dlq_build failed");
    ok = HT_ASSERT_EQ_INT(hl_dlq_parse(out, len, &v), HL_OK) &&
         HT_ASSERT_EQ_STR(v.error_message, e->message);
    hl_dlq_view_cleanup(&v);
    free(out);
    return ok;
}

/* Found by tests/fuzz/fuzz_classify.c (its crash input, verbatim): a
 * message longer than its buffer was cut inside a UTF-8 character, and
 * the dead letter holding it was no longer UTF-8, so hookctl could not
 * read it (hl_dlq_parse refuses it). */
static void check_cut_utf8(void) {
    static const char crash[] =
        "{\"error\":{\"message\":\"Error val###############################"
        "#############################################################ida\\"
        "ud41dfude006:\\ud83dt\\ud08dfudvme\xf0\x9f\x98\x80pealidaud40dfude"
        "006:\\ud83dt\\udd8d0fue01_____true________________________________"
        "_______________\\ud40dfude006:\\ud83dt\\udd8d1fue01_____true______"
        "_______________________________\\ud83dt\\ud04dfude01______________"
        "__________________________________]_____________2:\\ud83d6:fudvme"
        "\xf0\x9f\x98\x80pealida\\ud40dfude006:\\ud66dt\\udd8d0fue01_____t_"
        "______________\\ud40dfude006:\\ud83dt\\udd8d1fue01_____true_______"
        "______________________________\\ud83dt\\ud04dfude01__rue__________"
        "_______________________2:\\ud83d6:\\ud83dt\\ud83dtokennE\"}}";
    static const char *const tails[] = {
        "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"
    };
    struct worker_graph_error e;
    char body[1024];
    size_t i, k;
    int n;

    HT_CHECK_BEGIN("fuzz finding: a long message is cut between UTF-8 "
                   "characters, so its dead letter stays readable");
    HT_ASSERT_EQ_INT(worker_classify(400, crash, sizeof(crash) - 1, &e),
                     WO_PERMANENT);
    HT_ASSERT_TRUE(hl_json_utf8_valid(e.message, strlen(e.message)));
    dead_letter_keeps(&e);
    /* a 2-, 3- and 4-byte character across the 511-byte cut, at every
     * offset: the cut falls before it, never inside */
    for (i = 0; i < HL_ARRAY_LEN(tails); i++) {
        for (k = 0; k < strlen(tails[i]); k++) {
            n = snprintf(body, sizeof(body), "{\"error\":{\"message\":\""
                         "%0*d%s\"}}", (int)(sizeof(e.message) - 1 - k), 0,
                         tails[i]);
            if (!HT_ASSERT_TRUE(n > 0 && (size_t)n < sizeof(body)))
                continue;
            worker_classify(400, body, (size_t)n, &e);
            HT_ASSERT_EQ_INT(strlen(e.message),
                             k == 0 ? sizeof(e.message) - 1
                                    : sizeof(e.message) - 1 - k);
            HT_ASSERT_TRUE(hl_json_utf8_valid(e.message,
                                              strlen(e.message)));
            dead_letter_keeps(&e);
        }
    }
    HT_CHECK_END();
}

static void check_names(void) {
    static const char *const want[] = {
        "ok", "transient", "rate_limited", "token_invalid", "page_blocked",
        "outside_window", "permanent"
    };
    size_t i;

    HT_CHECK_BEGIN("outcome names are stable (metrics labels); out of "
                   "range is \"unknown\"");
    for (i = 0; i < HL_ARRAY_LEN(want); i++)
        HT_ASSERT_EQ_STR(worker_outcome_name((enum worker_outcome)i),
                         want[i]);
    HT_ASSERT_EQ_STR(worker_outcome_name((enum worker_outcome)99),
                     "unknown");
    HT_ASSERT_EQ_STR(worker_outcome_name((enum worker_outcome)-1),
                     "unknown");
    HT_CHECK_END();
}

int main(void) {
    ht_init();
    check_error_fixtures();
    check_ok_fixtures();
    check_transfer_failed();
    check_code_table();
    check_without_graph_error();
    check_long_and_odd_fields();
    check_cut_utf8();
    check_names();
    return ht_summary();
}
