/* cmd_stats.c - `hookctl stats`: what an operator looks at first. Per
 * partition the queued and in-flight counts, the age of the oldest queued
 * event and the lease owner; the workers and their heartbeats; dead
 * letters by reason. One pipeline for the partition reads and one for
 * the lease owners (workers.c), so a stats run costs a few round trips
 * whatever the partition count. */
#include "ctl.h"
#include "hl_envelope.h"
#include "hl_keys.h"
#include "hl_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READS_PER_PART 3          /* LLEN q, LLEN inflight, LINDEX */
#define DLQ_COUNT_MAX 100000      /* dead letters read to count reasons */

struct part_stat {
    long long queued;
    long long inflight;
    long long oldest_age_ms;      /* -1: empty queue or unreadable item */
};

struct reason_count {
    char name[64];
    long long n;
};

struct stats {
    long long now;
    long nparts;
    struct part_stat *parts;      /* owned, nparts */
    char (*owners)[HL_ID_MAX];    /* owned, nparts; "" when no lease */
    redisReply *workers;          /* owned: ZRANGE ... WITHSCORES */
    long long dlq_len;
    long long dlq_counted;
    long long dlq_unreadable;
    struct reason_count reasons[32];
    size_t nreasons;
};

static long long reply_int(const redisReply *r) {
    return r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
}

/* Age of the oldest queued event (the right end of the list). */
static long long oldest_age(const redisReply *r, long long now) {
    struct hl_envelope env;
    long long age;

    if (r->type != REDIS_REPLY_STRING)
        return -1;
    if (hl_envelope_parse(r->str, r->len, &env) != HL_OK)
        return -1;
    age = now - env.rx;
    hl_envelope_cleanup(&env);
    return age < 0 ? 0 : age;
}

static int append_part(struct ctl *c, long n) {
    const struct hl_cfg *cfg = c->cfg;
    char q[HL_KEY_MAX], inf[HL_KEY_MAX];
    const char *llen_q[2] = { "LLEN", q }, *llen_i[2] = { "LLEN", inf };
    const char *tail[3] = { "LINDEX", q, "-1" };

    if (hl_keys_queue(cfg->prefix, n, q) != HL_OK ||
        hl_keys_inflight(cfg->prefix, n, inf) != HL_OK)
        return HL_ETOOBIG;
    if (ctl_redis_append(c, 2, llen_q, NULL) != HL_OK ||
        ctl_redis_append(c, 2, llen_i, NULL) != HL_OK ||
        ctl_redis_append(c, 3, tail, NULL) != HL_OK)
        return HL_ENOMEM;
    return HL_OK;
}

static int read_parts(struct ctl *c, struct stats *st, char err[HL_ERR_LEN]) {
    redisReply *r = NULL;
    long n;
    int i, rc = HL_OK;

    for (n = 0; n < st->nparts; n++) {
        rc = append_part(c, n);
        if (rc != HL_OK) {
            snprintf(err, HL_ERR_LEN, "cannot build the partition reads");
            return rc;
        }
    }
    /* Every queued reply is read, even after an error, so the pipeline
     * never leaves stale replies behind. */
    for (n = 0; n < st->nparts; n++) {
        struct part_stat *p = &st->parts[n];
        for (i = 0; i < READS_PER_PART; i++) {
            int one = ctl_redis_next(c, &r, err);
            if (one != HL_OK) {
                if (rc == HL_OK)
                    rc = one;
                if (ctl_redis_lost(c))
                    return rc;
                continue;
            }
            if (i == 0)
                p->queued = reply_int(r);
            else if (i == 1)
                p->inflight = reply_int(r);
            else
                p->oldest_age_ms = oldest_age(r, st->now);
            freeReplyObject(r);
        }
    }
    return rc;
}

static int read_workers(struct ctl *c, struct stats *st,
                        char err[HL_ERR_LEN]) {
    char key[HL_KEY_MAX];
    const char *argv[5] = { "ZRANGE", key, "0", "-1", "WITHSCORES" };

    size_t i;
    int rc;

    if (hl_keys_workers(c->cfg->prefix, key) != HL_OK)
        return HL_ETOOBIG;
    rc = ctl_redis_cmd(c, &st->workers, 5, argv, NULL, err);
    if (rc != HL_OK)
        return rc;
    if (st->workers->type != REDIS_REPLY_ARRAY ||
        st->workers->elements % 2 != 0)
        goto bad;
    for (i = 0; i < st->workers->elements; i++)
        if (st->workers->element[i]->type != REDIS_REPLY_STRING)
            goto bad;
    return HL_OK;
bad:
    snprintf(err, HL_ERR_LEN, "%.100s is not a sorted set of worker ids",
             key);
    return HL_EINVAL;
}

