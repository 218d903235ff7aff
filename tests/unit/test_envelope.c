/* test_envelope.c - unit tests of common/hl_envelope.c: the queue item of
 * DESIGN.md "Envelope" built from a hand-made hl_event_info, read back
 * with plain json-c and with hl_envelope_parse; the event kept as
 * received (number text, decoded strings); and every way an envelope can
 * be unreadable (HL_EINVAL, nothing left to clean up).
 * The per-fixture envelopes (every webhook fixture) are checked in
 * test_event.c. */
#include "../lib/hl_test.h"
#include "hl.h"
#include "hl_envelope.h"
#include "hl_event.h"
#include "hl_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#define RX 1700000000123LL

static json_object *get(json_object *o, const char *k) {
    json_object *v = NULL;

    if (o == NULL || !json_object_object_get_ex(o, k, &v))
        return NULL;
    return v;
}

static void info_init(struct hl_event_info *info, enum hl_kind kind,
                      const char *page, const char *user, const char *id,
                      long long ts, int standby) {
    memset(info, 0, sizeof(*info));
    info->kind = kind;
    snprintf(info->page, sizeof(info->page), "%s", page);
    snprintf(info->user, sizeof(info->user), "%s", user);
    snprintf(info->id, sizeof(info->id), "%s", id);
    info->ts = ts;
    info->standby = standby;
}

/* ---- build and read back ------------------------------------------------- */

static void check_round_trip(void) {
    const char *evs = "{\"sender\":{\"user_ref\":\"R\"},\"recipient\":{\"id\":"
                      "\"IG1\"},\"timestamp\":5,\"postback\":{\"payload\":"
                      "\"X\"}}";
    json_object *ev = json_tokener_parse(evs);
    json_object *o = NULL;
    struct hl_event_info info;
    struct hl_envelope env;
    char *txt = NULL;
    size_t n = 0;

    HT_CHECK_BEGIN("build -> json-c and hl_envelope_parse give every field "
                   "back (instagram, standby true)");
    if (!HT_ASSERT_TRUE(ev != NULL))
        goto cleanup;
    info_init(&info, HL_KIND_POSTBACK, "IG1", "R", "p:R:5:abc", 5000, 1);
    if (!HT_ASSERT_EQ_INT(hl_envelope_build(&info, "instagram", RX, ev, &txt,
                                            &n), HL_OK))
        goto cleanup;
    HT_ASSERT_EQ_INT(strlen(txt), n);
    o = json_tokener_parse(txt);
    if (!HT_ASSERT_TRUE(o != NULL && json_object_is_type(o,
                                                         json_type_object)))
        goto cleanup;
    /* exactly DESIGN's ten fields */
    HT_ASSERT_EQ_INT(json_object_object_length(o), 10);
    HT_ASSERT_EQ_INT(json_object_get_int64(get(o, "v")), 1);
    HT_ASSERT_EQ_STR(json_object_get_string(get(o, "id")), "p:R:5:abc");
    HT_ASSERT_EQ_STR(json_object_get_string(get(o, "object")), "instagram");
    HT_ASSERT_EQ_STR(json_object_get_string(get(o, "page")), "IG1");
    HT_ASSERT_EQ_STR(json_object_get_string(get(o, "user")), "R");
    HT_ASSERT_TRUE(json_object_is_type(get(o, "ts"), json_type_int));
    HT_ASSERT_EQ_INT(json_object_get_int64(get(o, "ts")), 5000);
    HT_ASSERT_EQ_INT(json_object_get_int64(get(o, "rx")), RX);
    HT_ASSERT_EQ_STR(json_object_get_string(get(o, "kind")), "postback");
    HT_ASSERT_TRUE(json_object_is_type(get(o, "standby"),
                                       json_type_boolean));
    HT_ASSERT_EQ_INT(json_object_get_boolean(get(o, "standby")), 1);
    HT_ASSERT_TRUE(json_object_equal(get(o, "event"), ev));
    if (!HT_ASSERT_EQ_INT(hl_envelope_parse(txt, n, &env), HL_OK))
        goto cleanup;
    HT_ASSERT_EQ_STR(env.id, "p:R:5:abc");
    HT_ASSERT_EQ_STR(env.object, "instagram");
    HT_ASSERT_EQ_STR(env.page, "IG1");
    HT_ASSERT_EQ_STR(env.user, "R");
    HT_ASSERT_EQ_STR(env.kind_name, "postback");
    HT_ASSERT_EQ_INT(env.kind, HL_KIND_POSTBACK);
    HT_ASSERT_EQ_INT(env.ts, 5000);
    HT_ASSERT_EQ_INT(env.rx, RX);
    HT_ASSERT_EQ_INT(env.standby, 1);
    HT_ASSERT_TRUE(json_object_equal(env.event, ev));
    hl_envelope_cleanup(&env);
    HT_ASSERT_TRUE(env.root == NULL && env.id == NULL);
cleanup:
    json_object_put(o);
    json_object_put(ev);
    free(txt);
    HT_CHECK_END();
}

