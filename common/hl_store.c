/* hl_store.c - one Redis interface over a single server, a Sentinel-
 * watched primary or a Redis Cluster (see hl_store.h).
 *
 * Ownership: the store owns its backend (hl_redis, or hl_sentinel plus
 * the connection to the primary it names, or hl_cluster) and one small
 * `struct call` per request, freed after its callback. The address it is
 * given is borrowed; a SENTINEL connection's address is a copy with the
 * primary's host and port that shares the borrowed password. */
#include "hl_store.h"
#include "hl_cluster.h"
#include "hl_log.h"
#include "hl_redis.h"
#include "hl_sentinel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MARGIN_MS 1000   /* a CLUSTER WAIT's deadline past its own */
#define SWITCH_RETRY_MS 100   /* a primary switch that ran out of memory */

/* SENTINEL: a connection to one primary address. */
struct primary {
    struct hl_redis_addr addr;  /* host/port of the primary; password
                                 * shallow-copied from the store's addr */
    struct hl_redis *r;         /* owned */
    struct hl_store *s;         /* borrowed back-pointer */
};

struct hl_store {
    struct event_base *base;            /* borrowed */
    const struct hl_redis_addr *addr;   /* borrowed */
    long long timeout_ms;
    struct hl_redis *redis;             /* SINGLE */
    struct hl_cluster *cluster;         /* CLUSTER */
    struct hl_sentinel *sentinel;       /* SENTINEL */
    struct primary *cur;                /* SENTINEL: owned, may be NULL */
    struct primary *old;                /* SENTINEL: replaced, freed by
                                         * `swap_timer` */
    struct event *swap_timer;           /* owned (SENTINEL): frees `old`,
                                         * retries a failed switch */
    char want_host[256];                /* SENTINEL: a switch to make */
    int want_port;                      /* 0: none */
    int was_ready;
    hl_store_state_cb *state_cb;
    void *state_arg;
};

/* One request; its reply goes through reply_cb to the caller. */
struct call {
    struct hl_store *s;
    hl_store_cb *cb;
    void *arg;
    struct wait *wait;          /* a WAIT part, else NULL */
};

/* hl_store_wait() over several nodes: the smallest count wins. */
struct wait {
    struct hl_store *s;
    hl_store_cb *cb;
    void *arg;
    int pending;
    int failed;
    long long min;
};

/* ------------------------------------------------------------- state */

static void tell_state(struct hl_store *s, int again) {
    int up = hl_store_ready(s);

    if (s->state_cb == NULL)
        return;
    if (up != s->was_ready) {
        s->was_ready = up;
        s->state_cb(s, up, s->state_arg);
    } else if (up && again) {
        s->state_cb(s, 1, s->state_arg);
    }
}

static void redis_state_cb(struct hl_redis *r, int up, void *arg) {
    struct hl_store *s = arg;

    (void)r;
    (void)up;
    tell_state(s, 0);
}

static void cluster_state_cb(struct hl_cluster *cl, int up, void *arg) {
    (void)cl;
    tell_state(arg, up);
}

/* --------------------------------------------------- SENTINEL primary */

static void primary_free(struct primary *p) {
    if (p == NULL)
        return;
    hl_redis_free(p->r);
    free(p);
}

static void primary_state_cb(struct hl_redis *r, int up, void *arg) {
    struct primary *p = arg;
    struct hl_store *s = p->s;

    (void)r;
    if (p != s->cur)
        return;
    if (!up)            /* lost it: maybe a failover; ask now */
        hl_sentinel_recheck(s->sentinel);
    tell_state(s, 0);
}

static int switch_primary(struct hl_store *s);

/* Frees the replaced connection and retries a switch that failed. */
static void swap_timer_cb(evutil_socket_t fd, short what, void *arg) {
    struct hl_store *s = arg;
    struct primary *p = s->old;

    (void)fd;
    (void)what;
    s->old = NULL;
    primary_free(p);    /* its pending callbacks get NULL now */
    if (s->want_port != 0)
        (void)switch_primary(s);
}

