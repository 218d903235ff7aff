/* membership.c - this worker's heartbeat in <prefix>:workers (a zset of
 * worker id -> last heartbeat ms) and its share of the partitions:
 * ceil(partitions / live workers). A worker is live while its heartbeat is
 * younger than one lease time (hl_membership.h, the rule hookctl uses
 * too); entries older than three lease times are removed by whoever sees
 * them. Each tick then drives the lease work (lease.c). */
#include "worker.h"
#include "hl_log.h"
#include "hl_membership.h"
#include "hl_time.h"

#include <stdio.h>
#include <string.h>

static void count_reply_cb(struct hl_store *r, redisReply *reply, void *arg) {
    struct hl_worker *w = arg;
    long live;

    (void)r;
    w->heartbeat_pending = 0;
    if (w->stopping)
        return;
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        hl_log(HL_LOG_WARN, "heartbeat_failed",
               HL_KV_S("error", reply && reply->str ? reply->str
                                                    : "no reply"));
        worker_lease_tick(w);
        return;
    }
    live = reply->integer > 0 ? (long)reply->integer : 1;
    if (live != w->live)
        hl_log(HL_LOG_INFO, "workers_live", HL_KV_I("live", live),
               HL_KV_I("target", (w->nparts + live - 1) / live));
    w->live = live;
    w->target = (w->nparts + live - 1) / live;
    worker_lease_tick(w);
}

static void ignore_reply_cb(struct hl_store *r, redisReply *reply,
                            void *arg) {
    (void)r;
    (void)reply;
    (void)arg;
}

void worker_membership_tick(struct hl_worker *w) {
    long long now = hl_time_now_ms();
    char nowb[24], old[24], live[24];
    const char *zadd[4] = { "ZADD", w->workers_key, nowb, w->id };
    const char *zrem[4] = { "ZREMRANGEBYSCORE", w->workers_key, "-inf", old };
    const char *zcount[4] = { "ZCOUNT", w->workers_key, live, "+inf" };
    size_t l1[4], l2[4], l3[4];
    int i;

    if (w->heartbeat_pending || !hl_store_ready(w->store)) {
        worker_lease_tick(w);
        return;
    }
    snprintf(nowb, sizeof(nowb), "%lld", now);
    snprintf(old, sizeof(old), "(%lld", now - 3 * w->cfg->lease_ms);
    snprintf(live, sizeof(live), "%lld",
             hl_membership_live_since(now, w->cfg->lease_ms));
    for (i = 0; i < 4; i++) {
        l1[i] = strlen(zadd[i]);
        l2[i] = strlen(zrem[i]);
        l3[i] = strlen(zcount[i]);
    }
    if (w->draining) {
        worker_lease_tick(w);
        return;
    }
    if (hl_store_command(w->store, ignore_reply_cb, w, 4, zadd, l1) != HL_OK ||
        hl_store_command(w->store, ignore_reply_cb, w, 4, zrem, l2) != HL_OK ||
        hl_store_command(w->store, count_reply_cb, w, 4, zcount, l3)
            != HL_OK) {
        worker_lease_tick(w);
        return;
    }
    w->heartbeat_pending = 1;
}

int worker_membership_leave(struct hl_worker *w) {
    const char *zrem[3] = { "ZREM", w->workers_key, w->id };
    size_t lens[3] = { 4, strlen(w->workers_key), strlen(w->id) };

    return hl_store_command(w->store, ignore_reply_cb, w, 3, zrem, lens);
}
