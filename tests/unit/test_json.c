/* test_json.c - unit tests of common/hl_json.c: the depth-limited,
 * strict, whole-input JSON parse of network bytes, in one piece or in
 * chunks. Proves: nesting is capped at `depth` (100,000 '[' fail cleanly
 * and fast), anything after the value other than whitespace fails,
 * not-JSON fails, numbers follow the JSON grammar however they are cut,
 * and any chunking of every webhook fixture parses to the same value as
 * the whole body. */
#include "../lib/hl_test.h"
#include "hl.h"
#include "hl_json.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

static int parse_str(const char *s, int depth, json_object **out) {
    return hl_json_parse(s, strlen(s), depth, out);
}

/* Nested arrays `n` deep: "[[...]]" (closed), "[[...[1]...]]" (leaf, a
 * scalar inside) or n unclosed '[' (open). Caller frees. */
enum nest { NEST_CLOSED, NEST_LEAF, NEST_OPEN };

static char *nested(size_t n, enum nest how) {
    char *s = malloc(2 * n + 2);
    size_t i, k = 0;

    if (s == NULL)
        return NULL;
    for (i = 0; i < n; i++)
        s[k++] = '[';
    if (how == NEST_LEAF)
        s[k++] = '1';
    for (i = 0; i < n; i++)
        s[k++] = how == NEST_OPEN ? '[' : ']';
    s[k] = '\0';
    return s;
}

/* hl_json.h: "nested at most depth deep (a scalar is depth 0, [1] is
 * depth 1)". */
static int parse_nested(size_t n, enum nest how, int depth) {
    char *s = nested(n, how);
    json_object *o = NULL;
    int rc;

    if (s == NULL)
        return HL_ENOMEM;
    rc = hl_json_parse(s, strlen(s), depth, &o);
    if (rc == HL_OK && !json_object_is_type(o, json_type_array))
        rc = HL_ERR;
    json_object_put(o);
    free(s);
    return rc;
}

static void check_depth(void) {
    json_object *o = NULL;

    HT_CHECK_BEGIN("nesting up to depth accepted, depth+1 refused "
                   "(a scalar is depth 0, [1] is depth 1)");
    HT_ASSERT_EQ_INT(parse_nested(HL_JSON_DEPTH, NEST_LEAF, HL_JSON_DEPTH),
                     HL_OK);
    HT_ASSERT_EQ_INT(parse_nested(HL_JSON_DEPTH + 1, NEST_LEAF,
                                  HL_JSON_DEPTH), HL_EINVAL);
    HT_ASSERT_EQ_INT(parse_nested(1, NEST_LEAF, 1), HL_OK);
    HT_ASSERT_EQ_INT(parse_nested(1, NEST_LEAF, 0), HL_EINVAL);
    HT_ASSERT_EQ_INT(parse_nested(3, NEST_LEAF, 4), HL_OK);
    HT_ASSERT_EQ_INT(parse_nested(5, NEST_LEAF, 4), HL_EINVAL);
    /* a scalar alone is depth 0 */
    if (HT_ASSERT_EQ_INT(parse_str("7", 0, &o), HL_OK))
        HT_ASSERT_EQ_INT(json_object_get_int(o), 7);
    json_object_put(o);
    o = NULL;
    /* objects count like arrays */
    HT_ASSERT_EQ_INT(parse_str("{\"a\":{\"b\":{\"c\":1}}}", 3, &o), HL_OK);
    json_object_put(o);
    o = NULL;
    HT_ASSERT_EQ_INT(parse_str("{\"a\":{\"b\":{\"c\":1}}}", 2, &o),
                     HL_EINVAL);
    HT_CHECK_END();
}

/* Empty containers nest like full ones: "[]" is depth 1 as "[1]" is. */
static void check_depth_empty(void) {
    json_object *o = NULL;

    HT_CHECK_BEGIN("empty containers: depth nested accepted, depth+1 "
                   "refused");
    HT_ASSERT_EQ_INT(parse_nested(HL_JSON_DEPTH, NEST_CLOSED, HL_JSON_DEPTH),
                     HL_OK);
    HT_ASSERT_EQ_INT(parse_nested(HL_JSON_DEPTH + 1, NEST_CLOSED,
                                  HL_JSON_DEPTH), HL_EINVAL);
    HT_ASSERT_EQ_INT(parse_str("{\"a\":{\"b\":{}}}", 3, &o), HL_OK);
    json_object_put(o);
    o = NULL;
    HT_ASSERT_EQ_INT(parse_str("{\"a\":{\"b\":{}}}", 2, &o), HL_EINVAL);
    json_object_put(o);
    HT_CHECK_END();
}

