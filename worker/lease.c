/* lease.c - partition ownership (G3b). Each tick: renew what we own by
 * compare-and-expire, give back what is over our share (after its work in
 * memory is finished or handed back), and try to take free partitions up
 * to our share. A partition taken first has its in-flight list recovered
 * (consume.c): that is the previous owner's unfinished work.
 *
 * A renewal that has not succeeded for most of a lease time means the
 * lease may be gone: the partition is given up locally rather than
 * pretending (its in-flight items stay in Redis for the next owner). */
#include "worker.h"
#include "hl_keys.h"
#include "hl_log.h"
#include "hl_partition.h"
#include "hl_time.h"

#include <stdio.h>
#include <string.h>

int worker_parts_init(struct hl_worker *w) {
    long n;

    w->nparts = w->cfg->partitions;
    w->parts = calloc((size_t)w->nparts, sizeof(*w->parts));
    if (w->parts == NULL)
        return HL_ENOMEM;
    for (n = 0; n < w->nparts; n++) {
        struct worker_part *p = &w->parts[n];
        p->n = n;
        p->w = w;
        if (hl_keys_queue(w->cfg->prefix, n, p->q) != HL_OK ||
            hl_keys_inflight(w->cfg->prefix, n, p->inflight) != HL_OK ||
            hl_keys_lease(w->cfg->prefix, n, p->lease) != HL_OK)
            return HL_ETOOBIG;
    }
    return HL_OK;
}

void worker_parts_cleanup(struct hl_worker *w) {
    long n;

    for (n = 0; w->parts != NULL && n < w->nparts; n++) {
        if (w->parts[n].poll_timer != NULL)
            event_free(w->parts[n].poll_timer);
    }
    HL_FREE(w->parts);
}

/* One lease script call; the reply goes to `cb` with the part. */
static int lease_call(struct hl_worker *w, struct worker_part *p,
                      const char *op, hl_store_cb *cb) {
    char ms[24];
    const char *argv[4];
    size_t lens[4];
    int rc;

    snprintf(ms, sizeof(ms), "%lld", w->cfg->lease_ms);
    argv[0] = p->lease;
    argv[1] = op;
    argv[2] = w->id;
    argv[3] = ms;
    lens[0] = strlen(p->lease);
    lens[1] = strlen(op);
    lens[2] = strlen(w->id);
    lens[3] = strlen(ms);
    rc = hl_store_script(w->store, HL_SCRIPT_LEASE, 1, 4, argv, lens, cb, p);
    if (rc == HL_OK)
        p->lease_call = 1;
    return rc;
}

void worker_part_lost(struct hl_worker *w, struct worker_part *p) {
    if (p->state == WP_FREE)
        return;
    hl_log(HL_LOG_WARN, "lease_lost", HL_KV_I("partition", p->n));
    p->state = WP_FREE;
    w->owned--;
    /* queued items stay in Redis's inflight for the next owner; running
     * ones finish (their effects are idempotent by done keys) */
    worker_lanes_drop_part(w, p->n, 0);
}

static void release_reply_cb(struct hl_store *r, redisReply *reply,
                             void *arg) {
    struct worker_part *p = arg;

    (void)r;
    (void)reply;
    p->lease_call = 0;
}

/* Gives the lease back once nothing of the partition is in memory. */
static void finish_release(struct hl_worker *w, struct worker_part *p) {
    if (p->state != WP_RELEASING || p->items > 0 || p->lease_call ||
        p->pop_pending || p->recovering)
        return;
    p->state = WP_FREE;
    w->owned--;
    hl_log(HL_LOG_INFO, "lease_released", HL_KV_I("partition", p->n));
    if (lease_call(w, p, "release", release_reply_cb) != HL_OK)
        hl_log(HL_LOG_WARN, "lease_release_failed",
               HL_KV_I("partition", p->n));
}

static void renew_reply_cb(struct hl_store *r, redisReply *reply, void *arg) {
    struct worker_part *p = arg;
    struct hl_worker *w = p->w;

    (void)r;
    p->lease_call = 0;
    if (w->stopping || reply == NULL || reply->type != REDIS_REPLY_INTEGER)
        return;
    if (reply->integer == 1) {
        p->renewed_ms = hl_time_mono_ms();
        finish_release(w, p);
        return;
    }
    worker_part_lost(w, p);
}

static void acquire_reply_cb(struct hl_store *r, redisReply *reply,
                             void *arg) {
    struct worker_part *p = arg;
    struct hl_worker *w = p->w;

    (void)r;
    p->lease_call = 0;
    if (w->stopping || reply == NULL || reply->type != REDIS_REPLY_INTEGER ||
        reply->integer != 1 || p->state != WP_FREE)
        return;
    p->state = WP_OWNED;
    p->renewed_ms = hl_time_mono_ms();
    w->owned++;
    hl_log(HL_LOG_INFO, "lease_acquired", HL_KV_I("partition", p->n),
           HL_KV_I("owned", w->owned), HL_KV_I("target", w->target));
    if (w->draining || w->owned > w->target) {
        /* raced past our share (or stopping): give it straight back */
        p->state = WP_RELEASING;
        finish_release(w, p);
        return;
    }
    worker_consume_start(w, p);
}

