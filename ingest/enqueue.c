/* enqueue.c - the durable part of a POST (G1, G2): one atomic
 * dedupe+enqueue script call per event (or an LPUSH of a dead letter),
 * pipelined on the one connection; optionally WAIT for replicas; 200 only
 * when every call answered OK, 503 on any error or at the deadline.
 *
 * Lifetime: a struct ingest_req is reachable from the HTTP side until it is
 * answered, and from Redis callbacks while pending > 0 (hiredis always
 * calls back, with NULL on failure). It is freed when both are over, so a
 * late reply after a 503 at the deadline only decrements `pending`. */
#include "ingest.h"
#include "hl_dlq.h"
#include "hl_keys.h"
#include "hl_log.h"
#include "hl_time.h"

#include <stdio.h>
#include <string.h>

enum cmd_kind { CMD_ENQUEUE, CMD_DLQ };

/* The callback argument of one Redis call. */
struct item_ctx {
    struct ingest_req *req;
    size_t idx;
};

struct req_ext {
    struct ingest_req req;
    struct item_ctx *items;       /* owned, one per batch item */
    int ok_code;                  /* 200, or 400 for a malformed payload */
    const char *ok_body;
};

static void req_maybe_free(struct req_ext *x) {
    struct ingest_req *r = &x->req;

    if (r->http != NULL || r->pending > 0)
        return;
    if (r->deadline != NULL)
        event_free(r->deadline);
    free(x->items);
    hl_batch_cleanup(&r->batch);
    free(x);
}

static void maybe_finish_drain(struct hl_ingest *ing) {
    if (ing->draining && ing->inflight == 0)
        event_base_loopexit(ing->base, NULL);
}

/* Sends the one answer of a request. */
static void answer(struct req_ext *x, int code) {
    struct ingest_req *r = &x->req;
    struct hl_ingest *ing = r->ing;

    if (r->http == NULL)
        return;
    if (code == x->ok_code && code == 200)
        hl_metric_observe(ing->m.ack_latency,
                          (double)(hl_time_mono_us() - r->started_us) / 1e6);
    ingest_reply(ing, r->http, code, code == x->ok_code ? x->ok_body
                                                       : "Service Unavailable");
    r->http = NULL;
    evtimer_del(r->deadline);
    ing->inflight--;
    maybe_finish_drain(ing);
}

static void deadline_cb(evutil_socket_t fd, short what, void *arg) {
    struct req_ext *x = arg;

    (void)fd;
    (void)what;
    hl_log(HL_LOG_WARN, "answer_503", HL_KV_S("why", "ack deadline"),
           HL_KV_I("timeout_ms", x->req.ing->cfg->ack_timeout_ms),
           HL_KV_I("pending", x->req.pending));
    answer(x, 503);
    req_maybe_free(x);
}

static void wait_reply_cb(struct hl_store *redis, redisReply *reply,
                          void *arg) {
    struct req_ext *x = arg;
    struct ingest_req *r = &x->req;

    (void)redis;
    r->pending--;
    if (r->http != NULL) {
        long long got = reply && reply->type == REDIS_REPLY_INTEGER
                            ? reply->integer : -1;
        if (got < r->ing->cfg->ack_replicas)
            hl_log(HL_LOG_WARN, "answer_503",
                   HL_KV_S("why", "replicas did not confirm"),
                   HL_KV_I("confirmed", got),
                   HL_KV_I("wanted", r->ing->cfg->ack_replicas));
        answer(x, got >= r->ing->cfg->ack_replicas ? x->ok_code : 503);
    }
    req_maybe_free(x);
}

/* The key item i was written to: its queue, or the dead letters. */
static int item_key(const struct ingest_req *r, size_t i,
                    char key[HL_KEY_MAX]) {
    const struct hl_batch_item *it = &r->batch.items[i];

    if (it->malformed) {
        snprintf(key, HL_KEY_MAX, "%s", r->ing->dlq_key);
        return HL_OK;
    }
    return hl_keys_queue(r->ing->cfg->prefix, it->partition, key);
}

/* All calls answered OK: WAIT for replicas when asked to (on every node
 * the items went to), else answer. */
