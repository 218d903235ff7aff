/* test_log.c - unit tests of common/hl_log.c, the JSON-lines logger on
 * stderr. fd 2 is pointed at a temp file (dup2) while a test logs, then
 * restored, and every line written is parsed with json-c (UTF-8 checked)
 * and read back: the fixed fields (ts, level, prog, msg), typed fields,
 * escaping of quotes, backslashes, newlines and control bytes, level
 * filtering, registered secrets replaced by "(redacted)" (also when one
 * straddles the 2048-byte field cut), and lines over 8 KiB or cut inside
 * a UTF-8 character still being one valid JSON object. The libevent
 * bridge is not tested here (it needs libevent to emit a message). */
#include "../lib/hl_test.h"
#include "hl.h"
#include "hl_log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#define SECRET "S3cr3t-Token-Q9x7-EAAGm0PZD"  /* 27 bytes */
#define FIELD_CUT 2048                        /* hl_log.c FIELD_MAX_BYTES */

static char cap_path[512];
static int saved_fd = -1;

/* ---- capture of fd 2 ----------------------------------------------------- */

static int capture_begin(void) {
    int fd;

    snprintf(cap_path, sizeof(cap_path), "%s/hl-test-log-XXXXXX",
             ht_tmpdir());
    fd = mkstemp(cap_path);
    if (fd < 0)
        return HL_EIO;
    fflush(stderr);
    saved_fd = dup(STDERR_FILENO);
    if (saved_fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
        close(fd);
        return HL_EIO;
    }
    close(fd);
    return HL_OK;
}

/* Restores fd 2 and returns what was written (caller frees). */
static char *capture_end(size_t *len) {
    char *buf = NULL;

    fflush(stderr);
    if (saved_fd >= 0) {
        dup2(saved_fd, STDERR_FILENO);
        close(saved_fd);
        saved_fd = -1;
    }
    if (ht_read_file(cap_path, &buf, len) != HL_OK)
        buf = NULL;
    unlink(cap_path);
    return buf;
}

/* ---- reading lines back -------------------------------------------------- */

/* Strict UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
static int utf8_ok(const unsigned char *s, size_t n) {
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i], cp, k, need;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + need >= n)
            return 0;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            return 0;
        i += need + 1;
    }
    return 1;
}

/* The one line in `buf` as a JSON object (caller puts), or NULL with the
 * reason reported. */
