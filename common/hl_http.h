/* hl_http.h - small evhttp helpers shared by ingest, the worker's metrics
 * port and the fake Graph API: replies, query arguments, the request path,
 * and binding with the real port reported.
 *
 * libevent rules we rely on: evhttp_send_reply() leaves the evbuffer owned
 * by the caller (these helpers free theirs); a request must be answered
 * exactly once; after the connection closes the request is freed by
 * libevent, so nothing may keep it. */
#ifndef HL_HTTP_H
#define HL_HTTP_H

#include <stddef.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include "hl.h"

/* Sends `code` with the body bytes (borrowed; copied) and a content type
 * (NULL: text/plain). Returns HL_OK or HL_ENOMEM (then a bare 500 went). */
int hl_http_reply(struct evhttp_request *req, int code, const char *ctype,
                  const void *body, size_t len);

/* Standard reason phrase of a status code. */
const char *hl_http_reason(int code);

/* Decoded query arguments of a request. Borrowed strings valid until
 * hl_http_query_cleanup(). */
struct hl_http_query {
    struct evkeyvalq q;
    int parsed;
};

/* Parses the query of `req`. Returns HL_OK or HL_EINVAL (bad encoding). */
int hl_http_query_init(struct hl_http_query *qa, struct evhttp_request *req);
const char *hl_http_query_get(struct hl_http_query *qa, const char *key);
void hl_http_query_cleanup(struct hl_http_query *qa);

/* Copies the request's path (no query, not decoded) into out. Returns
 * HL_OK, HL_EINVAL, or HL_ETOOBIG. */
int hl_http_path(struct evhttp_request *req, char *out, size_t size);

/* Binds `http` to addr:port (port 0 picks a free one) and sets *bound_port
 * to the port actually bound. *handle is owned by `http`. Returns HL_OK or
 * HL_EIO with err set. */
int hl_http_bind(struct evhttp *http, const char *addr, int port,
                 struct evhttp_bound_socket **handle, int *bound_port,
                 char err[HL_ERR_LEN]);

#endif