/* What is inside a string is text: brackets there are no nesting, an
 * apostrophe there is no single quote, an escaped quote ends nothing. */
static void check_string_contents(void) {
    static const char *const ok[] = {
        "{\"text\":\"It's fine, isn't it?\"}",
        "[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"]",
        "{\"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\":1}",
        "[\"a\\\"[[[[\",\"\\\\\",\"'\"]",
        "[\"]]]]]]]]\",[[1]]]",
    };
    json_object *o = NULL;
    size_t i;

    HT_CHECK_BEGIN("apostrophes, brackets and escaped quotes inside strings "
                   "are text, not quotes or nesting");
    for (i = 0; i < HL_ARRAY_LEN(ok); i++) {
        if (parse_str(ok[i], 3, &o) != HL_OK)
            HT_FAIL("refused: %s", ok[i]);
        json_object_put(o);
        o = NULL;
    }
    /* "]]]]" inside a string does not buy extra depth afterwards */
    HT_ASSERT_EQ_INT(parse_str("[\"]]]]]]]]]]\",[[[[1]]]]]", 3, &o),
                     HL_EINVAL);
    HT_CHECK_END();
}

static void check_depth_bomb(void) {
    const size_t n = 100000;
    char *s = nested(n, NEST_OPEN);
    json_object *o = NULL;
    long long t0, t1;
    struct hl_chunk c[4];
    size_t i;

    HT_CHECK_BEGIN("100,000 '[' fail cleanly and fast (whole and chunked)");
    if (!HT_ASSERT_TRUE(s != NULL))
        goto done;
    t0 = ht_mono_ms();
    HT_ASSERT_EQ_INT(hl_json_parse(s, n, HL_JSON_DEPTH, &o), HL_EINVAL);
    HT_ASSERT_TRUE(o == NULL);
    /* 2n bytes: n '[' then n more '[' */
    HT_ASSERT_EQ_INT(hl_json_parse(s, 2 * n, HL_JSON_DEPTH, &o), HL_EINVAL);
    for (i = 0; i < 4; i++) {
        c[i].p = s + i * (n / 2);
        c[i].len = n / 2;
    }
    HT_ASSERT_EQ_INT(hl_json_parse_chunks(c, 4, HL_JSON_DEPTH, &o),
                     HL_EINVAL);
    HT_ASSERT_TRUE(o == NULL);
    t1 = ht_mono_ms();
    HT_ASSERT_LT_INT(t1 - t0, ht_budget_ms(1000));
done:
    free(s);
    HT_CHECK_END();
}

static void check_trailing(void) {
    static const char *const ok[] = {
        "{\"a\":1}", "{\"a\":1} \r\n\t", " \n{\"a\":1}", "[]", "\"s\"",
        "123", "123 ", "-1.5e3", "true",
    };
    static const char *const bad[] = {
        "{\"a\":1}x", "{\"a\":1}{\"b\":2}", "{} 1", "[1] ]", "123 4",
        "\"s\"\"t\"", "{\"a\":1},", "truex", "{\"a\":1}\v",
    };
    json_object *o = NULL;
    size_t i;

    HT_CHECK_BEGIN("only whitespace may follow the value; trailing garbage "
                   "fails");
    for (i = 0; i < HL_ARRAY_LEN(ok); i++) {
        if (parse_str(ok[i], HL_JSON_DEPTH, &o) != HL_OK)
            HT_FAIL("refused: '%s'", ok[i]);
        json_object_put(o);
        o = NULL;
    }
    for (i = 0; i < HL_ARRAY_LEN(bad); i++) {
        if (parse_str(bad[i], HL_JSON_DEPTH, &o) != HL_EINVAL)
            HT_FAIL("accepted: '%s'", bad[i]);
        json_object_put(o);
        o = NULL;
    }
    /* a NUL byte after the value is not whitespace */
    HT_ASSERT_EQ_INT(hl_json_parse("{}\0x", 4, HL_JSON_DEPTH, &o), HL_EINVAL);
    json_object_put(o);
    o = NULL;
    /* the value of a bare number is the whole number */
    if (HT_ASSERT_EQ_INT(parse_str("1234567890123", HL_JSON_DEPTH, &o),
                         HL_OK))
        HT_ASSERT_EQ_INT(json_object_get_int64(o), 1234567890123LL);
    json_object_put(o);
    HT_CHECK_END();
}

