/* test_rules.c - unit tests of worker/rules.c (DESIGN.md "Rules file"):
 * the built-in echo rules answer each kind with the classic texts; the
 * safety no rules file can switch off (echoes, standby and the page's own
 * messages never match; delivery and read only match rules naming their
 * kind); every match key (kind, text exact case-insensitive, text_regex
 * ERE case-insensitive, payload, payload_prefix incl. quick replies,
 * attachment_type incl. "*"), first match wins; {text}/{payload}
 * placeholders and the 2000-byte cap that never splits a UTF-8 sequence;
 * the Send API bodies (quick replies, MESSAGE_TAG, attachment,
 * sender_action, pass_thread_control, user_ref recipients, forwarded
 * messages); and every load error naming the line or the rule and the
 * problem. Envelopes are built as DESIGN.md describes them and parsed with
 * hl_envelope_parse(); bodies are read back with plain json-c. */
#include "../lib/hl_test.h"
#include "hl.h"
#include "hl_envelope.h"
#include "hl_json.h"
#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#define PAGE "PAGE1"
#define USER "USER1"
#define FROM_USER "\"sender\":{\"id\":\"" USER "\"},\"recipient\":{\"id\":\"" \
                  PAGE "\"},\"timestamp\":1700000000000"
#define FROM_PAGE "\"sender\":{\"id\":\"" PAGE "\"},\"recipient\":{\"id\":\"" \
                  USER "\"},\"timestamp\":1700000000000"

/* ---- helpers ------------------------------------------------------------ */

/* Parses an envelope of `kind` around `event` (JSON text). 1 on success. */
static int envelope(struct hl_envelope *env, const char *kind, int standby,
                    const char *user, const char *event) {
    char buf[8192];
    int n = snprintf(buf, sizeof(buf), "{\"v\":1,\"id\":\"e1\",\"object\":"
                     "\"page\",\"page\":\"" PAGE "\",\"user\":\"%s\",\"ts\":"
                     "1700000000000,\"rx\":1700000000005,\"kind\":\"%s\","
                     "\"standby\":%s,\"event\":%s}", user, kind,
                     standby ? "true" : "false", event);

    if (n < 0 || (size_t)n >= sizeof(buf) ||
        hl_envelope_parse(buf, (size_t)n, env) != HL_OK) {
        memset(env, 0, sizeof(*env));
        return HT_FAIL("envelope of kind %s does not parse", kind);
    }
    return 1;
}

static struct worker_rules *parse(const char *text) {
    struct worker_rules *r = NULL;
    char err[HL_ERR_LEN] = "";

    if (worker_rules_parse(text, strlen(text), "test", &r, err) != HL_OK) {
        HT_FAIL("rules do not parse: %s", err);
        return NULL;
    }
    return r;
}

/* Index of the rule matching `env`, -1 for none. */
static long match_index(const struct worker_rules *r,
                        const struct hl_envelope *env) {
    const struct worker_rule *m = r != NULL ? worker_rules_match(r, env)
                                            : NULL;

    return m == NULL ? -1 : (long)(m - r->rules);
}

/* Index of the rule matching an envelope of `kind` around `event`. */
static long match_of(const struct worker_rules *r, const char *kind,
                     int standby, const char *event) {
    struct hl_envelope env;
    long i = -2;

    if (envelope(&env, kind, standby, USER, event)) {
        i = match_index(r, &env);
        hl_envelope_cleanup(&env);
    }
    return i;
}

/* The Send API body of action `a` for `env` (with `tag`), parsed.
 * Caller frees. */
static json_object *body_of(const struct worker_action *a,
                            const struct hl_envelope *env, const char *tag) {
    char *out = NULL;
    size_t len = 0;
    json_object *o = NULL;

    if (!HT_ASSERT_EQ_INT(worker_rules_body(a, env, tag, &out, &len), HL_OK))
        return NULL;
    HT_ASSERT_EQ_INT(strlen(out), len);
    o = json_tokener_parse(out);
    if (o == NULL)
        HT_FAIL("body is not JSON: %s", out);
    free(out);
    return o;
}

static json_object *jget(json_object *o, const char *a, const char *b) {
    json_object *v = NULL;

    if (o == NULL || !json_object_object_get_ex(o, a, &v))
        return NULL;
    if (b == NULL || v == NULL)
        return v;
    if (!json_object_object_get_ex(v, b, &o))
        return NULL;
    return o;
}

/* The reply text the first action of the matched rule sends, or NULL
 * (caller frees). */
static char *reply_text(const struct worker_rules *r, const char *kind,
                        const char *event) {
    struct hl_envelope env;
    const struct worker_rule *m;
    json_object *b;
    char *t = NULL;

    if (!envelope(&env, kind, 0, USER, event))
        return NULL;
    m = worker_rules_match(r, &env);
    if (m != NULL && m->n_actions > 0 && m->actions[0].type == WA_REPLY) {
        b = body_of(&m->actions[0], &env, NULL);
        if (ht_json_str(jget(b, "message", NULL), "text") != NULL)
            t = strdup(ht_json_str(jget(b, "message", NULL), "text"));
        json_object_put(b);
    }
    hl_envelope_cleanup(&env);
    return t;
}

/* ---- built-in rules ------------------------------------------------------ */

struct reply_case {
    const char *kind;
    const char *event;
    const char *want;     /* NULL: no rule matches */
};

