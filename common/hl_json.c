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
 * mode), raw control characters inside strings, and the number grammar
 * (json-c checks a number only within one chunk: "0" then "-00" parses as
 * 0, while "0-00" in one piece is refused). */
struct scan {
    int in_string, escape;
    int depth, max_depth;
    int need;                 /* continuation bytes still expected */
    unsigned cp;              /* code point being decoded */
    int seq;                  /* length of the sequence being decoded */
    int num;                  /* enum num_state of the number being read */
};

/* Where a number is in -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
enum num_state {
    N_NONE = 0,               /* not in a number */
    N_MINUS,                  /* "-": a digit must follow */
    N_ZERO,                   /* leading 0: no digit may follow */
    N_INT,                    /* integer digits */
    N_DOT,                    /* ".": a digit must follow */
    N_FRAC,                   /* fraction digits */
    N_EXP,                    /* "e": a sign or digit must follow */
    N_EXP_SIGN,               /* "e+": a digit must follow */
    N_EXP_DIG                 /* exponent digits */
};

/* The state after byte c, or N_NONE when c cannot continue the number. */
static int num_next(int st, unsigned char c) {
    int digit = c >= '0' && c <= '9';
    int exp = c == 'e' || c == 'E';

    switch (st) {
    case N_MINUS:
        return c == '0' ? N_ZERO : digit ? N_INT : N_NONE;
    case N_ZERO:
        return c == '.' ? N_DOT : exp ? N_EXP : N_NONE;
    case N_INT:
        return digit ? N_INT : c == '.' ? N_DOT : exp ? N_EXP : N_NONE;
    case N_DOT:
        return digit ? N_FRAC : N_NONE;
    case N_FRAC:
        return digit ? N_FRAC : exp ? N_EXP : N_NONE;
    case N_EXP:
        return digit ? N_EXP_DIG : c == '+' || c == '-' ? N_EXP_SIGN
                                                       : N_NONE;
    case N_EXP_SIGN:
    case N_EXP_DIG:
        return digit ? N_EXP_DIG : N_NONE;
    default:
        return N_NONE;
    }
}

/* 1 when a number may end in state st. */
static int num_complete(int st) {
    return st == N_ZERO || st == N_INT || st == N_FRAC || st == N_EXP_DIG;
}

/* Feeds byte c to the number being read. Returns 1 when c belongs to it,
 * 0 when the number ended well before c (c is then read as what follows
 * it), HL_EINVAL when the number is cut short or run into ("1-", "01",
 * "1.e5", "2E"). */
static int num_byte(struct scan *sc, unsigned char c) {
    int next = num_next(sc->num, c);

    if (next != N_NONE) {
        sc->num = next;
        return 1;
    }
    if (!num_complete(sc->num) || strchr("0123456789+-.eE", c) != NULL)
        return HL_EINVAL;
    sc->num = N_NONE;
    return 0;
}

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

/* Feeds len bytes to the scan. Returns HL_OK, or HL_EINVAL with *at set
 * to the offset of the byte at fault within p and *why to a static
 * description of the fault. */
static int scan_bytes(struct scan *sc, const unsigned char *p, size_t len,
                      size_t *at, const char **why) {
    size_t i;
    int rc;

    for (i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (!utf8_byte(sc, c)) {
            *why = "not UTF-8";
            goto bad;
        }
        if (sc->num != N_NONE) {
            rc = num_byte(sc, c);
            if (rc < 0) {
                *why = "a number outside JSON's grammar (a leading zero, "
                       "or cut short)";
                goto bad;
            }
            if (rc == 1)
                continue;
        }
        if (sc->in_string) {
            if (c < 0x20) {
                *why = "a raw control character in a string";
                goto bad;
            }
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
            if (++sc->depth > sc->max_depth) {
                *why = "nested too deep";
                goto bad;
            }
        } else if (c == ']' || c == '}') {
            sc->depth--;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            sc->num = c == '-' ? N_MINUS : c == '0' ? N_ZERO : N_INT;
        } else if (strchr(" \t\r\n,:truefalsn", c) == NULL || c == '\0') {
            /* outside strings and numbers JSON has only these: no
             * quotes ('), no NaN/Infinity, no identifiers */
            *why = "a character JSON does not allow outside a string";
            goto bad;
        }
    }
    return HL_OK;
bad:
    *at = i;
    return HL_EINVAL;
}

/* HL_OK when the scan may end here; else HL_EINVAL and *why. */
static int scan_end(const struct scan *sc, const char **why) {
    if (sc->need != 0) {
        *why = "not UTF-8 (a character cut short at the end)";
        return HL_EINVAL;
    }
    if (sc->num != N_NONE && !num_complete(sc->num)) {
        *why = "a number cut short at the end";
        return HL_EINVAL;
    }
    return HL_OK;
}

int hl_json_scan(const char *p, size_t len, int depth, size_t *at,
                 const char **why) {
    struct scan sc;

    memset(&sc, 0, sizeof(sc));
    sc.max_depth = depth;
    if (scan_bytes(&sc, (const unsigned char *)p, len, at, why) != HL_OK)
        return HL_EINVAL;
    *at = len;
    return scan_end(&sc, why);
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
    const char *why;
    int rc = HL_EINVAL;
    size_t i, at;

    *out = NULL;
    memset(&sc, 0, sizeof(sc));
    sc.max_depth = depth;
    for (i = 0; i < n; i++) {
        if (scan_bytes(&sc, (const unsigned char *)chunks[i].p,
                       chunks[i].len, &at, &why) != HL_OK)
            return HL_EINVAL;
    }
    if (scan_end(&sc, &why) != HL_OK)
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
