/* main.c - hookline-worker: arguments, configuration, wiring, signals,
 * drain and exit codes (0 ok, 1 runtime failure, 2 usage/config error).
 *
 * SIGTERM/SIGINT start draining: stop popping, hand queued envelopes back
 * to their partition queues, let running events finish (bounded by
 * WORKER_DRAIN_MS), release the leases, leave the live set, exit 0. */
#include "worker.h"
#include "hl_keys.h"
#include "hl_log.h"
#include "hl_main.h"
#include "hl_time.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>

#define PROG "hookline-worker"

static void usage(FILE *out) {
    fprintf(out,
        "Usage: " PROG " [--help]\n"
        "Consumes webhook events from Redis in per-conversation order, runs\n"
        "the routing rules and answers through the Send API; run as many as\n"
        "you like (partitions are shared by lease).\n\n");
    hl_cfg_help(HL_PROG_WORKER, out);
}

static void leave_loop(struct hl_worker *w) {
    if (w->stopping)
        return;
    w->stopping = 1;
    event_base_loopexit(w->base, NULL);
}

/* Leaves the loop once draining has nothing left in memory and every
 * lease has been given back. */
void worker_maybe_exit(struct hl_worker *w) {
    if (!w->draining || w->stopping || w->drained)
        return;
    worker_lease_release_all(w);
    if (w->items > 0 || w->owned > 0)
        return;
    w->drained = 1;
    (void)worker_membership_leave(w);
    hl_log(HL_LOG_INFO, "drained");
    /* one more turn so the release and ZREM replies can arrive */
    {
        struct timeval tv = { 0, 200000 };
        evtimer_add(w->drain_timer, &tv);
    }
}

static void drain_timer_cb(evutil_socket_t fd, short what, void *arg) {
    struct hl_worker *w = arg;

    (void)fd;
    (void)what;
    if (w->items > 0)
        hl_log(HL_LOG_WARN, "drain_deadline",
               HL_KV_I("items_left_in_flight", w->items));
    leave_loop(w);
}

static void tick_cb(evutil_socket_t fd, short what, void *arg) {
    struct hl_worker *w = arg;

    (void)fd;
    (void)what;
    worker_membership_tick(w);
    worker_consume_kick(w);
    worker_maybe_exit(w);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg) {
    struct hl_worker *w = arg;
    struct timeval tv = { WORKER_DRAIN_MS / 1000,
                          (WORKER_DRAIN_MS % 1000) * 1000 };

    (void)what;
    if (w->draining)
        return;
    w->draining = 1;
    hl_log(HL_LOG_INFO, "draining", HL_KV_I("signal", sig),
           HL_KV_I("items", w->items), HL_KV_I("owned", w->owned));
    evtimer_add(w->drain_timer, &tv);
    /* queued (not running) envelopes go back to their queues now */
    worker_lanes_drop_part(w, -1, 1);
    worker_maybe_exit(w);
}

static void redis_state_cb(struct hl_store *r, int up, void *arg) {
    struct hl_worker *w = arg;

    (void)r;
    if (up && !w->stopping)
        worker_consume_reconnected(w);
}

static int make_id(struct hl_worker *w) {
    char host[64] = "host";
    unsigned r = (unsigned)random() & 0xffff;
    int n;

    if (gethostname(host, sizeof(host)) != 0)
        memcpy(host, "host", 5);
    host[sizeof(host) - 1] = '\0';
    n = snprintf(w->id, sizeof(w->id), "%s-%ld-%04x", host, (long)getpid(),
                 r);
    return n > 0 && (size_t)n < sizeof(w->id) ? HL_OK : HL_ETOOBIG;
}

