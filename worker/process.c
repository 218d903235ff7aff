/* process.c - running one event: read what is already done, run the
 * matched rule's actions in order, each recorded in a done key before the
 * next (G5), retry transient failures in place (the lane waits), pause a
 * rate-limited page, dead-letter what fails for good, then ack (G3).
 *
 * One step at a time per item: at most one Redis or curl callback is
 * pending for an item, except at READING (two pipelined reads). A Redis
 * write that fails is retried in its own state (timer_cb), never skipped:
 * a done key not written or a dead letter not stored would break G5/G3. */
#include "worker.h"
#include "hl_dlq.h"
#include "hl_hmac.h"
#include "hl_json.h"
#include "hl_keys.h"
#include "hl_log.h"
#include "hl_time.h"

#include <stdio.h>
#include <string.h>

#define WINDOW_MS (24LL * 3600 * 1000)   /* Messenger's 24 h window */
#define RETRY_BASE_MS 200
#define RETRY_CAP_MS 30000
#define FWD_SUB_BASE 1000   /* done index of forward i's message j:
                             * (i + 1) * FWD_SUB_BASE + j */
#define ACK_TRIES_MAX 50     /* then it stays in inflight for a replay */
#define URL_MAX 1024
#define AUTH_MAX 2048

enum ev_result { ER_PROCESSED = 0, ER_NO_RULE, ER_SILENT, ER_DEAD };

static void act(struct worker_item *it);
static void dead_letter(struct worker_item *it, enum hl_dlq_reason why);

void worker_item_free(struct worker_item *it) {
    if (it == NULL)
        return;
    if (it->timer != NULL)
        event_free(it->timer);
    json_object_put(it->fwd_msgs);
    free(it->dlq_entry);
    free(it->qid);
    hl_envelope_cleanup(&it->env);
    free(it->done);
    free(it->raw);
    free(it);
}

/* A callback fired: 1 when the item must not go on (shutdown, or it was
 * detached and this was its last callback, which then freed it). */
static int callback_gone(struct worker_item *it) {
    it->pending--;
    if (it->w->stopping || it->abandoned) {
        if (it->abandoned && it->pending == 0)
            worker_item_free(it);
        return 1;
    }
    return 0;
}

static void count(struct worker_item *it, enum ev_result r) {
    enum hl_kind k = it->env.root ? it->env.kind : HL_KIND_OTHER;

    hl_metric_add(it->w->m.events[k][r], 1);
}

static void later(struct worker_item *it, long long ms) {
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    evtimer_add(it->timer, &tv);
}

/* The ack (conversation update + LREM), retried until Redis takes it. */
static void finish(struct worker_item *it) {
    it->state = WI_FINISHING;
    if (worker_ack(it) == HL_OK)
        return;
    worker_item_acked(it, 0);
}

void worker_item_acked(struct worker_item *it, int ok) {
    if (!ok && !it->w->stopping && ++it->ack_tries < ACK_TRIES_MAX &&
        it->timer != NULL) {
        later(it, RETRY_BASE_MS);
        return;
    }
    if (!ok)
        hl_log(HL_LOG_ERROR, "ack_given_up", HL_KV_S("event", it->env.id),
               HL_KV_I("tries", it->ack_tries));
    /* on give-up the envelope stays in inflight: the next owner of the
     * partition replays it and the done keys stop a second send */
    worker_lane_done(it);
}

/* ------------------------------------------------------------ reading */

static size_t done_index(size_t action, size_t sub, int is_sub) {
    return is_sub ? (action + 1) * FWD_SUB_BASE + sub : action;
}

static void read_reply_cb(struct hl_store *r, redisReply *reply, void *arg) {
    struct worker_item *it = arg;
    size_t i;

    (void)r;
    if (callback_gone(it))
        return;
    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY) {
        for (i = 0; i < reply->elements && i < it->ndone; i++)
            it->done[i] = reply->element[i]->type == REDIS_REPLY_STRING;
    } else if (reply != NULL && reply->type == REDIS_REPLY_STRING) {
        long long v = 0;
        if (hl_parse_int64(reply->str, &v) == HL_OK)
            it->last_user_ms = v;
    } else if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        /* without knowing what is done nothing may be sent: read again */
        it->read_failed = 1;
    }
    if (it->pending > 0)
        return;
    if (it->read_failed) {
        it->read_failed = 0;
        later(it, RETRY_BASE_MS);
        return;
    }
    it->state = WI_ACTING;
    act(it);
}