static void check_builtin(void) {
    static const struct reply_case cases[] = {
        { "message", "{" FROM_USER ",\"message\":{\"mid\":\"m1\",\"text\":"
          "\"Hi\"}}", "You said: Hi" },
        { "message", "{" FROM_USER ",\"message\":{\"mid\":\"m1\","
          "\"quick_reply\":{\"payload\":\"MY_PAYLOAD\"},\"text\":\"Red\"}}",
          "You said: Red" },
        { "message", "{" FROM_USER ",\"message\":{\"mid\":\"m1\","
          "\"attachments\":[{\"type\":\"image\",\"payload\":{\"url\":"
          "\"https://x/y.png\"}}]}}", "I received your attachment." },
        { "message", "{" FROM_USER ",\"message\":{\"mid\":\"m1\","
          "\"attachments\":[{\"type\":\"audio\",\"payload\":{\"url\":"
          "\"https://x/y.mp3\"}}]}}", "I received your attachment." },
        { "message", "{" FROM_USER ",\"message\":{\"mid\":\"m1\","
          "\"sticker_id\":369239343222814,\"attachments\":[{\"type\":"
          "\"image\",\"payload\":{\"url\":\"https://x/s.png\","
          "\"sticker_id\":369239343222814}}]}}",
          "I received your attachment." },
        { "message", "{" FROM_USER ",\"message\":{\"mid\":\"m1\","
          "\"attachments\":[{\"type\":\"location\",\"payload\":{"
          "\"coordinates\":{\"lat\":1.5,\"long\":2.5}}}]}}",
          "I received your attachment." },
        { "message", "{" FROM_USER ",\"message\":{\"mid\":\"m1\",\"text\":"
          "\"look\",\"attachments\":[{\"type\":\"image\",\"payload\":{}}]}}",
          "You said: look" },
        { "postback", "{" FROM_USER ",\"postback\":{\"title\":\"Start\","
          "\"payload\":\"GET_STARTED\"}}",
          "Welcome. Tell me what you need." },
        { "postback", "{" FROM_USER ",\"postback\":{\"mid\":\"p1\","
          "\"title\":\"Buy\",\"payload\":\"MY_PAYLOAD\"}}",
          "Postback received: MY_PAYLOAD" },
        /* nothing to answer: no text, no attachment (an unsent IG DM) */
        { "message", "{" FROM_USER ",\"message\":{\"mid\":\"m1\","
          "\"is_deleted\":true}}", NULL },
        { "reaction", "{" FROM_USER ",\"reaction\":{\"mid\":\"m1\","
          "\"action\":\"react\",\"reaction\":\"love\"}}", NULL },
        { "referral", "{" FROM_USER ",\"referral\":{\"ref\":\"r\","
          "\"source\":\"SHORTLINK\",\"type\":\"OPEN_THREAD\"}}", NULL },
        { "message_edit", "{" FROM_USER ",\"message_edit\":{\"mid\":\"m1\","
          "\"text\":\"edited\",\"num_edit\":1}}", NULL },
    };
    struct worker_rules *r = NULL;
    char err[HL_ERR_LEN] = "";
    size_t i;

    HT_CHECK_BEGIN("built-in rules: text and quick reply -> \"You said: "
                   "{text}\", attachments -> \"I received your "
                   "attachment.\", GET_STARTED -> welcome, other postbacks "
                   "-> \"Postback received: {payload}\", others nothing");
    if (!HT_ASSERT_EQ_INT(worker_rules_builtin(&r, err), HL_OK))
        goto cleanup;
    HT_ASSERT_EQ_INT(r->n, 4);
    for (i = 0; i < HL_ARRAY_LEN(cases); i++) {
        char *t = reply_text(r, cases[i].kind, cases[i].event);
        if (!HT_ASSERT_EQ_STR(t, cases[i].want))
            ht_note("case %zu: %s", i, cases[i].event);
        free(t);
    }
cleanup:
    worker_rules_free(r);
    HT_CHECK_END();
}

/* ---- safety -------------------------------------------------------------- */

static void check_silent(void) {
    static const char catch_all[] =
        "{\"rules\":[{\"match\":{},\"actions\":[{\"type\":\"reply\","
        "\"text\":\"any\"}]}]}";
    static const char named[] =
        "{\"rules\":[{\"match\":{\"kind\":\"delivery\"},\"actions\":[{\"type\":"
        "\"sender_action\",\"action\":\"typing_off\"}]},"
        "{\"match\":{\"kind\":\"read\"},\"actions\":[{\"type\":"
        "\"sender_action\",\"action\":\"typing_off\"}]}]}";
    static const char echo[] = "{" FROM_PAGE ",\"message\":{\"is_echo\":true,"
                               "\"mid\":\"m1\",\"text\":\"hi\"}}";
    static const char own[] = "{" FROM_PAGE ",\"message\":{\"mid\":\"m1\","
                              "\"text\":\"hi\"}}";
    static const char standby[] = "{" FROM_USER ",\"postback\":{}}";
    static const char delivery[] = "{" FROM_USER ",\"delivery\":{"
                                   "\"watermark\":1}}";
    static const char read[] = "{" FROM_USER ",\"read\":{\"watermark\":1}}";
    static const char text[] = "{" FROM_USER ",\"message\":{\"mid\":\"m1\","
                               "\"text\":\"hi\"}}";
    struct worker_rules *all = parse(catch_all), *nr = parse(named), *b = NULL;
    struct hl_envelope env;
    char err[HL_ERR_LEN];

    HT_CHECK_BEGIN("echoes, standby events and the page's own messages "
                   "never match, even a catch-all; delivery/read match only "
                   "rules naming their kind");
    if (all == NULL || nr == NULL ||
        !HT_ASSERT_EQ_INT(worker_rules_builtin(&b, err), HL_OK))
        goto cleanup;
    /* the catch-all matches ordinary events... */
    HT_ASSERT_EQ_INT(match_of(all, "message", 0, text), 0);
    HT_ASSERT_EQ_INT(match_of(all, "postback", 0, "{" FROM_USER
                              ",\"postback\":{\"payload\":\"X\"}}"), 0);
    /* ...never these */
    HT_ASSERT_EQ_INT(match_of(all, "echo", 0, echo), -1);
    HT_ASSERT_EQ_INT(match_of(all, "message", 0, own), -1);
    HT_ASSERT_EQ_INT(match_of(all, "postback", 1, standby), -1);
    HT_ASSERT_EQ_INT(match_of(all, "message", 1, text), -1);
    HT_ASSERT_EQ_INT(match_of(all, "delivery", 0, delivery), -1);
    HT_ASSERT_EQ_INT(match_of(all, "read", 0, read), -1);
    HT_ASSERT_EQ_INT(match_of(b, "delivery", 0, delivery), -1);
    HT_ASSERT_EQ_INT(match_of(b, "read", 0, read), -1);
    /* named kinds do match delivery and read, in order */
    HT_ASSERT_EQ_INT(match_of(nr, "delivery", 0, delivery), 0);
    HT_ASSERT_EQ_INT(match_of(nr, "read", 0, read), 1);
    HT_ASSERT_EQ_INT(match_of(nr, "message", 0, text), -1);
    /* worker_rules_silent() says which is which */
    if (envelope(&env, "echo", 0, USER, echo)) {
        HT_ASSERT_EQ_INT(worker_rules_silent(&env), 1);
        hl_envelope_cleanup(&env);
    }
    if (envelope(&env, "message", 0, USER, own)) {
        HT_ASSERT_EQ_INT(worker_rules_silent(&env), 1);
        hl_envelope_cleanup(&env);
    }
    if (envelope(&env, "postback", 1, USER, standby)) {
        HT_ASSERT_EQ_INT(worker_rules_silent(&env), 1);
        hl_envelope_cleanup(&env);
    }
    if (envelope(&env, "delivery", 0, USER, delivery)) {
        HT_ASSERT_EQ_INT(worker_rules_silent(&env), 0);
        hl_envelope_cleanup(&env);
    }
    if (envelope(&env, "message", 0, USER, text)) {
        HT_ASSERT_EQ_INT(worker_rules_silent(&env), 0);
        hl_envelope_cleanup(&env);
    }
cleanup:
    worker_rules_free(b);
    worker_rules_free(nr);
    worker_rules_free(all);
    HT_CHECK_END();
}

