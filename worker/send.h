/* send.h - HTTP POSTs over libcurl multi on the worker's event loop
 * (curl's hiperfifo shape): many transfers in flight, keep-alive, each with
 * its own deadline. Used for the Send API and for `forward`. Knows nothing
 * about Graph: callers classify the answer.
 *
 * curl rules this module relies on: curl_multi_remove_handle comes before
 * curl_easy_cleanup; after every curl_multi_socket_action the finished
 * transfers are drained with curl_multi_info_read. */
#ifndef WORKER_SEND_H
#define WORKER_SEND_H

#include <stddef.h>
#include <event2/event.h>
#include "hl.h"

struct worker_http;

/* Called once per transfer. `status` is the HTTP status, or 0 when the
 * transfer failed (then `error` says why: curl's text, never a URL with a
 * secret since tokens travel in headers). `body` is borrowed, valid only
 * during the call. */
typedef void worker_http_cb(void *arg, int status, const char *body,
                            size_t len, const char *error);

/* Caller owns; free with worker_http_free(). NULL on failure. */
struct worker_http *worker_http_new(struct event_base *base,
                                    long max_in_flight);

/* Starts a POST of `body` (copied) to `url` (copied) with extra headers
 * ("Name: value", copied; may hold the bearer token, never logged).
 * Returns HL_OK (cb fires exactly once, never before this returns),
 * HL_EAGAIN when max_in_flight transfers are running, HL_ENOMEM/HL_ERR. */
int worker_http_post(struct worker_http *h, const char *url,
                     const char *const *headers, size_t nheaders,
                     const char *body, size_t len, long timeout_ms,
                     worker_http_cb *cb, void *arg);

/* Transfers in flight. */
long worker_http_in_flight(const struct worker_http *h);

/* Aborts every transfer (callbacks fire with status 0, "aborted") and
 * frees everything. NULL is a no-op. */
void worker_http_free(struct worker_http *h);

#endif
