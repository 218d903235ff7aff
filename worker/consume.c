/* consume.c - reliable consumption (G3): envelopes move atomically from a
 * partition's queue to its in-flight list (pop.lua), are acked only after
 * their effects are recorded (finish.lua: conversation update + LREM), or
 * handed back unstarted (handback.lua). A partition just taken first has
 * its in-flight list recovered: the previous owner's unfinished work.
 *
 * Pops are polled per owned partition (blocking pops would stall the one
 * shared connection): immediately again while there is work, backing off
 * to POLL_IDLE_MAX_MS when idle. Envelopes held in memory are bounded by
 * WORKER_MAX_ITEMS.
 *
 * Recovered envelopes settle (G4 across a takeover): none of the
 * partition's lanes starts until a pop has emptied its queue (or no pop
 * can be made). The previous owner may have died between popping an event
 * and popping an older one that reached ingest within its reorder window;
 * that one is still in the queue, and would otherwise run second. */
#include "worker.h"
#include "hl_keys.h"
#include "hl_log.h"
#include "hl_time.h"

#include <stdio.h>
#include <string.h>

#define POLL_IDLE_MAX_MS 20

static void schedule_poll(struct worker_part *p, long long ms);
static void poll_pop(struct worker_part *p);

/* The partition's queue has been read up to now: its lanes may run. */
static void settle_end(struct worker_part *p) {
    p->settling = 0;
    worker_lanes_kick_part(p->w, p->n);
}

/* 1 when no pop can come: the partition is not ours to pop, or memory is
 * full of envelopes with nothing being fetched (room only frees when some
 * run, and a settling partition's cannot). Room merely reserved by a pop
 * or recovery read in flight frees when its reply comes. */
static int pop_blocked(const struct hl_worker *w,
                       const struct worker_part *p) {
    return p->state != WP_OWNED || w->draining || p->recover_again ||
           (w->items >= WORKER_MAX_ITEMS && w->fetching == 0);
}

int worker_consume_read_since(const struct hl_worker *w,
                              const struct worker_part *p, long long since) {
    return p->drained_ms >= since || p->read_rx_ms >= since ||
           pop_blocked(w, p);
}

static int can_pop(const struct hl_worker *w, const struct worker_part *p) {
    return p->state == WP_OWNED && !w->draining && !p->pop_pending &&
           !p->recovering && !p->recover_again &&
           w->items + w->fetching < WORKER_MAX_ITEMS &&
           hl_store_ready(w->store);
}

/* Adds a batch of envelopes, oldest first: pop.lua lists them oldest
 * first, LRANGE of inflight newest first (LMOVE pushed them on the left). */
static void add_items(struct hl_worker *w, struct worker_part *p,
                      redisReply *reply, int redelivered) {
    size_t k;

    worker_lanes_batch_begin(w);
    for (k = 0; k < reply->elements; k++) {
        size_t i = redelivered ? reply->elements - 1 - k : k;
        redisReply *e = reply->element[i];
        char *raw;
        if (e->type != REDIS_REPLY_STRING)
            continue;
        raw = malloc(e->len + 1);
        if (raw == NULL) {
            hl_log(HL_LOG_ERROR, "out_of_memory", HL_KV_S("where", "pop"));
            continue;     /* it stays in inflight: recovered later */
        }
        memcpy(raw, e->str, e->len);
        raw[e->len] = '\0';
        /* takes ownership of raw */
        (void)worker_lane_add(w, raw, e->len, p->n, redelivered);
    }
    worker_lanes_batch_end(w);
}

static void ignore_reply_cb(struct hl_store *r, redisReply *reply,
                            void *arg) {
    (void)r;
    (void)reply;
    (void)arg;
}

/* Popped for a partition that is being given up (or was lost): straight
 * back to its queue, so they wait for no lease to expire. Newest first
 * (the pop listed them oldest first), so the oldest is popped first. */
static void handback_all(struct hl_worker *w, struct worker_part *p,
                         redisReply *reply) {
    size_t k;

    for (k = 0; k < reply->elements; k++) {
        redisReply *e = reply->element[reply->elements - 1 - k];
        const char *argv[3] = { p->inflight, p->q, e->str };
        size_t lens[3] = { strlen(p->inflight), strlen(p->q), e->len };
        if (e->type == REDIS_REPLY_STRING)
            (void)hl_store_script(w->store, HL_SCRIPT_HANDBACK, 2, 3, argv,
                                  lens, ignore_reply_cb, NULL);
    }
}