/* ---- match keys ---------------------------------------------------------- */

static void check_match_keys(void) {
    static const char rules[] =
        "{\"rules\":["
        "{\"match\":{\"kind\":\"message\",\"text\":\"Prices\"},"
        "\"actions\":[{\"type\":\"reply\",\"text\":\"r0\"}]},"
        "{\"match\":{\"kind\":\"message\",\"text_regex\":\"^order [0-9]+$\"},"
        "\"actions\":[{\"type\":\"reply\",\"text\":\"r1\"}]},"
        "{\"match\":{\"kind\":\"postback\",\"payload\":\"BUY\"},"
        "\"actions\":[{\"type\":\"reply\",\"text\":\"r2\"}]},"
        "{\"match\":{\"payload_prefix\":\"SIZE_\"},"
        "\"actions\":[{\"type\":\"reply\",\"text\":\"r3\"}]},"
        "{\"match\":{\"kind\":\"message\",\"attachment_type\":\"image\"},"
        "\"actions\":[{\"type\":\"reply\",\"text\":\"r4\"}]},"
        "{\"match\":{\"kind\":\"message\",\"attachment_type\":\"*\"},"
        "\"actions\":[{\"type\":\"reply\",\"text\":\"r5\"}]},"
        "{\"match\":{\"kind\":\"message\"},"
        "\"actions\":[{\"type\":\"reply\",\"text\":\"r6\"}]}"
        "]}";
    struct worker_rules *r = parse(rules);
    char ev[512];

#define TEXT(t) (snprintf(ev, sizeof(ev), "{" FROM_USER ",\"message\":" \
                          "{\"mid\":\"m\",\"text\":\"%s\"}}", t), ev)
#define QR(t, p) (snprintf(ev, sizeof(ev), "{" FROM_USER ",\"message\":" \
                           "{\"mid\":\"m\",\"quick_reply\":{\"payload\":" \
                           "\"%s\"},\"text\":\"%s\"}}", p, t), ev)
#define PB(p) (snprintf(ev, sizeof(ev), "{" FROM_USER ",\"postback\":" \
                        "{\"payload\":\"%s\"}}", p), ev)
#define ATT(a) (snprintf(ev, sizeof(ev), "{" FROM_USER ",\"message\":" \
                         "{\"mid\":\"m\",\"attachments\":[{\"type\":" \
                         "\"%s\",\"payload\":{}}]}}", a), ev)

    HT_CHECK_BEGIN("match keys: text exact and case-insensitive, text_regex "
                   "ERE case-insensitive, payload exact, payload_prefix "
                   "(postbacks and quick replies), attachment_type and "
                   "\"*\"; the first matching rule wins");
    if (r == NULL)
        goto cleanup;
    HT_ASSERT_EQ_INT(r->n, 7);
    HT_ASSERT_EQ_INT(match_of(r, "message", 0, TEXT("Prices")), 0);
    HT_ASSERT_EQ_INT(match_of(r, "message", 0, TEXT("pRICES")), 0);
    HT_ASSERT_EQ_INT(match_of(r, "message", 0, TEXT("Prices please")), 6);
    HT_ASSERT_EQ_INT(match_of(r, "message", 0, TEXT("order 42")), 1);
    HT_ASSERT_EQ_INT(match_of(r, "message", 0, TEXT("ORDER 7")), 1);
    HT_ASSERT_EQ_INT(match_of(r, "message", 0, TEXT("my order 7")), 6);
    HT_ASSERT_EQ_INT(match_of(r, "message", 0, TEXT("order seven")), 6);
    HT_ASSERT_EQ_INT(match_of(r, "postback", 0, PB("BUY")), 2);
    HT_ASSERT_EQ_INT(match_of(r, "postback", 0, PB("BUYX")), -1);
    HT_ASSERT_EQ_INT(match_of(r, "postback", 0, PB("SIZE_M")), 3);
    HT_ASSERT_EQ_INT(match_of(r, "postback", 0, PB("XSIZE_M")), -1);
    HT_ASSERT_EQ_INT(match_of(r, "message", 0, QR("Medium", "SIZE_M")), 3);
    HT_ASSERT_EQ_INT(match_of(r, "message", 0, QR("Prices", "SIZE_M")), 0);
    HT_ASSERT_EQ_INT(match_of(r, "message", 0, ATT("image")), 4);
    HT_ASSERT_EQ_INT(match_of(r, "message", 0, ATT("audio")), 5);
    HT_ASSERT_EQ_INT(match_of(r, "message", 0, ATT("file")), 5);
    /* the kind is checked: a postback never hits message rules */
    HT_ASSERT_EQ_INT(match_of(r, "postback", 0, PB("order 1")), -1);
cleanup:
    worker_rules_free(r);
    HT_CHECK_END();
#undef TEXT
#undef QR
#undef PB
#undef ATT
}

/* ---- placeholders -------------------------------------------------------- */

static void check_placeholders(void) {
    static const char rules[] =
        "{\"rules\":[{\"match\":{\"kind\":\"message\"},\"actions\":["
        "{\"type\":\"reply\",\"text\":\"{text} / {payload} / {text} {name}\"},"
        "{\"type\":\"reply\",\"text\":\"{text}\"},"
        "{\"type\":\"reply\",\"text\":\"x{text}\"}]}]}";
    struct worker_rules *r = parse(rules);
    struct hl_envelope env;
    json_object *b = NULL;
    char *ev = malloc(4096), *big = malloc(2100);
    const char *t;

    HT_CHECK_BEGIN("{text} and {payload} expand (several times), unknown "
                   "placeholders stay; the result is capped at 2000 bytes "
                   "without splitting a UTF-8 sequence");
    if (r == NULL || ev == NULL || big == NULL)
        goto cleanup;
    snprintf(ev, 4096, "{" FROM_USER ",\"message\":{\"mid\":\"m\","
             "\"quick_reply\":{\"payload\":\"P1\"},\"text\":\"Red\"}}");
    if (!envelope(&env, "message", 0, USER, ev))
        goto cleanup;
    b = body_of(&r->rules[0].actions[0], &env, NULL);
    HT_ASSERT_EQ_STR(ht_json_str(jget(b, "message", NULL), "text"),
                     "Red / P1 / Red {name}");
    json_object_put(b);
    b = NULL;
    hl_envelope_cleanup(&env);
    /* 1999 ASCII bytes then a 2-byte character: it cannot fit */
    memset(big, 'a', 1999);
    memcpy(big + 1999, "\xc3\xa9", 3);
    snprintf(ev, 4096, "{" FROM_USER ",\"message\":{\"mid\":\"m\","
             "\"text\":\"%s\"}}", big);
    if (!envelope(&env, "message", 0, USER, ev))
        goto cleanup;
    b = body_of(&r->rules[0].actions[1], &env, NULL);
    t = ht_json_str(jget(b, "message", NULL), "text");
    HT_ASSERT_EQ_INT(t != NULL ? (long long)strlen(t) : -1, 1999);
    json_object_put(b);
    /* 2000 bytes of text after "x": cut to 2000 in all */
    b = body_of(&r->rules[0].actions[2], &env, NULL);
    t = ht_json_str(jget(b, "message", NULL), "text");
    HT_ASSERT_EQ_INT(t != NULL ? (long long)strlen(t) : -1, 2000);
    HT_ASSERT_TRUE(t != NULL && t[0] == 'x' && t[1999] == 'a');
    hl_envelope_cleanup(&env);
cleanup:
    json_object_put(b);
    free(big);
    free(ev);
    worker_rules_free(r);
    HT_CHECK_END();
}