static void all_stored(struct req_ext *x) {
    struct ingest_req *r = &x->req;
    const struct hl_cfg *cfg = r->ing->cfg;
    size_t i, n = r->batch.n;
    char (*bufs)[HL_KEY_MAX] = NULL;
    const char **keys = NULL;
    long long left_ms;
    int rc = HL_ENOMEM;

    if (cfg->ack_replicas == 0 || r->waiting_replicas) {
        answer(x, x->ok_code);
        return;
    }
    left_ms = cfg->ack_timeout_ms -
              (hl_time_mono_us() - r->started_us) / 1000;
    if (left_ms < 1)
        left_ms = 1;
    r->waiting_replicas = 1;
    bufs = calloc(n, sizeof(*bufs));
    keys = calloc(n, sizeof(*keys));
    if (bufs == NULL || keys == NULL)
        goto cleanup;
    for (i = 0; i < n; i++) {
        rc = item_key(r, i, bufs[i]);
        if (rc != HL_OK)
            goto cleanup;
        keys[i] = bufs[i];
    }
    rc = hl_store_wait(r->ing->store, keys, n, cfg->ack_replicas, left_ms,
                       wait_reply_cb, x);
cleanup:
    free(bufs);
    free(keys);
    if (rc != HL_OK) {
        hl_log(HL_LOG_WARN, "answer_503", HL_KV_S("why", "cannot WAIT"),
               HL_KV_S("error", hl_strerror(rc)));
        answer(x, 503);
        return;
    }
    r->pending++;
}

static void item_reply_cb(struct hl_store *redis, redisReply *reply,
                          void *arg) {
    struct item_ctx *c = arg;
    struct req_ext *x = (struct req_ext *)c->req;
    struct ingest_req *r = c->req;
    struct hl_batch_item *it = &r->batch.items[c->idx];
    struct ingest_metrics *m = &r->ing->m;
    enum ingest_result res = RES_FAILED;

    (void)redis;
    r->pending--;
    if (reply != NULL && reply->type == REDIS_REPLY_INTEGER)
        res = it->malformed ? RES_MALFORMED
              : reply->integer == 1 ? RES_ENQUEUED : RES_DUPLICATE;
    if (res == RES_FAILED && !r->failed)
        hl_log(HL_LOG_WARN, "redis_call_failed",
               HL_KV_S("error", reply && reply->str ? reply->str
                                                    : "connection lost"));
    if (res == RES_FAILED)
        r->failed = 1;
    hl_metric_add(m->events[it->malformed ? HL_KIND_OTHER : it->info.kind]
                           [res], 1);
    if (r->pending == 0 && r->http != NULL) {
        if (r->failed) {
            hl_log(HL_LOG_WARN, "answer_503",
                   HL_KV_S("why", "a Redis call failed"));
            answer(x, 503);
        } else {
            all_stored(x);
        }
    }
    req_maybe_free(x);
}

/* Replaces a malformed item's event JSON with its dead-letter entry. */
static int to_dead_letter(struct hl_batch_item *it, enum hl_dlq_reason why) {
    struct hl_dlq_entry e;
    long long now = hl_time_now_ms();
    char *out = NULL;
    size_t len = 0;
    int rc;

    memset(&e, 0, sizeof(e));
    e.reason = why;
    e.first_failed = now;
    e.failed = now;
    e.raw = it->data;
    e.raw_len = it->len;
    rc = hl_dlq_build(&e, &out, &len);
    if (rc != HL_OK)
        return rc;
    free(it->data);
    it->data = out;
    it->len = len;
    return HL_OK;
}

/* Sends item i: the enqueue script (dedupe + LPUSH), or an LPUSH of its
 * dead letter. Both copy their arguments, so the keys live on the stack. */
static int send_item(struct req_ext *x, size_t i) {
    struct ingest_req *r = &x->req;
    struct hl_batch_item *it = &r->batch.items[i];
    const struct hl_cfg *cfg = r->ing->cfg;
    char seen[HL_KEY_MAX], q[HL_KEY_MAX];
    const char *argv[4];
    size_t lens[4];
    int rc;

    x->items[i].req = r;
    x->items[i].idx = i;
    if (it->malformed) {
        argv[0] = "LPUSH";
        argv[1] = r->ing->dlq_key;
        argv[2] = it->data;
        lens[0] = 5;
        lens[1] = strlen(r->ing->dlq_key);
        lens[2] = it->len;
        return hl_store_command(r->ing->store, item_reply_cb, &x->items[i], 3,
                                argv, lens);
    }
    rc = hl_keys_seen(cfg->prefix, it->partition, it->info.id, seen);
    if (rc == HL_OK)
        rc = hl_keys_queue(cfg->prefix, it->partition, q);
    if (rc != HL_OK)
        return rc;
    argv[0] = seen;
    argv[1] = q;
    argv[2] = r->ttl;
    argv[3] = it->data;
    lens[0] = strlen(seen);
    lens[1] = strlen(q);
    lens[2] = strlen(r->ttl);
    lens[3] = it->len;
    return hl_store_script(r->ing->store, HL_SCRIPT_ENQUEUE, 2, 4, argv, lens,
                           item_reply_cb, &x->items[i]);
}