static void pop_reply_cb(struct hl_store *r, redisReply *reply, void *arg) {
    struct worker_part *p = arg;
    struct hl_worker *w = p->w;
    long asked = p->pop_asked;

    (void)r;
    p->pop_pending = 0;
    w->fetching -= p->pop_asked;
    p->pop_asked = 0;
    if (w->stopping)
        return;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
            hl_log(HL_LOG_WARN, "pop_failed", HL_KV_I("partition", p->n),
                   HL_KV_S("error", reply->str));
        /* the script may have moved envelopes before the reply was lost:
         * read inflight before popping again */
        p->must_recover = 1;
        schedule_poll(p, POLL_IDLE_MAX_MS);
        return;
    }
    if (p->state == WP_OWNED)
        add_items(w, p, reply, 0);
    else
        handback_all(w, p, reply);
    /* a short pop: what was enqueued before it was sent is in memory
     * (heads waiting for that, lane.c, see it at their next check) */
    if ((long)reply->elements < asked && p->pop_sent_ms > p->drained_ms)
        p->drained_ms = p->pop_sent_ms;
    /* a short pop emptied the queue: nothing older is left behind */
    if (p->settling && ((long)reply->elements < asked ||
                        p->state != WP_OWNED))
        settle_end(p);
    if (reply->elements > 0) {
        p->poll_delay_ms = 0;
    } else {
        p->poll_delay_ms = p->poll_delay_ms * 2 + 1;
        if (p->poll_delay_ms > POLL_IDLE_MAX_MS)
            p->poll_delay_ms = POLL_IDLE_MAX_MS;
    }
    schedule_poll(p, p->poll_delay_ms);
}

static void poll_now(struct worker_part *p) {
    struct hl_worker *w = p->w;

    if ((p->must_recover || (p->recover_again && p->items == 0)) &&
        p->state == WP_OWNED && !p->recovering && !p->pop_pending &&
        hl_store_ready(w->store)) {
        p->recover_again = 0;
        worker_consume_start(w, p);
        return;
    }
    poll_pop(p);
}

static void poll_pop(struct worker_part *p) {
    struct hl_worker *w = p->w;
    char max[24];
    const char *argv[3] = { p->q, p->inflight, max };
    size_t lens[3];
    long room = WORKER_MAX_ITEMS - w->items - w->fetching;

    if (!can_pop(w, p)) {
        if (p->settling && pop_blocked(w, p))
            settle_end(p);
        else if (p->settling && room < 1)
            schedule_poll(p, POLL_IDLE_MAX_MS);  /* room is reserved */
        return;
    }
    snprintf(max, sizeof(max), "%ld",
             room < WORKER_POP_BATCH ? room : WORKER_POP_BATCH);
    lens[0] = strlen(p->q);
    lens[1] = strlen(p->inflight);
    lens[2] = strlen(max);
    if (hl_store_script(w->store, HL_SCRIPT_POP, 2, 3, argv, lens,
                        pop_reply_cb, p) == HL_OK) {
        p->pop_pending = 1;
        p->pop_sent_ms = hl_time_now_ms();
        p->pop_asked = room < WORKER_POP_BATCH ? room : WORKER_POP_BATCH;
        w->fetching += p->pop_asked;
    }
    else
        schedule_poll(p, POLL_IDLE_MAX_MS);
}

static void poll_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    poll_now(arg);
}

static void schedule_poll(struct worker_part *p, long long ms) {
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    if (p->poll_timer == NULL) {
        p->poll_timer = evtimer_new(p->w->base, poll_cb, p);
        if (p->poll_timer == NULL)
            return;
    }
    evtimer_add(p->poll_timer, &tv);
}

static void recover_reply_cb(struct hl_store *r, redisReply *reply,
                             void *arg) {
    struct worker_part *p = arg;
    struct hl_worker *w = p->w;

    (void)r;
    p->recovering = 0;
    w->fetching -= p->recover_want;
    if (w->stopping)
        return;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        /* the previous owner's work is unread: try again, pop nothing */
        p->must_recover = 1;
        schedule_poll(p, POLL_IDLE_MAX_MS);
        return;
    }
    p->must_recover = 0;
    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY &&
        p->state == WP_OWNED) {
        if (reply->elements > 0)
            hl_log(HL_LOG_INFO, "recovering_inflight",
                   HL_KV_I("partition", p->n),
                   HL_KV_I("items", (long long)reply->elements));
        hl_metric_add(w->m.redeliveries, (double)reply->elements);
        p->recover_again = (long)reply->elements >= p->recover_want;
        /* with more to read than memory holds, no pop comes soon: run */
        p->settling = reply->elements > 0 && !p->recover_again;
        add_items(w, p, reply, 1);
    }
    schedule_poll(p, 0);
}

/* 1 when another partition's in-flight read is pending. */
static int other_recovering(const struct hl_worker *w,
                            const struct worker_part *p) {
    long n;

    for (n = 0; n < w->nparts; n++) {
        if (w->parts[n].recovering && &w->parts[n] != p)
            return 1;
    }
    return 0;
}