static void check_special_values(void) {
    const char *id = "m:a\"b\\c/d\n\x01\xc3\xa9";
    json_object *ev = json_tokener_parse("{\"message\":{\"mid\":\"x\"}}");
    struct hl_event_info info;
    struct hl_envelope env;
    char *txt = NULL;
    size_t n = 0;

    HT_CHECK_BEGIN("ids with quotes, backslash, control bytes, UTF-8 and "
                   "ts beyond 2^53 survive the round trip");
    if (!HT_ASSERT_TRUE(ev != NULL))
        goto cleanup;
    info_init(&info, HL_KIND_MESSAGE, "P\"1", "", id, 9007199254740993LL, 0);
    if (!HT_ASSERT_EQ_INT(hl_envelope_build(&info, "page", RX, ev, &txt, &n),
                          HL_OK))
        goto cleanup;
    HT_ASSERT_TRUE(memchr(txt, '\n', n) == NULL);
    if (!HT_ASSERT_EQ_INT(hl_envelope_parse(txt, n, &env), HL_OK))
        goto cleanup;
    HT_ASSERT_EQ_STR(env.id, id);
    HT_ASSERT_EQ_STR(env.page, "P\"1");
    HT_ASSERT_EQ_STR(env.user, "");
    HT_ASSERT_EQ_INT(env.ts, 9007199254740993LL);
    HT_ASSERT_EQ_INT(env.standby, 0);
    hl_envelope_cleanup(&env);
cleanup:
    json_object_put(ev);
    free(txt);
    HT_CHECK_END();
}

/* ---- the event as received ----------------------------------------------- */

/* Builds the envelope of the first messaging event of a fixture. */
static int fixture_envelope(const char *rel, char **txt, size_t *n) {
    char *body = NULL;
    size_t len = 0;
    json_object *root = NULL, *entry, *ev;
    struct hl_event_info info;
    int rc = HL_ERR;

    *txt = NULL;
    if (ht_read_fixture(rel, &body, &len) != HL_OK ||
        hl_json_parse(body, len, HL_JSON_DEPTH, &root) != HL_OK)
        goto cleanup;
    entry = json_object_array_get_idx(json_object_object_get(root, "entry"),
                                      0);
    ev = json_object_array_get_idx(json_object_object_get(entry,
                                                          "messaging"), 0);
    if (hl_event_describe(entry, ev, 0, RX, &info) != HL_OK)
        goto cleanup;
    rc = hl_envelope_build(&info, "page", RX, ev, txt, n);
cleanup:
    json_object_put(root);
    free(body);
    return rc;
}

static void check_number_text(void) {
    char *txt = NULL;
    size_t n = 0;

    HT_CHECK_BEGIN("numbers keep their text in the envelope (floats, "
                   "negatives, 16-digit ids)");
    if (HT_ASSERT_EQ_INT(fixture_envelope("webhook/echo_template_receipt_"
                                          "m4j.json", &txt, &n), HL_OK)) {
        HT_ASSERT_CONTAINS(txt, "\"summary\":{\"total_cost\":626.66,"
                           "\"total_tax\":57.67,\"subtotal\":698.99,"
                           "\"shipping_cost\":20}");
        HT_ASSERT_CONTAINS(txt, "\"amount\":-50}");
        HT_ASSERT_CONTAINS(txt, "\"price\":99.99,");
        HT_ASSERT_CONTAINS(txt, "\"app_id\":1559999994822905,");
        HT_ASSERT_CONTAINS(txt, "\"url\":null,");
    }
    free(txt);
    txt = NULL;
    if (HT_ASSERT_EQ_INT(fixture_envelope("webhook/message_attachment_"
                                          "location_botman.json", &txt, &n),
                         HL_OK))
        HT_ASSERT_CONTAINS(txt, "{\"lat\":37.483872693672,"
                           "\"long\":-122.14900441942}");
    free(txt);
    txt = NULL;
    if (HT_ASSERT_EQ_INT(fixture_envelope("webhook/message_nlp_botman.json",
                                          &txt, &n), HL_OK))
        HT_ASSERT_CONTAINS(txt, "\"confidence\":0.96819333333333,");
    free(txt);
    HT_CHECK_END();
}