static void check_not_json(void) {
    static const char *const bad[] = {
        "", " ", "\n\n", "{", "[1,2", "{\"a\":}", "['a']", "{'a':1}", "[1,2,]",
        "{\"a\":1,}", "/* c */ {}", "{\"a\":01}", "{\"a\" 1}",
        "\"unterminated", "{\"a\":\"\\x41\"}",
    };
    json_object *o = NULL;
    size_t i;

    HT_CHECK_BEGIN("not JSON (empty, truncated, single quotes, trailing "
                   "comma, comments) fails");
    for (i = 0; i < HL_ARRAY_LEN(bad); i++) {
        o = (json_object *)&o;
        if (parse_str(bad[i], HL_JSON_DEPTH, &o) != HL_EINVAL) {
            HT_FAIL("accepted: '%s'", bad[i]);
            json_object_put(o);
        } else if (o != NULL) {
            HT_FAIL("'%s': *out not reset to NULL", bad[i]);
        }
    }
    HT_CHECK_END();
}

static void check_null_and_utf8(void) {
    static const char *const bad_utf8[] = {
        "\"\xff\"",                 /* never valid */
        "\"caf\xc3\"",              /* truncated sequence */
        "{\"k\xe9y\":1}",            /* Latin-1 in a key */
    };
    json_object *o = (json_object *)&o;
    size_t i;

    HT_CHECK_BEGIN("the value null is HL_OK with *out NULL; bytes that are "
                   "not UTF-8 fail");
    HT_ASSERT_EQ_INT(parse_str("null", HL_JSON_DEPTH, &o), HL_OK);
    HT_ASSERT_TRUE(o == NULL);
    HT_ASSERT_EQ_INT(parse_str(" null \n", HL_JSON_DEPTH, &o), HL_OK);
    HT_ASSERT_TRUE(o == NULL);
    HT_ASSERT_EQ_INT(parse_str("null x", HL_JSON_DEPTH, &o), HL_EINVAL);
    HT_ASSERT_EQ_INT(parse_str("nul", HL_JSON_DEPTH, &o), HL_EINVAL);
    for (i = 0; i < HL_ARRAY_LEN(bad_utf8); i++) {
        o = NULL;
        if (parse_str(bad_utf8[i], HL_JSON_DEPTH, &o) != HL_EINVAL) {
            HT_FAIL("accepted non-UTF-8 case %zu", i);
            json_object_put(o);
        }
    }
    /* valid multi-byte UTF-8 is fine */
    if (HT_ASSERT_EQ_INT(parse_str("\"caf\xc3\xa9 \xf0\x9f\x91\x8b\"",
                                   HL_JSON_DEPTH, &o), HL_OK))
        HT_ASSERT_EQ_STR(json_object_get_string(o),
                         "caf\xc3\xa9 \xf0\x9f\x91\x8b");
    json_object_put(o);
    HT_CHECK_END();
}

/* Stricter UTF-8: overlong forms and UTF-16 surrogates encoded as UTF-8
 * are not UTF-8 either (RFC 3629). */
static void check_utf8_strict(void) {
    static const char *const bad[] = {
        "\"\xc0\xaf\"",             /* overlong '/' */
        "\"\xe0\x80\xaf\"",         /* overlong '/', 3 bytes */
        "\"\xed\xa0\x80\"",         /* U+D800 */
        "\"\xf4\x90\x80\x80\"",     /* above U+10FFFF */
    };
    json_object *o = NULL;
    size_t i;

    HT_CHECK_BEGIN("overlong, surrogate and out-of-range UTF-8 fail");
    for (i = 0; i < HL_ARRAY_LEN(bad); i++) {
        o = NULL;
        if (parse_str(bad[i], HL_JSON_DEPTH, &o) != HL_EINVAL) {
            HT_FAIL("accepted non-UTF-8 case %zu", i);
            json_object_put(o);
        }
    }
    HT_CHECK_END();
}