static int start_reads(struct worker_item *it) {
    struct hl_worker *w = it->w;
    const char *argv[1 + RULE_ACTIONS_MAX];
    size_t lens[1 + RULE_ACTIONS_MAX];
    char keys[RULE_ACTIONS_MAX][HL_KEY_MAX];
    char conv[HL_KEY_MAX];
    size_t i;

    if (it->ndone > RULE_ACTIONS_MAX)
        return HL_ETOOBIG;
    argv[0] = "MGET";
    lens[0] = 4;
    for (i = 0; i < it->ndone; i++) {
        if (hl_keys_done(w->cfg->prefix, it->part, it->env.id, (int)i,
                         keys[i]) != HL_OK)
            return HL_ETOOBIG;
        argv[1 + i] = keys[i];
        lens[1 + i] = strlen(keys[i]);
    }
    if (hl_store_command(w->store, read_reply_cb, it, 1 + (int)it->ndone,
                         argv, lens) != HL_OK)
        return HL_EAGAIN;
    it->pending++;
    /* a user event inside the window opens it itself: no need to read
     * when the user last wrote */
    if (worker_rules_user_originated(it->env.kind) &&
        hl_time_now_ms() - it->env.ts <= WINDOW_MS)
        return HL_OK;
    if (hl_keys_conv(w->cfg->prefix, it->part, it->env.page, it->env.user,
                     conv) != HL_OK)
        return HL_ETOOBIG;
    argv[0] = "HGET";
    argv[1] = conv;
    argv[2] = HL_CONV_LAST_USER;
    lens[0] = 4;
    lens[1] = strlen(conv);
    lens[2] = strlen(HL_CONV_LAST_USER);
    if (hl_store_command(w->store, read_reply_cb, it, 3, argv, lens) != HL_OK)
        return HL_EAGAIN;
    it->pending++;
    return HL_OK;
}

static int record_done(struct worker_item *it, size_t idx);
static int read_forward_done(struct worker_item *it);
static void send_dead_letter(struct worker_item *it);

static void timer_cb(evutil_socket_t fd, short what, void *arg) {
    struct worker_item *it = arg;

    (void)fd;
    (void)what;
    switch (it->state) {
    case WI_READING:
        if (start_reads(it) != HL_OK && it->pending == 0)
            later(it, RETRY_BASE_MS);
        return;
    case WI_RECORDING:
        if (record_done(it, it->record_idx) != HL_OK)
            later(it, RETRY_BASE_MS);
        return;
    case WI_FWD_READING:
        if (read_forward_done(it) != HL_OK)
            later(it, RETRY_BASE_MS);
        return;
    case WI_DEADLETTER:
        send_dead_letter(it);
        return;
    case WI_FINISHING:
        finish(it);
        return;
    default:
        act(it);
        return;
    }
}

void worker_item_start(struct worker_item *it) {
    struct hl_worker *w = it->w;

    it->timer = evtimer_new(w->base, timer_cb, it);
    if (it->timer == NULL) {
        hl_log(HL_LOG_ERROR, "out_of_memory", HL_KV_S("where", "item"));
        worker_lane_done(it);     /* stays in inflight for a replay */
        return;
    }
    if (!it->bad && hl_envelope_parse(it->raw, it->raw_len, &it->env)
                        != HL_OK)
        it->bad = 1;
    if (it->bad) {
        dead_letter(it, HL_DLQ_MALFORMED_EVENT);
        return;
    }
    hl_metric_observe(w->m.queue_lag,
                      (double)(hl_time_now_ms() - it->env.rx) / 1000.0);
    it->rule = worker_rules_match(w->rules, &it->env);
    if (it->rule == NULL) {
        count(it, worker_rules_silent(&it->env) ? ER_SILENT : ER_NO_RULE);
        finish(it);
        return;
    }
    it->ndone = it->rule->n_actions;
    it->done = calloc(it->ndone, sizeof(*it->done));
    if (it->done == NULL) {
        hl_log(HL_LOG_ERROR, "out_of_memory", HL_KV_S("where", "item"));
        worker_lane_done(it);     /* stays in inflight for a replay */
        return;
    }
    it->state = WI_READING;
    if (start_reads(it) != HL_OK && it->pending == 0)
        later(it, RETRY_BASE_MS);
}

