/* test_dlq.c - unit tests of common/hl_dlq.c: the dead-letter entry of
 * DESIGN.md ("v", a 16-hex "id" unique per entry, "reason", "stage",
 * "error" {http, code, subcode, message, fbtrace_id}, "attempts",
 * "first_failed", "failed", "worker", "envelope" object), the ingest-stage
 * form carrying "raw" instead, raw bodies over 64 KiB cut with
 * "raw_truncated"/"raw_len", bytes that are not UTF-8 kept as
 * "raw_base64", and the reason names. Every entry is read back with plain
 * json-c. */
#include "../lib/hl_test.h"
#include "hl.h"
#include "hl_dlq.h"
#include "hl_envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <openssl/evp.h>

#define ENVELOPE "{\"v\":1,\"id\":\"m:mid.1\",\"object\":\"page\"," \
                 "\"page\":\"P\",\"user\":\"U\",\"ts\":1458668856463," \
                 "\"rx\":1458668856999,\"kind\":\"message\"," \
                 "\"standby\":false,\"event\":{\"message\":{\"mid\":" \
                 "\"mid.1\",\"text\":\"a\\/b \\u00e9\"}}}"

/* ---- helpers ------------------------------------------------------------- */

static json_object *get(json_object *o, const char *k) {
    json_object *v = NULL;

    if (o == NULL || !json_object_object_get_ex(o, k, &v))
        return NULL;
    return v;
}

static int is_hex16(const char *s) {
    size_t i;

    if (s == NULL || strlen(s) != HL_DLQ_ID_LEN)
        return 0;
    for (i = 0; i < HL_DLQ_ID_LEN; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    }
    return 1;
}

/* Builds `e` and parses the text with json-c. NULL on failure (reported). */
static json_object *build(const struct hl_dlq_entry *e) {
    char *txt = NULL;
    size_t n = 0;
    json_object *o = NULL;
    int rc = hl_dlq_build(e, &txt, &n);

    if (!HT_ASSERT_EQ_INT(rc, HL_OK))
        return NULL;
    HT_ASSERT_EQ_INT(strlen(txt), n);
    HT_ASSERT_TRUE(memchr(txt, '\n', n) == NULL);
    o = json_tokener_parse(txt);
    HT_ASSERT_TRUE(o != NULL && json_object_is_type(o, json_type_object));
    free(txt);
    return o;
}

/* Decodes standard base64 into a fresh buffer. Returns its length, or -1. */
static long b64_decode(const char *s, unsigned char **out) {
    size_t n = strlen(s);
    int len, pad = 0;

    *out = malloc(n / 4 * 3 + 3);
    if (*out == NULL || n % 4 != 0)
        return -1;
    len = EVP_DecodeBlock(*out, (const unsigned char *)s, (int)n);
    if (len < 0)
        return -1;
    if (n >= 1 && s[n - 1] == '=')
        pad++;
    if (n >= 2 && s[n - 2] == '=')
        pad++;
    return (long)len - pad;
}

static void ingest_entry(struct hl_dlq_entry *e, const void *raw,
                         size_t len) {
    memset(e, 0, sizeof(*e));
    e->reason = HL_DLQ_MALFORMED_PAYLOAD;
    e->worker_stage = 0;
    e->attempts = 1;
    e->first_failed = 1700000000001LL;
    e->failed = 1700000000001LL;
    e->raw = raw;
    e->raw_len = len;
}

/* ---- checks -------------------------------------------------------------- */

static void check_reasons(void) {
    static const char *const names[] = {
        "send_permanent", "send_exhausted", "outside_window",
        "token_invalid", "forward_failed", "malformed_payload",
        "malformed_event",
    };
    enum hl_dlq_reason r;
    size_t i;

    HT_CHECK_BEGIN("DESIGN.md's reason names exist and parse back; unknown "
                   "names refused");
    for (i = 0; i < HL_ARRAY_LEN(names); i++) {
        if (!HT_ASSERT_EQ_INT(hl_dlq_reason_parse(names[i], &r), HL_OK))
            continue;
        HT_ASSERT_EQ_STR(hl_dlq_reason_name(r), names[i]);
    }
    for (i = 0; i < HL_DLQ_REASON_COUNT; i++) {
        const char *n = hl_dlq_reason_name((enum hl_dlq_reason)i);
        if (HT_ASSERT_EQ_INT(hl_dlq_reason_parse(n, &r), HL_OK))
            HT_ASSERT_EQ_INT(r, i);
    }
    HT_ASSERT_EQ_INT(hl_dlq_reason_parse("Send_Permanent", &r), HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_dlq_reason_parse("", &r), HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_dlq_reason_parse("unknown", &r), HL_EINVAL);
    HT_CHECK_END();
}