static void check_utf8_valid_fn(void) {
    static const struct {
        const char *s;
        size_t len;
        int want;
    } cases[] = {
        { "", 0, 1 },
        { "plain ascii", 11, 1 },
        { "a\0b", 3, 1 },                         /* NUL is UTF-8 */
        { "caf\xc3\xa9", 5, 1 },
        { "\xe2\x82\xac", 3, 1 },                 /* U+20AC */
        { "\xf0\x9f\x91\x8b", 4, 1 },             /* U+1F44B */
        { "\xf4\x8f\xbf\xbf", 4, 1 },             /* U+10FFFF */
        { "\xef\xbf\xbd", 3, 1 },                 /* U+FFFD */
        { "\xff", 1, 0 },
        { "\x80", 1, 0 },                         /* lone continuation */
        { "caf\xc3", 4, 0 },                      /* cut at the end */
        { "\xf0\x9f\x91", 3, 0 },
        { "\xc0\xaf", 2, 0 },                     /* overlong */
        { "\xc1\xbf", 2, 0 },
        { "\xe0\x80\xaf", 3, 0 },
        { "\xf0\x80\x80\xaf", 4, 0 },
        { "\xed\xa0\x80", 3, 0 },                 /* U+D800 */
        { "\xed\xbf\xbf", 3, 0 },                 /* U+DFFF */
        { "\xf4\x90\x80\x80", 4, 0 },             /* U+110000 */
        { "\xf5\x80\x80\x80", 4, 0 },
        { "\xc3\x28", 2, 0 },                     /* bad continuation */
    };
    size_t i;

    HT_CHECK_BEGIN("hl_json_utf8_valid: strict UTF-8 (RFC 3629)");
    for (i = 0; i < HL_ARRAY_LEN(cases); i++) {
        int got = hl_json_utf8_valid(cases[i].s, cases[i].len);
        if (got != cases[i].want)
            HT_FAIL("case %zu: %d, want %d", i, got, cases[i].want);
    }
    HT_CHECK_END();
}

/* An evbuffer may cut a body anywhere, also inside a multi-byte UTF-8
 * character: the chunked parse must not care. */
static void check_utf8_across_chunks(void) {
    static const char s[] = "[\"caf\xc3\xa9 \xf0\x9f\x91\x8b\"]";
    size_t n = sizeof(s) - 1, k;
    json_object *o = NULL;

    HT_CHECK_BEGIN("raw UTF-8 split inside a character across chunks "
                   "parses");
    for (k = 0; k <= n; k++) {
        struct hl_chunk c[2] = { { s, k }, { s + k, n - k } };
        int rc = hl_json_parse_chunks(c, 2, HL_JSON_DEPTH, &o);
        if (rc != HL_OK)
            HT_FAIL("split at %zu of %zu: rc %d", k, n, rc);
        json_object_put(o);
        o = NULL;
    }
    HT_CHECK_END();
}

static void check_small_chunks(void) {
    static const char *const cases[] = {
        "12", "[1, 2, \"x\\u00e9\"]", "{\"a\":{\"b\":[true,false,null]}}",
        "-0.5", "\"\\ud83d\\udc4b\"",
    };
    struct hl_chunk c[64];
    json_object *whole = NULL, *o = NULL;
    size_t i, k;

    HT_CHECK_BEGIN("one byte per chunk, empty chunks, bare numbers across "
                   "chunks parse like the whole");
    for (i = 0; i < HL_ARRAY_LEN(cases); i++) {
        const char *s = cases[i];
        size_t n = strlen(s), m = 0;

        if (parse_str(s, HL_JSON_DEPTH, &whole) != HL_OK) {
            HT_FAIL("whole refused: %s", s);
            continue;
        }
        for (k = 0; k < n && m + 2 <= HL_ARRAY_LEN(c); k++) {
            c[m].p = s + k;
            c[m++].len = 1;
            c[m].p = s;             /* an empty chunk between bytes */
            c[m++].len = 0;
        }
        if (hl_json_parse_chunks(c, m, HL_JSON_DEPTH, &o) != HL_OK)
            HT_FAIL("byte chunks refused: %s", s);
        else if (!json_object_equal(o, whole))
            HT_FAIL("byte chunks differ: %s", s);
        json_object_put(o);
        json_object_put(whole);
        o = whole = NULL;
    }
    /* "1" "2" is 12, not 1 then garbage */
    c[0].p = "1";
    c[0].len = 1;
    c[1].p = "2";
    c[1].len = 1;
    if (HT_ASSERT_EQ_INT(hl_json_parse_chunks(c, 2, HL_JSON_DEPTH, &o),
                         HL_OK))
        HT_ASSERT_EQ_INT(json_object_get_int64(o), 12);
    json_object_put(o);
    o = NULL;
    /* garbage in a later chunk after a complete value */
    c[0].p = "{\"a\":1}";
    c[0].len = 7;
    c[1].p = "  ";
    c[1].len = 2;
    c[2].p = "x";
    c[2].len = 1;
    HT_ASSERT_EQ_INT(hl_json_parse_chunks(c, 3, HL_JSON_DEPTH, &o),
                     HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_json_parse_chunks(c, 2, HL_JSON_DEPTH, &o), HL_OK);
    json_object_put(o);
    o = NULL;
    /* no chunks at all is no value */
    HT_ASSERT_EQ_INT(hl_json_parse_chunks(c, 0, HL_JSON_DEPTH, &o),
                     HL_EINVAL);
    HT_CHECK_END();
}