/* The reply text of `a` for `env`, checked to be strict UTF-8 JSON (what
 * Graph needs); its byte length, or -1. Sets *last to its last byte. */
static long long strict_text_len(const struct worker_action *a,
                                 const struct hl_envelope *env, int *last) {
    json_object *b = NULL, *m = NULL, *t = NULL;
    char *out = NULL;
    size_t len = 0;
    long long n = -1;

    if (!HT_ASSERT_EQ_INT(worker_rules_body(a, env, NULL, &out, &len),
                          HL_OK))
        return -1;
    if (HT_ASSERT_EQ_INT(hl_json_parse(out, len, HL_JSON_DEPTH, &b),
                         HL_OK) &&
        json_object_object_get_ex(b, "message", &m) &&
        json_object_object_get_ex(m, "text", &t)) {
        n = json_object_get_string_len(t);
        *last = n > 0 ? json_object_get_string(t)[n - 1] : -1;
    }
    json_object_put(b);
    free(out);
    return n;
}

/* Found by tests/fuzz/fuzz_rules.c (its crash input, verbatim): after a
 * {text} that filled the 2000 bytes almost up, the cap fell inside a
 * multi-byte character of the template that followed, and the Send API
 * body was not UTF-8. A template character now goes in whole or not. */
static void check_cap_template_char(void) {
    static const char crash[] =
        "{\"rules\":[\n"
        "  {\"match\":{\"kind\":\"message\",\"text_regex\":"
        "\"^|(ihhello)\\\\b\"},\n"
        "   \"actions\":[{\"type\":\"sender_action\",\"action\":"
        "\"mark_seen\"},{\"type\":\"reply\",\"text\":"
        "\"He{text}d\\ude03\"}]}\n"
        "]}\n";
    static const char tail_rules[] =
        "{\"rules\":[{\"match\":{},\"actions\":[{\"type\":\"reply\","
        "\"text\":\"{text}\\u00e9\"}]}]}";
    struct worker_rules *r = parse(crash), *r2 = parse(tail_rules);
    struct hl_envelope env;
    char *ev = malloc(4096), *big = malloc(2100);
    int i, last = -1;

    HT_CHECK_BEGIN("fuzz finding: the 2000-byte cap never cuts a template "
                   "character that follows {text}");
    if (r == NULL || r2 == NULL || ev == NULL || big == NULL)
        goto cleanup;
    /* 500 emoji: "He" + 499 of them + "d" fit, the U+FFFD after not */
    for (i = 0; i < 500; i++)
        memcpy(big + 4 * i, "\xf0\x9f\x98\x80", 4);
    big[2000] = '\0';
    snprintf(ev, 4096, "{" FROM_USER ",\"message\":{\"mid\":\"m\","
             "\"text\":\"%s\"}}", big);
    if (!envelope(&env, "message", 0, USER, ev))
        goto cleanup;
    HT_ASSERT_EQ_INT(strict_text_len(&r->rules[0].actions[1], &env, &last),
                     1999);
    HT_ASSERT_EQ_INT(last, 'd');
    hl_envelope_cleanup(&env);
    /* 1999 ASCII bytes of text, then the template's "\u00e9" */
    memset(big, 'a', 1999);
    big[1999] = '\0';
    snprintf(ev, 4096, "{" FROM_USER ",\"message\":{\"mid\":\"m\","
             "\"text\":\"%s\"}}", big);
    if (!envelope(&env, "message", 0, USER, ev))
        goto cleanup;
    HT_ASSERT_EQ_INT(strict_text_len(&r2->rules[0].actions[0], &env,
                                     &last), 1999);
    hl_envelope_cleanup(&env);
cleanup:
    free(big);
    free(ev);
    worker_rules_free(r2);
    worker_rules_free(r);
    HT_CHECK_END();
}

/* ---- bodies -------------------------------------------------------------- */

