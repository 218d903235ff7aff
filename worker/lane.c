/* lane.c - the reorder window and per-conversation lanes (G4).
 *
 * Every popped envelope goes into its conversation's lane, kept in (ts,
 * event id) order. The lane's head runs once its own window has passed
 * (now >= rx + HOOKLINE_REORDER_MS), its partition's queue has been read
 * past that moment (a pop sent after it found the queue empty, or popped
 * an envelope ingest received later: so nothing that reached ingest
 * within the window is still queued, however slow the pops were), and
 * nothing else of the lane is running. Since the head is the smallest ts
 * present, an event that reaches ingest within the window of another is
 * always seen before that other runs, so events within the window run in
 * timestamp order. Lanes run in parallel; one lane runs one event at a
 * time.
 *
 * Envelopes recovered from a partition's in-flight list obey the same
 * window, and no head of a partition starts while it is settling (its
 * recovered envelopes wait for the queue to be popped, consume.c): an
 * older event that reached ingest within the window of a recovered one,
 * while the partition had no live owner, sits in the queue and must join
 * the lane before the recovered one runs. */
#include "worker.h"
#include "hl_log.h"
#include "hl_partition.h"
#include "hl_time.h"

#include <string.h>

#define NBUCKETS 4096
#define READ_RECHECK_MS 20    /* a head waiting for its queue to be read */

int worker_lanes_init(struct hl_worker *w) {
    w->nbuckets = NBUCKETS;
    w->lanes = calloc(w->nbuckets, sizeof(*w->lanes));
    return w->lanes ? HL_OK : HL_ENOMEM;
}

static size_t bucket_of(const struct hl_worker *w, const char *key) {
    return (size_t)(hl_partition_fnv1a64(HL_FNV_OFFSET, key, strlen(key)) %
                    w->nbuckets);
}

static void lane_free(struct worker_lane *l) {
    if (l->timer != NULL)
        event_free(l->timer);
    free(l->key);
    free(l);
}

/* Unlinks and frees an empty, idle lane. */
static void lane_maybe_drop(struct worker_lane *l) {
    struct hl_worker *w = l->w;
    struct worker_lane **pp;

    if (l->head != NULL || l->running != NULL || l->in_kick_list ||
        l->in_ready)
        return;
    pp = &w->lanes[bucket_of(w, l->key)];
    while (*pp != NULL && *pp != l)
        pp = &(*pp)->hnext;
    if (*pp == l)
        *pp = l->hnext;
    lane_free(l);
}

static void lane_timer_cb(evutil_socket_t fd, short what, void *arg);

static struct worker_lane *lane_get(struct hl_worker *w, const char *page,
                                    const char *user, long part) {
    size_t plen = strlen(page), ulen = strlen(user);
    char *key = malloc(plen + ulen + 2);
    struct worker_lane *l;
    size_t b;

    if (key == NULL)
        return NULL;
    memcpy(key, page, plen);
    key[plen] = '\n';              /* cannot occur inside an id */
    memcpy(key + plen + 1, user, ulen + 1);
    b = bucket_of(w, key);
    for (l = w->lanes[b]; l != NULL; l = l->hnext) {
        if (strcmp(l->key, key) == 0) {
            free(key);
            return l;
        }
    }
    l = calloc(1, sizeof(*l));
    if (l == NULL) {
        free(key);
        return NULL;
    }
    l->key = key;
    l->part = part;
    l->w = w;
    l->timer = evtimer_new(w->base, lane_timer_cb, l);
    if (l->timer == NULL) {
        lane_free(l);
        return NULL;
    }
    l->hnext = w->lanes[b];
    w->lanes[b] = l;
    return l;
}

static int before(const struct worker_item *a, const struct worker_item *b) {
    if (a->qts != b->qts)
        return a->qts < b->qts;
    return strcmp(a->qid, b->qid) < 0;
}

static int same(const struct worker_item *a, const struct worker_item *b) {
    return a != NULL && a->raw_len == b->raw_len &&
           memcmp(a->raw, b->raw, a->raw_len) == 0;
}