/* Connects to s->want_host:want_port and makes it the current primary;
 * the connection to the previous one is closed from the loop (its
 * pending callbacks get NULL then, and callers retry on the new one).
 * Out of memory, it tries again from the timer. */
static int switch_primary(struct hl_store *s) {
    struct primary *p = calloc(1, sizeof(*p));
    struct timeval now = { 0, 0 }, later = { 0, SWITCH_RETRY_MS * 1000 };

    if (p == NULL)
        goto nomem;
    p->addr = *s->addr;             /* password shared, not owned */
    p->addr.kind = HL_REDIS_SINGLE;
    snprintf(p->addr.host, sizeof(p->addr.host), "%s", s->want_host);
    p->addr.port = s->want_port;
    p->addr.unix_path[0] = '\0';
    p->s = s;
    p->r = hl_redis_new(s->base, &p->addr);
    if (p->r == NULL)
        goto nomem;
    hl_redis_set_state_cb(p->r, primary_state_cb, p);
    if (hl_redis_start(p->r) != HL_OK)
        goto nomem;
    if (s->old != NULL)             /* two switches in one loop turn */
        primary_free(s->old);
    s->old = s->cur;
    s->cur = p;
    s->want_port = 0;
    evtimer_add(s->swap_timer, &now);
    tell_state(s, 0);
    return HL_OK;
nomem:
    hl_log(HL_LOG_ERROR, "redis_primary_failed",
           HL_KV_S("error", "out of memory"));
    primary_free(p);
    evtimer_add(s->swap_timer, &later);
    return HL_ENOMEM;
}

/* The sentinels name a new primary. */
static void sentinel_cb(struct hl_sentinel *sn, const char *host, int port,
                        void *arg) {
    struct hl_store *s = arg;

    (void)sn;
    hl_log(HL_LOG_INFO, "redis_primary", HL_KV_S("master", s->addr->master),
           HL_KV_S("host", host), HL_KV_I("port", port));
    snprintf(s->want_host, sizeof(s->want_host), "%s", host);
    s->want_port = port;
    (void)switch_primary(s);
}

/* ---------------------------------------------------------- lifecycle */

struct hl_store *hl_store_new(struct event_base *base,
                              const struct hl_redis_addr *addr,
                              long long timeout_ms, char err[HL_ERR_LEN]) {
    struct hl_store *s = calloc(1, sizeof(*s));

    if (s == NULL)
        goto nomem;
    s->base = base;
    s->addr = addr;
    s->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
    switch (addr->kind) {
    case HL_REDIS_SINGLE:
        s->redis = hl_redis_new(base, addr);
        if (s->redis == NULL)
            goto nomem;
        hl_redis_set_state_cb(s->redis, redis_state_cb, s);
        break;
    case HL_REDIS_CLUSTER:
        s->cluster = hl_cluster_new(base, addr->seeds,
                                    (const char *)addr->password.buf,
                                    addr->password.len, err);
        if (s->cluster == NULL)
            goto fail;
        hl_cluster_set_state_cb(s->cluster, cluster_state_cb, s);
        break;
    case HL_REDIS_SENTINEL:
        s->swap_timer = evtimer_new(base, swap_timer_cb, s);
        if (s->swap_timer == NULL)
            goto nomem;
        s->sentinel = hl_sentinel_new(base, addr->seeds, addr->master,
                                      sentinel_cb, s, err);
        if (s->sentinel == NULL)
            goto fail;
        if (hl_sentinel_set_password(s->sentinel, &addr->sentinel_password)
            != HL_OK)
            goto nomem;
        break;
    default:
        snprintf(err, HL_ERR_LEN, "REDIS_URL: unknown kind");
        goto fail;
    }
    return s;
nomem:
    snprintf(err, HL_ERR_LEN, "out of memory");
fail:
    hl_store_free(s);
    return NULL;
}

