/* metrics.c - the worker's metrics and its optional HTTP port
 * (HOOKLINE_METRICS_PORT): /metrics, /healthz, /readyz (200 once Redis is
 * reachable and this worker holds its share of the partitions). */
#include "worker.h"
#include "hl_http.h"
#include "hl_log.h"

#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>

static const char *result_names[4] = {
    "processed", "no_rule", "silent", "dead_lettered"
};
static char event_labels[HL_KIND_COUNT][4][64];
static char send_labels[7][48];
static char dlq_labels[HL_DLQ_REASON_COUNT][48];

static const double seconds_bounds[] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.25, 0.3, 0.5, 1, 2.5, 5, 10, 30,
    60
};

static struct hl_metric *hist(struct hl_metrics *r, const char *name,
                              const char *help) {
    return hl_metrics_histogram(r, name, NULL, help, seconds_bounds,
                                HL_ARRAY_LEN(seconds_bounds));
}

int worker_metrics_init(struct worker_metrics *m) {
    struct hl_metrics *r;
    int k, s;

    memset(m, 0, sizeof(*m));
    r = m->reg = hl_metrics_new();
    if (r == NULL)
        return HL_ENOMEM;
    for (k = 0; k < HL_KIND_COUNT; k++) {
        for (s = 0; s < 4; s++) {
            snprintf(event_labels[k][s], sizeof(event_labels[k][s]),
                     "kind=\"%s\",result=\"%s\"", hl_kind_name(k),
                     result_names[s]);
            m->events[k][s] = hl_metrics_counter(r,
                "hookline_worker_events_total", event_labels[k][s],
                "events handled by kind and result");
            if (m->events[k][s] == NULL)
                return HL_ENOMEM;
        }
    }
    for (s = 0; s < 7; s++) {
        snprintf(send_labels[s], sizeof(send_labels[s]), "result=\"%s\"",
                 worker_outcome_name(s));
        m->sends[s] = hl_metrics_counter(r, "hookline_send_api_calls_total",
            send_labels[s], "Send API calls by result");
        if (m->sends[s] == NULL)
            return HL_ENOMEM;
    }
    for (s = 0; s < HL_DLQ_REASON_COUNT; s++) {
        snprintf(dlq_labels[s], sizeof(dlq_labels[s]), "reason=\"%s\"",
                 hl_dlq_reason_name(s));
        m->dlq[s] = hl_metrics_counter(r, "hookline_dead_letters_total",
            dlq_labels[s], "dead letters written, by reason");
        if (m->dlq[s] == NULL)
            return HL_ENOMEM;
    }
    m->retries = hl_metrics_counter(r, "hookline_send_retries_total", NULL,
        "sends retried (transient errors and rate limits)");
    m->redeliveries = hl_metrics_counter(r, "hookline_redeliveries_total",
        NULL, "envelopes recovered from a previous owner's in-flight list");
    m->queue_lag = hist(r, "hookline_queue_lag_seconds",
        "time from receipt by ingest to the start of processing");
    m->first_reply = hist(r, "hookline_first_reply_seconds",
        "time from receipt by ingest to the first reply sent");
    m->owned = hl_metrics_gauge(r, "hookline_partitions_owned", NULL,
        "partitions this worker holds");
    m->in_memory = hl_metrics_gauge(r, "hookline_worker_items", NULL,
        "envelopes held in memory");
    if (m->retries == NULL || m->redeliveries == NULL ||
        m->queue_lag == NULL || m->first_reply == NULL || m->owned == NULL ||
        m->in_memory == NULL)
        return HL_ENOMEM;
    return HL_OK;
}

void worker_metrics_cleanup(struct worker_metrics *m) {
    hl_metrics_free(m->reg);
    memset(m, 0, sizeof(*m));
}

static void reply_text(struct evhttp_request *req, int code, const char *s) {
    hl_http_reply(req, code, NULL, s, strlen(s));
}

static void route_cb(struct evhttp_request *req, void *arg) {
    struct hl_worker *w = arg;
    char path[256];
    struct evbuffer *b;

    if (hl_http_path(req, path, sizeof(path)) != HL_OK) {
        reply_text(req, 404, "Not Found");
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        reply_text(req, 405, "Method Not Allowed");
        return;
    }
    if (strcmp(path, "/healthz") == 0) {
        reply_text(req, 200, "ok");
    } else if (strcmp(path, "/readyz") == 0) {
        /* its share: at least floor(P / live workers); ceil is the most
         * it takes, and not every worker can hold that much */
        long live = w->live > 0 ? w->live : 1;
        int ready = hl_store_ready(w->store) && w->target > 0 &&
                    w->owned >= w->nparts / live && !w->draining;
        reply_text(req, ready ? 200 : 503, ready ? "ready" : "not ready");
    } else if (strcmp(path, "/metrics") == 0) {
        hl_metric_set(w->m.owned, (double)w->owned);
        hl_metric_set(w->m.in_memory, (double)w->items);
        b = evbuffer_new();
        if (b == NULL || hl_metrics_render(w->m.reg, b) != HL_OK) {
            evbuffer_free(b);
            reply_text(req, 503, "metrics unavailable");
            return;
        }
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Content-Type", "text/plain; version=0.0.4");
        evhttp_send_reply(req, 200, "OK", b);
        evbuffer_free(b);
    } else {
        reply_text(req, 404, "Not Found");
    }
}

int worker_metrics_listen(struct hl_worker *w, char err[HL_ERR_LEN]) {
    struct evhttp_bound_socket *h = NULL;
    int port = 0;

    if (w->cfg->metrics_port < 0)
        return HL_OK;
    w->mhttp = evhttp_new(w->base);
    if (w->mhttp == NULL) {
        snprintf(err, HL_ERR_LEN, "evhttp_new failed");
        return HL_ENOMEM;
    }
    evhttp_set_gencb(w->mhttp, route_cb, w);
    evhttp_set_timeout(w->mhttp, 30);
    if (hl_http_bind(w->mhttp, w->cfg->listen ? w->cfg->listen : "0.0.0.0",
                     (int)w->cfg->metrics_port, &h, &port, err) != HL_OK)
        return HL_EIO;
    hl_log(HL_LOG_INFO, "listening", HL_KV_S("what", "metrics"),
           HL_KV_I("port", port));
    return HL_OK;
}