static void check_bodies(void) {
    static const char rules[] =
        "{\"rules\":[{\"match\":{\"kind\":\"message\"},\"actions\":["
        "{\"type\":\"reply\",\"text\":\"Pick\",\"quick_replies\":["
        "{\"content_type\":\"text\",\"title\":\"Red\",\"payload\":\"R\"},"
        "{\"content_type\":\"text\",\"title\":\"Blue\",\"payload\":\"B\"}]},"
        "{\"type\":\"reply\",\"text\":\"Your order shipped\","
        "\"tag\":\"POST_PURCHASE_UPDATE\"},"
        "{\"type\":\"reply\",\"attachment\":{\"type\":\"template\","
        "\"payload\":{\"template_type\":\"button\",\"text\":\"Next?\","
        "\"buttons\":[{\"type\":\"postback\",\"title\":\"Go\","
        "\"payload\":\"GO\"}]}}},"
        "{\"type\":\"sender_action\",\"action\":\"mark_seen\"},"
        "{\"type\":\"pass_thread_control\",\"target_app_id\":"
        "\"263902037430900\",\"metadata\":\"to inbox\"},"
        "{\"type\":\"forward\",\"url\":\"https://example.org/hook\"}]}]}";
    static const char ev[] = "{" FROM_USER ",\"message\":{\"mid\":\"m\","
                             "\"text\":\"hi\"}}";
    static const char ev_ref[] = "{\"sender\":{\"user_ref\":\"REF9\"},"
                                 "\"recipient\":{\"id\":\"" PAGE "\"},"
                                 "\"timestamp\":1,\"message\":{\"mid\":"
                                 "\"m\",\"text\":\"hi\"}}";
    struct worker_rules *r = parse(rules);
    const struct worker_action *a;
    struct hl_envelope env, eref;
    json_object *b = NULL, *qr, *msg = NULL;
    char *out = NULL;
    size_t len = 0;
    int have_env = 0, have_ref = 0;

    HT_CHECK_BEGIN("Send API bodies: recipient, RESPONSE, quick replies, "
                   "MESSAGE_TAG with the rule's tag, attachment, "
                   "sender_action, pass_thread_control, user_ref, a "
                   "forwarded message");
    if (r == NULL)
        goto cleanup;
    have_env = envelope(&env, "message", 0, USER, ev);
    have_ref = envelope(&eref, "message", 0, "REF9", ev_ref);
    if (!have_env || !have_ref || !HT_ASSERT_EQ_INT(r->rules[0].n_actions, 6))
        goto cleanup;
    a = r->rules[0].actions;
    /* reply with quick replies */
    b = body_of(&a[0], &env, NULL);
    HT_ASSERT_EQ_STR(ht_json_str(jget(b, "recipient", NULL), "id"), USER);
    HT_ASSERT_EQ_STR(ht_json_str(b, "messaging_type"), "RESPONSE");
    HT_ASSERT_TRUE(jget(b, "tag", NULL) == NULL);
    HT_ASSERT_EQ_STR(ht_json_str(jget(b, "message", NULL), "text"), "Pick");
    qr = jget(jget(b, "message", NULL), "quick_replies", NULL);
    HT_ASSERT_TRUE(qr != NULL && json_object_array_length(qr) == 2);
    HT_ASSERT_EQ_STR(ht_json_str(json_object_array_get_idx(qr, 1), "title"),
                     "Blue");
    HT_ASSERT_EQ_STR(ht_json_str(json_object_array_get_idx(qr, 1),
                                 "payload"), "B");
    HT_ASSERT_EQ_STR(ht_json_str(json_object_array_get_idx(qr, 1),
                                 "content_type"), "text");
    json_object_put(b);
    /* the rule's tag, outside the window */
    HT_ASSERT_EQ_STR(a[1].tag, "POST_PURCHASE_UPDATE");
    b = body_of(&a[1], &env, a[1].tag);
    HT_ASSERT_EQ_STR(ht_json_str(b, "messaging_type"), "MESSAGE_TAG");
    HT_ASSERT_EQ_STR(ht_json_str(b, "tag"), "POST_PURCHASE_UPDATE");
    json_object_put(b);
    /* attachment */
    b = body_of(&a[2], &env, NULL);
    HT_ASSERT_EQ_STR(ht_json_str(jget(jget(b, "message", NULL), "attachment",
                                      NULL), "type"), "template");
    HT_ASSERT_TRUE(jget(jget(b, "message", NULL), "text", NULL) == NULL);
    HT_ASSERT_EQ_STR(ht_json_str(jget(jget(jget(b, "message", NULL),
                                            "attachment", NULL), "payload",
                                       NULL), "template_type"), "button");
    json_object_put(b);
    /* sender action: no message, no messaging_type */
    b = body_of(&a[3], &env, NULL);
    HT_ASSERT_EQ_STR(ht_json_str(b, "sender_action"), "mark_seen");
    HT_ASSERT_EQ_STR(ht_json_str(jget(b, "recipient", NULL), "id"), USER);
    HT_ASSERT_TRUE(jget(b, "message", NULL) == NULL);
    HT_ASSERT_EQ_STR(worker_rules_endpoint(&a[3]), "messages");
    json_object_put(b);
    /* handover */
    b = body_of(&a[4], &env, NULL);
    HT_ASSERT_EQ_STR(ht_json_str(b, "target_app_id"), "263902037430900");
    HT_ASSERT_EQ_STR(ht_json_str(b, "metadata"), "to inbox");
    HT_ASSERT_EQ_STR(ht_json_str(jget(b, "recipient", NULL), "id"), USER);
    HT_ASSERT_EQ_STR(worker_rules_endpoint(&a[4]), "pass_thread_control");
    HT_ASSERT_EQ_STR(worker_rules_endpoint(&a[0]), "messages");
    json_object_put(b);
    /* forward keeps its url */
    HT_ASSERT_EQ_INT(a[5].type, WA_FORWARD);
    HT_ASSERT_EQ_STR(a[5].url, "https://example.org/hook");
    /* a sender known only by user_ref is answered by user_ref */
    b = body_of(&a[0], &eref, NULL);
    HT_ASSERT_EQ_STR(ht_json_str(jget(b, "recipient", NULL), "user_ref"),
                     "REF9");
    HT_ASSERT_TRUE(jget(b, "recipient", "id") == NULL);
    json_object_put(b);
    b = NULL;
    /* a ready message (a forward backend's answer) */
    msg = json_tokener_parse("{\"text\":\"from backend\"}");
    if (HT_ASSERT_EQ_INT(worker_rules_message_body(&env, NULL, msg, &out,
                                                   &len), HL_OK)) {
        b = json_tokener_parse(out);
        HT_ASSERT_EQ_STR(ht_json_str(jget(b, "message", NULL), "text"),
                         "from backend");
        HT_ASSERT_EQ_STR(ht_json_str(b, "messaging_type"), "RESPONSE");
        HT_ASSERT_EQ_STR(ht_json_str(jget(b, "recipient", NULL), "id"),
                         USER);
    }
cleanup:
    free(out);
    json_object_put(msg);
    json_object_put(b);
    if (have_ref)
        hl_envelope_cleanup(&eref);
    if (have_env)
        hl_envelope_cleanup(&env);
    worker_rules_free(r);
    HT_CHECK_END();
}

/* ---- errors -------------------------------------------------------------- */

struct bad_case {
    const char *text;
    const char *needle1;
    const char *needle2;
};