void hl_store_set_state_cb(struct hl_store *s, hl_store_state_cb *cb,
                           void *arg) {
    s->state_cb = cb;
    s->state_arg = arg;
}

int hl_store_start(struct hl_store *s) {
    if (s->redis != NULL)
        return hl_redis_start(s->redis);
    if (s->sentinel != NULL)
        return hl_sentinel_start(s->sentinel);
    return HL_OK;       /* hl_cluster_new() already connects */
}

int hl_store_ready(const struct hl_store *s) {
    if (s->redis != NULL)
        return hl_redis_ready(s->redis);
    if (s->cluster != NULL)
        return hl_cluster_ready(s->cluster);
    return s->cur != NULL && hl_redis_ready(s->cur->r);
}

void hl_store_free(struct hl_store *s) {
    if (s == NULL)
        return;
    s->state_cb = NULL;     /* nothing is told while closing */
    hl_redis_free(s->redis);
    hl_cluster_free(s->cluster);
    hl_sentinel_free(s->sentinel);
    s->sentinel = NULL;
    primary_free(s->old);
    primary_free(s->cur);
    if (s->swap_timer != NULL)
        event_free(s->swap_timer);
    free(s);
}

/* ----------------------------------------------------------- requests */

static void wait_part_done(struct wait *w, const redisReply *reply);

/* Hands a reply to the caller (or to its WAIT), and notices a primary
 * that has become a replica. */
static void deliver(struct call *c, redisReply *reply) {
    struct hl_store *s = c->s;

    if (reply != NULL && reply->type == REDIS_REPLY_ERROR &&
        reply->len >= 8 && memcmp(reply->str, "READONLY", 8) == 0 &&
        s->sentinel != NULL) {
        hl_log(HL_LOG_WARN, "redis_readonly",
               HL_KV_S("master", s->addr->master));
        hl_sentinel_recheck(s->sentinel);
    }
    if (c->wait != NULL)
        wait_part_done(c->wait, reply);
    else
        c->cb(s, reply, c->arg);
    free(c);
}

static void redis_reply_cb(struct hl_redis *r, redisReply *reply,
                           void *arg) {
    (void)r;
    deliver(arg, reply);
}

static void cluster_reply_cb(struct hl_cluster *cl, redisReply *reply,
                             void *arg) {
    (void)cl;
    deliver(arg, reply);
}

/* The connection a SINGLE or SENTINEL request goes over, or NULL. */
static struct hl_redis *conn(struct hl_store *s) {
    if (s->redis != NULL)
        return s->redis;
    return s->cur != NULL ? s->cur->r : NULL;
}

static struct call *call_new(struct hl_store *s, hl_store_cb *cb, void *arg,
                             struct wait *w) {
    struct call *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->s = s;
    c->cb = cb;
    c->arg = arg;
    c->wait = w;
    return c;
}

/* Sends one request: a plain command routed by `key` (script < 0) or a
 * script. */
static int submit(struct hl_store *s, struct call *c, const char *key,
                size_t keylen, int script, int nkeys, long long timeout_ms,
                int argc, const char **argv, const size_t *lens) {
    struct hl_redis *r;
    int rc;

    if (!hl_store_ready(s)) {
        free(c);
        return HL_EAGAIN;
    }
    if (s->cluster != NULL) {
        if (script >= 0)
            rc = hl_cluster_script(s->cluster, (enum hl_script)script, nkeys,
                                   timeout_ms, cluster_reply_cb, c, argc,
                                   argv, lens);
        else
            rc = hl_cluster_command(s->cluster, key, keylen, timeout_ms,
                                    cluster_reply_cb, c, argc, argv, lens);
    } else {
        r = conn(s);
        if (script >= 0)
            rc = hl_redis_script(r, (enum hl_script)script, nkeys, argc,
                                 argv, lens, redis_reply_cb, c);
        else
            rc = hl_redis_command(r, redis_reply_cb, c, argc, argv, lens);
    }
    if (rc != HL_OK)
        free(c);
    return rc;
}