static int setup(struct hl_worker *w, char err[HL_ERR_LEN]) {
    const struct hl_cfg *cfg = w->cfg;
    long long ms = cfg->lease_ms / 3;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    int rc;

    if (cfg->rules != NULL)
        rc = worker_rules_load(cfg->rules, &w->rules, err);
    else
        rc = worker_rules_builtin(&w->rules, err);
    if (rc != HL_OK)
        return HL_EINVAL;
    if (worker_pages_load(w, err) != HL_OK)
        return HL_EINVAL;
    if (make_id(w) != HL_OK ||
        hl_keys_workers(cfg->prefix, w->workers_key) != HL_OK ||
        hl_keys_dlq(cfg->prefix, w->dlq_key) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "HOOKLINE_PREFIX is too long");
        return HL_ETOOBIG;
    }
    if (worker_metrics_init(&w->m) != HL_OK || worker_parts_init(w) != HL_OK ||
        worker_lanes_init(w) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "out of memory");
        return HL_ENOMEM;
    }
    w->base = event_base_new();
    if (w->base == NULL) {
        snprintf(err, HL_ERR_LEN, "event_base_new failed");
        return HL_ENOMEM;
    }
    /* a request outliving half a lease is of no use to the lease */
    w->store = hl_store_new(w->base, &cfg->redis, cfg->lease_ms / 2, err);
    if (w->store == NULL)
        return HL_EINVAL;
    w->http = worker_http_new(w->base, WORKER_MAX_SENDS);
    w->tick = event_new(w->base, -1, EV_PERSIST, tick_cb, w);
    w->sigterm = evsignal_new(w->base, SIGTERM, signal_cb, w);
    w->sigint = evsignal_new(w->base, SIGINT, signal_cb, w);
    w->drain_timer = evtimer_new(w->base, drain_timer_cb, w);
    if (w->http == NULL || w->tick == NULL ||
        w->sigterm == NULL || w->sigint == NULL || w->drain_timer == NULL ||
        evsignal_add(w->sigterm, NULL) != 0 ||
        evsignal_add(w->sigint, NULL) != 0 || evtimer_add(w->tick, &tv) != 0 ||
        hl_store_start(w->store) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "event setup failed");
        return HL_ENOMEM;
    }
    hl_store_set_state_cb(w->store, redis_state_cb, w);
    if (worker_metrics_listen(w, err) != HL_OK)
        return HL_EIO;
    hl_log(HL_LOG_INFO, "started", HL_KV_S("worker", w->id),
           HL_KV_I("partitions", w->nparts),
           HL_KV_I("reorder_ms", cfg->reorder_ms),
           HL_KV_I("rules", (long long)w->rules->n),
           HL_KV_S("graph", cfg->graph_api_base));
    return HL_OK;
}

/* Senders and Redis go first: their callbacks (aborted transfers, NULL
 * replies) only decrement counts while `stopping` is set; then the lanes
 * free every item. */
static void teardown(struct hl_worker *w) {
    w->stopping = 1;
    if (w->mhttp != NULL)
        evhttp_free(w->mhttp);
    worker_http_free(w->http);
    hl_store_free(w->store);
    worker_lanes_cleanup(w);
    worker_parts_cleanup(w);
    if (w->tick != NULL)
        event_free(w->tick);
    if (w->drain_timer != NULL)
        event_free(w->drain_timer);
    if (w->sigint != NULL)
        event_free(w->sigint);
    if (w->sigterm != NULL)
        event_free(w->sigterm);
    if (w->base != NULL)
        event_base_free(w->base);
    worker_metrics_cleanup(&w->m);
    worker_pages_cleanup(w);
    worker_rules_free(w->rules);
}

int main(int argc, char **argv) {
    struct hl_cfg cfg;
    struct hl_worker w;
    char err[HL_ERR_LEN];
    int rc = hl_main_args(argc, argv, PROG, usage);

    if (rc >= 0)
        return rc;
    rc = hl_main_start(PROG, HL_PROG_WORKER, &cfg);
    if (rc == 2)
        return 2;
    if (rc != 0)
        goto cleanup;
    rc = 1;
    srandom((unsigned)(hl_time_mono_us() ^ (long long)getpid()));
    memset(&w, 0, sizeof(w));
    w.cfg = &cfg;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        hl_log(HL_LOG_ERROR, "startup_failed",
               HL_KV_S("error", "curl_global_init failed"));
        goto cleanup;
    }
    rc = setup(&w, err);
    if (rc != HL_OK) {
        hl_log(HL_LOG_ERROR, rc == HL_EINVAL ? "config_error"
                                             : "startup_failed",
               HL_KV_S("error", err));
        rc = rc == HL_EINVAL ? 2 : 1;
        teardown(&w);
        curl_global_cleanup();
        goto cleanup;
    }
    event_base_dispatch(w.base);
    teardown(&w);
    curl_global_cleanup();
    hl_log(HL_LOG_INFO, "stopped");
    rc = 0;
cleanup:
    hl_main_cleanup(&cfg);
    return rc;
}
