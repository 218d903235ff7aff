/* reply.c - getting a decided answer onto the wire: at once, after a
 * delay (one evtimer per delayed answer), or not at all (a dropped
 * connection).
 *
 * libevent 2.1 facts this relies on (http.c, 2.1.12):
 * - While the user holds an incoming request, reading is disabled on its
 *   connection, so a client that leaves is normally noticed only when the
 *   answer is written; libevent then frees the request and connection.
 * - If the connection fails before the user answers (EOF or read timeout
 *   noticed), the request is detached: evhttp_request_get_connection()
 *   returns NULL, the request is no longer freed with the connection, and
 *   it is ours to free (evhttp_send_reply() on it only frees it).
 * - evhttp_connection_free() on an incoming connection frees the requests
 *   still queued on it and closes the socket without writing anything:
 *   the clean "drop" (libevent's own evhttp_send_error() drops that way
 *   when it runs out of memory).
 * - evhttp_free() frees every connection and their queued requests, so at
 *   shutdown only detached requests need freeing here.
 * A drop always goes through a timer (0 ms when not delayed), so the
 * connection is never freed inside the request callback that holds it
 * (STYLE rule 9). This file does not decide answers. */
#include "fakegraph.h"
#include "hl_http.h"
#include "hl_log.h"

#include <string.h>

#define CT_JSON "application/json; charset=UTF-8"

void fg_reply_json(struct evhttp_request *req, int status,
                   const char *body, size_t len) {
    hl_http_reply(req, status, CT_JSON, body, len);
}

static void unlink_pending(struct fg *fg, struct fg_pending *pd) {
    if (pd->prev != NULL)
        pd->prev->next = pd->next;
    else
        fg->pending = pd->next;
    if (pd->next != NULL)
        pd->next->prev = pd->prev;
    pd->prev = NULL;
    pd->next = NULL;
    fg->npending--;
}

static void pending_free(struct fg_pending *pd) {
    if (pd->timer != NULL)
        event_free(pd->timer);
    fg_answer_cleanup(&pd->ans);
    free(pd);
}

/* Fires once per delayed answer. The timer is not persistent, so
 * libevent is done with it before calling us and freeing it here is
 * safe. */
static void pending_cb(evutil_socket_t fd, short what, void *arg) {
    struct fg_pending *pd = arg;
    struct evhttp_connection *evcon = evhttp_request_get_connection(pd->req);

    (void)fd;
    (void)what;
    unlink_pending(pd->fg, pd);
    if (evcon == NULL) {
        hl_log(HL_LOG_DEBUG, "client_gone", HL_KV_I("seq", pd->seq));
        evhttp_request_free(pd->req);
    } else if (pd->ans.drop) {
        hl_log(HL_LOG_DEBUG, "dropped", HL_KV_I("seq", pd->seq));
        evhttp_connection_free(evcon);
    } else {
        fg_reply_json(pd->req, pd->ans.status, pd->ans.body, pd->ans.len);
    }
    pending_free(pd);
}

/* Queues `ans` (moved in) behind a timer. Returns HL_OK, HL_ETOOBIG at
 * FG_PENDING_MAX, or HL_ENOMEM; on failure `ans` is left with the
 * caller. */
static int defer(struct fg *fg, struct evhttp_request *req,
                 struct fg_answer *ans, long long seq) {
    struct fg_pending *pd = NULL;
    struct timeval tv;

    if (fg->npending >= FG_PENDING_MAX)
        return HL_ETOOBIG;
    pd = calloc(1, sizeof(*pd));
    if (pd == NULL)
        return HL_ENOMEM;
    pd->timer = evtimer_new(fg->base, pending_cb, pd);
    tv.tv_sec = (time_t)(ans->delay_ms / 1000);
    tv.tv_usec = (suseconds_t)((ans->delay_ms % 1000) * 1000);
    if (pd->timer == NULL || evtimer_add(pd->timer, &tv) != 0) {
        pending_free(pd);
        return HL_ENOMEM;
    }
    pd->fg = fg;
    pd->req = req;
    pd->seq = seq;
    pd->ans = *ans;
    memset(ans, 0, sizeof(*ans));
    pd->next = fg->pending;
    if (fg->pending != NULL)
        fg->pending->prev = pd;
    fg->pending = pd;
    fg->npending++;
    return HL_OK;
}

void fg_reply_deliver(struct fg *fg, struct evhttp_request *req,
                      struct fg_answer *ans, long long seq) {
    int rc;

    if (ans->delay_ms <= 0 && !ans->drop) {
        fg_reply_json(req, ans->status, ans->body, ans->len);
        fg_answer_cleanup(ans);
        return;
    }
    rc = defer(fg, req, ans, seq);
    if (rc == HL_OK)
        return;
    hl_log(HL_LOG_WARN, "delay_refused", HL_KV_I("seq", seq),
           HL_KV_S("why", hl_strerror(rc)),
           HL_KV_I("pending", fg->npending));
    evhttp_send_error(req, 503, NULL);
    fg_answer_cleanup(ans);
}

void fg_reply_free_all(struct fg *fg) {
    long n = fg->npending;

    while (fg->pending != NULL) {
        struct fg_pending *pd = fg->pending;

        unlink_pending(fg, pd);
        if (evhttp_request_get_connection(pd->req) == NULL)
            evhttp_request_free(pd->req);
        pending_free(pd);
    }
    if (n > 0)
        hl_log(HL_LOG_INFO, "pending_discarded", HL_KV_I("count", n));
}