static void check_errors(void) {
    static const struct bad_case cases[] = {
        { "{\"rules\":[\n{\"match\":{},\n\"actions\":[]\n", "line 4", NULL },
        { "{\"rules\":[\n  {\"match\":{}}\n  {\"match\":{}}\n]}", "line 3",
          NULL },
        { "{\"rules\":[]} trailing", "line 1", NULL },
        { "[1,2]", "rules", NULL },
        { "{\"rules\":{}}", "rules", NULL },
        { "{\"rules\":[5]}", "rule 0", "object" },
        { "{\"rules\":[{\"match\":5,\"actions\":[{\"type\":\"reply\","
          "\"text\":\"x\"}]}]}", "rule 0", "match" },
        { "{\"rules\":[{\"match\":{\"colour\":\"red\"},\"actions\":[{"
          "\"type\":\"reply\",\"text\":\"x\"}]}]}", "rule 0", "colour" },
        { "{\"rules\":[{\"match\":{\"kind\":\"telegram\"},\"actions\":[{"
          "\"type\":\"reply\",\"text\":\"x\"}]}]}", "rule 0", "kind" },
        { "{\"rules\":[{\"match\":{\"text\":5},\"actions\":[{"
          "\"type\":\"reply\",\"text\":\"x\"}]}]}", "rule 0", "string" },
        { "{\"rules\":[{\"match\":{},\"actions\":[{\"type\":\"reply\","
          "\"text\":\"x\"}]},{\"match\":{\"text_regex\":\"a(b\"},"
          "\"actions\":[{\"type\":\"reply\",\"text\":\"x\"}]}]}", "rule 1",
          "text_regex" },
        { "{\"rules\":[{\"match\":{}}]}", "rule 0", "actions" },
        { "{\"rules\":[{\"match\":{},\"actions\":[]}]}", "rule 0",
          "actions" },
        { "{\"rules\":[{\"match\":{},\"actions\":[{\"text\":\"x\"}]}]}",
          "rule 0 action 0", "type" },
        { "{\"rules\":[{\"match\":{},\"actions\":[{\"type\":\"reply\","
          "\"text\":\"x\"},{\"type\":\"teleport\"}]}]}", "rule 0 action 1",
          "teleport" },
        { "{\"rules\":[{\"match\":{},\"actions\":[{\"type\":\"reply\"}]}]}",
          "rule 0 action 0", "text" },
        { "{\"rules\":[{\"match\":{},\"actions\":[{\"type\":\"reply\","
          "\"text\":\"x\",\"attachment\":{\"type\":\"image\"}}]}]}",
          "rule 0 action 0", "exactly one" },
        { "{\"rules\":[{\"match\":{},\"actions\":[{\"type\":\"reply\","
          "\"text\":\"x\",\"quick_replies\":{}}]}]}", "rule 0 action 0",
          "quick_replies" },
        { "{\"rules\":[{\"match\":{},\"actions\":[{\"type\":\"reply\","
          "\"text\":\"x\",\"quick_replies\":[{\"payload\":\"P\"}]}]}]}",
          "rule 0 action 0", "title" },
        { "{\"rules\":[{\"match\":{},\"actions\":[{\"type\":\"reply\","
          "\"attachment\":{\"payload\":{}}}]}]}", "rule 0 action 0",
          "attachment" },
        { "{\"rules\":[{\"match\":{},\"actions\":[{\"type\":"
          "\"sender_action\",\"action\":\"dance\"}]}]}", "rule 0 action 0",
          "mark_seen" },
        { "{\"rules\":[{\"match\":{},\"actions\":[{\"type\":"
          "\"pass_thread_control\"}]}]}", "rule 0 action 0",
          "target_app_id" },
        { "{\"rules\":[{\"match\":{},\"actions\":[{\"type\":\"forward\","
          "\"url\":\"ftp://x/y\"}]}]}", "rule 0 action 0", "url" },
        { "{\"rules\":[{\"match\":{},\"actions\":[{\"type\":\"forward\"}]}]}",
          "rule 0 action 0", "url" },        /* fuzz_rules found the first: json-c takes "00" and "00.5", and
         * wrote the latter back into a Send API body that is not JSON */
        { "{\"rules\":[{\"match\":{},\"actions\":[{\"type\":\"reply\","
          "\"attachment\":{\"type\":\"template\",\"payload\":\n"
          "{\"buttons\":[00.5]}}}]}]}", "line 2", "leading zero" },
        { "{\"rules\":[],\"n\":00}", "line 1", "leading zero" },
        { "{\"rules\":[],\"n\":\n\n1.}", "line 3", "number" },
        { "{\"rules\":[],\"n\":NaN}", "line 1", "outside a string" },
        { "{\"rules\":[],\n\"n\":'x'}", "line 2", "outside a string" },
        { "{\"rules\":[],\"n\":\"caf\xe9\"}", "line 1", "UTF-8" },
        { "{\"rules\":[],\"n\":\"a\tb\"}", "line 1", "control" },
        { "{\"rules\":[],\"n\":\"\xc3", "line 1", "UTF-8" },
    };
    size_t i;

    HT_CHECK_BEGIN("load errors: HL_EINVAL, no rules, and a message naming "
                   "the line (JSON) or the rule/action index and the "
                   "problem");
    for (i = 0; i < HL_ARRAY_LEN(cases); i++) {
        struct worker_rules *r = (struct worker_rules *)&r;
        char err[HL_ERR_LEN] = "";
        int rc = worker_rules_parse(cases[i].text, strlen(cases[i].text),
                                    "rules.json", &r, err);
        int ok = HT_ASSERT_EQ_INT(rc, HL_EINVAL);
        ok &= HT_ASSERT_TRUE(r == NULL);
        ok &= HT_ASSERT_CONTAINS(err, cases[i].needle1);
        if (cases[i].needle2 != NULL)
            ok &= HT_ASSERT_CONTAINS(err, cases[i].needle2);
        if (!ok)
            ht_note("case %zu: %s -> \"%s\"", i, cases[i].text, err);
        if (rc == HL_OK)
            worker_rules_free(r);
    }
    HT_CHECK_END();
}

/* Loads one rule whose text_regex is `re` (JSON-escaped). */
static int load_regex(const char *re, struct worker_rules **r,
                      char err[HL_ERR_LEN]) {
    char text[1024];
    int n = snprintf(text, sizeof(text), "{\"rules\":[{\"match\":{"
                     "\"text_regex\":\"%s\"},\"actions\":[{\"type\":"
                     "\"sender_action\",\"action\":\"mark_seen\"}]}]}", re);

    if (n < 0 || (size_t)n >= sizeof(text))
        return HT_FAIL("regex too long for the test: %s", re);
    err[0] = '\0';
    return worker_rules_parse(text, (size_t)n, "t", r, err);
}

/* Found by tests/fuzz/fuzz_rules.c (its out-of-memory input, verbatim):
 * glibc compiles "h+++...+" (54 adjacent repetitions) into an automaton
 * of gigabytes. A text_regex is now refused, naming the rule and why,
 * when repetitions are adjacent (undefined in POSIX ERE), when it holds a
 * back-reference (undefined too, exponential in glibc), or when its
 * expanded repetitions pass REGEX_COST_MAX atoms. */
