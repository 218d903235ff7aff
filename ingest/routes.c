/* routes.c - method/path dispatch and the small GET endpoints: the Meta
 * verification handshake, /healthz, /readyz, /metrics. */
#include "ingest.h"
#include "hl_http.h"
#include "hl_log.h"

#include <string.h>
#include <event2/buffer.h>

#define PATH_MAX_BYTES 1024

void ingest_count_status(struct hl_ingest *ing, int code) {
    enum ingest_status s;

    switch (code) {
    case 200: s = ST_200; break;
    case 400: s = ST_400; break;
    case 401: s = ST_401; break;
    case 403: s = ST_403; break;
    case 404: s = ST_404; break;
    case 405: s = ST_405; break;
    case 413: s = ST_413; break;
    case 503: s = ST_503; break;
    default: s = ST_OTHER; break;
    }
    hl_metric_add(ing->m.requests[s], 1);
}

void ingest_reply(struct hl_ingest *ing, struct evhttp_request *req,
                  int code, const char *body) {
    ingest_count_status(ing, code);
    if (ing->draining)
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Connection", "close");
    hl_http_reply(req, code, NULL, body, strlen(body));
}

/* GET <webhook>?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C:
 * 200 with C only for the exact token; 403 otherwise. */
static void verify_get(struct hl_ingest *ing, struct evhttp_request *req) {
    struct hl_http_query q;
    const char *mode, *token, *challenge;

    if (hl_http_query_init(&q, req) != HL_OK) {
        hl_metric_add(ing->m.verify_failures, 1);
        hl_log(HL_LOG_WARN, "verify_refused", HL_KV_S("why", "bad query"));
        ingest_reply(ing, req, 403, "Forbidden");
        goto cleanup;
    }
    mode = hl_http_query_get(&q, "hub.mode");
    token = hl_http_query_get(&q, "hub.verify_token");
    challenge = hl_http_query_get(&q, "hub.challenge");
    if (mode == NULL || strcmp(mode, "subscribe") != 0 || token == NULL ||
        challenge == NULL ||
        !hl_secret_equals(&ing->cfg->verify_token, token, strlen(token))) {
        hl_metric_add(ing->m.verify_failures, 1);
        hl_log(HL_LOG_WARN, "verify_refused",
               HL_KV_S("why", mode == NULL || strcmp(mode, "subscribe") != 0
                                  ? "hub.mode is not subscribe"
                                  : token == NULL ? "no hub.verify_token"
                                  : challenge == NULL ? "no hub.challenge"
                                  : "wrong hub.verify_token"));
        ingest_reply(ing, req, 403, "Forbidden");
        goto cleanup;
    }
    hl_log(HL_LOG_INFO, "verify_ok");
    ingest_reply(ing, req, 200, challenge);
cleanup:
    hl_http_query_cleanup(&q);
}

static void metrics_get(struct hl_ingest *ing, struct evhttp_request *req) {
    struct evbuffer *b = evbuffer_new();

    hl_metric_set(ing->m.inflight, (double)ing->inflight);
    hl_metric_set(ing->m.conns, (double)ingest_conns_open(ing));
    hl_metric_set(ing->m.redis_up, hl_store_ready(ing->store));
    if (b == NULL || hl_metrics_render(ing->m.reg, b) != HL_OK) {
        evbuffer_free(b);
        ingest_reply(ing, req, 503, "metrics unavailable");
        return;
    }
    ingest_count_status(ing, 200);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

void ingest_route_cb(struct evhttp_request *req, void *arg) {
    struct hl_ingest *ing = arg;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    char path[PATH_MAX_BYTES];

    ingest_conns_request(ing, req);
    if (hl_http_path(req, path, sizeof(path)) != HL_OK) {
        ingest_reply(ing, req, 404, "Not Found");
        return;
    }
    if (strcmp(path, ing->cfg->webhook_path) == 0) {
        if (method == EVHTTP_REQ_GET)
            verify_get(ing, req);
        else if (method == EVHTTP_REQ_POST)
            ingest_webhook_post(ing, req);
        else
            ingest_reply(ing, req, 405, "Method Not Allowed");
        return;
    }
    if (strcmp(path, "/healthz") != 0 && strcmp(path, "/readyz") != 0 &&
        strcmp(path, "/metrics") != 0) {
        ingest_reply(ing, req, 404, "Not Found");
        return;
    }
    if (method != EVHTTP_REQ_GET) {
        ingest_reply(ing, req, 405, "Method Not Allowed");
        return;
    }
    if (strcmp(path, "/healthz") == 0)
        ingest_reply(ing, req, 200, "ok");
    else if (strcmp(path, "/readyz") == 0)
        ingest_reply(ing, req, hl_store_ready(ing->store) ? 200 : 503,
                     hl_store_ready(ing->store) ? "ready" : "redis not ready");
    else
        metrics_get(ing, req);
}