/* Picks the owned partitions holding the least work to give back. */
static void shed_down_to(struct hl_worker *w, long keep) {
    long extra = w->owned - keep;
    long n;

    for (n = 0; n < w->nparts && extra > 0; n++) {
        struct worker_part *p = &w->parts[n];
        if (p->state != WP_OWNED || p->items > 0)
            continue;
        p->state = WP_RELEASING;
        extra--;
    }
    for (n = 0; n < w->nparts && extra > 0; n++) {
        struct worker_part *p = &w->parts[n];
        if (p->state != WP_OWNED)
            continue;
        p->state = WP_RELEASING;
        worker_lanes_drop_part(w, p->n, 1);
        extra--;
    }
}

/* 1 when the last scan found a lease nobody holds. */
static int any_free(const struct hl_worker *w) {
    long n;

    for (n = 0; n < w->nparts; n++) {
        if (w->parts[n].holder[0] == '\0')
            return 1;
    }
    return 0;
}

/* Nothing is free but a live worker holds less than floor(P/W) (a new
 * one holds nothing): those above the floor give one back per tick, so
 * every worker ends between floor and ceil (readiness needs the floor). */
static void make_room(struct hl_worker *w) {
    long floor_share = w->nparts / (w->live > 0 ? w->live : 1);
    long owners = 0, min = w->nparts;
    long i, j;

    if (w->owned <= floor_share)
        return;
    for (i = 0; i < w->nparts; i++) {
        const char *a = w->parts[i].holder;
        long count = 0;
        int first = 1;
        if (a[0] == '\0')
            continue;
        for (j = 0; j < w->nparts; j++) {
            if (strcmp(a, w->parts[j].holder) != 0)
                continue;
            if (j < i)
                first = 0;
            count++;
        }
        if (first) {
            owners++;
            if (count < min)
                min = count;
        }
    }
    /* with more workers than partitions (floor 0) someone must hold none:
     * giving one back would only move it around forever */
    if ((owners < w->live && floor_share > 0) || min < floor_share)
        shed_down_to(w, w->owned - 1);
}

/* Every lease has been read (parts[].holder): take free ones up to our
 * share, or make room for a worker below its share. */
static void scan_done(struct hl_worker *w) {
    long want = w->target - w->owned;
    long start = (long)(hl_partition_fnv1a64(HL_FNV_OFFSET, w->id,
                                             strlen(w->id)) %
                        (uint64_t)w->nparts);
    long i;

    if (w->stopping || w->draining || w->scan_failed)
        return;
    if (want <= 0 || !any_free(w)) {
        make_room(w);
        return;
    }
    /* only partitions nobody holds, starting at a place of our own so
     * workers joining together do not all race for the same ones */
    for (i = 0; i < w->nparts && want > 0; i++) {
        long n = (start + i) % w->nparts;
        struct worker_part *p = &w->parts[n];
        if (p->holder[0] != '\0' || p->state != WP_FREE || p->lease_call)
            continue;
        if (lease_call(w, p, "acquire", acquire_reply_cb) == HL_OK)
            want--;
    }
}

static void lease_read_cb(struct hl_store *r, redisReply *reply, void *arg) {
    struct worker_part *p = arg;
    struct hl_worker *w = p->w;

    (void)r;
    if (reply != NULL && reply->type == REDIS_REPLY_STRING)
        snprintf(p->holder, sizeof(p->holder), "%.*s", (int)reply->len,
                 reply->str);
    else if (reply != NULL && reply->type == REDIS_REPLY_NIL)
        p->holder[0] = '\0';
    else
        w->scan_failed = 1;
    if (--w->scan_pending == 0)
        scan_done(w);
}

/* Reads every lease (one GET each: a partition's lease is in its own
 * cluster slot, so one MGET cannot read them all), then scan_done(). */
static void take_free(struct hl_worker *w) {
    long n;

    if (w->scan_pending > 0)
        return;
    w->scan_failed = 0;
    for (n = 0; n < w->nparts; n++) {
        struct worker_part *p = &w->parts[n];
        const char *argv[2] = { "GET", p->lease };
        size_t lens[2] = { 3, strlen(p->lease) };

        if (hl_store_command(w->store, lease_read_cb, p, 2, argv, lens)
            != HL_OK) {
            w->scan_failed = 1;   /* the replies that come are ignored */
            break;
        }
        w->scan_pending++;
    }
}

void worker_lease_tick(struct hl_worker *w) {
    long long now = hl_time_mono_ms();
    long n;

    for (n = 0; n < w->nparts; n++) {
        struct worker_part *p = &w->parts[n];
        if (p->state == WP_FREE)
            continue;
        if (now - p->renewed_ms > w->cfg->lease_ms * 4 / 5) {
            worker_part_lost(w, p);
            continue;
        }
        if (!p->lease_call)
            (void)lease_call(w, p, "renew", renew_reply_cb);
        finish_release(w, p);
    }
    if (!hl_store_ready(w->store) || w->target == 0)
        return;
    if (w->draining) {
        return;
    }
    if (w->owned > w->target)
        shed_down_to(w, w->target);
    else
        take_free(w);
}

void worker_lease_release_all(struct hl_worker *w) {
    long n;

    for (n = 0; n < w->nparts; n++) {
        struct worker_part *p = &w->parts[n];
        if (p->state == WP_OWNED)
            p->state = WP_RELEASING;
        finish_release(w, p);
    }
}