static void check_regex_cost(void) {
    static const char crash[] =
        "{\"rules\":[\n"
        "  {\"match\":{\"kind\":\"message\",\"text_regex\":\"^(h+++++++"
        "+++++++++++++++++++++++++++++++++++++++++++++++i|hello)\\\\b\""
        "},\n"
        "   \"actions\":[{\"type\":\"sender_action\",\"action\":\"mark_"
        "seen\"},\n"
        "              {\"type\":\"reply\",\"text\":\"Hello! Yoen\"},\n"
        "              {\"type\":\"reply\",\"text\":\"Hello! You wrote:"
        " {texou wrote: {text}\",\n"
        "               \"quick_replies\":[{\"title\":\"Prices\",\"payl"
        "oad\":\"PRICES\"}]}]},\n"
        "  {\"match\":{\"kind\":\"postback\",\"payload_prefix\":\"BUY_"
        "\"},\n"
        "   \"actions\":[{\"type\":\"forward\",\"url\":\"http://127.u w"
        "rote: {textt}\",\n"
        "               \"quick_replies\":[{\"title\":\"Prices\",\"payl"
        "oad\":\"PRICES\"}]}]},\n"
        "  {\"match\":{\"kind\":\"postback\",\"payload_prefix\":\"BUY_"
        "\"},\n"
        "   \"actions\":[{\"type\":\"forward\",\"url\":\"http://127.u w"
        "rote: {text}\",\n"
        "               \"quick_replies\":[{\"title\":\"Prices\",\"payl"
        "oad\":\"PRICES\"}]}]},\n"
        "  {\"match\":{\"kind\":\"postback\",\"payload_prefix\":\"BUY_"
        "\"},\n"
        "   \"actions\":[{\"type\":\"forward\",\"url\":\"http://127.0.0"
        ".1:8080/orders\"}]},\n"
        "  {\"match\":{\"kind\":\"message\",\"attachment_type\":\"image"
        "\"},\n"
        "   \"actions\":[{\"typm\":\"pass_thread_control\",\"targppeat_"
        "_id\":\"263902037430900\"}]}\n"
        "]}\n";
    static const struct { const char *re, *why; } bad[] = {
        { "a++", "repetition right after another" },
        { "a{2}*", "repetition right after another" },
        { "x?{1,3}", "repetition right after another" },
        { "((((((((((((((h+)+)+)+)+)+)+)+)+)+)+)+)+)+)+", "too costly" },
        { "(h{1,255}){1,255}", "too costly" },
        { "(h{,255}){,255}", "too costly" },
        { "[a-z]{9999}[0-9]{2}", "too costly" },
        { "(a*)\\\\1", "back-reference (\\1)" },
        { "((((((((((((((((((((((((((((((((("
          "a)))))))))))))))))))))))))))))))))", "more than 32 groups" },
    };
    static const char *const good[] = {
        "^(hi|hello)\\\\b", "[[:alpha:]]{1,255}", "(h{1,99}){1,99}",
        "(((((((((((h+)+)+)+)+)+)+)+)+)+)+)+", "a+b*c?d{2,}", "[]+]+",
        "\\\\++", "^(hi|hello)( |$)", "[a-z]{9000}",
    };
    struct worker_rules *r = NULL;
    char err[HL_ERR_LEN] = "";
    size_t i;

    HT_CHECK_BEGIN("fuzz finding: a text_regex glibc would compile into "
                   "gigabytes is refused, naming the rule and why");
    HT_ASSERT_EQ_INT(worker_rules_parse(crash, sizeof(crash) - 1, "t", &r,
                                        err), HL_EINVAL);
    HT_ASSERT_CONTAINS(err, "rule 0: text_regex has a repetition right "
                       "after another (\"+\")");
    for (i = 0; i < HL_ARRAY_LEN(bad); i++) {
        r = NULL;
        if (!HT_ASSERT_EQ_INT(load_regex(bad[i].re, &r, err), HL_EINVAL))
            ht_note("accepted: %s", bad[i].re);
        HT_ASSERT_CONTAINS(err, bad[i].why);
        worker_rules_free(r);
    }
    for (i = 0; i < HL_ARRAY_LEN(good); i++) {
        r = NULL;
        if (!HT_ASSERT_EQ_INT(load_regex(good[i], &r, err), HL_OK))
            ht_note("refused: %s: %s", good[i], err);
        worker_rules_free(r);
    }
    HT_CHECK_END();
}

static void check_limits(void) {
    struct ht_text t = { 0 };
    struct worker_rules *r = NULL;
    char err[HL_ERR_LEN] = "";
    char *long_text = malloc(2102);
    int i, n;

    HT_CHECK_BEGIN("limits: RULE_ACTIONS_MAX actions load, one more does "
                   "not; a reply text over 2000 bytes does not");
    if (!HT_ASSERT_TRUE(long_text != NULL))
        goto cleanup;
    for (n = RULE_ACTIONS_MAX; n <= RULE_ACTIONS_MAX + 1; n++) {
        free(t.p);
        memset(&t, 0, sizeof(t));
        ht_text_add(&t, "{\"rules\":[{\"match\":{},\"actions\":[");
        for (i = 0; i < n; i++)
            ht_text_add(&t, "%s{\"type\":\"sender_action\",\"action\":"
                        "\"typing_on\"}", i ? "," : "");
        ht_text_add(&t, "]}]}");
        if (t.failed)
            goto cleanup;
        err[0] = '\0';
        i = worker_rules_parse(t.p, t.len, "t", &r, err);
        if (n == RULE_ACTIONS_MAX) {
            HT_ASSERT_EQ_INT(i, HL_OK);
            HT_ASSERT_EQ_INT(r != NULL ? (long long)r->rules[0].n_actions
                                       : -1, RULE_ACTIONS_MAX);
        } else {
            HT_ASSERT_EQ_INT(i, HL_EINVAL);
            HT_ASSERT_CONTAINS(err, "rule 0");
        }
        worker_rules_free(r);
        r = NULL;
    }
    memset(long_text, 'y', 2101);
    long_text[2101] = '\0';
    free(t.p);
    memset(&t, 0, sizeof(t));
    ht_text_add(&t, "{\"rules\":[{\"match\":{},\"actions\":[{\"type\":"
                "\"reply\",\"text\":\"%s\"}]}]}", long_text);
    HT_ASSERT_EQ_INT(worker_rules_parse(t.p, t.len, "t", &r, err),
                     HL_EINVAL);
    HT_ASSERT_CONTAINS(err, "2000");
cleanup:
    worker_rules_free(r);
    free(t.p);
    free(long_text);
    HT_CHECK_END();
}

static void check_truncated(void) {
    static const char *const texts[] = {
        "{\"rules\":[\n{\"match\":{},\n\"actions\":[]\n", "", "   \n"
    };
    size_t i;

    HT_CHECK_BEGIN("a truncated or empty rules file names the problem (the "
                   "JSON ends early), not json-c's internal \"continue\"");
    for (i = 0; i < HL_ARRAY_LEN(texts); i++) {
        struct worker_rules *r = NULL;
        char err[HL_ERR_LEN] = "";
        int rc = worker_rules_parse(texts[i], strlen(texts[i]), "rules.json",
                                    &r, err);
        HT_ASSERT_EQ_INT(rc, HL_EINVAL);
        HT_ASSERT_CONTAINS(err, "line");
        if (!HT_ASSERT_NOT_CONTAINS(err, ": continue"))
            ht_note("case %zu: \"%s\"", i, err);
        worker_rules_free(r);
    }
    HT_CHECK_END();
}