/* ------------------------------------------------------- dead letters */

static void dlq_reply_cb(struct hl_store *r, redisReply *reply, void *arg) {
    struct worker_item *it = arg;

    (void)r;
    if (callback_gone(it))
        return;
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        /* not stored: keep it in flight and write it again */
        later(it, RETRY_BASE_MS);
        return;
    }
    HL_FREE(it->dlq_entry);
    finish(it);
}

static void send_dead_letter(struct worker_item *it) {
    struct hl_worker *w = it->w;
    const char *argv[3] = { "LPUSH", w->dlq_key, it->dlq_entry };
    size_t lens[3] = { 5, strlen(w->dlq_key), it->dlq_len };

    if (hl_store_command(w->store, dlq_reply_cb, it, 3, argv, lens) == HL_OK)
        it->pending++;
    else
        later(it, RETRY_BASE_MS);
}

static void dead_letter(struct worker_item *it, enum hl_dlq_reason why) {
    struct hl_worker *w = it->w;
    struct hl_dlq_error e;
    struct hl_dlq_entry d;
    int rc;

    memset(&d, 0, sizeof(d));
    memset(&e, 0, sizeof(e));
    e.http = it->last_error.http;
    e.code = it->last_error.code;
    e.subcode = it->last_error.subcode;
    e.message = it->last_error.message[0] ? it->last_error.message : NULL;
    e.fbtrace_id = it->last_error.fbtrace_id[0] ? it->last_error.fbtrace_id
                                                : NULL;
    d.reason = why;
    d.worker_stage = 1;
    d.error = &e;
    d.attempts = it->attempts;
    d.failed = hl_time_now_ms();
    d.first_failed = it->first_failed_ms ? it->first_failed_ms : d.failed;
    d.worker = w->id;
    if (it->env.root != NULL) {
        d.envelope = it->raw;
        d.envelope_len = it->raw_len;
    } else {
        d.raw = it->raw;
        d.raw_len = it->raw_len;
    }
    rc = hl_dlq_build(&d, &it->dlq_entry, &it->dlq_len);
    if (rc != HL_OK) {
        hl_log(HL_LOG_ERROR, "dead_letter_build_failed",
               HL_KV_S("error", hl_strerror(rc)));
        worker_lane_done(it);    /* stays in inflight */
        return;
    }
    hl_log(HL_LOG_WARN, "dead_letter", HL_KV_S("reason",
           hl_dlq_reason_name(why)), HL_KV_S("event", it->env.id),
           HL_KV_I("attempts", it->attempts), HL_KV_I("http", e.http),
           HL_KV_I("code", e.code), HL_KV_I("subcode", e.subcode));
    hl_metric_add(w->m.dlq[why], 1);
    count(it, ER_DEAD);
    it->state = WI_DEADLETTER;
    send_dead_letter(it);
}

/* --------------------------------------------------------- recording */

static void recorded_cb(struct hl_store *r, redisReply *reply, void *arg) {
    struct worker_item *it = arg;

    (void)r;
    if (callback_gone(it))
        return;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        /* the send happened; without the record a replay may repeat it:
         * write it again before going on (timer_cb, WI_RECORDING) */
        later(it, RETRY_BASE_MS);
        return;
    }
    it->state = WI_ACTING;
    act(it);
}