static struct req_ext *req_new(struct hl_ingest *ing,
                               struct evhttp_request *http,
                               struct hl_batch *batch, long long started_us) {
    struct req_ext *x = calloc(1, sizeof(*x));
    size_t n = batch->n;

    if (x == NULL)
        return NULL;
    x->req.ing = ing;
    x->req.batch = *batch;
    memset(batch, 0, sizeof(*batch));
    x->ok_code = 200;
    x->ok_body = "EVENT_RECEIVED";
    snprintf(x->req.ttl, sizeof(x->req.ttl), "%lld", ing->cfg->dedupe_ttl);
    x->items = calloc(n, sizeof(*x->items));
    x->req.deadline = evtimer_new(ing->base, deadline_cb, x);
    x->req.started_us = started_us;
    if (x->items == NULL || x->req.deadline == NULL) {
        req_maybe_free(x);
        return NULL;
    }
    return x;
}

/* Prepares every item, then sends them all; the request is answered by
 * the callbacks (or here, at once, when nothing could be sent). */
static void start(struct req_ext *x, struct evhttp_request *http) {
    struct ingest_req *r = &x->req;
    struct hl_ingest *ing = r->ing;
    struct timeval tv = { ing->cfg->ack_timeout_ms / 1000,
                          (ing->cfg->ack_timeout_ms % 1000) * 1000 };
    size_t i;
    int rc = HL_OK;

    r->http = http;
    ing->inflight++;
    for (i = 0; i < r->batch.n && rc == HL_OK; i++) {
        if (r->batch.items[i].malformed && x->ok_code == 200)
            rc = to_dead_letter(&r->batch.items[i], HL_DLQ_MALFORMED_EVENT);
    }
    for (i = 0; i < r->batch.n && rc == HL_OK; i++) {
        rc = send_item(x, i);
        if (rc == HL_OK)
            r->pending++;
    }
    if (rc != HL_OK) {
        hl_log(HL_LOG_WARN, "answer_503", HL_KV_S("why", "cannot send to "
               "redis"), HL_KV_S("error", hl_strerror(rc)));
        r->failed = 1;
        answer(x, 503);
    } else {
        evtimer_add(r->deadline, &tv);
    }
    req_maybe_free(x);
}

void ingest_enqueue(struct hl_ingest *ing, struct evhttp_request *req,
                    struct hl_batch *batch, long long started_us) {
    struct req_ext *x = req_new(ing, req, batch, started_us);

    if (x == NULL) {
        hl_batch_cleanup(batch);
        hl_log(HL_LOG_ERROR, "answer_503", HL_KV_S("why", "out of memory"));
        ingest_reply(ing, req, 503, "Service Unavailable");
        return;
    }
    start(x, req);
}

void ingest_store_malformed(struct hl_ingest *ing, struct evhttp_request *req,
                            const char *body, size_t len) {
    struct hl_batch b;
    struct req_ext *x;
    struct hl_dlq_entry e;
    long long now = hl_time_now_ms();
    int rc;

    memset(&b, 0, sizeof(b));
    if (!hl_store_ready(ing->store) ||
        ing->inflight >= ing->cfg->max_inflight) {
        hl_log(HL_LOG_WARN, "answer_503",
               HL_KV_S("why", "redis cannot keep a malformed body now"));
        ingest_reply(ing, req, 503, "Service Unavailable");
        return;
    }
    b.items = calloc(1, sizeof(*b.items));
    if (b.items == NULL)
        goto oom;
    b.n = b.cap = 1;
    b.items[0].malformed = 1;
    memset(&e, 0, sizeof(e));
    e.reason = HL_DLQ_MALFORMED_PAYLOAD;
    e.first_failed = now;
    e.failed = now;
    e.raw = body;
    e.raw_len = len;
    rc = hl_dlq_build(&e, &b.items[0].data, &b.items[0].len);
    if (rc != HL_OK)
        goto oom;
    x = req_new(ing, req, &b, hl_time_mono_us());
    if (x == NULL)
        goto oom;
    x->ok_code = 400;
    x->ok_body = "Bad Request";
    start(x, req);
    return;
oom:
    hl_batch_cleanup(&b);
    hl_log(HL_LOG_ERROR, "answer_503", HL_KV_S("why", "out of memory"));
    ingest_reply(ing, req, 503, "Service Unavailable");
}
