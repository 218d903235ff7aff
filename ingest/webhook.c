/* webhook.c - POST <webhook>: size -> signature over the raw evbuffer bytes
 * -> depth-limited parse -> split into events -> hand to enqueue.c.
 * The signature is checked before anything is parsed or stored (G6), on
 * the bytes exactly as received: never re-serialised, never joined. */
#include "ingest.h"
#include "hl_hmac.h"
#include "hl_json.h"
#include "hl_log.h"
#include "hl_time.h"

#include <string.h>
#include <event2/buffer.h>

#define MAX_CHUNKS 64   /* evbuffer pieces checked without a pullup */

/* Collects the body's pieces. When the buffer is in more pieces than
 * MAX_CHUNKS it is made contiguous first (bodies over ~256 KiB: evhttp
 * reads 4 KiB at a time). The length must be given: with -1, libevent
 * 2.1's evbuffer_peek() stops counting at MAX_CHUNKS, so a larger body
 * would be hashed in part and its valid signature refused. */
static int body_chunks(struct evbuffer *buf, size_t len, struct hl_chunk *out,
                       size_t *n) {
    struct evbuffer_iovec v[MAX_CHUNKS];
    int k = evbuffer_peek(buf, (ev_ssize_t)len, NULL, v, MAX_CHUNKS);
    int i;

    if (k < 0)
        return HL_EIO;
    if (k > MAX_CHUNKS) {
        if (evbuffer_pullup(buf, -1) == NULL)
            return HL_ENOMEM;
        k = evbuffer_peek(buf, (ev_ssize_t)len, NULL, v, MAX_CHUNKS);
        if (k < 0 || k > MAX_CHUNKS)
            return HL_EIO;
    }
    for (i = 0; i < k; i++) {
        out[i].p = v[i].iov_base;
        out[i].len = v[i].iov_len;
    }
    *n = (size_t)k;
    return HL_OK;
}

/* Signed but not JSON or not the expected shape: the raw body goes to the
 * dead-letter list (bounded), then 400. */
static void malformed(struct hl_ingest *ing, struct evhttp_request *req,
                      struct evbuffer *buf, size_t len, const char *why) {
    const char *p;

    hl_log(HL_LOG_WARN, "malformed_payload", HL_KV_S("why", why),
           HL_KV_I("bytes", (long long)len));
    p = (const char *)evbuffer_pullup(buf, -1);
    if (p == NULL && len > 0) {
        ingest_reply(ing, req, 503, "Service Unavailable");
        return;
    }
    ingest_store_malformed(ing, req, p ? p : "", len);
}

void ingest_webhook_post(struct hl_ingest *ing, struct evhttp_request *req) {
    struct evbuffer *buf = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(buf);
    const char *sig = evhttp_find_header(evhttp_request_get_input_headers(req),
                                         "X-Hub-Signature-256");
    struct hl_chunk chunks[MAX_CHUNKS];
    struct hl_batch batch;
    json_object *root = NULL;
    size_t nchunks = 0;
    long long started_us = hl_time_mono_us();
    int rc;

    if ((long long)len > ing->cfg->max_body) {
        ingest_reply(ing, req, 413, "Payload Too Large");
        return;
    }
    if (body_chunks(buf, len, chunks, &nchunks) != HL_OK) {
        ingest_reply(ing, req, 503, "Service Unavailable");
        return;
    }
    rc = hl_hmac_verify(ing->cfg->app_secrets, ing->cfg->n_app_secrets, sig,
                        chunks, nchunks);
    if (rc != HL_OK) {
        hl_metric_add(ing->m.signature_failures, 1);
        hl_log(HL_LOG_WARN, "signature_refused",
               HL_KV_S("why", sig == NULL ? "no X-Hub-Signature-256"
                                          : "no secret matches"),
               HL_KV_I("bytes", (long long)len));
        ingest_reply(ing, req, 401, "Unauthorized");
        return;
    }
    if (hl_json_parse_chunks(chunks, nchunks, HL_JSON_DEPTH, &root)
        != HL_OK) {
        malformed(ing, req, buf, len, "not JSON or nested too deep");
        return;
    }
    rc = hl_batch_split(root, ing->cfg->partitions, hl_time_now_ms(), &batch);
    json_object_put(root);
    if (rc == HL_IGNORED) {
        hl_metric_add(ing->m.ignored_bodies, 1);
        /* counted once per body: another object's events are not split */
        hl_metric_add(ing->m.events[HL_KIND_OTHER][RES_IGNORED], 1);
        hl_log(HL_LOG_INFO, "ignored_object");
        ingest_reply(ing, req, 200, "EVENT_RECEIVED");
        return;
    }
    if (rc == HL_EINVAL) {
        malformed(ing, req, buf, len, "not the expected shape");
        return;
    }
    if (rc != HL_OK) {
        hl_log(HL_LOG_ERROR, "split_failed", HL_KV_S("error", hl_strerror(rc)));
        ingest_reply(ing, req, 503, "Service Unavailable");
        return;
    }
    if (batch.n == 0) {
        ingest_reply(ing, req, 200, "EVENT_RECEIVED");
        hl_batch_cleanup(&batch);
        return;
    }
    if (!hl_store_ready(ing->store) ||
        ing->inflight >= ing->cfg->max_inflight) {
        hl_log(HL_LOG_WARN, "answer_503",
               HL_KV_S("why", hl_store_ready(ing->store)
                                  ? "too many POSTs waiting for Redis"
                                  : "redis not ready"),
               HL_KV_I("events", (long long)batch.n));
        ingest_reply(ing, req, 503, "Service Unavailable");
        hl_batch_cleanup(&batch);
        return;
    }
    ingest_enqueue(ing, req, &batch, started_us);
}