/* The escaped and the raw UTF-8 fixture hold the same value: the event in
 * both envelopes decodes to the same text. */
static void check_decoded_strings(void) {
    static const char want[] = "Ol\xc3\xa1 \xf0\x9f\x91\x8b \xd9\x85\xd8\xb1"
        "\xd8\xad\xd8\xa8\xd8\xa7 \xe4\xbd\xa0\xe5\xa5\xbd \xc3\xa4\xc3\xb6"
        "\xc3\xa5 caf\xc3\xa9 a/b";
    const char *rels[] = { "webhook/message_non_ascii_escaped_derived.json",
                           "webhook/message_non_ascii_raw_utf8_derived.json" };
    size_t i;

    HT_CHECK_BEGIN("escaped (\\uXXXX, surrogate pair, \\/) and raw UTF-8 "
                   "bodies give the same decoded text");
    for (i = 0; i < HL_ARRAY_LEN(rels); i++) {
        char *txt = NULL;
        size_t n = 0;
        struct hl_envelope env;
        json_object *msg;

        if (!HT_ASSERT_EQ_INT(fixture_envelope(rels[i], &txt, &n), HL_OK))
            continue;
        if (HT_ASSERT_EQ_INT(hl_envelope_parse(txt, n, &env), HL_OK)) {
            msg = get(env.event, "message");
            HT_ASSERT_EQ_STR(json_object_get_string(get(msg, "text")), want);
            HT_ASSERT_EQ_STR(env.id, "m:mid.1480279487147:4388d3b344");
            hl_envelope_cleanup(&env);
        }
        free(txt);
    }
    HT_CHECK_END();
}

/* An event at the deepest nesting ingest accepts (HL_JSON_DEPTH over the
 * whole body) must parse back from its envelope in the worker. */
static void check_deepest_event(void) {
    char body[512];
    size_t n = 0;
    json_object *root = NULL, *entry, *ev;
    struct hl_event_info info;
    struct hl_envelope env;
    char *txt = NULL;
    size_t len = 0;
    int depth, i;

    HT_CHECK_BEGIN("an event nested as deep as ingest accepts parses back "
                   "from its envelope");
    /* root{ entry[ {messaging[ {event ... "foo": [[[...]]] } ] } ] } */
    n = (size_t)snprintf(body, sizeof(body), "{\"object\":\"page\",\"entry\":"
                         "[{\"id\":\"P\",\"messaging\":[{\"sender\":{\"id\":"
                         "\"U\"},\"foo\":");
    depth = 5;                         /* root, entry, {}, messaging, ev */
    for (i = depth; i < HL_JSON_DEPTH; i++)
        body[n++] = '[';
    for (i = depth; i < HL_JSON_DEPTH; i++)
        body[n++] = ']';
    n += (size_t)snprintf(body + n, sizeof(body) - n, "}]}]}");
    if (!HT_ASSERT_EQ_INT(hl_json_parse(body, n, HL_JSON_DEPTH, &root),
                          HL_OK))
        goto cleanup;
    entry = json_object_array_get_idx(json_object_object_get(root, "entry"),
                                      0);
    ev = json_object_array_get_idx(json_object_object_get(entry,
                                                          "messaging"), 0);
    if (!HT_ASSERT_EQ_INT(hl_event_describe(entry, ev, 0, RX, &info), HL_OK))
        goto cleanup;
    if (!HT_ASSERT_EQ_INT(hl_envelope_build(&info, "page", RX, ev, &txt,
                                            &len), HL_OK))
        goto cleanup;
    if (HT_ASSERT_EQ_INT(hl_envelope_parse(txt, len, &env), HL_OK)) {
        HT_ASSERT_TRUE(json_object_equal(env.event, ev));
        hl_envelope_cleanup(&env);
    }
cleanup:
    free(txt);
    json_object_put(root);
    HT_CHECK_END();
}

/* ---- unreadable envelopes ------------------------------------------------ */

#define GOOD_TAIL "\"object\":\"page\",\"page\":\"P\",\"user\":\"U\"," \
                  "\"ts\":1,\"rx\":2,\"kind\":\"message\",\"standby\":false," \
                  "\"event\":{}"