static json_object *one_line(const char *buf, size_t len) {
    struct json_tokener *tok = NULL;
    json_object *o = NULL;
    const char *nl;

    if (!HT_ASSERT_TRUE(buf != NULL && len > 0))
        return NULL;
    nl = memchr(buf, '\n', len);
    if (!HT_ASSERT_TRUE(nl == buf + len - 1)) {
        ht_note("expected exactly one line ending in \\n, got %zu bytes",
                len);
        return NULL;
    }
    if (!HT_ASSERT_TRUE(utf8_ok((const unsigned char *)buf, len)))
        ht_note("the line is not valid UTF-8");
    tok = json_tokener_new();
    if (tok == NULL)
        return NULL;
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    o = json_tokener_parse_ex(tok, buf, (int)(len - 1));
    if (o == NULL || json_tokener_get_parse_end(tok) != len - 1 ||
        !json_object_is_type(o, json_type_object)) {
        HT_FAIL("not one JSON object: %s",
                json_tokener_error_desc(json_tokener_get_error(tok)));
        ht_note("line starts: %.120s", buf);
        ht_note("line ends: %s", len > 80 ? buf + len - 80 : buf);
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static json_object *get(json_object *o, const char *k) {
    json_object *v = NULL;

    if (o == NULL || !json_object_object_get_ex(o, k, &v))
        return NULL;
    return v;
}

static const char *get_s(json_object *o, const char *k) {
    json_object *v = get(o, k);

    return v != NULL && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v) : NULL;
}

/* ---- checks -------------------------------------------------------------- */

static void check_basic_line(void) {
    json_object *o = NULL;
    const char *ts;
    char *buf = NULL;
    size_t len = 0;
    int y, mo, d, h, mi, s, ms;
    char z = 0;

    HT_CHECK_BEGIN("one line: ts, level, prog, msg, then typed fields");
    hl_log_init("hookline-test", HL_LOG_INFO);
    if (!HT_ASSERT_EQ_INT(capture_begin(), HL_OK))
        goto done;
    hl_log(HL_LOG_INFO, "listening", HL_KV_S("addr", "127.0.0.1"),
           HL_KV_I("port", 3000), HL_KV_I("neg", -42), HL_KV_B("tls", 0),
           HL_KV_B("ok", 7), HL_KV_S("none", NULL),
           HL_KV_I("big", 9007199254740993LL));
    buf = capture_end(&len);
    o = one_line(buf, len);
    if (o == NULL)
        goto done;
    HT_ASSERT_EQ_STR(get_s(o, "level"), "info");
    HT_ASSERT_EQ_STR(get_s(o, "prog"), "hookline-test");
    HT_ASSERT_EQ_STR(get_s(o, "msg"), "listening");
    HT_ASSERT_EQ_STR(get_s(o, "addr"), "127.0.0.1");
    HT_ASSERT_TRUE(json_object_is_type(get(o, "port"), json_type_int));
    HT_ASSERT_EQ_INT(json_object_get_int64(get(o, "port")), 3000);
    HT_ASSERT_EQ_INT(json_object_get_int64(get(o, "neg")), -42);
    HT_ASSERT_EQ_INT(json_object_get_int64(get(o, "big")),
                     9007199254740993LL);
    HT_ASSERT_TRUE(json_object_is_type(get(o, "tls"), json_type_boolean));
    HT_ASSERT_EQ_INT(json_object_get_boolean(get(o, "tls")), 0);
    HT_ASSERT_EQ_INT(json_object_get_boolean(get(o, "ok")), 1);
    HT_ASSERT_TRUE(json_object_object_get_ex(o, "none", NULL) &&
                   get(o, "none") == NULL);
    ts = get_s(o, "ts");
    HT_ASSERT_TRUE(ts != NULL && strlen(ts) == 24 &&
                   sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d,
                          &h, &mi, &s, &ms, &z) == 8 && z == 'Z' &&
                   y >= 2024 && mo >= 1 && mo <= 12);
    /* the fixed fields come first, in this order */
    HT_ASSERT_TRUE(strncmp(buf, "{\"ts\":\"", 7) == 0);
    HT_ASSERT_TRUE(strstr(buf, "\"level\":\"info\",\"prog\":"
                          "\"hookline-test\",\"msg\":\"listening\","
                          "\"addr\"") != NULL);
done:
    json_object_put(o);
    free(buf);
    HT_CHECK_END();
}

static void check_levels(void) {
    char *buf = NULL;
    size_t len = 0;
    int lvl = -1;

    HT_CHECK_BEGIN("levels: below the set level nothing is written; names "
                   "parse");
    HT_ASSERT_EQ_INT(hl_log_parse_level("debug", &lvl), HL_OK);
    HT_ASSERT_EQ_INT(lvl, HL_LOG_DEBUG);
    HT_ASSERT_EQ_INT(hl_log_parse_level("error", &lvl), HL_OK);
    HT_ASSERT_EQ_INT(lvl, HL_LOG_ERROR);
    HT_ASSERT_EQ_INT(hl_log_parse_level("INFO", &lvl), HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_log_parse_level("warning", &lvl), HL_EINVAL);
    hl_log_init("hookline-test", HL_LOG_WARN);
    HT_ASSERT_EQ_INT(hl_log_enabled(HL_LOG_INFO), 0);
    HT_ASSERT_EQ_INT(hl_log_enabled(HL_LOG_WARN), 1);
    HT_ASSERT_EQ_INT(hl_log_enabled(HL_LOG_ERROR), 1);
    if (!HT_ASSERT_EQ_INT(capture_begin(), HL_OK))
        goto done;
    hl_log(HL_LOG_DEBUG, "hidden_debug", HL_KV_I("n", 1));
    hl_log(HL_LOG_INFO, "hidden_info", HL_KV_I("n", 2));
    hl_log(HL_LOG_WARN, "shown_warn", HL_KV_I("n", 3));
    hl_log(HL_LOG_ERROR, "shown_error", HL_KV_I("n", 4));
    buf = capture_end(&len);
    if (HT_ASSERT_TRUE(buf != NULL)) {
        HT_ASSERT_NOT_CONTAINS(buf, "hidden_");
        HT_ASSERT_CONTAINS(buf, "\"level\":\"warn\",");
        HT_ASSERT_CONTAINS(buf, "\"msg\":\"shown_warn\"");
        HT_ASSERT_CONTAINS(buf, "\"level\":\"error\",");
        HT_ASSERT_CONTAINS(buf, "\"msg\":\"shown_error\"");
    }
done:
    hl_log_init("hookline-test", HL_LOG_INFO);
    free(buf);
    HT_CHECK_END();
}

