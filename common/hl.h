/* hl.h - status codes, shared limits and tiny helpers used by every module.
 *
 * Every function in hookline returns HL_OK (0), a negative enum hl_err, or a
 * documented positive outcome (HL_DUPLICATE). Results go through
 * out-parameters. This header deliberately holds no I/O and no state. */
#ifndef HL_H
#define HL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

enum hl_err {
    HL_OK = 0,
    HL_ERR = -1,        /* unspecified failure (see the err text) */
    HL_ENOMEM = -2,
    HL_EINVAL = -3,     /* bad input: malformed, out of range */
    HL_ETOOBIG = -4,    /* a capped buffer or fixed array would overflow */
    HL_EIO = -5,        /* a system call or a peer failed */
    HL_ETIMEDOUT = -6,
    HL_EAGAIN = -7,     /* not possible now (e.g. Redis not connected) */
    HL_ESTATE = -8,     /* a transition that cannot happen from this state */
    HL_ENOTFOUND = -9
};

/* Positive outcomes that are not errors. */
#define HL_DUPLICATE 1  /* dedupe said: already seen */

#define HL_ERR_LEN 256        /* setup/CLI error text buffers */
#define HL_ID_MAX 256         /* event ids, page ids, user ids */
#define HL_KEY_MAX 1024       /* a Redis key name: prefix (64) + two ids
                               * (255 each) + the fixed parts always fit */
#define HL_PREFIX_MAX 64      /* HOOKLINE_PREFIX */
#define HL_JSON_DEPTH 32      /* nesting accepted from the network */

#define HL_FREE(p) do { free(p); (p) = NULL; } while (0)
#define HL_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Returns a static description of an hl_err code. */
const char *hl_strerror(int code);

/* Parses a whole string as a base-10 signed 64-bit integer.
 * Returns HL_OK, or HL_EINVAL for empty/trailing garbage/overflow. */
int hl_parse_int64(const char *s, long long *out);

/* Parses exactly `len` bytes at `s` (1 to 10 decimal digits: no sign, no
 * blanks, no NUL needed after them) as a number no greater than `max`.
 * Returns HL_OK with *out set, or HL_EINVAL. For numbers inside protocol
 * text (a slot, a port in "host:port"). */
int hl_parse_uint(const char *s, size_t len, unsigned long max,
                  unsigned long *out);

/* hl_parse_uint() of a TCP port: 1..65535. HL_OK with *port, or
 * HL_EINVAL. */
int hl_parse_port(const char *s, size_t len, int *port);

#endif