/* ---- files and DESIGN's example ------------------------------------------ */

static void check_load_file(void) {
    static const char design[] =
        "{\"rules\":[\n"
        "  {\"match\":{\"kind\":\"message\","
        "\"text_regex\":\"^(hi|hello)\\\\b\"},\n"
        "   \"actions\":[{\"type\":\"sender_action\","
        "\"action\":\"mark_seen\"},\n"
        "              {\"type\":\"reply\","
        "\"text\":\"Hello! You wrote: {text}\",\n"
        "               \"quick_replies\":[{\"title\":\"Prices\","
        "\"payload\":\"PRICES\"}]}]},\n"
        "  {\"match\":{\"kind\":\"postback\",\"payload_prefix\":\"BUY_\"},\n"
        "   \"actions\":[{\"type\":\"forward\","
        "\"url\":\"http://127.0.0.1:8080/orders\"}]},\n"
        "  {\"match\":{\"kind\":\"message\",\"attachment_type\":\"image\"},\n"
        "   \"actions\":[{\"type\":\"pass_thread_control\","
        "\"target_app_id\":\"263902037430900\"}]}\n"
        "]}\n";
    char path[512], missing[512], err[HL_ERR_LEN] = "";
    struct worker_rules *r = NULL;
    char *t;

    HT_CHECK_BEGIN("DESIGN.md's example rules file loads from disk and "
                   "routes as described; a missing file names its path");
    snprintf(path, sizeof(path), "%s/hl-test-rules-%ld.json", ht_tmpdir(),
             (long)getpid());
    snprintf(missing, sizeof(missing), "%s/hl-test-no-rules-%ld.json",
             ht_tmpdir(), (long)getpid());
    if (!HT_ASSERT_EQ_INT(ht_write_file(path, design, sizeof(design) - 1),
                          HL_OK))
        goto cleanup;
    if (!HT_ASSERT_EQ_INT(worker_rules_load(path, &r, err), HL_OK)) {
        ht_note("%s", err);
        goto cleanup;
    }
    HT_ASSERT_EQ_INT(r->n, 3);
    HT_ASSERT_EQ_INT(match_of(r, "message", 0, "{" FROM_USER ",\"message\":"
                              "{\"mid\":\"m\",\"text\":\"Hi there\"}}"), 0);
    HT_ASSERT_EQ_INT(match_of(r, "message", 0, "{" FROM_USER ",\"message\":"
                              "{\"mid\":\"m\",\"text\":\"history\"}}"), -1);
    HT_ASSERT_EQ_INT(match_of(r, "postback", 0, "{" FROM_USER ",\"postback\":"
                              "{\"payload\":\"BUY_42\"}}"), 1);
    HT_ASSERT_EQ_INT(match_of(r, "message", 0, "{" FROM_USER ",\"message\":"
                              "{\"mid\":\"m\",\"attachments\":[{\"type\":"
                              "\"image\",\"payload\":{}}]}}"), 2);
    HT_ASSERT_EQ_INT(r->rules[0].n_actions, 2);
    HT_ASSERT_EQ_INT(r->rules[0].actions[0].type, WA_SENDER_ACTION);
    HT_ASSERT_EQ_INT(r->rules[1].actions[0].type, WA_FORWARD);
    HT_ASSERT_EQ_INT(r->rules[2].actions[0].type, WA_PASS_THREAD_CONTROL);
    t = reply_text(r, "message", "{" FROM_USER ",\"message\":{\"mid\":\"m\","
                   "\"text\":\"hello you\"}}");
    /* the first action is mark_seen: reply_text() looks at actions[0] */
    HT_ASSERT_EQ_STR(t, NULL);
    free(t);
    worker_rules_free(r);
    r = NULL;
    HT_ASSERT_EQ_INT(worker_rules_load(missing, &r, err), HL_EINVAL);
    HT_ASSERT_TRUE(r == NULL);
    HT_ASSERT_CONTAINS(err, missing);
cleanup:
    worker_rules_free(r);
    unlink(path);
    HT_CHECK_END();
}

/* ---- small accessors ----------------------------------------------------- */

static void check_accessors(void) {
    static const enum hl_kind yes[] = {
        HL_KIND_MESSAGE, HL_KIND_MESSAGE_EDIT, HL_KIND_POSTBACK,
        HL_KIND_REACTION, HL_KIND_REFERRAL, HL_KIND_OPTIN
    };
    static const enum hl_kind no[] = {
        HL_KIND_ECHO, HL_KIND_DELIVERY, HL_KIND_READ, HL_KIND_HANDOVER,
        HL_KIND_OTHER
    };
    struct hl_envelope env;
    size_t i;

    HT_CHECK_BEGIN("text/payload accessors; which kinds open the 24 h "
                   "window");
    if (envelope(&env, "message", 0, USER, "{" FROM_USER ",\"message\":{"
                 "\"mid\":\"m\",\"quick_reply\":{\"payload\":\"QP\"},"
                 "\"text\":\"Green\"}}")) {
        HT_ASSERT_EQ_STR(worker_rules_text(&env), "Green");
        HT_ASSERT_EQ_STR(worker_rules_payload(&env), "QP");
        hl_envelope_cleanup(&env);
    }
    if (envelope(&env, "postback", 0, USER, "{" FROM_USER ",\"postback\":{"
                 "\"payload\":\"PB\"}}")) {
        HT_ASSERT_EQ_STR(worker_rules_text(&env), "");
        HT_ASSERT_EQ_STR(worker_rules_payload(&env), "PB");
        hl_envelope_cleanup(&env);
    }
    if (envelope(&env, "read", 0, USER, "{" FROM_USER ",\"read\":{"
                 "\"watermark\":1}}")) {
        HT_ASSERT_EQ_STR(worker_rules_text(&env), "");
        HT_ASSERT_EQ_STR(worker_rules_payload(&env), "");
        hl_envelope_cleanup(&env);
    }
    for (i = 0; i < HL_ARRAY_LEN(yes); i++) {
        if (!HT_ASSERT_EQ_INT(worker_rules_user_originated(yes[i]), 1))
            ht_note("kind %s", hl_kind_name(yes[i]));
    }
    for (i = 0; i < HL_ARRAY_LEN(no); i++) {
        if (!HT_ASSERT_EQ_INT(worker_rules_user_originated(no[i]), 0))
            ht_note("kind %s", hl_kind_name(no[i]));
    }
    HT_CHECK_END();
}

int main(void) {
    ht_init();
    check_builtin();
    check_silent();
    check_match_keys();
    check_placeholders();
    check_cap_template_char();
    check_bodies();
    check_errors();
    check_regex_cost();
    check_limits();
    check_truncated();
    check_load_file();
    check_accessors();
    return ht_summary();
}
