/* main.c - hookline-ingest: arguments, configuration, wiring, signals,
 * drain and exit codes (0 ok, 1 runtime failure, 2 usage/config error).
 *
 * SIGTERM/SIGINT only start draining: stop accepting, let POSTs waiting
 * for Redis finish until their own deadline, then leave the loop and free
 * everything (so ASan and valgrind can say "no leaks"). */
#include "ingest.h"
#include "hl_http.h"
#include "hl_keys.h"
#include "hl_log.h"
#include "hl_main.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#define PROG "hookline-ingest"
#define HEADERS_MAX_BYTES 65536
#define DRAIN_GRACE_MS 500
/* Connections: HOOKLINE_MAX_CONNS unset means DEFAULT_MAX_CONNS, or what
 * the fd limit leaves after FD_RESERVE descriptors for ingest itself
 * (listener, epoll, signal pipe, Redis, stdio, sanitizer/valgrind files)
 * and the one extra socket of an accept at the cap. */
#define DEFAULT_MAX_CONNS 4096
#define FD_RESERVE 64
/* The fd table of conns.c has one slot per descriptor below the soft
 * limit; above this many the soft limit is lowered to it. */
#define FD_TABLE_MAX 1048576
/* Connections waiting to be accepted (Meta sends bursts); evhttp listens
 * with 128. The kernel caps it at net.core.somaxconn. */
#define LISTEN_BACKLOG 4096
/* evhttp's inactivity timer is set to the request timeout plus the ack
 * deadline plus this margin: longer than anything conns.c or a request
 * waiting for Redis needs, so it only ends a client that stops reading
 * our answers. */
#define IO_MARGIN_MS 1000

static void usage(FILE *out) {
    fprintf(out,
        "Usage: " PROG " [--help]\n"
        "Receives Messenger/Instagram webhooks: answers the GET handshake,\n"
        "checks X-Hub-Signature-256, splits each POST into its events and\n"
        "answers 200 only once Redis holds them (503 when it cannot).\n\n");
    hl_cfg_help(HL_PROG_INGEST, out);
}

static void drain_done_cb(evutil_socket_t fd, short what, void *arg) {
    struct hl_ingest *ing = arg;

    (void)fd;
    (void)what;
    hl_log(HL_LOG_WARN, "drain_deadline", HL_KV_I("inflight", ing->inflight));
    event_base_loopexit(ing->base, NULL);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg) {
    struct hl_ingest *ing = arg;
    long long ms = ing->cfg->ack_timeout_ms + DRAIN_GRACE_MS;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    (void)what;
    if (ing->draining)
        return;
    ing->draining = 1;
    hl_log(HL_LOG_INFO, "draining", HL_KV_I("signal", sig),
           HL_KV_I("inflight", ing->inflight));
    if (ing->listener != NULL) {
        ingest_conns_stop_accepting(ing);
        evhttp_del_accept_socket(ing->http, ing->listener);
        ing->listener = NULL;
    }
    if (ing->inflight == 0) {
        event_base_loopexit(ing->base, NULL);
        return;
    }
    evtimer_add(ing->drain_timer, &tv);
}

static void redis_state_cb(struct hl_store *r, int up, void *arg) {
    struct hl_ingest *ing = arg;

    (void)r;
    hl_metric_set(ing->m.redis_up, up);
}

/* Raises the fd soft limit to the hard limit (at most FD_TABLE_MAX) and
 * decides the connection cap. Returns HL_OK, or HL_EINVAL with `err` set
 * when HOOKLINE_MAX_CONNS needs more descriptors than the limit allows (a
 * configuration error: exit 2). */
