/* hl_secret.h - holder for secret bytes (app secret, verify token, page
 * token). A secret is never formatted: the logger, the config dump and error
 * texts only ever print "(redacted)". Comparison is constant-time. */
#ifndef HL_SECRET_H
#define HL_SECRET_H

#include <stddef.h>

struct hl_secret {
    unsigned char *buf;   /* owned; NUL-terminated for library calls only */
    size_t len;
};

/* Copies `len` bytes of `p` into `s`. Returns HL_OK or HL_ENOMEM. */
int hl_secret_set(struct hl_secret *s, const void *p, size_t len);

/* Wipes and frees the bytes; `s` may hold nothing. */
void hl_secret_cleanup(struct hl_secret *s);

/* Constant-time equality (over the longer length, so the time does not
 * leak the secret's length). Returns 1 when equal, 0 otherwise. */
int hl_secret_equals(const struct hl_secret *s, const void *p, size_t len);

#endif