static int count_cb(struct ctl *c, const char *raw, size_t len,
                    const struct hl_dlq_view *v, void *arg, int *removed,
                    char err[HL_ERR_LEN]) {
    struct stats *st = arg;
    size_t i;

    (void)c, (void)raw, (void)len, (void)removed, (void)err;
    if (st->dlq_counted >= DLQ_COUNT_MAX)
        return CTL_DLQ_SCAN_STOP;
    st->dlq_counted++;
    if (v == NULL) {
        st->dlq_unreadable++;
        return HL_OK;
    }
    for (i = 0; i < st->nreasons; i++)
        if (strcmp(st->reasons[i].name, v->reason) == 0)
            break;
    if (i == st->nreasons) {
        if (st->nreasons == HL_ARRAY_LEN(st->reasons)) {
            i--;                  /* the last slot collects the rest */
            snprintf(st->reasons[i].name, sizeof(st->reasons[i].name),
                     "(other)");
        } else {
            st->nreasons++;
            snprintf(st->reasons[i].name, sizeof(st->reasons[i].name),
                     "%s", v->reason);
        }
    }
    st->reasons[i].n++;
    return HL_OK;
}

static int read_dlq(struct ctl *c, struct stats *st, char err[HL_ERR_LEN]) {
    int rc = ctl_dlq_len(c, &st->dlq_len, err);

    return rc == HL_OK ? ctl_dlq_scan(c, 0, count_cb, st, err) : rc;
}

/* The heartbeat (wall ms) of worker i. */
static long long heartbeat(const struct stats *st, size_t i) {
    const redisReply *score = st->workers->element[2 * i + 1];
    long long hb = 0;

    if (score->type == REDIS_REPLY_STRING)
        (void)hl_parse_int64(score->str, &hb);
    return hb;
}

/* Live worker i: the workers' own rule (ctl_worker_live). */
static int worker_live(const struct ctl *c, const struct stats *st,
                       size_t i) {
    return ctl_worker_live(c, heartbeat(st, i), st->now);
}

static long owned_by(const struct stats *st, const char *id) {
    long n, count = 0;

    for (n = 0; n < st->nparts; n++)
        if (strcmp(st->owners[n], id) == 0)
            count++;
    return count;
}

static json_object *stats_json(const struct ctl *c, const struct stats *st) {
    json_object *o = json_object_new_object(), *parts, *ws, *reasons;
    long long queued = 0, inflight = 0, oldest = -1;
    long n, unowned = 0, live = 0;
    size_t i, nw = st->workers->elements / 2;

    parts = json_object_new_array();
    for (n = 0; n < st->nparts; n++) {
        const struct part_stat *p = &st->parts[n];
        json_object *e = json_object_new_object();
        json_object_object_add(e, "partition", json_object_new_int64(n));
        json_object_object_add(e, "queued", json_object_new_int64(p->queued));
        json_object_object_add(e, "inflight",
                               json_object_new_int64(p->inflight));
        json_object_object_add(e, "oldest_age_ms", p->oldest_age_ms < 0
            ? NULL : json_object_new_int64(p->oldest_age_ms));
        json_object_object_add(e, "owner", st->owners[n][0]
            ? json_object_new_string(st->owners[n]) : NULL);
        json_object_array_add(parts, e);
        queued += p->queued;
        inflight += p->inflight;
        if (p->oldest_age_ms > oldest)
            oldest = p->oldest_age_ms;
        unowned += st->owners[n][0] == '\0';
    }
    json_object_object_add(o, "partitions", parts);
    ws = json_object_new_array();
    for (i = 0; i < nw; i++) {
        json_object *e = json_object_new_object();
        const char *id = st->workers->element[2 * i]->str;
        int is_live = worker_live(c, st, i);
        json_object_object_add(e, "id", json_object_new_string(id));
        json_object_object_add(e, "heartbeat_age_ms",
                               json_object_new_int64(st->now -
                                                     heartbeat(st, i)));
        json_object_object_add(e, "live", json_object_new_boolean(is_live));
        json_object_object_add(e, "partitions",
                               json_object_new_int64(owned_by(st, id)));
        json_object_array_add(ws, e);
        live += is_live;
    }
    json_object_object_add(o, "workers", ws);
    json_object_object_add(o, "live_workers", json_object_new_int64(live));
    parts = json_object_new_object();
    json_object_object_add(parts, "queued", json_object_new_int64(queued));
    json_object_object_add(parts, "inflight", json_object_new_int64(inflight));
    json_object_object_add(parts, "oldest_age_ms",
                           oldest < 0 ? NULL : json_object_new_int64(oldest));
    json_object_object_add(parts, "unowned_partitions",
                           json_object_new_int64(unowned));
    json_object_object_add(o, "totals", parts);
    reasons = json_object_new_object();
    for (i = 0; i < st->nreasons; i++)
        json_object_object_add(reasons, st->reasons[i].name,
                               json_object_new_int64(st->reasons[i].n));
    parts = json_object_new_object();
    json_object_object_add(parts, "total", json_object_new_int64(st->dlq_len));
    json_object_object_add(parts, "counted",
                           json_object_new_int64(st->dlq_counted));
    json_object_object_add(parts, "unreadable",
                           json_object_new_int64(st->dlq_unreadable));
    json_object_object_add(parts, "by_reason", reasons);
    json_object_object_add(o, "dead_letters", parts);
    return o;
}