void worker_consume_start(struct hl_worker *w, struct worker_part *p) {
    char lo[24];
    const char *argv[4] = { "LRANGE", p->inflight, lo, "-1" };
    size_t lens[4];

    /* one partition at a time: each read reserves all the room left in
     * memory, so reads in parallel (partitions taken over together) left
     * all but the first one envelope each, too little to settle on */
    if (other_recovering(w, p)) {
        p->must_recover = 1;
        schedule_poll(p, 1);
        return;
    }
    /* bounded by the room left in memory; the rest on a later read */
    p->recover_want = WORKER_MAX_ITEMS - w->items - w->fetching;
    if (p->recover_want < 1)
        p->recover_want = 1;
    snprintf(lo, sizeof(lo), "%ld", -p->recover_want);
    lens[0] = 6;
    lens[1] = strlen(p->inflight);
    lens[2] = strlen(lo);
    lens[3] = 2;
    p->poll_delay_ms = 0;
    if (hl_store_command(w->store, recover_reply_cb, p, 4, argv, lens)
        == HL_OK) {
        p->recovering = 1;
        w->fetching += p->recover_want;
    } else {
        p->must_recover = 1;
        schedule_poll(p, POLL_IDLE_MAX_MS);
    }
}

void worker_consume_reconnected(struct hl_worker *w) {
    long n;

    for (n = 0; n < w->nparts; n++) {
        if (w->parts[n].state == WP_OWNED) {
            w->parts[n].must_recover = 1;
            schedule_poll(&w->parts[n], 0);
        }
    }
}

void worker_consume_kick(struct hl_worker *w) {
    long n;

    for (n = 0; n < w->nparts; n++) {
        struct worker_part *p = &w->parts[n];
        if (can_pop(w, p) && p->poll_timer != NULL &&
            !evtimer_pending(p->poll_timer, NULL))
            schedule_poll(p, 0);
    }
}

/* ------------------------------------------------------ ack, handback */

static void ack_reply_cb(struct hl_store *r, redisReply *reply, void *arg) {
    struct worker_item *it = arg;
    int ok = reply != NULL && reply->type == REDIS_REPLY_INTEGER;

    (void)r;
    it->pending--;
    if (it->w->stopping || it->abandoned) {
        if (it->abandoned && it->pending == 0)
            worker_item_free(it);
        return;
    }
    if (!ok)
        hl_log(HL_LOG_WARN, "ack_failed", HL_KV_S("event", it->env.id),
               HL_KV_S("error", reply && reply->str ? reply->str
                                                    : "connection lost"));
    worker_item_acked(it, ok);
}

/* An envelope that does not parse has no conversation: plain LREM. */
static int ack_unparsed(struct worker_item *it, struct worker_part *p) {
    const char *argv[4] = { "LREM", p->inflight, "1", it->raw };
    size_t lens[4] = { 4, strlen(p->inflight), 1, it->raw_len };
    int rc;

    rc = hl_store_command(it->w->store, ack_reply_cb, it, 4, argv, lens);
    if (rc == HL_OK)
        it->pending++;
    return rc;
}

int worker_ack(struct worker_item *it) {
    struct hl_worker *w = it->w;
    struct worker_part *p = &w->parts[it->part];
    char conv[HL_KEY_MAX], ts[24], uts[24], ttl[24];
    const char *argv[8];
    size_t lens[8];
    int i, rc;

    if (it->env.root == NULL)
        return ack_unparsed(it, p);
    rc = hl_keys_conv(w->cfg->prefix, it->part, it->env.page, it->env.user,
                      conv);
    if (rc != HL_OK)
        return rc;
    snprintf(ts, sizeof(ts), "%lld", it->env.ts);
    if (worker_rules_user_originated(it->env.kind) && !it->env.standby)
        snprintf(uts, sizeof(uts), "%lld", it->env.ts);
    else
        uts[0] = '\0';
    snprintf(ttl, sizeof(ttl), "%lld", w->cfg->dedupe_ttl);
    argv[0] = p->inflight;
    argv[1] = conv;
    argv[2] = it->raw;
    argv[3] = ts;
    argv[4] = uts;
    argv[5] = ttl;
    argv[6] = HL_CONV_LAST_TS;
    argv[7] = HL_CONV_LAST_USER;
    for (i = 0; i < 8; i++)
        lens[i] = i == 2 ? it->raw_len : strlen(argv[i]);
    rc = hl_store_script(w->store, HL_SCRIPT_FINISH, 2, 8, argv, lens,
                         ack_reply_cb, it);
    if (rc == HL_OK)
        it->pending++;
    return rc;
}

static void handback_reply_cb(struct hl_store *r, redisReply *reply,
                              void *arg) {
    struct worker_item *it = arg;

    (void)r;
    (void)reply;
    it->pending--;
    if (it->abandoned && it->pending == 0)
        worker_item_free(it);
}

int worker_handback(struct worker_item *it) {
    struct hl_worker *w = it->w;
    struct worker_part *p = &w->parts[it->part];
    const char *argv[3] = { p->inflight, p->q, it->raw };
    size_t lens[3] = { strlen(p->inflight), strlen(p->q), it->raw_len };
    int rc;

    rc = hl_store_script(w->store, HL_SCRIPT_HANDBACK, 2, 3, argv, lens,
                         handback_reply_cb, it);
    if (rc == HL_OK)
        it->pending++;
    return rc;
}