/* Runs the head when its window has passed, else arms the lane timer. */
static void lane_kick(struct worker_lane *l) {
    struct hl_worker *w = l->w;
    struct worker_item *it = l->head;
    long long due, now;

    if (l->running != NULL || it == NULL || w->stopping ||
        w->parts[l->part].settling)
        return;
    if (w->adding) {
        if (!l->in_kick_list) {
            l->in_kick_list = 1;
            l->kick_next = w->kick_list;
            w->kick_list = l;
        }
        return;
    }
    due = it->qrx + w->cfg->reorder_ms;
    now = hl_time_now_ms();
    if (w->cfg->reorder_ms > 0 && now < due) {
        struct timeval tv = { (due - now) / 1000, ((due - now) % 1000) * 1000 };
        evtimer_add(l->timer, &tv);
        return;
    }
    /* the window has passed, but an older event that reached ingest
     * within it may still sit in the queue if pops were slow (a slow or
     * failing Redis node): wait until a pop sent after the window found
     * the queue empty or popped a later envelope (checked again every
     * READ_RECHECK_MS: a kick per pop reply would walk every lane) */
    if (w->cfg->reorder_ms > 0 &&
        !worker_consume_read_since(w, &w->parts[l->part], due)) {
        struct timeval tv = { 0, READ_RECHECK_MS * 1000 };
        evtimer_add(l->timer, &tv);
        return;
    }
    if (w->nrunning >= WORKER_MAX_RUNNING) {
        /* due, but the worker runs enough at once: wait for a slot, in
         * the order lanes became due */
        if (!l->in_ready) {
            l->in_ready = 1;
            l->ready_next = NULL;
            if (w->ready_tail != NULL)
                w->ready_tail->ready_next = l;
            else
                w->ready = l;
            w->ready_tail = l;
        }
        return;
    }
    l->head = it->next;
    it->next = NULL;
    l->running = it;
    w->nrunning++;
    worker_item_start(it);
}

/* Gives freed run slots to the lanes waiting for one. */
static void run_ready(struct hl_worker *w) {
    while (w->ready != NULL && w->nrunning < WORKER_MAX_RUNNING &&
           !w->stopping) {
        struct worker_lane *l = w->ready;
        w->ready = l->ready_next;
        if (w->ready == NULL)
            w->ready_tail = NULL;
        l->ready_next = NULL;
        l->in_ready = 0;
        lane_kick(l);
        lane_maybe_drop(l);
    }
}

static void lane_timer_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    lane_kick(arg);
}

int worker_lane_add(struct hl_worker *w, char *raw, size_t len, long part,
                    int redelivered) {
    struct worker_item *it = calloc(1, sizeof(*it));
    struct worker_item **pp;
    struct worker_lane *l;

    if (it == NULL) {
        free(raw);
        return HL_ENOMEM;
    }
    it->w = w;
    it->raw = raw;
    it->raw_len = len;
    it->part = part;
    it->redelivered = redelivered;
    if (hl_envelope_parse(raw, len, &it->env) != HL_OK) {
        /* not ours to understand: dead-letter it so nothing is lost */
        hl_log(HL_LOG_ERROR, "bad_envelope", HL_KV_I("partition", part),
               HL_KV_I("bytes", (long long)len));
        it->bad = 1;
        w->items++;
        w->parts[part].items++;
        worker_item_start(it);   /* process.c dead-letters it */
        return HL_EINVAL;
    }
    it->qid = strdup(it->env.id);
    it->qts = it->env.ts;
    it->qrx = it->env.rx;
    if (!redelivered &&
        it->env.rx - WORKER_RX_SLACK_MS > w->parts[part].read_rx_ms)
        w->parts[part].read_rx_ms = it->env.rx - WORKER_RX_SLACK_MS;
    l = it->qid ? lane_get(w, it->env.page, it->env.user, part) : NULL;
    /* the parsed tree is ~10x the bytes: a waiting item keeps only the
     * bytes; it is parsed again when it starts */
    hl_envelope_cleanup(&it->env);
    if (l == NULL) {
        worker_item_free(it);
        return HL_ENOMEM;
    }
    /* Recovered twice (re-reading inflight after a lost reply or a lease
     * taken back): the copy in memory already stands for it, run it once.
     * A popped item is never dropped: each pop made its own copy in
     * inflight (the same bytes queued twice, e.g. a requeue racing its
     * own dead letter), and a dropped one would stay there unacked. Its
     * second run finds the done keys and sends nothing again. */
    for (pp = &l->head; redelivered && *pp != NULL; pp = &(*pp)->next) {
        if (same(*pp, it))
            break;
    }
    if (redelivered && (*pp != NULL || same(l->running, it))) {
        worker_item_free(it);
        return HL_OK;
    }
    for (pp = &l->head; *pp != NULL && !before(it, *pp); pp = &(*pp)->next)
        ;
    it->next = *pp;
    *pp = it;
    it->lane = l;
    w->items++;
    w->parts[part].items++;
    if (l->head == it)
        evtimer_del(l->timer);
    lane_kick(l);
    return HL_OK;
}