/* Records done index `idx` (SET done key EX ttl), then continues. */
static int record_done(struct worker_item *it, size_t idx) {
    struct hl_worker *w = it->w;
    char key[HL_KEY_MAX], ttl[24];
    const char *argv[5] = { "SET", key, "1", "EX", ttl };
    size_t lens[5];

    it->state = WI_RECORDING;
    it->record_idx = idx;
    if (hl_keys_done(w->cfg->prefix, it->part, it->env.id, (int)idx, key)
        != HL_OK)
        return HL_ETOOBIG;
    snprintf(ttl, sizeof(ttl), "%lld", w->cfg->dedupe_ttl);
    lens[0] = 3;
    lens[1] = strlen(key);
    lens[2] = 1;
    lens[3] = 2;
    lens[4] = strlen(ttl);
    if (hl_store_command(w->store, recorded_cb, it, 5, argv, lens) != HL_OK)
        return HL_EAGAIN;
    it->pending++;
    return HL_OK;
}

/* ------------------------------------------------------------ sending */

static void after_failure(struct worker_item *it, enum worker_outcome o,
                          struct worker_page *pg) {
    struct hl_worker *w = it->w;

    if (it->first_failed_ms == 0)
        it->first_failed_ms = hl_time_now_ms();
    /* attempts = failed sends of this event, whatever the class: the
     * dead letter says how many times Graph said no */
    it->attempts++;
    switch (o) {
    case WO_TRANSIENT:
        if (it->attempts >= w->cfg->max_attempts) {
            dead_letter(it, it->rule->actions[it->action].type == WA_FORWARD
                                ? HL_DLQ_FORWARD_FAILED
                                : HL_DLQ_SEND_EXHAUSTED);
            return;
        }
        hl_metric_add(w->m.retries, 1);
        later(it, hl_time_backoff_ms(it->attempts, RETRY_BASE_MS,
                                     RETRY_CAP_MS, (uint32_t)random()));
        return;
    case WO_RATE_LIMITED:
        /* bounded like any retry (STYLE rule 10): a page limited for
         * longer than the attempts last dead-letters send_exhausted */
        if (it->attempts >= w->cfg->max_attempts) {
            dead_letter(it, HL_DLQ_SEND_EXHAUSTED);
            return;
        }
        hl_metric_add(w->m.retries, 1);
        if (pg != NULL)
            worker_page_pause(w, pg, o);
        act(it);    /* waits for the pause */
        return;
    case WO_TOKEN_INVALID:
    case WO_PAGE_BLOCKED:
        if (pg != NULL)
            worker_page_pause(w, pg, o);
        dead_letter(it, o == WO_TOKEN_INVALID ? HL_DLQ_TOKEN_INVALID
                                              : HL_DLQ_PAGE_BLOCKED);
        return;
    case WO_OUTSIDE_WINDOW:
        dead_letter(it, HL_DLQ_OUTSIDE_WINDOW);
        return;
    default:
        dead_letter(it, it->rule->actions[it->action].type == WA_FORWARD
                            ? HL_DLQ_FORWARD_FAILED : HL_DLQ_SEND_PERMANENT);
        return;
    }
}

static void wake_senders(struct hl_worker *w);

static void sent_done(struct worker_item *it, int status, const char *body,
                      size_t len, const char *error);

static void sent_cb(void *arg, int status, const char *body, size_t len,
                    const char *error) {
    struct worker_item *it = arg;
    struct hl_worker *w = it->w;

    if (callback_gone(it))
        return;
    sent_done(it, status, body, len, error);
    wake_senders(w);
}


static void sent_done(struct worker_item *it, int status, const char *body,
                      size_t len, const char *error) {
    struct hl_worker *w = it->w;
    struct worker_page *pg;
    enum worker_outcome o;
    size_t idx;

    o = worker_classify(status, body, len, &it->last_error);
    if (status == 0 && error != NULL)
        snprintf(it->last_error.message, sizeof(it->last_error.message),
                 "%s", error);
    hl_metric_add(w->m.sends[o], 1);
    pg = worker_page_find(w, it->env.page);
    if (o != WO_OK) {
        hl_log(HL_LOG_WARN, "send_failed", HL_KV_S("event", it->env.id),
               HL_KV_S("outcome", worker_outcome_name(o)),
               HL_KV_I("http", status), HL_KV_I("code", it->last_error.code),
               HL_KV_I("subcode", it->last_error.subcode),
               HL_KV_S("error", it->last_error.message));
        after_failure(it, o, pg);
        return;
    }
    if (pg != NULL)
        pg->pause_level = 0;
    if (!it->replied) {
        it->replied = 1;
        hl_metric_observe(w->m.first_reply,
                          (double)(hl_time_now_ms() - it->env.rx) / 1000.0);
    }
    idx = it->fwd_msgs ? done_index(it->action, it->fwd_next, 1)
                       : done_index(it->action, 0, 0);
    if (it->fwd_msgs)
        it->fwd_done[it->fwd_next++] = 1;
    else
        it->done[it->action] = 1;
    if (record_done(it, idx) != HL_OK)
        later(it, RETRY_BASE_MS);    /* timer_cb writes it again */
}