static void print_human(const struct ctl *c, const struct stats *st) {
    long long queued = 0, inflight = 0, oldest = -1;
    long n, unowned = 0, live = 0;
    size_t i, nw = st->workers->elements / 2;
    char age[32];

    printf("%9s %8s %9s %8s  %s\n", "PARTITION", "QUEUED", "IN-FLIGHT",
           "OLDEST", "OWNER");
    for (n = 0; n < st->nparts; n++) {
        const struct part_stat *p = &st->parts[n];
        ctl_fmt_age(p->oldest_age_ms, age, sizeof(age));
        printf("%9ld %8lld %9lld %8s  %s\n", n, p->queued, p->inflight, age,
               st->owners[n][0] ? st->owners[n] : "(none)");
        queued += p->queued;
        inflight += p->inflight;
        if (p->oldest_age_ms > oldest)
            oldest = p->oldest_age_ms;
        unowned += st->owners[n][0] == '\0';
    }
    ctl_fmt_age(oldest, age, sizeof(age));
    printf("%9s %8lld %9lld %8s  %ld/%ld owned\n\n", "total", queued,
           inflight, age, st->nparts - unowned, st->nparts);
    for (i = 0; i < nw; i++)
        live += worker_live(c, st, i);
    printf("WORKERS: %ld live\n", live);
    for (i = 0; i < nw; i++) {
        const char *id = st->workers->element[2 * i]->str;
        ctl_fmt_age(st->now - heartbeat(st, i), age, sizeof(age));
        printf("  %-40s heartbeat %s ago, %ld partitions%s\n", id, age,
               owned_by(st, id), worker_live(c, st, i) ? "" : " (gone)");
    }
    printf("\nDEAD LETTERS: %lld\n", st->dlq_len);
    for (i = 0; i < st->nreasons; i++)
        printf("  %-20s %lld\n", st->reasons[i].name, st->reasons[i].n);
    if (st->dlq_unreadable > 0)
        printf("  %-20s %lld\n", "(not JSON)", st->dlq_unreadable);
    if (st->dlq_counted < st->dlq_len)
        printf("  (reasons counted over the newest %lld)\n", st->dlq_counted);
}

int ctl_cmd_stats(struct ctl *c, int argc, char **argv) {
    struct stats st;
    char err[HL_ERR_LEN] = "";
    int rc = CTL_EXIT_FAIL;

    if (argc > 1)
        return ctl_usage_error(c, "unexpected argument %s", argv[1]);
    memset(&st, 0, sizeof(st));
    st.now = hl_time_now_ms();
    st.nparts = (long)c->cfg->partitions;
    st.parts = calloc((size_t)st.nparts, sizeof(*st.parts));
    st.owners = calloc((size_t)st.nparts, sizeof(*st.owners));
    if (st.parts == NULL || st.owners == NULL) {
        ctl_errorf(c, "out of memory");
        goto cleanup;
    }
    if (ctl_redis_open(c, err) != HL_OK || read_parts(c, &st, err) != HL_OK ||
        ctl_lease_owners(c, st.owners, err) != HL_OK ||
        read_workers(c, &st, err) != HL_OK || read_dlq(c, &st, err) != HL_OK) {
        ctl_errorf(c, "%s", err);
        goto cleanup;
    }
    if (c->json) {
        if (ctl_print_json(stats_json(c, &st)) != HL_OK)
            goto cleanup;
    } else {
        print_human(c, &st);
    }
    rc = CTL_EXIT_OK;
cleanup:
    if (st.workers != NULL)
        freeReplyObject(st.workers);
    free(st.owners);
    free(st.parts);
    return rc;
}
