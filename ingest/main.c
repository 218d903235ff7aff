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

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <event2/event.h>
#include <event2/http.h>

#define PROG "hookline-ingest"
#define HEADERS_MAX_BYTES 65536
#define IDLE_TIMEOUT_S 60
#define DRAIN_GRACE_MS 500

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
        evhttp_del_accept_socket(ing->http, ing->listener);
        ing->listener = NULL;
    }
    if (ing->inflight == 0) {
        event_base_loopexit(ing->base, NULL);
        return;
    }
    evtimer_add(ing->drain_timer, &tv);
}

static void redis_state_cb(struct hl_redis *r, int up, void *arg) {
    struct hl_ingest *ing = arg;

    (void)r;
    hl_metric_set(ing->m.redis_up, up);
}

static int setup_http(struct hl_ingest *ing, char err[HL_ERR_LEN]) {
    const struct hl_cfg *cfg = ing->cfg;
    int port = 0;

    ing->http = evhttp_new(ing->base);
    if (ing->http == NULL) {
        snprintf(err, HL_ERR_LEN, "evhttp_new failed");
        return HL_ENOMEM;
    }
    /* libevent answers 413 itself for a larger body */
    evhttp_set_max_body_size(ing->http, cfg->max_body);
    evhttp_set_max_headers_size(ing->http, HEADERS_MAX_BYTES);
    evhttp_set_timeout(ing->http, IDLE_TIMEOUT_S);
    evhttp_set_allowed_methods(ing->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                               EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
                               EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                               EVHTTP_REQ_PATCH);
    evhttp_set_gencb(ing->http, ingest_route_cb, ing);
    if (hl_http_bind(ing->http, cfg->listen, cfg->port, &ing->listener,
                     &port, err) != HL_OK)
        return HL_EIO;
    hl_log(HL_LOG_INFO, "listening", HL_KV_S("addr", cfg->listen),
           HL_KV_I("port", port), HL_KV_S("path", cfg->webhook_path));
    return HL_OK;
}

static int setup(struct hl_ingest *ing, char err[HL_ERR_LEN]) {
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
    ing->redis = hl_redis_new(ing->base, &ing->cfg->redis);
    ing->sigterm = evsignal_new(ing->base, SIGTERM, signal_cb, ing);
    ing->sigint = evsignal_new(ing->base, SIGINT, signal_cb, ing);
    ing->drain_timer = evtimer_new(ing->base, drain_done_cb, ing);
    if (ing->redis == NULL || ing->sigterm == NULL || ing->sigint == NULL ||
        ing->drain_timer == NULL || evsignal_add(ing->sigterm, NULL) != 0 ||
        evsignal_add(ing->sigint, NULL) != 0) {
        snprintf(err, HL_ERR_LEN, "event setup failed");
        return HL_ENOMEM;
    }
    hl_redis_set_state_cb(ing->redis, redis_state_cb, ing);
    if (setup_http(ing, err) != HL_OK)
        return HL_EIO;
    if (hl_redis_start(ing->redis) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "redis: out of memory");
        return HL_ENOMEM;
    }
    return HL_OK;
}

/* Reverse order of setup. Redis goes before the loop's events so its
 * pending callbacks (NULL replies) still find their requests. */
static void teardown(struct hl_ingest *ing) {
    hl_redis_free(ing->redis);
    if (ing->http != NULL)
        evhttp_free(ing->http);
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
    if (setup(&ing, err) != HL_OK) {
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
