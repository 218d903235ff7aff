/* hl_err.c - status code text and the one checked integer parser. */
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
