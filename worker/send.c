/* send.c - libcurl multi bound to libevent (CURLMOPT_SOCKETFUNCTION keeps
 * one socket record with its struct event; CURLMOPT_TIMERFUNCTION drives
 * one evtimer). Each transfer is a struct xfer reached via CURLOPT_PRIVATE,
 * with its own error buffer and a capped response buffer. */
#include "send.h"
#include "hl_log.h"

#include <string.h>
#include <curl/curl.h>

#define RESPONSE_MAX_BYTES (256 * 1024)   /* Graph answers are small */

struct worker_http {
    struct event_base *base;          /* borrowed */
    CURLM *multi;                     /* owned */
    struct event *timer;              /* owned: curl's timeout */
    long in_flight;
    long max_in_flight;
    int running;                      /* from curl_multi_socket_action */
    struct xfer *xfers;               /* every transfer in flight */
};

struct sock {
    struct worker_http *h;
    curl_socket_t fd;
    struct event *ev;                 /* owned */
};

struct xfer {
    struct worker_http *h;
    CURL *easy;                       /* owned */
    struct curl_slist *headers;       /* owned */
    char *body;                       /* owned: request */
    char *resp;                       /* owned: response (capped) */
    size_t resp_len;
    int too_big;
    worker_http_cb *cb;
    void *arg;
    char err[CURL_ERROR_SIZE];
    struct xfer *prev, *next;         /* in worker_http.xfers */
};

static void link_xfer(struct worker_http *h, struct xfer *x) {
    x->next = h->xfers;
    if (h->xfers != NULL)
        h->xfers->prev = x;
    h->xfers = x;
    h->in_flight++;
}

static void unlink_xfer(struct worker_http *h, struct xfer *x) {
    if (x->prev != NULL)
        x->prev->next = x->next;
    else
        h->xfers = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
    h->in_flight--;
}

static void check_done(struct worker_http *h);

static void xfer_free(struct xfer *x) {
    if (x == NULL)
        return;
    if (x->easy != NULL)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    free(x->body);
    free(x->resp);
    free(x);
}

static size_t write_cb(char *p, size_t size, size_t n, void *arg) {
    struct xfer *x = arg;
    size_t len = size * n;
    char *nb;

    if (x->resp_len + len > RESPONSE_MAX_BYTES) {
        x->too_big = 1;
        return 0;             /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    nb = realloc(x->resp, x->resp_len + len + 1);
    if (nb == NULL)
        return 0;
    x->resp = nb;
    memcpy(x->resp + x->resp_len, p, len);
    x->resp_len += len;
    x->resp[x->resp_len] = '\0';
    return len;
}

/* ------------------------------------------------- libevent <-> curl */

static void event_cb(evutil_socket_t fd, short what, void *arg) {
    struct worker_http *h = arg;
    int flags = 0;

    if (what & EV_READ)
        flags |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(h->multi, fd, flags, &h->running);
    check_done(h);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg) {
    struct worker_http *h = arg;

    (void)fd;
    (void)what;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &h->running);
    check_done(h);
}

static int multi_timer_cb(CURLM *multi, long timeout_ms, void *arg) {
    struct worker_http *h = arg;
    struct timeval tv;

    (void)multi;
    if (timeout_ms < 0) {
        evtimer_del(h->timer);
        return 0;
    }
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    evtimer_add(h->timer, &tv);
    return 0;
}

static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *arg,
                   void *sockp) {
    struct worker_http *h = arg;
    struct sock *s = sockp;
    short kind;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            event_free(s->ev);
            free(s);
            curl_multi_assign(h->multi, fd, NULL);
        }
        return 0;
    }
    kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
           ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
    if (s == NULL) {
        s = calloc(1, sizeof(*s));
        if (s == NULL)
            return -1;
        s->h = h;
        s->fd = fd;
        s->ev = event_new(h->base, fd, kind, event_cb, h);
        if (s->ev == NULL) {
            free(s);
            return -1;
        }
        curl_multi_assign(h->multi, fd, s);
    } else {
        event_del(s->ev);
        event_assign(s->ev, h->base, fd, kind, event_cb, h);
    }
    event_add(s->ev, NULL);
    return 0;
}