static void check_escaping(void) {
    static const char nasty[] = "say \"hi\" \\ back\nnew line\r\ttab "
        "\x01\x02\x1f\x7f end caf\xc3\xa9 \xf0\x9f\x91\x8b </script>";
    static const char with_nul[] = "a\0b\"c";
    json_object *o = NULL;
    char *buf = NULL;
    size_t len = 0;

    HT_CHECK_BEGIN("quotes, backslash, newline, CR, tab, control bytes, "
                   "DEL, UTF-8, NUL: valid JSON with the same value");
    if (!HT_ASSERT_EQ_INT(capture_begin(), HL_OK))
        goto done;
    hl_log(HL_LOG_ERROR, "msg \"quoted\"\n", HL_KV_S("text", nasty),
           HL_KV_SN("bin", with_nul, sizeof(with_nul) - 1),
           HL_KV_S("k\"ey\n", "v"));
    buf = capture_end(&len);
    o = one_line(buf, len);
    if (o == NULL)
        goto done;
    HT_ASSERT_EQ_STR(get_s(o, "msg"), "msg \"quoted\"\n");
    HT_ASSERT_EQ_STR(get_s(o, "text"), nasty);
    if (HT_ASSERT_TRUE(get(o, "bin") != NULL))
        HT_ASSERT_EQ_MEM(json_object_get_string(get(o, "bin")),
                         (size_t)json_object_get_string_len(get(o, "bin")),
                         with_nul, sizeof(with_nul) - 1);
    HT_ASSERT_EQ_STR(get_s(o, "k\"ey\n"), "v");
done:
    json_object_put(o);
    free(buf);
    HT_CHECK_END();
}

static void check_redaction(void) {
    char field[256];
    json_object *o = NULL;
    char *buf = NULL;
    size_t len = 0;

    HT_CHECK_BEGIN("a registered secret inside a field, msg or key is "
                   "\"(redacted)\"; cleared secrets are not");
    if (!HT_ASSERT_EQ_INT(hl_log_add_secret(SECRET, strlen(SECRET)), HL_OK))
        goto done;
    HT_ASSERT_EQ_INT(hl_log_add_secret("", 0), HL_OK);   /* no effect */
    snprintf(field, sizeof(field), "GET /webhook?hub.verify_token=%s&x=%s",
             SECRET, SECRET);
    if (!HT_ASSERT_EQ_INT(capture_begin(), HL_OK))
        goto done;
    hl_log(HL_LOG_WARN, "verify_failed", HL_KV_S("uri", field),
           HL_KV_S("echo", SECRET), HL_KV_S(SECRET, "as a key"));
    buf = capture_end(&len);
    HT_ASSERT_NOT_CONTAINS(buf, SECRET);
    HT_ASSERT_NOT_CONTAINS(buf, "S3cr3t");
    o = one_line(buf, len);
    if (o != NULL) {
        HT_ASSERT_EQ_STR(get_s(o, "uri"), "GET /webhook?hub.verify_token="
                         "(redacted)&x=(redacted)");
        HT_ASSERT_EQ_STR(get_s(o, "echo"), "(redacted)");
        HT_ASSERT_EQ_STR(get_s(o, "(redacted)"), "as a key");
    }
    json_object_put(o);
    o = NULL;
    free(buf);
    buf = NULL;
    /* forgotten secrets print as themselves again: the redaction above
     * came from the registry, not from the field names */
    hl_log_clear_secrets();
    if (!HT_ASSERT_EQ_INT(capture_begin(), HL_OK))
        goto done;
    hl_log(HL_LOG_WARN, "after_clear", HL_KV_S("echo", SECRET));
    buf = capture_end(&len);
    HT_ASSERT_CONTAINS(buf, SECRET);
done:
    hl_log_clear_secrets();
    json_object_put(o);
    free(buf);
    HT_CHECK_END();
}

/* A secret that starts before the 2048-byte field cut and ends after it:
 * not one byte of it may be printed. */