static void check_ids(void) {
    char ids[1000][HL_DLQ_ID_LEN + 1];
    size_t i, j, dup = 0, bad = 0;

    HT_CHECK_BEGIN("dead-letter ids: 16 lower-case hex digits, 1000 "
                   "distinct");
    for (i = 0; i < 1000; i++) {
        memset(ids[i], 'Z', sizeof(ids[i]));
        if (hl_dlq_new_id(ids[i]) != HL_OK || !is_hex16(ids[i]))
            bad++;
    }
    for (i = 0; i < 1000; i++) {
        for (j = i + 1; j < 1000; j++)
            dup += strcmp(ids[i], ids[j]) == 0;
    }
    HT_ASSERT_EQ_INT(bad, 0);
    HT_ASSERT_EQ_INT(dup, 0);
    HT_CHECK_END();
}

static void check_worker_entry(void) {
    struct hl_dlq_error err = { 400, 100, 2018001,
                                "(#100) No matching user found \"x\"",
                                "A2w/B+c_D" };
    struct hl_dlq_entry e;
    json_object *o = NULL, *er, *env = NULL;

    HT_CHECK_BEGIN("worker entry: every DESIGN field, envelope as an "
                   "object, no raw");
    memset(&e, 0, sizeof(e));
    e.reason = HL_DLQ_SEND_PERMANENT;
    e.worker_stage = 1;
    e.error = &err;
    e.attempts = 3;
    e.first_failed = 1700000000100LL;
    e.failed = 1700000000900LL;
    e.worker = "w-host-1234";
    e.envelope = ENVELOPE;
    e.envelope_len = strlen(ENVELOPE);
    o = build(&e);
    if (o == NULL)
        goto cleanup;
    HT_ASSERT_EQ_INT(json_object_get_int(get(o, "v")), 1);
    HT_ASSERT_TRUE(is_hex16(json_object_get_string(get(o, "id"))));
    HT_ASSERT_EQ_STR(json_object_get_string(get(o, "reason")),
                     "send_permanent");
    HT_ASSERT_EQ_STR(json_object_get_string(get(o, "stage")), "worker");
    er = get(o, "error");
    if (HT_ASSERT_TRUE(er != NULL && json_object_is_type(er,
                                                         json_type_object))) {
        HT_ASSERT_EQ_INT(json_object_get_int(get(er, "http")), 400);
        HT_ASSERT_EQ_INT(json_object_get_int64(get(er, "code")), 100);
        HT_ASSERT_EQ_INT(json_object_get_int64(get(er, "subcode")), 2018001);
        HT_ASSERT_EQ_STR(json_object_get_string(get(er, "message")),
                         "(#100) No matching user found \"x\"");
        HT_ASSERT_EQ_STR(json_object_get_string(get(er, "fbtrace_id")),
                         "A2w/B+c_D");
    }
    HT_ASSERT_EQ_INT(json_object_get_int(get(o, "attempts")), 3);
    HT_ASSERT_EQ_INT(json_object_get_int64(get(o, "first_failed")),
                     1700000000100LL);
    HT_ASSERT_EQ_INT(json_object_get_int64(get(o, "failed")),
                     1700000000900LL);
    HT_ASSERT_EQ_STR(json_object_get_string(get(o, "worker")), "w-host-1234");
    env = json_tokener_parse(ENVELOPE);
    HT_ASSERT_TRUE(json_object_is_type(get(o, "envelope"), json_type_object));
    HT_ASSERT_TRUE(env != NULL && json_object_equal(get(o, "envelope"), env));
    HT_ASSERT_TRUE(get(o, "raw") == NULL && get(o, "raw_base64") == NULL);
cleanup:
    json_object_put(env);
    json_object_put(o);
    HT_CHECK_END();
}