static int send_graph(struct worker_item *it, struct worker_page *pg,
                      const char *endpoint, const char *body, size_t len) {
    struct hl_worker *w = it->w;
    char url[URL_MAX], auth[AUTH_MAX];
    const char *hdrs[2] = { auth, "Content-Type: application/json" };
    int n, rc;

    n = snprintf(url, sizeof(url), "%s/%s/%s/%s", w->cfg->graph_api_base,
                 w->cfg->graph_api_version, it->env.page, endpoint);
    if (n < 0 || (size_t)n >= sizeof(url))
        return HL_ETOOBIG;
    /* the token travels in a header, never in the URL */
    n = snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
                 (const char *)pg->token.buf);
    if (n < 0 || (size_t)n >= sizeof(auth))
        return HL_ETOOBIG;
    rc = worker_http_post(w->http, url, hdrs, 2, body, len,
                          w->cfg->send_timeout_ms, sent_cb, it);
    memset(auth, 0, sizeof(auth));
    if (rc == HL_OK)
        it->pending++;
    return rc;
}

/* ------------------------------------------------------------ forward */

static void forwarded_done(struct worker_item *it, int status,
                           const char *body, size_t len, const char *error);

static void forwarded_cb(void *arg, int status, const char *body, size_t len,
                         const char *error) {
    struct worker_item *it = arg;
    struct hl_worker *w = it->w;

    if (callback_gone(it))
        return;
    forwarded_done(it, status, body, len, error);
    wake_senders(w);
}

static void forwarded_done(struct worker_item *it, int status,
                           const char *body, size_t len, const char *error) {
    json_object *root = NULL, *msgs = NULL;

    if (status < 200 || status >= 300 ||
        hl_json_parse(body ? body : "", len, HL_JSON_DEPTH, &root) != HL_OK) {
        memset(&it->last_error, 0, sizeof(it->last_error));
        it->last_error.http = status;
        snprintf(it->last_error.message, sizeof(it->last_error.message),
                 "forward: %s", error ? error : status ? "bad answer"
                                                       : "no answer");
        hl_log(HL_LOG_WARN, "forward_failed", HL_KV_S("event", it->env.id),
               HL_KV_I("http", status));
        json_object_put(root);
        after_failure(it, status == 0 || status >= 500 ? WO_TRANSIENT
                                                       : WO_PERMANENT, NULL);
        return;
    }
    /* {"messages":[msg...]} ; a bare array of messages is accepted too */
    if (json_object_is_type(root, json_type_array))
        msgs = json_object_get(root);
    else if (json_object_object_get_ex(root, "messages", &msgs) &&
             json_object_is_type(msgs, json_type_array))
        msgs = json_object_get(msgs);
    else
        msgs = json_object_new_array();
    json_object_put(root);
    if (json_object_array_length(msgs) > HL_ARRAY_LEN(it->fwd_done)) {
        hl_log(HL_LOG_WARN, "forward_messages_dropped",
               HL_KV_S("event", it->env.id),
               HL_KV_I("answered", (long long)json_object_array_length(msgs)),
               HL_KV_I("sent", (long long)HL_ARRAY_LEN(it->fwd_done)));
    }
    it->fwd_msgs = msgs;
    it->fwd_next = 0;
    memset(it->fwd_done, 0, sizeof(it->fwd_done));
    if (read_forward_done(it) != HL_OK)
        later(it, RETRY_BASE_MS);
}

static size_t fwd_count(const struct worker_item *it) {
    size_t n = json_object_array_length(it->fwd_msgs);

    return n < HL_ARRAY_LEN(it->fwd_done) ? n : HL_ARRAY_LEN(it->fwd_done);
}