static void check_redaction_at_cut(void) {
    size_t slen = strlen(SECRET);
    size_t starts[] = { FIELD_CUT - slen, FIELD_CUT - 20, FIELD_CUT - 1 };
    char *field = malloc(FIELD_CUT + 200);
    size_t i;

    HT_CHECK_BEGIN("a secret straddling the 2048-byte field cut is "
                   "redacted, not half printed");
    if (!HT_ASSERT_TRUE(field != NULL))
        goto done;
    HT_ASSERT_EQ_INT(hl_log_add_secret(SECRET, slen), HL_OK);
    for (i = 0; i < HL_ARRAY_LEN(starts); i++) {
        json_object *o = NULL;
        char *buf = NULL;
        size_t len = 0;

        memset(field, 'a', FIELD_CUT + 199);
        field[FIELD_CUT + 199] = '\0';
        memcpy(field + starts[i], SECRET, slen);
        if (!HT_ASSERT_EQ_INT(capture_begin(), HL_OK))
            break;
        hl_log(HL_LOG_ERROR, "long_field", HL_KV_S("body", field));
        buf = capture_end(&len);
        /* no prefix of the secret (even 4 bytes) may leak */
        HT_ASSERT_NOT_CONTAINS(buf, "S3cr");
        HT_ASSERT_CONTAINS(buf, "(redacted)");
        o = one_line(buf, len);
        if (o != NULL) {
            const char *body = get_s(o, "body");
            HT_ASSERT_TRUE(body != NULL &&
                           strncmp(body + starts[i], "(redacted)", 10) == 0);
            /* the field was cut and the line says so */
            HT_ASSERT_TRUE(json_object_get_boolean(get(o, "cut")));
            HT_ASSERT_LT_INT(strlen(body), FIELD_CUT + 199);
        }
        json_object_put(o);
        free(buf);
    }
done:
    hl_log_clear_secrets();
    free(field);
    HT_CHECK_END();
}

/* Five 2 KiB fields make a line over the 8 KiB line limit: it is cut,
 * says so, and is still one JSON object. */
static void check_long_line(void) {
    char *field = malloc(FIELD_CUT + 1);
    json_object *o = NULL;
    char *buf = NULL;
    size_t len = 0;

    HT_CHECK_BEGIN("a line over 8 KiB is cut, says \"cut\":true and is "
                   "still valid JSON");
    if (!HT_ASSERT_TRUE(field != NULL))
        goto done;
    memset(field, 'x', FIELD_CUT);
    field[FIELD_CUT] = '\0';
    if (!HT_ASSERT_EQ_INT(capture_begin(), HL_OK))
        goto done;
    hl_log(HL_LOG_ERROR, "too_long", HL_KV_S("f1", field),
           HL_KV_S("f2", field), HL_KV_S("f3", field), HL_KV_S("f4", field),
           HL_KV_S("f5", field), HL_KV_I("n", 5));
    buf = capture_end(&len);
    HT_ASSERT_LE_INT(len, 8192);
    o = one_line(buf, len);
    if (o != NULL) {
        HT_ASSERT_TRUE(json_object_get_boolean(get(o, "cut")));
        HT_ASSERT_EQ_STR(get_s(o, "msg"), "too_long");
        HT_ASSERT_EQ_STR(get_s(o, "f1"), field);
    }
    /* the same with escapes, so the cut can land inside one */
    json_object_put(o);
    o = NULL;
    free(buf);
    buf = NULL;
    memset(field, '\x01', FIELD_CUT);
    if (!HT_ASSERT_EQ_INT(capture_begin(), HL_OK))
        goto done;
    hl_log(HL_LOG_ERROR, "too_long", HL_KV_S("f1", field),
           HL_KV_S("f2", field));
    buf = capture_end(&len);
    o = one_line(buf, len);
    if (o != NULL)
        HT_ASSERT_TRUE(json_object_get_boolean(get(o, "cut")));
done:
    json_object_put(o);
    free(buf);
    free(field);
    HT_CHECK_END();
}

/* Text that is not UTF-8 (a client's bytes) and a field cut in the middle
 * of a multi-byte character must still give a UTF-8 line. */