static void check_unique_per_entry(void) {
    struct hl_dlq_entry e;
    json_object *a = NULL, *b = NULL;

    HT_CHECK_BEGIN("the same entry built twice gets two different ids");
    ingest_entry(&e, "x", 1);
    a = build(&e);
    b = build(&e);
    if (a != NULL && b != NULL)
        HT_ASSERT_NE_STR(json_object_get_string(get(a, "id")),
                         json_object_get_string(get(b, "id")));
    json_object_put(a);
    json_object_put(b);
    HT_CHECK_END();
}

static void check_optional_fields(void) {
    struct hl_dlq_error err = { 0, 613, 0, NULL, NULL };
    struct hl_dlq_entry e;
    json_object *o;

    HT_CHECK_BEGIN("no error struct: no \"error\"; zero fields of an error "
                   "are left out");
    memset(&e, 0, sizeof(e));
    e.reason = HL_DLQ_SEND_EXHAUSTED;
    e.worker_stage = 1;
    e.attempts = 8;
    e.envelope = ENVELOPE;
    e.envelope_len = strlen(ENVELOPE);
    o = build(&e);
    if (o != NULL) {
        HT_ASSERT_TRUE(get(o, "error") == NULL);
        HT_ASSERT_EQ_INT(json_object_get_int(get(o, "attempts")), 8);
        HT_ASSERT_EQ_STR(json_object_get_string(get(o, "reason")),
                         "send_exhausted");
    }
    json_object_put(o);
    e.error = &err;
    o = build(&e);
    if (o != NULL) {
        json_object *er = get(o, "error");
        HT_ASSERT_EQ_INT(json_object_get_int64(get(er, "code")), 613);
        HT_ASSERT_TRUE(get(er, "subcode") == NULL);
        HT_ASSERT_TRUE(get(er, "http") == NULL);
        HT_ASSERT_TRUE(get(er, "message") == NULL);
    }
    json_object_put(o);
    HT_CHECK_END();
}

static void check_ingest_raw(void) {
    const char *body = "{\"object\":\"page\",\"entry\":{\"not\":\"a list\"}}"
                       " caf\xc3\xa9 \\/";
    struct hl_dlq_entry e;
    json_object *o;

    HT_CHECK_BEGIN("ingest entry: stage ingest, raw kept byte for byte, no "
                   "envelope, not truncated");
    ingest_entry(&e, body, strlen(body));
    o = build(&e);
    if (o != NULL) {
        json_object *raw = get(o, "raw");
        HT_ASSERT_EQ_STR(json_object_get_string(get(o, "stage")), "ingest");
        HT_ASSERT_EQ_STR(json_object_get_string(get(o, "reason")),
                         "malformed_payload");
        if (HT_ASSERT_TRUE(raw != NULL))
            HT_ASSERT_EQ_MEM(json_object_get_string(raw),
                             (size_t)json_object_get_string_len(raw), body,
                             strlen(body));
        HT_ASSERT_TRUE(get(o, "envelope") == NULL);
        HT_ASSERT_TRUE(get(o, "raw_base64") == NULL);
        HT_ASSERT_TRUE(get(o, "raw_truncated") == NULL ||
                       !json_object_get_boolean(get(o, "raw_truncated")));
        HT_ASSERT_TRUE(is_hex16(json_object_get_string(get(o, "id"))));
    }
    json_object_put(o);
    /* a NUL byte is valid UTF-8 and must survive too */
    ingest_entry(&e, "a\0b", 3);
    o = build(&e);
    if (o != NULL && HT_ASSERT_TRUE(get(o, "raw") != NULL))
        HT_ASSERT_EQ_MEM(json_object_get_string(get(o, "raw")),
                         (size_t)json_object_get_string_len(get(o, "raw")),
                         "a\0b", 3);
    json_object_put(o);
    HT_CHECK_END();
}