static void fwd_read_cb(struct hl_store *r, redisReply *reply, void *arg) {
    struct worker_item *it = arg;
    size_t i;

    (void)r;
    if (callback_gone(it))
        return;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        later(it, RETRY_BASE_MS);
        return;
    }
    for (i = 0; i < reply->elements && i < fwd_count(it); i++)
        it->fwd_done[i] = reply->element[i]->type == REDIS_REPLY_STRING;
    it->state = WI_ACTING;
    act(it);
}

/* Which of the forward's messages a previous run already sent: their done
 * keys are (i + 1) * FWD_SUB_BASE + j. */
static int read_forward_done(struct worker_item *it) {
    struct hl_worker *w = it->w;
    const char *argv[1 + HL_ARRAY_LEN(it->fwd_done)];
    size_t lens[1 + HL_ARRAY_LEN(it->fwd_done)];
    char keys[HL_ARRAY_LEN(it->fwd_done)][HL_KEY_MAX];
    size_t j, n = fwd_count(it);

    it->state = WI_FWD_READING;
    if (n == 0) {
        it->state = WI_ACTING;
        act(it);
        return HL_OK;
    }
    argv[0] = "MGET";
    lens[0] = 4;
    for (j = 0; j < n; j++) {
        if (hl_keys_done(w->cfg->prefix, it->part, it->env.id,
                         (int)done_index(it->action, j, 1), keys[j]) != HL_OK)
            return HL_ETOOBIG;
        argv[1 + j] = keys[j];
        lens[1 + j] = strlen(keys[j]);
    }
    if (hl_store_command(w->store, fwd_read_cb, it, 1 + (int)n, argv, lens)
        != HL_OK)
        return HL_EAGAIN;
    it->pending++;
    return HL_OK;
}

static int send_forward(struct worker_item *it,
                        const struct worker_action *a) {
    struct hl_worker *w = it->w;
    char sig[HL_SIG_LEN + 1];
    char hdr[HL_SIG_LEN + 40];
    const char *hdrs[2] = { "Content-Type: application/json", hdr };
    size_t nh = 1;
    int rc;

    if (w->cfg->n_app_secrets > 0) {
        const struct hl_secret *s = &w->cfg->app_secrets[0];
        if (hl_hmac_sign(s->buf, s->len, it->raw, it->raw_len, sig) != HL_OK)
            return HL_ERR;
        snprintf(hdr, sizeof(hdr), "X-Hookline-Signature-256: %s", sig);
        nh = 2;
    }
    rc = worker_http_post(w->http, a->url, hdrs, nh, it->raw, it->raw_len,
                          w->cfg->send_timeout_ms, forwarded_cb, it);
    if (rc == HL_OK)
        it->pending++;
    return rc;
}

/* ------------------------------------------------------------- acting */

/* Decides RESPONSE (NULL tag) or the rule's tag. Returns HL_OK, or
 * HL_EINVAL when outside the window without a tag (dead-lettered). */
static int window_tag(struct worker_item *it, const char *tag,
                      const char **out) {
    long long last = it->last_user_ms;

    if (worker_rules_user_originated(it->env.kind) && it->env.ts > last)
        last = it->env.ts;
    *out = NULL;
    if (hl_time_now_ms() - last <= WINDOW_MS)
        return HL_OK;
    if (tag == NULL) {
        memset(&it->last_error, 0, sizeof(it->last_error));
        snprintf(it->last_error.message, sizeof(it->last_error.message),
                 "last user message over 24 h ago and the rule has no tag");
        return HL_EINVAL;
    }
    *out = tag;
    return HL_OK;
}

/* Sends the next forward message not yet done; 1 when one went out. */
static int forward_next(struct worker_item *it, struct worker_page *pg,
                        const struct worker_action *a, int *rc) {
    size_t n = fwd_count(it);
    const char *tag = NULL;
    char *body = NULL;
    size_t len = 0;

    while (it->fwd_next < n && it->fwd_done[it->fwd_next])
        it->fwd_next++;
    if (it->fwd_next >= n)
        return 0;
    if (window_tag(it, a->tag, &tag) != HL_OK) {
        dead_letter(it, HL_DLQ_OUTSIDE_WINDOW);
        *rc = HL_OK;
        return 1;
    }
    *rc = worker_rules_message_body(&it->env, tag,
        json_object_array_get_idx(it->fwd_msgs, it->fwd_next), &body, &len);
    if (*rc == HL_OK)
        *rc = send_graph(it, pg, "messages", body, len);
    free(body);
    return 1;
}