static int fd_limits(struct hl_ingest *ing, long long *max_conns,
                     size_t *fd_limit, char err[HL_ERR_LEN]) {
    const struct hl_cfg *cfg = ing->cfg;
    struct rlimit rl;
    rlim_t want;
    long long room;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        snprintf(err, HL_ERR_LEN, "getrlimit(RLIMIT_NOFILE): %s",
                 strerror(errno));
        return HL_EIO;
    }
    want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > FD_TABLE_MAX
               ? FD_TABLE_MAX : rl.rlim_max;
    if (rl.rlim_cur != want) {
        struct rlimit up = { want, rl.rlim_max };
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl.rlim_cur = want;
        else
            hl_log(HL_LOG_WARN, "fd_limit_unchanged",
                   HL_KV_S("error", strerror(errno)),
                   HL_KV_I("soft", (long long)rl.rlim_cur));
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > FD_TABLE_MAX) {
        snprintf(err, HL_ERR_LEN, "the fd soft limit is over %d and cannot "
                 "be lowered to it", FD_TABLE_MAX);
        return HL_EIO;
    }
    room = (long long)rl.rlim_cur - FD_RESERVE;
    if (cfg->max_conns > 0 && cfg->max_conns > room) {
        snprintf(err, HL_ERR_LEN, "HOOKLINE_MAX_CONNS=%lld needs %lld file "
                 "descriptors and the fd limit (ulimit -n) is %lld: raise the "
                 "limit or lower HOOKLINE_MAX_CONNS", cfg->max_conns,
                 cfg->max_conns + FD_RESERVE, (long long)rl.rlim_cur);
        return HL_EINVAL;
    }
    if (cfg->max_conns == 0 && room < 1) {
        snprintf(err, HL_ERR_LEN, "the fd limit (ulimit -n) is %lld: ingest "
                 "needs more than %d", (long long)rl.rlim_cur, FD_RESERVE);
        return HL_EINVAL;
    }
    *max_conns = cfg->max_conns > 0 ? cfg->max_conns
                 : room < DEFAULT_MAX_CONNS ? room : DEFAULT_MAX_CONNS;
    *fd_limit = (size_t)rl.rlim_cur;
    hl_log(HL_LOG_INFO, "fd_limit", HL_KV_I("soft", (long long)rl.rlim_cur),
           HL_KV_I("hard", rl.rlim_max == RLIM_INFINITY
                               ? -1 : (long long)rl.rlim_max),
           HL_KV_I("max_conns", *max_conns),
           HL_KV_I("request_timeout_ms", cfg->request_timeout_ms));
    return HL_OK;
}

static int setup_http(struct hl_ingest *ing, long long max_conns,
                      size_t fd_limit, char err[HL_ERR_LEN]) {
    const struct hl_cfg *cfg = ing->cfg;
    struct evconnlistener *lev;
    long long io_ms = cfg->request_timeout_ms + cfg->ack_timeout_ms +
                      IO_MARGIN_MS;
    struct timeval io;
    int port = 0;

    ing->http = evhttp_new(ing->base);
    if (ing->http == NULL) {
        snprintf(err, HL_ERR_LEN, "evhttp_new failed");
        return HL_ENOMEM;
    }
    io.tv_sec = io_ms / 1000;
    io.tv_usec = (io_ms % 1000) * 1000;
    /* libevent answers 413 itself for a larger body */
    evhttp_set_max_body_size(ing->http, cfg->max_body);
    evhttp_set_max_headers_size(ing->http, HEADERS_MAX_BYTES);
    /* evhttp's own timer only measures inactivity (a trickling client
     * resets it): conns.c enforces the request timeout; this one is the
     * stalled-reader guard of IO_MARGIN_MS */
    evhttp_set_timeout_tv(ing->http, &io);
    evhttp_set_allowed_methods(ing->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                               EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                               EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                               EVHTTP_REQ_PATCH);
    evhttp_set_gencb(ing->http, ingest_route_cb, ing);
    if (ingest_conns_init(ing, max_conns, fd_limit, err) != HL_OK)
        return HL_ENOMEM;
    if (hl_http_bind(ing->http, cfg->listen, cfg->port, &ing->listener,
                     &port, err) != HL_OK)
        return HL_EIO;
    lev = evhttp_bound_socket_get_listener(ing->listener);
    if (listen(evhttp_bound_socket_get_fd(ing->listener), LISTEN_BACKLOG)
        != 0)
        hl_log(HL_LOG_WARN, "listen_backlog_unchanged",
               HL_KV_S("error", strerror(errno)));
    ingest_conns_listen(ing, lev);
    hl_log(HL_LOG_INFO, "listening", HL_KV_S("addr", cfg->listen),
           HL_KV_I("port", port), HL_KV_S("path", cfg->webhook_path));
    return HL_OK;
}

