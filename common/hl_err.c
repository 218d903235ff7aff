/* hl_err.c - status code text and the checked integer parsers: a whole
 * C string as a signed 64-bit number, and digits inside protocol text
 * (a slot, a port) as an unsigned one with a maximum. */
#include "hl.h"

#include <errno.h>

const char *hl_strerror(int code) {
    switch (code) {
    case HL_OK: return "ok";
    case HL_ERR: return "error";
    case HL_ENOMEM: return "out of memory";
    case HL_EINVAL: return "invalid input";
    case HL_ETOOBIG: return "too big";
    case HL_EIO: return "i/o error";
    case HL_ETIMEDOUT: return "timed out";
    case HL_EAGAIN: return "not available now";
    case HL_ESTATE: return "invalid state";
    case HL_ENOTFOUND: return "not found";
    case HL_DUPLICATE: return "duplicate";
    default: return "unknown error";
    }
}

int hl_parse_int64(const char *s, long long *out) {
    char *end = NULL;
    long long v;

    /* digits with an optional '-': strtoll alone would also take leading
     * blanks and '+' */
    if (s == NULL || (*s != '-' && (*s < '0' || *s > '9')))
        return HL_EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return HL_EINVAL;
    *out = v;
    return HL_OK;
}

int hl_parse_uint(const char *s, size_t len, unsigned long max,
                  unsigned long *out) {
    unsigned long v = 0;
    unsigned long d;
    size_t i;

    if (s == NULL || len == 0 || len > 10)
        return HL_EINVAL;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return HL_EINVAL;
        d = (unsigned long)(s[i] - '0');
        if (d > max || v > (max - d) / 10)   /* v * 10 + d > max */
            return HL_EINVAL;
        v = v * 10 + d;
    }
    *out = v;
    return HL_OK;
}

int hl_parse_port(const char *s, size_t len, int *port) {
    unsigned long v;

    if (hl_parse_uint(s, len, 65535, &v) != HL_OK || v == 0)
        return HL_EINVAL;
    *port = (int)v;
    return HL_OK;
}