static void check_raw_limit(void) {
    size_t big = HL_DLQ_RAW_MAX + 1;
    char *buf = malloc(big + 8);
    struct hl_dlq_entry e;
    json_object *o;

    HT_CHECK_BEGIN("raw of exactly 64 KiB kept whole; 64 KiB + 1 cut to "
                   "64 KiB with raw_truncated and raw_len");
    if (!HT_ASSERT_TRUE(buf != NULL))
        goto done;
    memset(buf, 'a', big);
    buf[HL_DLQ_RAW_MAX - 1] = 'Z';      /* last byte kept */
    buf[HL_DLQ_RAW_MAX] = 'Q';          /* first byte cut */
    ingest_entry(&e, buf, HL_DLQ_RAW_MAX);
    o = build(&e);
    if (o != NULL) {
        HT_ASSERT_EQ_INT(json_object_get_string_len(get(o, "raw")),
                         HL_DLQ_RAW_MAX);
        HT_ASSERT_TRUE(get(o, "raw_truncated") == NULL ||
                       !json_object_get_boolean(get(o, "raw_truncated")));
    }
    json_object_put(o);
    ingest_entry(&e, buf, big);
    o = build(&e);
    if (o != NULL) {
        const char *raw = json_object_get_string(get(o, "raw"));
        HT_ASSERT_EQ_INT(json_object_get_string_len(get(o, "raw")),
                         HL_DLQ_RAW_MAX);
        HT_ASSERT_TRUE(raw != NULL && raw[HL_DLQ_RAW_MAX - 1] == 'Z');
        HT_ASSERT_TRUE(raw != NULL && strchr(raw, 'Q') == NULL);
        HT_ASSERT_TRUE(json_object_is_type(get(o, "raw_truncated"),
                                           json_type_boolean) &&
                       json_object_get_boolean(get(o, "raw_truncated")));
        HT_ASSERT_EQ_INT(json_object_get_int64(get(o, "raw_len")), big);
    }
    json_object_put(o);
done:
    free(buf);
    HT_CHECK_END();
}

/* Cutting at 64 KiB must not split a UTF-8 character (the kept part
 * stays "raw", valid UTF-8, at most 3 bytes shorter). */
static void check_cut_utf8(void) {
    size_t big = HL_DLQ_RAW_MAX + 100;
    char *buf = malloc(big);
    struct hl_dlq_entry e;
    json_object *o;

    HT_CHECK_BEGIN("the 64 KiB cut does not split a UTF-8 character");
    if (!HT_ASSERT_TRUE(buf != NULL))
        goto done;
    memset(buf, 'a', big);
    /* a 4-byte emoji straddling the limit: bytes 65534..65537 */
    memcpy(buf + HL_DLQ_RAW_MAX - 2, "\xf0\x9f\x91\x8b", 4);
    ingest_entry(&e, buf, big);
    o = build(&e);
    if (o != NULL && HT_ASSERT_TRUE(get(o, "raw") != NULL)) {
        HT_ASSERT_EQ_INT(json_object_get_string_len(get(o, "raw")),
                         HL_DLQ_RAW_MAX - 2);
        HT_ASSERT_TRUE(json_object_get_boolean(get(o, "raw_truncated")));
        HT_ASSERT_EQ_INT(json_object_get_int64(get(o, "raw_len")), big);
    }
    json_object_put(o);
done:
    free(buf);
    HT_CHECK_END();
}

static void check_raw_base64(void) {
    static const struct {
        const char *bytes;
        size_t len;
    } cases[] = {
        { "\xff\xfe{}", 4 },                  /* never valid */
        { "caf\xe9", 4 },                     /* Latin-1 */
        { "ab\xc3", 3 },                      /* truncated at the end */
        { "\xc0\xaf", 2 },                    /* overlong */
        { "\xed\xa0\x80", 3 },                /* surrogate U+D800 */
        { "\xf4\x90\x80\x80", 4 },            /* above U+10FFFF */
        { "\x80", 1 },                        /* lone continuation */
    };
    struct hl_dlq_entry e;
    size_t i;

    HT_CHECK_BEGIN("bytes that are not UTF-8 go to raw_base64 (decodes to "
                   "the same bytes), never raw");
    for (i = 0; i < HL_ARRAY_LEN(cases); i++) {
        json_object *o;
        unsigned char *dec = NULL;
        long n;

        ingest_entry(&e, cases[i].bytes, cases[i].len);
        o = build(&e);
        if (o == NULL)
            continue;
        if (get(o, "raw") != NULL || get(o, "raw_base64") == NULL) {
            HT_FAIL("case %zu: kept as raw, not raw_base64", i);
        } else {
            n = b64_decode(json_object_get_string(get(o, "raw_base64")),
                           &dec);
            HT_ASSERT_EQ_MEM(dec, n < 0 ? 0 : (size_t)n, cases[i].bytes,
                             cases[i].len);
        }
        free(dec);
        json_object_put(o);
    }
    HT_CHECK_END();
}