static void check_utf8_output(void) {
    char *field = malloc(FIELD_CUT + 8);
    json_object *o = NULL;
    char *buf = NULL;
    size_t len = 0;

    HT_CHECK_BEGIN("the line is UTF-8 even for non-UTF-8 input and a cut "
                   "inside a character");
    if (!HT_ASSERT_TRUE(field != NULL))
        goto done;
    /* 2047 'a' then U+00E9: the cut at 2048 falls between its bytes */
    memset(field, 'a', FIELD_CUT - 1);
    memcpy(field + FIELD_CUT - 1, "\xc3\xa9zz", 5);
    if (!HT_ASSERT_EQ_INT(capture_begin(), HL_OK))
        goto done;
    hl_log(HL_LOG_ERROR, "cut_utf8", HL_KV_S("f", field));
    buf = capture_end(&len);
    o = one_line(buf, len);
    json_object_put(o);
    o = NULL;
    free(buf);
    buf = NULL;
    if (!HT_ASSERT_EQ_INT(capture_begin(), HL_OK))
        goto done;
    hl_log(HL_LOG_ERROR, "latin1", HL_KV_S("f", "caf\xe9 \xff\xfe"));
    buf = capture_end(&len);
    o = one_line(buf, len);
    if (o != NULL)
        HT_ASSERT_CONTAINS(get_s(o, "f"), "caf");
done:
    json_object_put(o);
    free(buf);
    free(field);
    HT_CHECK_END();
}

static void check_secret_table(void) {
    int rc = HL_OK;
    char s[32];
    int i;

    HT_CHECK_BEGIN("the secret table fills up with HL_ETOOBIG, never a "
                   "crash; cleared it takes secrets again");
    for (i = 0; i < 10000 && rc == HL_OK; i++) {
        snprintf(s, sizeof(s), "secret-number-%05d", i);
        rc = hl_log_add_secret(s, strlen(s));
    }
    HT_ASSERT_EQ_INT(rc, HL_ETOOBIG);
    HT_ASSERT_GE_INT(i, 8);          /* room for verify token, app
                                      * secrets (rotation), page token,
                                      * Redis password */
    hl_log_clear_secrets();
    HT_ASSERT_EQ_INT(hl_log_add_secret("again", 5), HL_OK);
    hl_log_clear_secrets();
    HT_CHECK_END();
}

static void check_redact_copy(void) {
    static const char in[] = "Malformed access token EAAsecretX and "
                             "ab again: EAAsecretXab";
    char *out;
    size_t n = 0;

    HT_CHECK_BEGIN("hl_log_redact: a copy with every secret replaced, "
                   "short secrets growing the text, others untouched");
    hl_log_clear_secrets();
    HT_ASSERT_EQ_INT(hl_log_add_secret("EAAsecretX", 10), HL_OK);
    HT_ASSERT_EQ_INT(hl_log_add_secret("ab", 2), HL_OK);
    out = hl_log_redact(in, sizeof(in) - 1, &n);
    if (HT_ASSERT_TRUE(out != NULL)) {
        HT_ASSERT_EQ_STR(out, "Malformed access token (redacted) and "
                              "(redacted) again: (redacted)(redacted)");
        HT_ASSERT_EQ_INT(n, strlen(out));
    }
    free(out);
    out = hl_log_redact("", 0, &n);
    HT_ASSERT_TRUE(out != NULL && n == 0 && out[0] == '\0');
    free(out);
    hl_log_clear_secrets();
    out = hl_log_redact("EAAsecretX", 10, &n);
    HT_ASSERT_EQ_STR(out, "EAAsecretX");
    free(out);
    HT_CHECK_END();
}

static void check_repeat(void) {
    long n, logged = 0;

    HT_CHECK_BEGIN("hl_log_repeat: failures 1-3 logged, then every 60th; "
                   "an hour of 1 s retries is at most 63 lines");
    HT_ASSERT_TRUE(!hl_log_repeat(0));
    HT_ASSERT_TRUE(!hl_log_repeat(-1));
    HT_ASSERT_TRUE(hl_log_repeat(1));
    HT_ASSERT_TRUE(hl_log_repeat(3));
    HT_ASSERT_TRUE(!hl_log_repeat(4));
    HT_ASSERT_TRUE(!hl_log_repeat(59));
    HT_ASSERT_TRUE(hl_log_repeat(60));
    HT_ASSERT_TRUE(!hl_log_repeat(61));
    HT_ASSERT_TRUE(hl_log_repeat(120));
    for (n = 1; n <= 3600; n++)
        logged += hl_log_repeat(n);
    HT_ASSERT_EQ_INT(logged, 63);
    HT_CHECK_END();
}

int main(void) {
    ht_init();
    check_basic_line();
    check_levels();
    check_escaping();
    check_redaction();
    check_redaction_at_cut();
    check_long_line();
    check_utf8_output();
    check_secret_table();
    check_redact_copy();
    check_repeat();
    return ht_summary();
}