static void check_parse_refusals(void) {
    static const char *const bad[] = {
        "",
        "not json",
        "[1,2,3]",
        "{\"v\":1,\"id\":\"m:x\"," GOOD_TAIL,                  /* truncated */
        "{\"v\":1,\"id\":\"m:x\"," GOOD_TAIL "}x",             /* garbage */
        "{\"v\":2,\"id\":\"m:x\"," GOOD_TAIL "}",              /* version */
        "{\"v\":\"1\",\"id\":\"m:x\"," GOOD_TAIL "}",
        "{\"id\":\"m:x\"," GOOD_TAIL "}",                      /* no v */
        "{\"v\":1," GOOD_TAIL "}",                             /* no id */
        "{\"v\":1,\"id\":7," GOOD_TAIL "}",
        "{\"v\":1,\"id\":\"m:x\",\"page\":\"P\",\"user\":\"U\",\"ts\":1,"
        "\"rx\":2,\"kind\":\"message\",\"event\":{}}",         /* object */
        "{\"v\":1,\"id\":\"m:x\",\"object\":\"page\",\"user\":\"U\","
        "\"ts\":1,\"rx\":2,\"kind\":\"message\",\"event\":{}}", /* page */
        "{\"v\":1,\"id\":\"m:x\",\"object\":\"page\",\"page\":\"P\","
        "\"ts\":1,\"rx\":2,\"kind\":\"message\",\"event\":{}}", /* user */
        "{\"v\":1,\"id\":\"m:x\",\"object\":\"page\",\"page\":\"P\","
        "\"user\":\"U\",\"ts\":\"1\",\"rx\":2,\"kind\":\"message\","
        "\"event\":{}}",                                       /* ts text */
        "{\"v\":1,\"id\":\"m:x\",\"object\":\"page\",\"page\":\"P\","
        "\"user\":\"U\",\"ts\":1,\"kind\":\"message\",\"event\":{}}",
        "{\"v\":1,\"id\":\"m:x\",\"object\":\"page\",\"page\":\"P\","
        "\"user\":\"U\",\"ts\":1,\"rx\":2,\"kind\":\"bogus\","
        "\"event\":{}}",                                       /* kind */
        "{\"v\":1,\"id\":\"m:x\",\"object\":\"page\",\"page\":\"P\","
        "\"user\":\"U\",\"ts\":1,\"rx\":2,\"event\":{}}",      /* no kind */
        "{\"v\":1,\"id\":\"m:x\",\"object\":\"page\",\"page\":\"P\","
        "\"user\":\"U\",\"ts\":1,\"rx\":2,\"kind\":\"message\"}",
        "{\"v\":1,\"id\":\"m:x\",\"object\":\"page\",\"page\":\"P\","
        "\"user\":\"U\",\"ts\":1,\"rx\":2,\"kind\":\"message\","
        "\"event\":[]}",                                       /* event[] */
    };
    const char *good = "{\"v\":1,\"id\":\"m:x\"," GOOD_TAIL "}";
    struct hl_envelope env;
    size_t i;

    HT_CHECK_BEGIN("hl_envelope_parse refuses every malformed envelope "
                   "(and accepts the good one)");
    if (HT_ASSERT_EQ_INT(hl_envelope_parse(good, strlen(good), &env),
                         HL_OK)) {
        HT_ASSERT_EQ_STR(env.id, "m:x");
        HT_ASSERT_EQ_INT(env.kind, HL_KIND_MESSAGE);
        hl_envelope_cleanup(&env);
    }
    for (i = 0; i < HL_ARRAY_LEN(bad); i++) {
        int rc;
        memset(&env, 0x5a, sizeof(env));
        rc = hl_envelope_parse(bad[i], strlen(bad[i]), &env);
        if (rc != HL_EINVAL)
            HT_FAIL("case %zu accepted (rc %d): %s", i, rc, bad[i]);
        /* "nothing to clean up then" */
        else if (env.root != NULL || env.id != NULL)
            HT_FAIL("case %zu left state behind", i);
    }
    /* a length that stops short of the closing brace */
    HT_ASSERT_EQ_INT(hl_envelope_parse(good, strlen(good) - 1, &env),
                     HL_EINVAL);
    HT_CHECK_END();
}

int main(void) {
    ht_init();
    check_round_trip();
    check_special_values();
    check_number_text();
    check_decoded_strings();
    check_deepest_event();
    check_parse_refusals();
    return ht_summary();
}