/* Found by tests/fuzz/fuzz_webhook.c: json-c checks a number only within
 * one chunk, so "0" then "-00" parsed as 0 while "0-00" in one piece is
 * refused (the same signed bytes accepted or not depending on how TCP cut
 * them). The pre-scan now holds the JSON number grammar across chunks;
 * json-c's own laxities ("1.", "-01") are refused with it. */
static void check_numbers_across_chunks(void) {
    static const char *const bad[] = {
        "0-00", "1.", "1.e5", "-01", "01", "-", "1e", "2E", "1e+", "+1",
        ".5", "[1.]", "{\"a\":-}", "[0x10]", "1-", "[1,-]",
    };
    static const char *const good[] = {
        "-0", "0.5e-3", "1E+2", "[0,-1,2.5e10]", "10", "{\"a\":-12.25}",
    };
    struct hl_chunk c[2] = { { "0", 1 }, { "-00", 3 } };
    json_object *o = NULL;
    size_t i, k, n;

    HT_CHECK_BEGIN("fuzz finding: a number cut by a chunk boundary is "
                   "checked as one (\"0\" + \"-00\" refused like \"0-00\"); "
                   "the JSON number grammar");
    HT_ASSERT_EQ_INT(hl_json_parse_chunks(c, 2, HL_JSON_DEPTH, &o),
                     HL_EINVAL);
    HT_ASSERT_TRUE(o == NULL);
    json_object_put(o);
    o = NULL;
    for (i = 0; i < HL_ARRAY_LEN(bad); i++) {
        n = strlen(bad[i]);
        if (parse_str(bad[i], HL_JSON_DEPTH, &o) != HL_EINVAL)
            HT_FAIL("whole %s accepted", bad[i]);
        json_object_put(o);
        o = NULL;
        for (k = 0; k <= n; k++) {
            c[0].p = bad[i];
            c[0].len = k;
            c[1].p = bad[i] + k;
            c[1].len = n - k;
            if (hl_json_parse_chunks(c, 2, HL_JSON_DEPTH, &o) != HL_EINVAL)
                HT_FAIL("%s split at %zu accepted", bad[i], k);
            json_object_put(o);
            o = NULL;
        }
    }
    for (i = 0; i < HL_ARRAY_LEN(good); i++) {
        json_object *whole = NULL;
        n = strlen(good[i]);
        if (parse_str(good[i], HL_JSON_DEPTH, &whole) != HL_OK) {
            HT_FAIL("whole %s refused", good[i]);
            continue;
        }
        for (k = 0; k <= n; k++) {
            c[0].p = good[i];
            c[0].len = k;
            c[1].p = good[i] + k;
            c[1].len = n - k;
            if (hl_json_parse_chunks(c, 2, HL_JSON_DEPTH, &o) != HL_OK ||
                !json_object_equal(o, whole))
                HT_FAIL("%s split at %zu differs", good[i], k);
            json_object_put(o);
            o = NULL;
        }
        json_object_put(whole);
    }
    HT_CHECK_END();
}

/* Every webhook fixture, split in two at every offset and in three at a
 * stride, parses to the value of the whole body. */