static int setup(struct hl_ingest *ing, long long max_conns,
                 size_t fd_limit, char err[HL_ERR_LEN]) {
    if (ingest_metrics_init(&ing->m) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "metrics: out of memory");
        return HL_ENOMEM;
    }
    if (hl_keys_dlq(ing->cfg->prefix, ing->dlq_key) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "HOOKLINE_PREFIX is too long");
        return HL_ETOOBIG;
    }
    ing->base = event_base_new();
    if (ing->base == NULL) {
        snprintf(err, HL_ERR_LEN, "event_base_new failed");
        return HL_ENOMEM;
    }
    ing->store = hl_store_new(ing->base, &ing->cfg->redis,
                              ing->cfg->ack_timeout_ms, err);
    if (ing->store == NULL)
        return HL_EINVAL;
    ing->sigterm = evsignal_new(ing->base, SIGTERM, signal_cb, ing);
    ing->sigint = evsignal_new(ing->base, SIGINT, signal_cb, ing);
    ing->drain_timer = evtimer_new(ing->base, drain_done_cb, ing);
    if (ing->sigterm == NULL || ing->sigint == NULL ||
        ing->drain_timer == NULL || evsignal_add(ing->sigterm, NULL) != 0 ||
        evsignal_add(ing->sigint, NULL) != 0) {
        snprintf(err, HL_ERR_LEN, "event setup failed");
        return HL_ENOMEM;
    }
    hl_store_set_state_cb(ing->store, redis_state_cb, ing);
    if (setup_http(ing, max_conns, fd_limit, err) != HL_OK)
        return HL_EIO;
    if (hl_store_start(ing->store) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "redis: out of memory");
        return HL_ENOMEM;
    }
    return HL_OK;
}

/* Reverse order of setup. Redis goes before the loop's events so its
 * pending callbacks (NULL replies) still find their requests. */
static void teardown(struct hl_ingest *ing) {
    hl_store_free(ing->store);
    ingest_conns_flush(ing);
    if (ing->http != NULL)
        evhttp_free(ing->http);
    ingest_conns_cleanup(ing);
    if (ing->drain_timer != NULL)
        event_free(ing->drain_timer);
    if (ing->sigint != NULL)
        event_free(ing->sigint);
    if (ing->sigterm != NULL)
        event_free(ing->sigterm);
    if (ing->base != NULL)
        event_base_free(ing->base);
    ingest_metrics_cleanup(&ing->m);
}

int main(int argc, char **argv) {
    struct hl_cfg cfg;
    struct hl_ingest ing;
    char err[HL_ERR_LEN];
    long long max_conns = 0;
    size_t fd_limit = 0;
    int rc = hl_main_args(argc, argv, PROG, usage);

    if (rc >= 0)
        return rc;
    rc = hl_main_start(PROG, HL_PROG_INGEST, &cfg);
    if (rc == 2)
        return 2;
    if (rc != 0)
        goto cleanup;
    rc = 1;
    memset(&ing, 0, sizeof(ing));
    ing.cfg = &cfg;
    rc = fd_limits(&ing, &max_conns, &fd_limit, err);
    if (rc != HL_OK) {
        hl_log(HL_LOG_ERROR, rc == HL_EINVAL ? "config_error"
                                             : "startup_failed",
               HL_KV_S("error", err));
        rc = rc == HL_EINVAL ? 2 : 1;
        goto cleanup;
    }
    rc = 1;
    if (setup(&ing, max_conns, fd_limit, err) != HL_OK) {
        hl_log(HL_LOG_ERROR, "startup_failed", HL_KV_S("error", err));
        teardown(&ing);
        goto cleanup;
    }
    event_base_dispatch(ing.base);
    teardown(&ing);
    hl_log(HL_LOG_INFO, "stopped");
    rc = 0;
cleanup:
    hl_main_cleanup(&cfg);
    return rc;
}