static int run_action(struct worker_item *it, struct worker_page *pg,
                      const struct worker_action *a) {
    const char *tag = NULL;
    char *body = NULL;
    size_t len = 0;
    int rc;

    if (a->type == WA_FORWARD) {
        if (it->fwd_msgs == NULL)
            return send_forward(it, a);
        if (forward_next(it, pg, a, &rc))
            return rc;
        /* every message of the forward sent: the forward itself is done */
        json_object_put(it->fwd_msgs);
        it->fwd_msgs = NULL;
        it->done[it->action] = 1;
        return record_done(it, it->action);
    }
    if (a->type == WA_REPLY && window_tag(it, a->tag, &tag) != HL_OK) {
        dead_letter(it, HL_DLQ_OUTSIDE_WINDOW);
        return HL_OK;
    }
    rc = worker_rules_body(a, &it->env, tag, &body, &len);
    if (rc == HL_OK)
        rc = send_graph(it, pg, worker_rules_endpoint(a), body, len);
    free(body);
    return rc;
}

/* Sends in flight are capped (WORKER_MAX_SENDS): an item that finds no
 * slot waits in a FIFO and is woken, in order, when a transfer ends. */
static void wait_for_send_slot(struct worker_item *it) {
    struct hl_worker *w = it->w;

    it->send_next = NULL;
    if (w->send_wait_tail != NULL)
        w->send_wait_tail->send_next = it;
    else
        w->send_wait = it;
    w->send_wait_tail = it;
}

static void wake_senders(struct hl_worker *w) {
    while (w->send_wait != NULL && !w->stopping &&
           worker_http_in_flight(w->http) < WORKER_MAX_SENDS) {
        struct worker_item *it = w->send_wait;
        w->send_wait = it->send_next;
        if (w->send_wait == NULL)
            w->send_wait_tail = NULL;
        it->send_next = NULL;
        act(it);
    }
}

/* Runs the next action not yet done, or acks when none is left. */
static void act(struct worker_item *it) {
    struct hl_worker *w = it->w;
    struct worker_page *pg;
    long long now;
    int rc;

    if (w->parts[it->part].state == WP_FREE) {
        /* the lease is gone: the next owner has (or will) recover this
         * envelope from inflight; sending now could repeat its send */
        hl_log(HL_LOG_WARN, "event_left_to_new_owner",
               HL_KV_S("event", it->env.id), HL_KV_I("partition", it->part));
        worker_lane_done(it);
        return;
    }
    while (it->action < it->ndone && it->done[it->action])
        it->action++;
    if (it->action >= it->ndone) {
        count(it, ER_PROCESSED);
        finish(it);
        return;
    }
    pg = worker_page_find(w, it->env.page);
    if (pg == NULL) {
        memset(&it->last_error, 0, sizeof(it->last_error));
        snprintf(it->last_error.message, sizeof(it->last_error.message),
                 "no access token configured for this page");
        dead_letter(it, HL_DLQ_TOKEN_INVALID);
        return;
    }
    now = hl_time_mono_ms();
    if (pg->paused_until_ms > now) {
        later(it, pg->paused_until_ms - now);
        return;
    }
    if (worker_http_in_flight(w->http) >= WORKER_MAX_SENDS) {
        wait_for_send_slot(it);
        return;
    }
    rc = run_action(it, pg, &it->rule->actions[it->action]);
    if (rc == HL_EAGAIN) {
        later(it, RETRY_BASE_MS);   /* Redis not ready for a record */
    } else if (rc != HL_OK) {
        hl_log(HL_LOG_ERROR, "action_failed", HL_KV_S("event", it->env.id),
               HL_KV_S("error", hl_strerror(rc)));
        after_failure(it, WO_TRANSIENT, pg);
    }
}