/* A binary body over 64 KiB: raw_base64 keeps (nearly) 64 KiB of it. */
static void check_binary_cut(void) {
    size_t big = HL_DLQ_RAW_MAX + 4096, i;
    unsigned char *buf = malloc(big);
    unsigned char *dec = NULL;
    struct hl_dlq_entry e;
    json_object *o = NULL;
    long n;

    HT_CHECK_BEGIN("a binary body over 64 KiB keeps its first 64 KiB (at "
                   "most 3 bytes less) in raw_base64");
    if (!HT_ASSERT_TRUE(buf != NULL))
        goto done;
    /* continuation bytes only (0x80..0xbf): not UTF-8 anywhere */
    for (i = 0; i < big; i++)
        buf[i] = (unsigned char)(0x80 | (i % 64));
    ingest_entry(&e, buf, big);
    o = build(&e);
    if (o != NULL && get(o, "raw") != NULL)
        ht_note("got \"raw\" of %d bytes instead",
                json_object_get_string_len(get(o, "raw")));
    if (o == NULL || !HT_ASSERT_TRUE(get(o, "raw_base64") != NULL))
        goto done;
    n = b64_decode(json_object_get_string(get(o, "raw_base64")), &dec);
    HT_ASSERT_GE_INT(n, HL_DLQ_RAW_MAX - 3);
    HT_ASSERT_LE_INT(n, HL_DLQ_RAW_MAX);
    if (n > 0)
        HT_ASSERT_EQ_MEM(dec, (size_t)n, buf, (size_t)n);
    HT_ASSERT_TRUE(json_object_get_boolean(get(o, "raw_truncated")));
    HT_ASSERT_EQ_INT(json_object_get_int64(get(o, "raw_len")), big);
done:
    free(dec);
    json_object_put(o);
    free(buf);
    HT_CHECK_END();
}

static void check_bad_envelope(void) {
    struct hl_dlq_entry e;
    char *txt = NULL;
    size_t n = 0;

    HT_CHECK_BEGIN("an envelope text that does not parse is HL_EINVAL");
    memset(&e, 0, sizeof(e));
    e.reason = HL_DLQ_SEND_PERMANENT;
    e.worker_stage = 1;
    e.envelope = "{\"v\":1,";
    e.envelope_len = strlen(e.envelope);
    HT_ASSERT_EQ_INT(hl_dlq_build(&e, &txt, &n), HL_EINVAL);
    /* envelope_len is honoured: the text past it is not read */
    e.envelope = ENVELOPE "garbage";
    e.envelope_len = strlen(ENVELOPE);
    txt = NULL;
    if (HT_ASSERT_EQ_INT(hl_dlq_build(&e, &txt, &n), HL_OK))
        HT_ASSERT_NOT_CONTAINS(txt, "garbage");
    free(txt);
    HT_CHECK_END();
}

/* ---- reading entries back (hookctl) ------------------------------------ */

