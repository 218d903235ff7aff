/* httpc.h - a small blocking HTTP/1.1 client for tests, on libcurl.
 *
 * One request at a time to 127.0.0.1:<port> (ht_http_do and friends), or a
 * batch of requests in flight at once on separate connections
 * (ht_http_many: curl multi, bounded by a deadline). Every request has a
 * timeout; the status, body and elapsed time come back in struct
 * ht_http_resp. POSTs can be signed the way Meta signs them
 * (X-Hub-Signature-256 over the exact body bytes, via hl_hmac_sign()).
 * curl's "Expect: 100-continue" is switched off so large bodies are sent at
 * once. This file knows nothing of hookline's routes. */
#ifndef HT_HTTPC_H
#define HT_HTTPC_H

#include <stddef.h>
#include "hl.h"

#define HT_SIG_HEADER "X-Hub-Signature-256"

/* One request. Everything is borrowed for the duration of the call. */
struct ht_http_req {
    const char *method;         /* "GET", "POST", "PUT", ... */
    int port;                   /* on 127.0.0.1 */
    const char *path;           /* path and query, e.g. "/webhook?a=b" */
    const char *const *headers; /* "Name: value", NULL-terminated, or NULL */
    const void *body;           /* may be NULL (no body) */
    size_t body_len;
    long timeout_ms;            /* whole request; 0 means 10 s */
};

/* One answer. */
struct ht_http_resp {
    long status;                /* HTTP status, 0 on a transport error */
    char *body;                 /* NUL-terminated; owned; may be NULL */
    size_t body_len;
    long long elapsed_ms;       /* from the call to the end of the reply */
    char err[256];              /* transport error text, "" if none */
};

/* Sends `req` and fills `resp` (zeroed first). Returns HL_OK whenever an
 * HTTP answer arrived (any status), HL_EIO on a transport error or timeout
 * (resp->status 0, resp->err set), HL_ENOMEM. Release `resp` with
 * ht_http_resp_cleanup() in every case. */
int ht_http_do(const struct ht_http_req *req, struct ht_http_resp *resp);

/* GET 127.0.0.1:port/path. Same returns and ownership as ht_http_do(). */
int ht_http_get(int port, const char *path, long timeout_ms,
                struct ht_http_resp *resp);

/* `method` 127.0.0.1:port/path with an optional JSON `body` (NUL-
 * terminated; NULL: no body, no Content-Type). Same returns and ownership
 * as ht_http_do(). */
int ht_http_json(int port, const char *method, const char *path,
                 const char *body, long timeout_ms,
                 struct ht_http_resp *resp);

/* The status of GET 127.0.0.1:port/path (0 when no answer came). */
long ht_http_status(int port, const char *path, long timeout_ms);

/* Polls GET 127.0.0.1:port/path every 100 ms, at most `tries` times,
 * until it answers `want`; returns the last status seen (0: no answer). */
long ht_http_wait_status(int port, const char *path, long want, int tries,
                         long timeout_ms);

/* POSTs `body` with an X-Hub-Signature-256 made with `secret` (NULL: no
 * signature header) and Content-Type: application/json. Same returns and
 * ownership as ht_http_do(). */
int ht_http_post_signed(int port, const char *path, const char *secret,
                        const void *body, size_t len, long timeout_ms,
                        struct ht_http_resp *resp);

/* Writes the "sha256=<hex>" of `body` under `secret` into `out` (at least
 * 72 bytes). Returns HL_OK or HL_ERR. */
int ht_http_sign(const char *secret, const void *body, size_t len,
                 char *out, size_t outsz);

/* Frees resp->body; safe on a zeroed resp; idempotent. */
void ht_http_resp_cleanup(struct ht_http_resp *resp);

/* Runs all `n` requests at once, each on its own fresh connection, and
 * waits until all have finished or `deadline_ms` has passed (unfinished
 * ones get status 0). resps[i] answers reqs[i]; each is filled as by
 * ht_http_do() (release each with ht_http_resp_cleanup()). Returns HL_OK
 * when every request got an HTTP answer, HL_EIO when some did not,
 * HL_ENOMEM/HL_ERR on setup failure. */
int ht_http_many(const struct ht_http_req *reqs, struct ht_http_resp *resps,
                 size_t n, long deadline_ms);

#endif