int hl_store_command(struct hl_store *s, hl_store_cb *cb, void *arg,
                     int argc, const char **argv, const size_t *lens) {
    struct call *c;

    if (cb == NULL || argc < 2 ||
        (s->cluster != NULL && argc > HL_REDIS_MAX_ARGS))
        return HL_EINVAL;
    c = call_new(s, cb, arg, NULL);
    if (c == NULL)
        return HL_ENOMEM;
    return submit(s, c, argv[1], lens[1], -1, 0, s->timeout_ms, argc, argv,
                lens);
}

int hl_store_script(struct hl_store *s, enum hl_script script, int nkeys,
                    int argc, const char **argv, const size_t *lens,
                    hl_store_cb *cb, void *arg) {
    struct call *c;

    if (cb == NULL || nkeys < 1 || nkeys > argc || argc > HL_REDIS_MAX_ARGS)
        return HL_EINVAL;
    c = call_new(s, cb, arg, NULL);
    if (c == NULL)
        return HL_ENOMEM;
    return submit(s, c, argv[0], lens[0], (int)script, nkeys, s->timeout_ms,
                argc, argv, lens);
}

/* ---------------------------------------------------------------- WAIT */

static void wait_part_done(struct wait *w, const redisReply *reply) {
    redisReply out;

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER)
        w->failed = 1;
    else if (reply->integer < w->min)
        w->min = reply->integer;
    if (--w->pending > 0)
        return;
    memset(&out, 0, sizeof(out));
    out.type = REDIS_REPLY_INTEGER;
    out.integer = w->min;
    w->cb(w->s, w->failed ? NULL : &out, w->arg);
    free(w);
}

int hl_store_wait(struct hl_store *s, const char *const *keys, size_t n,
                  long long nreplicas, long long timeout_ms,
                  hl_store_cb *cb, void *arg) {
    char nrep[24], tmo[24];
    const char *argv[3] = { "WAIT", nrep, tmo };
    size_t lens[3];
    struct wait *w;
    int seen[64];       /* nodes that have a part; more: one per key */
    size_t i, j, nseen = 0;
    int sent = 0, rc = HL_OK;

    if (cb == NULL || n == 0 || timeout_ms < 0)
        return HL_EINVAL;
    if (!hl_store_ready(s))
        return HL_EAGAIN;
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return HL_ENOMEM;
    w->s = s;
    w->cb = cb;
    w->arg = arg;
    w->min = nreplicas;
    lens[0] = 4;
    lens[1] = (size_t)snprintf(nrep, sizeof(nrep), "%lld", nreplicas);
    lens[2] = (size_t)snprintf(tmo, sizeof(tmo), "%lld", timeout_ms);
    /* one part per distinct connection (SINGLE and SENTINEL have one):
     * a key on a node an earlier key named is skipped */
    w->pending = 1;                 /* held until every part is sent */
    for (i = 0; i < n && rc == HL_OK; i++) {
        int node = s->cluster != NULL
                       ? hl_cluster_node_of(s->cluster, keys[i],
                                            strlen(keys[i])) : 0;
        struct call *c;

        for (j = 0; j < nseen && seen[j] != node; j++)
            ;
        if (j < nseen)
            continue;
        if (nseen < HL_ARRAY_LEN(seen))
            seen[nseen++] = node;
        c = call_new(s, cb, arg, w);
        if (c == NULL) {
            rc = HL_ENOMEM;
            break;
        }
        w->pending++;
        rc = submit(s, c, keys[i], strlen(keys[i]), -1, 0,
                    timeout_ms + WAIT_MARGIN_MS, 3, argv, lens);
        if (rc != HL_OK)
            w->pending--;
        else
            sent++;
    }
    if (rc != HL_OK && sent == 0) {
        free(w);
        return rc;
    }
    if (rc != HL_OK)
        w->failed = 1;
    /* drop the hold: never called back before we return, since every
     * part's reply comes from the loop */
    w->pending--;
    return HL_OK;
}