static void check_fixture_chunks(void) {
    char dir[4096], rel[512];
    DIR *d = NULL;
    struct dirent *de;
    size_t files = 0, splits = 0;

    HT_CHECK_BEGIN("every webhook fixture split at every offset parses the "
                   "same as whole");
    if (!HT_ASSERT_EQ_INT(ht_fixture_path("webhook", dir, sizeof(dir)),
                          HL_OK))
        goto done;
    d = opendir(dir);
    if (!HT_ASSERT_TRUE(d != NULL))
        goto done;
    for (de = readdir(d); de != NULL; de = readdir(d)) {
        size_t n = strlen(de->d_name), len = 0, k;
        char *body = NULL;
        json_object *whole = NULL;

        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        snprintf(rel, sizeof(rel), "webhook/%s", de->d_name);
        if (ht_read_fixture(rel, &body, &len) != HL_OK ||
            hl_json_parse(body, len, HL_JSON_DEPTH, &whole) != HL_OK) {
            HT_FAIL("%s: does not parse whole", de->d_name);
            free(body);
            continue;
        }
        files++;
        for (k = 0; k <= len; k++) {
            struct hl_chunk c[3];
            json_object *o = NULL;
            size_t j = k + (len - k) / 2;

            c[0].p = body;
            c[0].len = k;
            c[1].p = body + k;
            c[1].len = j - k;
            c[2].p = body + j;
            c[2].len = len - j;
            if (hl_json_parse_chunks(c, 3, HL_JSON_DEPTH, &o) != HL_OK ||
                !json_object_equal(o, whole)) {
                HT_FAIL("%s: split at %zu/%zu differs", de->d_name, k, j);
                json_object_put(o);
                break;
            }
            json_object_put(o);
            splits++;
        }
        json_object_put(whole);
        free(body);
    }
    ht_note("%zu fixtures, %zu chunked parses", files, splits);
    HT_ASSERT_GE_INT(files, 57);
done:
    if (d != NULL)
        closedir(d);
    HT_CHECK_END();
}

/* hl_json_scan() alone: what it refuses, the offset of the byte at
 * fault and a reason an operator can act on (the rules loader prints
 * both); json-c's own leniency ("00", "00.5") is what it is there for. */
static void check_scan(void) {
    static const struct {
        const char *s;
        size_t at;
        const char *why;          /* NULL: passes */
    } cases[] = {
        { "{\"a\":[1,0.5,-0,1e-3,\"x\\ty\"]}", 0, NULL },
        { "[00.5]", 2, "leading zero" },
        { "[-01]", 3, "leading zero" },
        { "[1.]", 3, "number" },
        { "[1", 0, NULL },      /* json-c refuses it, not the scan */
        { "1.", 2, "number cut short" },
        { "[NaN]", 1, "outside a string" },
        { "['x']", 1, "outside a string" },
        { "[\"a\tb\"]", 3, "control character" },
        { "[\"caf\xff\"]", 5, "UTF-8" },
        { "[\"\xc3", 3, "UTF-8" },
        { "[[[1]]]", 2, "too deep" },
    };
    size_t i;

    HT_CHECK_BEGIN("hl_json_scan: refuses what json-c lets through, with "
                   "the offset of the byte at fault and why");
    for (i = 0; i < HL_ARRAY_LEN(cases); i++) {
        size_t at = 999;
        const char *why = NULL;
        int rc = hl_json_scan(cases[i].s, strlen(cases[i].s), 2, &at, &why);
        int ok;

        if (cases[i].why == NULL) {
            ok = HT_ASSERT_EQ_INT(rc, HL_OK);
        } else {
            ok = HT_ASSERT_EQ_INT(rc, HL_EINVAL);
            ok &= HT_ASSERT_EQ_INT((long long)at, (long long)cases[i].at);
            ok &= HT_ASSERT_TRUE(why != NULL) &&
                  HT_ASSERT_CONTAINS(why, cases[i].why);
        }
        if (!ok)
            ht_note("case %zu: %s", i, cases[i].s);
    }
    HT_CHECK_END();
}

int main(void) {
    ht_init();
    check_depth();
    check_depth_empty();
    check_string_contents();
    check_depth_bomb();
    check_trailing();
    check_not_json();
    check_null_and_utf8();
    check_utf8_strict();
    check_utf8_valid_fn();
    check_utf8_across_chunks();
    check_small_chunks();
    check_numbers_across_chunks();
    check_fixture_chunks();
    check_scan();
    return ht_summary();
}
