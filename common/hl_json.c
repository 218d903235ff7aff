/* hl_json.c - depth-limited json-c parsing of network bytes. Feeding the
 * tokener chunk by chunk means a body never has to be made contiguous. */
#include "hl_json.h"

#include <string.h>

static int only_space(const char *p, size_t len) {
    size_t i;

    for (i = 0; i < len; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return 0;
    }
    return 1;
}

/* A pre-pass over the raw bytes, carried across chunk boundaries, for
 * what json-c 0.16 does not enforce: strict UTF-8 (its own check rejects a
 * character split across two chunks and lets overlongs and surrogates
 * through), the nesting limit (it lets empty containers one level too deep
 * pass), single-quoted strings and NaN/Infinity (accepted even in strict
 * mode) and raw control characters inside strings. */
struct scan {
    int in_string, escape;
    int depth, max_depth;
    int need;                 /* continuation bytes still expected */
    unsigned cp;              /* code point being decoded */
    int seq;                  /* length of the sequence being decoded */
};

static int utf8_byte(struct scan *sc, unsigned char c) {
    if (sc->need > 0) {
        if ((c & 0xc0) != 0x80)
            return 0;
        sc->cp = sc->cp << 6 | (c & 0x3f);
        if (--sc->need > 0)
            return 1;
        if ((sc->seq == 2 && sc->cp < 0x80) ||
            (sc->seq == 3 && (sc->cp < 0x800 ||
                              (sc->cp >= 0xd800 && sc->cp <= 0xdfff))) ||
            (sc->seq == 4 && (sc->cp < 0x10000 || sc->cp > 0x10ffff)))
            return 0;
        return 1;
    }
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        sc->need = 1;
        sc->cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        sc->need = 2;
        sc->cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        sc->need = 3;
        sc->cp = c & 0x07;
    } else {
        return 0;
    }
    sc->seq = sc->need + 1;
    return 1;
}

static int scan_bytes(struct scan *sc, const unsigned char *p, size_t len) {
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (!utf8_byte(sc, c))
            return HL_EINVAL;
        if (sc->in_string) {
            if (c < 0x20)
                return HL_EINVAL;       /* raw control character */
            if (sc->escape)
                sc->escape = 0;
            else if (c == '\\')
                sc->escape = 1;
            else if (c == '"')
                sc->in_string = 0;
            continue;
        }
        if (c == '"') {
            sc->in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++sc->depth > sc->max_depth)
                return HL_EINVAL;
        } else if (c == ']' || c == '}') {
            sc->depth--;
        } else if (strchr(" \t\r\n,:0123456789-+.eEtrufalsn", c) == NULL ||
                   c == '\0') {
            /* outside strings JSON has only these: no quotes ('), no
             * NaN/Infinity, no identifiers */
            return HL_EINVAL;
        }
    }
    return HL_OK;
}

int hl_json_utf8_valid(const void *p, size_t len) {
    struct scan sc;
    size_t i;

    memset(&sc, 0, sizeof(sc));
    for (i = 0; i < len; i++) {
        if (!utf8_byte(&sc, ((const unsigned char *)p)[i]))
            return 0;
    }
    return sc.need == 0;
}

int hl_json_parse_chunks(const struct hl_chunk *chunks, size_t n, int depth,
                         json_object **out) {
    struct json_tokener *tok = NULL;
    json_object *obj = NULL;
    enum json_tokener_error jerr = json_tokener_continue;
    struct scan sc;
    int rc = HL_EINVAL;
    size_t i;

    *out = NULL;
    memset(&sc, 0, sizeof(sc));
    sc.max_depth = depth;
    for (i = 0; i < n; i++) {
        if (scan_bytes(&sc, chunks[i].p, chunks[i].len) != HL_OK)
            return HL_EINVAL;
    }
    if (sc.need != 0)
        return HL_EINVAL;
    /* json-c counts the top-level value as one level of its stack; the
     * scan above already enforced `depth`, this is only a backstop */
    tok = json_tokener_new_ex(depth + 2);
    if (tok == NULL)
        return HL_ENOMEM;
    /* strict: no comments, no trailing commas */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    for (i = 0; i < n; i++) {
        const char *p = chunks[i].p;
        size_t len = chunks[i].len;

        if (jerr == json_tokener_success) {
            if (!only_space(p, len))
                goto cleanup;
            continue;
        }
        if (len > (size_t)INT32_MAX)
            goto cleanup;
        obj = json_tokener_parse_ex(tok, p, (int)len);
        jerr = json_tokener_get_error(tok);
        if (jerr != json_tokener_success && jerr != json_tokener_continue)
            goto cleanup;
        if (jerr == json_tokener_success) {
            size_t used = json_tokener_get_parse_end(tok);
            if (!only_space(p + used, len - used))
                goto cleanup;
        }
    }
    if (jerr == json_tokener_continue) {
        /* a bare number or literal at the very end needs a final push */
        obj = json_tokener_parse_ex(tok, "", 1);
        if (json_tokener_get_error(tok) != json_tokener_success)
            goto cleanup;
    }
    *out = obj;               /* NULL for the JSON value null */
    obj = NULL;
    rc = HL_OK;
cleanup:
    json_object_put(obj);
    json_tokener_free(tok);
    return rc;
}

int hl_json_add(json_object *o, const char *k, json_object *v) {
    if (v == NULL)
        return HL_ENOMEM;
    if (json_object_object_add(o, k, v) != 0) {
        json_object_put(v);
        return HL_ENOMEM;
    }
    return HL_OK;
}

int hl_json_parse(const char *p, size_t len, int depth, json_object **out) {
    struct hl_chunk c = { p, len };

    return hl_json_parse_chunks(&c, 1, depth, out);
}
