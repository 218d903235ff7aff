/* metrics.c - registration of ingest's metrics (what an operator of a bot
 * watches at the front door). */
#include "ingest.h"

#include <stdio.h>
#include <string.h>

static const char *status_labels[ST_COUNT] = {
    "status=\"200\"", "status=\"400\"", "status=\"401\"", "status=\"403\"",
    "status=\"404\"", "status=\"405\"", "status=\"413\"", "status=\"503\"",
    "status=\"other\""
};

static const char *result_names[RES_COUNT] = {
    "enqueued", "duplicate", "ignored", "malformed", "failed"
};

/* "kind=\"message\",result=\"enqueued\"" for every pair, built once. */
static char event_labels[HL_KIND_COUNT][RES_COUNT][64];

static const double latency_bounds[] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
    5
};

int ingest_metrics_init(struct ingest_metrics *m) {
    struct hl_metrics *r;
    int k, s;

    memset(m, 0, sizeof(*m));
    r = m->reg = hl_metrics_new();
    if (r == NULL)
        return HL_ENOMEM;
    m->verify_failures = hl_metrics_counter(r,
        "hookline_verify_failures_total", NULL,
        "GET handshakes refused (wrong mode or token)");
    m->signature_failures = hl_metrics_counter(r,
        "hookline_signature_failures_total", NULL,
        "POSTs refused for a missing or invalid X-Hub-Signature-256");
    for (s = 0; s < ST_COUNT; s++) {
        m->requests[s] = hl_metrics_counter(r, "hookline_http_requests_total",
            status_labels[s], "HTTP requests answered, by status");
        if (m->requests[s] == NULL)
            return HL_ENOMEM;
    }
    for (k = 0; k < HL_KIND_COUNT; k++) {
        for (s = 0; s < RES_COUNT; s++) {
            snprintf(event_labels[k][s], sizeof(event_labels[k][s]),
                     "kind=\"%s\",result=\"%s\"", hl_kind_name(k),
                     result_names[s]);
            m->events[k][s] = hl_metrics_counter(r, "hookline_events_total",
                event_labels[k][s], "webhook events by kind and result");
            if (m->events[k][s] == NULL)
                return HL_ENOMEM;
        }
    }
    m->ignored_bodies = hl_metrics_counter(r,
        "hookline_ignored_bodies_total", NULL,
        "signed POSTs for another object (answered 200, not stored)");
    m->ack_latency = hl_metrics_histogram(r, "hookline_ack_latency_seconds",
        NULL, "time from a POST's arrival to its 200",
        latency_bounds, HL_ARRAY_LEN(latency_bounds));
    m->inflight = hl_metrics_gauge(r, "hookline_ingest_inflight", NULL,
        "POSTs waiting for Redis");
    m->redis_up = hl_metrics_gauge(r, "hookline_redis_up", NULL,
        "1 when Redis is connected, scripts loaded and answering");
    m->conns = hl_metrics_gauge(r, "hookline_ingest_connections", NULL,
        "open HTTP connections (at most HOOKLINE_MAX_CONNS)");
    m->conns_rejected = hl_metrics_counter(r,
        "hookline_ingest_connections_rejected_total", NULL,
        "connections closed because HOOKLINE_MAX_CONNS was reached (the "
        "oldest idle one makes room for a new one)");
    m->conns_timed_out = hl_metrics_counter(r,
        "hookline_ingest_connections_timed_out_total", NULL,
        "connections closed for not sending a whole request within "
        "HOOKLINE_REQUEST_TIMEOUT_MS (slow or idle clients)");
    if (m->verify_failures == NULL || m->signature_failures == NULL ||
        m->ignored_bodies == NULL ||
        m->ack_latency == NULL || m->inflight == NULL || m->redis_up == NULL ||
        m->conns == NULL || m->conns_rejected == NULL ||
        m->conns_timed_out == NULL)
        return HL_ENOMEM;
    return HL_OK;
}

void ingest_metrics_cleanup(struct ingest_metrics *m) {
    hl_metrics_free(m->reg);
    memset(m, 0, sizeof(*m));
}