/* Drains finished transfers: remove, then call back, then free. */
static void check_done(struct worker_http *h) {
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        struct xfer *x = NULL;
        long status = 0;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (msg->data.result == CURLE_OK)
            curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
        else if (x->err[0] == '\0')
            snprintf(x->err, sizeof(x->err), "%s",
                     curl_easy_strerror(msg->data.result));
        if (x->too_big)
            snprintf(x->err, sizeof(x->err), "response over %d bytes",
                     RESPONSE_MAX_BYTES);
        curl_multi_remove_handle(h->multi, x->easy);
        unlink_xfer(h, x);
        x->cb(x->arg, x->too_big ? 0 : (int)status, x->resp, x->resp_len,
              status ? NULL : x->err);
        xfer_free(x);
    }
}

/* ------------------------------------------------------------ public */

struct worker_http *worker_http_new(struct event_base *base,
                                    long max_in_flight) {
    struct worker_http *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    h->base = base;
    h->max_in_flight = max_in_flight;
    h->multi = curl_multi_init();
    h->timer = evtimer_new(base, timer_cb, h);
    if (h->multi == NULL || h->timer == NULL) {
        worker_http_free(h);
        return NULL;
    }
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
    curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      max_in_flight);
    return h;
}

long worker_http_in_flight(const struct worker_http *h) {
    return h->in_flight;
}

static int setup_easy(struct xfer *x, const char *url, long timeout_ms,
                      size_t len) {
    CURL *e = x->easy;

    if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEDATA, x) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PRIVATE, x) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->err) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                         timeout_ms < 5000 ? timeout_ms : 5000L)
            != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
        /* Graph answers are small: a 4 KiB receive buffer instead of the
         * default 16 KiB per transfer keeps hundreds in flight cheap */
        curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 4096L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https")
            != CURLE_OK)
        return HL_ERR;
    return HL_OK;
}

int worker_http_post(struct worker_http *h, const char *url,
                     const char *const *headers, size_t nheaders,
                     const char *body, size_t len, long timeout_ms,
                     worker_http_cb *cb, void *arg) {
    struct xfer *x = NULL;
    struct curl_slist *l;
    size_t i;
    int rc = HL_ENOMEM;

    if (h->in_flight >= h->max_in_flight)
        return HL_EAGAIN;
    x = calloc(1, sizeof(*x));
    if (x == NULL)
        goto fail;
    x->h = h;
    x->cb = cb;
    x->arg = arg;
    x->body = malloc(len + 1);
    x->easy = curl_easy_init();
    if (x->body == NULL || x->easy == NULL)
        goto fail;
    memcpy(x->body, body, len);
    x->body[len] = '\0';
    for (i = 0; i < nheaders; i++) {
        l = curl_slist_append(x->headers, headers[i]);
        if (l == NULL)
            goto fail;
        x->headers = l;
    }
    l = curl_slist_append(x->headers, "Expect:");  /* no 100-continue */
    if (l == NULL)
        goto fail;
    x->headers = l;
    rc = HL_ERR;
    if (setup_easy(x, url, timeout_ms, len) != HL_OK ||
        curl_multi_add_handle(h->multi, x->easy) != CURLM_OK)
        goto fail;
    link_xfer(h, x);
    return HL_OK;
fail:
    xfer_free(x);
    return rc;
}

void worker_http_free(struct worker_http *h) {
    if (h == NULL)
        return;
    while (h->xfers != NULL) {
        struct xfer *x = h->xfers;
        curl_multi_remove_handle(h->multi, x->easy);
        unlink_xfer(h, x);
        x->cb(x->arg, 0, NULL, 0, "aborted");
        xfer_free(x);
    }
    if (h->multi != NULL)
        curl_multi_cleanup(h->multi);
    if (h->timer != NULL)
        event_free(h->timer);
    free(h);
}
