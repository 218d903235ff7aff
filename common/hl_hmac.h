/* hl_hmac.h - X-Hub-Signature-256: HMAC-SHA256 over the exact raw body
 * bytes, "sha256=" + lower-case hex, any of several secrets (rotation),
 * compared in constant time. Never re-serialises anything: the caller hands
 * in the bytes as received, in one or more chunks. */
#ifndef HL_HMAC_H
#define HL_HMAC_H

#include <stddef.h>
#include "hl_secret.h"

#define HL_SIG_PREFIX "sha256="
#define HL_SIG_HEX_LEN 64
#define HL_SIG_LEN (sizeof(HL_SIG_PREFIX) - 1 + HL_SIG_HEX_LEN) /* 71 */

/* One contiguous piece of the body. */
struct hl_chunk {
    const void *p;
    size_t len;
};

/* Checks `header` (the X-Hub-Signature-256 value, may be NULL) against the
 * HMAC of the chunks under each of `n` secrets. Upper-case hex is accepted;
 * the "sha256=" prefix is required. Returns HL_OK when one secret matches,
 * HL_EINVAL when none does or the header is malformed, HL_ENOMEM/HL_ERR on
 * a library failure. All secrets are always tried (no early exit), so the
 * time does not tell which one matched. Borrows everything. */
int hl_hmac_verify(const struct hl_secret *secrets, size_t n,
                   const char *header, const struct hl_chunk *chunks,
                   size_t nchunks);

/* Writes "sha256=<64 hex>" and a NUL for `body` under `key` into `out`.
 * Returns HL_OK or HL_ERR. Used by hookctl sign, tests and the bench. */
int hl_hmac_sign(const void *key, size_t keylen, const void *body,
                 size_t len, char out[HL_SIG_LEN + 1]);

#endif