static void check_parse_worker(void) {
    struct hl_dlq_error err = { 400, 100, 2018001, "(#100) No match", NULL };
    struct hl_dlq_entry e;
    struct hl_dlq_view v;
    struct hl_envelope env;
    char *txt = NULL, *etxt = NULL;
    size_t n = 0, en = 0;

    HT_CHECK_BEGIN("parse of a worker entry: id, reason, stage, error, "
                   "attempts; its envelope text parses as the original");
    memset(&e, 0, sizeof(e));
    e.reason = HL_DLQ_SEND_PERMANENT;
    e.worker_stage = 1;
    e.error = &err;
    e.attempts = 3;
    e.failed = 1700000000900LL;
    e.envelope = ENVELOPE;
    e.envelope_len = strlen(ENVELOPE);
    if (!HT_ASSERT_EQ_INT(hl_dlq_build(&e, &txt, &n), HL_OK))
        goto done;
    if (!HT_ASSERT_EQ_INT(hl_dlq_parse(txt, n, &v), HL_OK))
        goto done;
    HT_ASSERT_TRUE(is_hex16(v.id));
    HT_ASSERT_EQ_STR(v.reason, "send_permanent");
    HT_ASSERT_EQ_INT(v.worker_stage, 1);
    HT_ASSERT_EQ_INT(v.attempts, 3);
    HT_ASSERT_EQ_INT(v.failed, 1700000000900LL);
    HT_ASSERT_EQ_INT(v.error_http, 400);
    HT_ASSERT_EQ_INT(v.error_code, 100);
    HT_ASSERT_EQ_STR(v.error_message, "(#100) No match");
    HT_ASSERT_EQ_INT(v.raw_len, -1);
    if (HT_ASSERT_EQ_INT(hl_dlq_envelope_text(&v, &etxt, &en), HL_OK) &&
        HT_ASSERT_EQ_INT(hl_envelope_parse(etxt, en, &env), HL_OK)) {
        HT_ASSERT_EQ_STR(env.id, "m:mid.1");
        HT_ASSERT_EQ_STR(env.page, "P");
        HT_ASSERT_EQ_STR(env.user, "U");
        HT_ASSERT_EQ_INT(env.ts, 1458668856463LL);
        HT_ASSERT_EQ_INT(env.rx, 1458668856999LL);
        hl_envelope_cleanup(&env);
    }
    hl_dlq_view_cleanup(&v);
    hl_dlq_view_cleanup(&v);          /* idempotent */
done:
    free(etxt);
    free(txt);
    HT_CHECK_END();
}

static void check_parse_ingest(void) {
    struct hl_dlq_entry e;
    struct hl_dlq_view v;
    char *txt = NULL, *etxt = NULL;
    size_t n = 0, en = 0;

    HT_CHECK_BEGIN("parse of an ingest entry: stage ingest, raw_len, no "
                   "envelope to requeue (HL_ESTATE)");
    ingest_entry(&e, "not json", 8);
    if (!HT_ASSERT_EQ_INT(hl_dlq_build(&e, &txt, &n), HL_OK) ||
        !HT_ASSERT_EQ_INT(hl_dlq_parse(txt, n, &v), HL_OK))
        goto done;
    HT_ASSERT_EQ_STR(v.reason, "malformed_payload");
    HT_ASSERT_EQ_INT(v.worker_stage, 0);
    HT_ASSERT_EQ_INT(v.raw_len, 8);
    HT_ASSERT_TRUE(v.envelope == NULL);
    HT_ASSERT_EQ_INT(hl_dlq_envelope_text(&v, &etxt, &en), HL_ESTATE);
    HT_ASSERT_TRUE(etxt == NULL);
    hl_dlq_view_cleanup(&v);
done:
    free(txt);
    HT_CHECK_END();
}

#define NEWER "{\"id\":\"a\",\"reason\":\"new_reason\"}"

static void check_parse_rejects(void) {
    static const char *const bad[] = {
        "", "not json", "[]", "{}", "{\"id\":\"a\"}",
        "{\"reason\":\"x\"}", "{\"id\":1,\"reason\":\"x\"}",
        "{\"id\":\"a\",\"reason\":null}",
    };
    struct hl_dlq_view v;
    size_t i;

    HT_CHECK_BEGIN("parse rejects what is not a dead letter (no string id "
                   "and reason), leaving nothing to free");
    for (i = 0; i < HL_ARRAY_LEN(bad); i++) {
        if (!HT_ASSERT_EQ_INT(hl_dlq_parse(bad[i], strlen(bad[i]), &v),
                              HL_EINVAL))
            ht_note("accepted: %s", bad[i]);
        HT_ASSERT_TRUE(v.root == NULL);
    }
    HT_ASSERT_EQ_INT(hl_dlq_parse(NEWER, strlen(NEWER), &v), HL_OK);
    HT_ASSERT_EQ_STR(v.reason, "new_reason");
    HT_ASSERT_EQ_INT(v.worker_stage, 0);
    hl_dlq_view_cleanup(&v);
    HT_CHECK_END();
}

int main(void) {
    ht_init();
    check_reasons();
    check_ids();
    check_worker_entry();
    check_unique_per_entry();
    check_optional_fields();
    check_ingest_raw();
    check_raw_limit();
    check_cut_utf8();
    check_raw_base64();
    check_binary_cut();
    check_bad_envelope();
    check_parse_worker();
    check_parse_ingest();
    check_parse_rejects();
    return ht_summary();
}