void worker_lanes_batch_begin(struct hl_worker *w) {
    w->adding = 1;
}

void worker_lanes_batch_end(struct hl_worker *w) {
    w->adding = 0;
    while (w->kick_list != NULL) {
        struct worker_lane *l = w->kick_list;
        w->kick_list = l->kick_next;
        l->kick_next = NULL;
        l->in_kick_list = 0;
        lane_kick(l);
    }
}

/* The running item of a lane finished (acked, dead-lettered or given
 * up): free it and start the next. Items without a lane (bad envelopes)
 * are just freed. */
void worker_lane_done(struct worker_item *it) {
    struct hl_worker *w = it->w;
    struct worker_lane *l = it->lane;
    struct worker_part *part;

    if (it->pending > 0) {
        it->abandoned = 1;
        return;
    }
    w->items--;
    w->parts[it->part].items--;
    if (l != NULL && l->running == it) {
        l->running = NULL;
        w->nrunning--;
    }
    part = &w->parts[it->part];
    worker_item_free(it);
    if (part->items == 0 && part->recover_again && part->state == WP_OWNED) {
        /* the in-flight list held more than one read: read the rest now
         * that this worker has room (ours are all acked) */
        part->recover_again = 0;
        worker_consume_start(w, part);
    }
    if (l != NULL) {
        lane_kick(l);
        lane_maybe_drop(l);
    }
    run_ready(w);
    worker_consume_kick(w);
    worker_maybe_exit(w);
}

/* Drops the queued (not running) items of a partition: handed back to
 * the queue (giving a partition up, draining) or simply forgotten (lease
 * lost: they stay in Redis's inflight for the next owner). */
/* Detaches a lane's queued items. A hand-back RPUSHes each to the end the
 * next owner pops first, so they go newest first: the oldest is popped
 * first again. */
static void drop_lane_items(struct hl_worker *w, struct worker_lane *l,
                            int handback) {
    struct worker_item *rev = NULL;

    while (l->head != NULL) {
        struct worker_item *it = l->head;
        l->head = it->next;
        it->next = rev;
        rev = it;
    }
    while (rev != NULL) {
        struct worker_item *it = rev;
        rev = it->next;
        it->next = NULL;
        it->lane = NULL;
        w->items--;
        w->parts[it->part].items--;
        if (handback && worker_handback(it) == HL_OK)
            it->abandoned = 1;  /* freed by its callback */
        else
            worker_item_free(it);
    }
}

void worker_lanes_drop_part(struct hl_worker *w, long part, int handback) {
    size_t b;

    for (b = 0; b < w->nbuckets; b++) {
        struct worker_lane *l = w->lanes[b];
        while (l != NULL) {
            struct worker_lane *next = l->hnext;
            if (l->part == part || part < 0) {
                drop_lane_items(w, l, handback);
                evtimer_del(l->timer);
                lane_maybe_drop(l);
            }
            l = next;
        }
    }
}

/* Kicks inside a batch: lanes start at its end, from the kick list, so
 * none is freed while the buckets are walked. */
void worker_lanes_kick_part(struct hl_worker *w, long part) {
    size_t b;

    worker_lanes_batch_begin(w);
    for (b = 0; b < w->nbuckets; b++) {
        struct worker_lane *l;
        for (l = w->lanes[b]; l != NULL; l = l->hnext) {
            if (l->part == part)
                lane_kick(l);
        }
    }
    worker_lanes_batch_end(w);
}

long worker_lanes_running(const struct hl_worker *w) {
    long n = 0;
    size_t b;

    for (b = 0; b < w->nbuckets; b++) {
        const struct worker_lane *l;
        for (l = w->lanes[b]; l != NULL; l = l->hnext)
            n += l->running != NULL;
    }
    return n;
}

void worker_lanes_cleanup(struct hl_worker *w) {
    size_t b;

    for (b = 0; w->lanes != NULL && b < w->nbuckets; b++) {
        while (w->lanes[b] != NULL) {
            struct worker_lane *l = w->lanes[b];
            w->lanes[b] = l->hnext;
            while (l->head != NULL) {
                struct worker_item *it = l->head;
                l->head = it->next;
                worker_item_free(it);
            }
            if (l->running != NULL)
                worker_item_free(l->running);
            lane_free(l);
        }
    }
    HL_FREE(w->lanes);
}
