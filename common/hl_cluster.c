/* hl_cluster.c - commands routed over a Redis Cluster (see hl_cluster.h).
 *
 * Ownership: the router owns its nodes (one hl_redis each, created when a
 * seed, a map or a redirect first names the address, freed only with the
 * router), its slot map (replaced whole by each CLUSTER SLOTS reply) and
 * every accepted request (on a list until its callback has fired).
 *
 * A request's states are enum req_state; req_to() is the one place
 * that moves it, and the end of each life is finish() (called back, then
 * freed) or release() (freed, already called back). Every reply goes
 * through hl_cluster_judge() and hl_cluster_next(), the pure decisions
 * (hl_cluster_proto.c), and then the request moves to exactly one next state. */
#include "hl_cluster.h"
#include "hl_log.h"
#include "hl_redis.h"
#include "hl_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFRESH_RETRY_MS 50    /* no node ready to ask, or a failed ask */
#define SWEEP_MS 5000          /* how often departed nodes are closed */

struct node {
    struct hl_redis_addr addr;  /* host/port; password shared with cl */
    char name[HL_SLOT_ADDR_MAX];
    struct hl_redis *r;         /* owned */
    struct hl_cluster *cl;      /* borrowed back-pointer */
    int seed;                   /* named in the seed list: always kept */
    int was_up;                 /* has been ready at least once */
    int late;                   /* created once the cluster was ready (a
                                 * promoted replica, a new primary) */
};

enum req_state {
    RQ_NEW = 0,     /* being routed now (submit, a reply, a timer) */
    RQ_IN_FLIGHT,   /* sent: hl_redis will call reply_cb exactly once */
    RQ_WAITING,     /* `timer` armed: backoff, or no map/node yet */
    RQ_ENDING,      /* NULL decided inside hl_cluster_command(): `timer`
                     * armed at 0 delivers it from the loop */
    RQ_ABANDONED    /* called back (deadline) while IN_FLIGHT: reply_cb
                     * only frees it */
};

/* Allowed moves, as bit masks of the states each one may go to. */
static const unsigned req_moves[] = {
    [RQ_NEW] = 1u << RQ_IN_FLIGHT | 1u << RQ_WAITING | 1u << RQ_ENDING,
    [RQ_IN_FLIGHT] = 1u << RQ_NEW | 1u << RQ_ABANDONED,
    [RQ_WAITING] = 1u << RQ_NEW,
    [RQ_ENDING] = 0,
    [RQ_ABANDONED] = 0,
};

struct req {
    struct hl_cluster *cl;
    struct req *prev, *next;
    enum req_state state;
    hl_cluster_cb *cb;
    void *arg;
    unsigned slot;
    int script;                 /* -1: plain command */
    int nkeys, argc;
    const char *argv[HL_REDIS_MAX_ARGS];    /* into bytes */
    size_t lens[HL_REDIS_MAX_ARGS];
    char *bytes;                /* allocated with the struct */
    long long deadline_ms;
    int redirects, retries;
    struct node *target;        /* a redirect's node, once; else NULL */
    int asking;                 /* send ASKING first (with target) */
    struct node *sent_to;       /* while IN_FLIGHT */
    struct event *timer;        /* owned: the wait before a resend */
    struct event *deadline;     /* owned: gives up at deadline_ms */
    int in_submit;              /* hl_cluster_command() has not returned */
};

struct hl_cluster {
    struct event_base *base;    /* borrowed */
    struct hl_secret password;  /* owned; shared by every node's addr */
    struct node **nodes;        /* owned, n_nodes of them */
    int n_nodes;
    struct hl_slot_map *map;    /* owned; NULL until the first refresh */
    int refreshing;             /* a CLUSTER SLOTS in flight */
    long long last_refresh_ms;
    long refreshes;
    int next_ask;               /* rotates the node asked */
    struct event *refresh_timer;/* owned */
    struct event *sweep_timer;  /* owned: closes departed nodes */
    struct req *reqs;           /* owned list */
    int was_ready;              /* last readiness told to state_cb */
    hl_cluster_state_cb *state_cb;
    void *state_arg;
    int stopping;
};

/* -------------------------------------------------------------- nodes */

static void node_state_cb(struct hl_redis *r, int up, void *arg);

/* The node at host:port, created (and started) when new. NULL on ENOMEM. */
static struct node *node_get(struct hl_cluster *cl, const char *host,
                             int port) {
    struct node *nd, **grown;
    int i;

    for (i = 0; i < cl->n_nodes; i++) {
        nd = cl->nodes[i];
        if (nd->addr.port == port && strcmp(nd->addr.host, host) == 0)
            return nd;
    }
    grown = realloc(cl->nodes, sizeof(*grown) * (size_t)(cl->n_nodes + 1));
    if (grown == NULL)
        return NULL;
    cl->nodes = grown;
    nd = calloc(1, sizeof(*nd));
    if (nd == NULL)
        return NULL;
    snprintf(nd->addr.host, sizeof(nd->addr.host), "%s", host);
    nd->addr.port = port;
    nd->addr.password = cl->password;   /* shallow: cl owns the bytes */
    snprintf(nd->name, sizeof(nd->name), "%s:%d", host, port);
    nd->cl = cl;
    nd->late = cl->was_ready;
    nd->r = hl_redis_new(cl->base, &nd->addr);
    if (nd->r == NULL) {
        free(nd);
        return NULL;
    }
    hl_redis_set_state_cb(nd->r, node_state_cb, nd);
    if (hl_redis_start(nd->r) != HL_OK) {
        hl_redis_free(nd->r);
        free(nd);
        return NULL;
    }
    cl->nodes[cl->n_nodes++] = nd;
    return nd;
}

/* Tells the state callback when readiness changed, or (`again`) that a
 * primary's connection came back while the cluster stayed ready. */
static void tell_state(struct hl_cluster *cl, int again) {
    int up = hl_cluster_ready(cl);

    if (cl->stopping)
        return;
    if (up != cl->was_ready) {
        cl->was_ready = up;
        if (cl->state_cb != NULL)
            cl->state_cb(cl, up, cl->state_arg);
    } else if (up && again && cl->state_cb != NULL) {
        cl->state_cb(cl, 1, cl->state_arg);
    }
}

/* 1 when `nd` is a primary of the current map. */
static int node_is_primary(const struct hl_cluster *cl,
                           const struct node *nd) {
    int i;

    for (i = 0; cl->map != NULL && i < hl_slot_map_node_count(cl->map);
         i++) {
        const struct hl_slot_node *sn = hl_slot_map_node(cl->map, i);

        if (sn->primary < 0 && sn->port == nd->addr.port &&
            strcmp(sn->host, nd->addr.host) == 0)
            return 1;
    }
    return 0;
}

/* 1 when a request on the list is sent to, or about to go to, `nd`. */
static int node_in_use(const struct hl_cluster *cl, const struct node *nd) {
    const struct req *q;

    for (q = cl->reqs; q != NULL; q = q->next) {
        if (q->sent_to == nd || q->target == nd)
            return 1;
    }
    return 0;
}

/* Closes nodes that are neither seeds nor primaries of the map (they
 * left, or were demoted to replicas) and that no listed request uses; a
 * timer, so no hl_redis is freed inside its own callback. An abandoned
 * request still waiting on such a node gets its NULL here and is
 * released by reply_cb. */
static void sweep_cb(evutil_socket_t fd, short what, void *arg) {
    struct hl_cluster *cl = arg;
    struct timeval tv = { SWEEP_MS / 1000, (SWEEP_MS % 1000) * 1000 };
    int i = 0;

    (void)fd;
    (void)what;
    while (cl->map != NULL && i < cl->n_nodes) {
        struct node *nd = cl->nodes[i];

        if (nd->seed || node_is_primary(cl, nd) || node_in_use(cl, nd)) {
            i++;
            continue;
        }
        hl_log(HL_LOG_INFO, "cluster_node_closed", HL_KV_S("node", nd->name));
        cl->nodes[i] = cl->nodes[--cl->n_nodes];
        hl_redis_free(nd->r);
        free(nd);
    }
    if (cl->n_nodes > 0)
        cl->next_ask %= cl->n_nodes;
    evtimer_add(cl->sweep_timer, &tv);
}

/* ------------------------------------------------------- map refresh */

static void refresh(struct hl_cluster *cl);

static void arm_refresh(struct hl_cluster *cl, long long ms) {
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    if (!evtimer_pending(cl->refresh_timer, NULL))
        evtimer_add(cl->refresh_timer, &tv);
}

static void refresh_timer_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    refresh(arg);
}

static void refresh_reply_cb(struct hl_redis *r, redisReply *reply,
                             void *arg) {
    struct node *nd = arg;
    struct hl_cluster *cl = nd->cl;
    struct hl_slot_map *m = NULL;
    char err[HL_ERR_LEN];
    int i;

    (void)r;
    if (cl->stopping)
        return;
    cl->refreshing = 0;
    cl->last_refresh_ms = hl_time_mono_ms();
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
        hl_slot_map_build(reply, nd->addr.host, &m, err) != HL_OK) {
        hl_log(HL_LOG_WARN, "cluster_slots_failed", HL_KV_S("node", nd->name),
               HL_KV_S("error", reply == NULL ? "no reply"
                                : reply->type == REDIS_REPLY_ERROR
                                    ? reply->str : err));
        arm_refresh(cl, REFRESH_RETRY_MS);
        return;
    }
    if (hl_slot_map_assigned(m) < HL_SLOT_COUNT && cl->map != NULL &&
        hl_slot_map_assigned(cl->map) > hl_slot_map_assigned(m)) {
        /* a node that lost track (e.g. just restarted): keep ours, ask
         * again soon */
        hl_slot_map_free(m);
        arm_refresh(cl, REFRESH_RETRY_MS);
        return;
    }
    hl_slot_map_free(cl->map);
    cl->map = m;
    cl->refreshes++;
    for (i = 0; i < hl_slot_map_node_count(m); i++) {
        const struct hl_slot_node *sn = hl_slot_map_node(m, i);

        if (sn->primary < 0)
            (void)node_get(cl, sn->host, sn->port);
    }
    if (hl_slot_map_assigned(m) < HL_SLOT_COUNT)
        arm_refresh(cl, REFRESH_RETRY_MS);
    tell_state(cl, 0);
}

/* Asks one ready node for CLUSTER SLOTS, unless an ask is in flight or
 * the last answer is younger than HL_CLUSTER_REFRESH_MIN_MS (then the
 * refresh timer asks later). */
static void refresh(struct hl_cluster *cl) {
    static const char *argv[2] = { "CLUSTER", "SLOTS" };
    static const size_t lens[2] = { 7, 5 };
    long long since = hl_time_mono_ms() - cl->last_refresh_ms;
    int i;

    if (cl->stopping || cl->refreshing)
        return;
    if (cl->map != NULL && since < HL_CLUSTER_REFRESH_MIN_MS) {
        arm_refresh(cl, HL_CLUSTER_REFRESH_MIN_MS - since);
        return;
    }
    for (i = 0; i < cl->n_nodes; i++) {
        struct node *nd = cl->nodes[(cl->next_ask + i) % cl->n_nodes];

        if (hl_redis_ready(nd->r) &&
            hl_redis_command(nd->r, refresh_reply_cb, nd, 2, argv, lens)
                == HL_OK) {
            cl->next_ask = (cl->next_ask + i + 1) % cl->n_nodes;
            cl->refreshing = 1;
            return;
        }
    }
    arm_refresh(cl, REFRESH_RETRY_MS);
}

static void node_state_cb(struct hl_redis *r, int up, void *arg) {
    struct node *nd = arg;

    (void)r;
    if (nd->cl->stopping)
        return;
    if (up && nd->cl->map == NULL)
        refresh(nd->cl);
    else if (!up)
        refresh(nd->cl);
    else if (node_is_primary(nd->cl, nd) && (nd->was_up || nd->late))
        tell_state(nd->cl, 1);  /* back, or new: not the first connects */
    if (up)
        nd->was_up = 1;
}

/* ----------------------------------------------------------- requests */

static void dispatch(struct req *q);
static void handle(struct req *q, enum hl_cluster_verdict v,
                   redisReply *reply, const struct hl_cluster_redirect *rd);

/* The one transition function: HL_OK, or HL_ESTATE (logged, state kept)
 * for a move req_moves does not allow. */
static int req_to(struct req *q, enum req_state to) {
    if (!(req_moves[q->state] & (1u << to))) {
        hl_log(HL_LOG_ERROR, "cluster_bad_transition",
               HL_KV_I("from", q->state), HL_KV_I("to", to));
        return HL_ESTATE;
    }
    q->state = to;
    return HL_OK;
}

static void unlink_req(struct req *q) {
    struct hl_cluster *cl = q->cl;

    if (q->prev != NULL)
        q->prev->next = q->next;
    else
        cl->reqs = q->next;
    if (q->next != NULL)
        q->next->prev = q->prev;
    q->prev = q->next = NULL;
}

static void release(struct req *q) {
    if (q->timer != NULL)
        event_free(q->timer);
    if (q->deadline != NULL)
        event_free(q->deadline);
    free(q);
}

/* Fires the callback once and frees the request. A NULL decided while
 * hl_cluster_command() is still running is delivered from the loop. */
static void finish(struct req *q, redisReply *reply) {
    struct hl_cluster *cl = q->cl;
    struct timeval now = { 0, 0 };

    if (q->in_submit) {
        (void)req_to(q, RQ_ENDING);
        evtimer_add(q->timer, &now);
        return;
    }
    unlink_req(q);
    q->cb(cl, reply, q->arg);
    release(q);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg) {
    struct req *q = arg;

    (void)fd;
    (void)what;
    if (q->state == RQ_ENDING)
        finish(q, NULL);
    else if (req_to(q, RQ_NEW) == HL_OK)
        dispatch(q);
}

/* The deadline passed: a waiting request ends now; one in flight is
 * called back now and freed when its hl_redis callback comes. */
static void deadline_cb(evutil_socket_t fd, short what, void *arg) {
    struct req *q = arg;

    (void)fd;
    (void)what;
    if (q->state != RQ_IN_FLIGHT) {
        finish(q, NULL);
        return;
    }
    hl_log(HL_LOG_WARN, "cluster_request_timeout", HL_KV_I("slot", q->slot),
           HL_KV_S("node", q->sent_to->name));
    unlink_req(q);
    evtimer_del(q->timer);
    (void)req_to(q, RQ_ABANDONED);
    q->cb(q->cl, NULL, q->arg);
}

static void reply_cb(struct hl_redis *r, redisReply *reply, void *arg) {
    struct req *q = arg;
    struct hl_cluster_redirect rd;
    enum hl_cluster_verdict v;

    (void)r;
    if (q->state == RQ_ABANDONED) {
        release(q);
        return;
    }
    if (q->cl->stopping) {
        finish(q, NULL);
        return;
    }
    v = hl_cluster_judge(reply, q->sent_to->addr.host, &rd);
    handle(q, v, reply, &rd);
}

static void asking_cb(struct hl_redis *r, redisReply *reply, void *arg) {
    (void)r;
    (void)reply;
    (void)arg;
}

static void handle(struct req *q, enum hl_cluster_verdict v,
                   redisReply *reply, const struct hl_cluster_redirect *rd) {
    struct hl_cluster *cl = q->cl;
    long long delay = 0;
    enum hl_cluster_step step;
    struct timeval tv;

    if (q->state == RQ_IN_FLIGHT)   /* a reply; else dispatch() failed */
        (void)req_to(q, RQ_NEW);
    q->target = NULL;
    q->asking = 0;
    if (v == HL_CLUSTER_MOVED || v == HL_CLUSTER_LOST)
        refresh(cl);
    step = hl_cluster_next(v, q->redirects, q->retries, hl_time_mono_ms(),
                           q->deadline_ms, (uint32_t)random(), &delay);
    switch (step) {
    case HL_CLUSTER_DELIVER:
        finish(q, reply);
        return;
    case HL_CLUSTER_RESEND_NOW:
        q->redirects++;
        q->target = node_get(cl, rd->host, rd->port);
        q->asking = v == HL_CLUSTER_ASK;
        if (q->target == NULL)
            break;      /* ENOMEM: retried later, routed by the map */
        dispatch(q);
        return;
    case HL_CLUSTER_RESEND_LATER:
        break;
    default:
        hl_log(HL_LOG_WARN, "cluster_request_failed",
               HL_KV_I("slot", q->slot), HL_KV_I("redirects", q->redirects),
               HL_KV_I("retries", q->retries));
        finish(q, NULL);
        return;
    }
    if (delay < 1)
        delay = 1;
    q->retries++;
    (void)req_to(q, RQ_WAITING);
    tv.tv_sec = delay / 1000;
    tv.tv_usec = (delay % 1000) * 1000;
    evtimer_add(q->timer, &tv);
}

/* Sends the request to its redirect target or the slot's primary; when
 * that is not possible now, the request waits (as for a lost reply). */
static void dispatch(struct req *q) {
    struct hl_cluster *cl = q->cl;
    struct node *nd = q->target;
    int node, rc;

    if (hl_time_mono_ms() >= q->deadline_ms) {
        finish(q, NULL);
        return;
    }
    if (nd == NULL && cl->map != NULL &&
        hl_slot_map_lookup(cl->map, q->slot, &node) == HL_OK) {
        const struct hl_slot_node *sn = hl_slot_map_node(cl->map, node);
        nd = node_get(cl, sn->host, sn->port);
    }
    if (nd != NULL && q->target == NULL && hl_redis_failing(nd->r)) {
        /* the map names a primary we cannot reach: fail now, as one
         * Redis does when it is down, rather than hold the caller until
         * the deadline (the next request may find a promoted replica) */
        refresh(cl);
        finish(q, NULL);
        return;
    }
    if (nd == NULL || !hl_redis_ready(nd->r)) {
        handle(q, HL_CLUSTER_LOST, NULL, NULL);
        return;
    }
    if (q->asking) {
        static const char *asking[1] = { "ASKING" };
        static const size_t alen[1] = { 6 };

        if (hl_redis_command(nd->r, asking_cb, NULL, 1, asking, alen)
            != HL_OK) {
            handle(q, HL_CLUSTER_LOST, NULL, NULL);
            return;
        }
    }
    if (q->script >= 0)
        rc = hl_redis_script(nd->r, (enum hl_script)q->script, q->nkeys,
                             q->argc, q->argv, q->lens, reply_cb, q);
    else
        rc = hl_redis_command(nd->r, reply_cb, q, q->argc, q->argv,
                              q->lens);
    if (rc != HL_OK) {
        handle(q, HL_CLUSTER_LOST, NULL, NULL);
        return;
    }
    q->sent_to = nd;
    (void)req_to(q, RQ_IN_FLIGHT);
}

static int submit(struct hl_cluster *cl, const char *key, size_t keylen,
                  int script, int nkeys, long long timeout_ms,
                  hl_cluster_cb *cb, void *arg, int argc, const char **argv,
                  const size_t *lens) {
    struct req *q;
    size_t total = 0, off = 0;
    int i;

    if (cl == NULL || cl->stopping || key == NULL || cb == NULL ||
        argc < 1 || argc > HL_REDIS_MAX_ARGS || timeout_ms <= 0)
        return HL_EINVAL;
    for (i = 0; i < argc; i++)
        total += lens[i];
    q = calloc(1, sizeof(*q) + total + 1);
    if (q == NULL)
        return HL_ENOMEM;
    q->timer = evtimer_new(cl->base, timer_cb, q);
    q->deadline = evtimer_new(cl->base, deadline_cb, q);
    if (q->timer == NULL || q->deadline == NULL) {
        release(q);
        return HL_ENOMEM;
    }
    q->bytes = (char *)(q + 1);
    for (i = 0; i < argc; i++) {
        memcpy(q->bytes + off, argv[i], lens[i]);
        q->argv[i] = q->bytes + off;
        q->lens[i] = lens[i];
        off += lens[i];
    }
    q->cl = cl;
    q->cb = cb;
    q->arg = arg;
    q->slot = hl_slot_of(key, keylen);
    q->script = script;
    q->nkeys = nkeys;
    q->argc = argc;
    q->deadline_ms = hl_time_mono_ms() + timeout_ms;
    q->next = cl->reqs;
    if (cl->reqs != NULL)
        cl->reqs->prev = q;
    cl->reqs = q;
    {
        struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
        evtimer_add(q->deadline, &tv);
    }
    /* the callback never fires before we return (see finish()) */
    q->in_submit = 1;
    dispatch(q);
    q->in_submit = 0;
    return HL_OK;
}

int hl_cluster_command(struct hl_cluster *cl, const char *key,
                       size_t keylen, long long timeout_ms,
                       hl_cluster_cb *cb, void *arg, int argc,
                       const char **argv, const size_t *lens) {
    return submit(cl, key, keylen, -1, 0, timeout_ms, cb, arg, argc, argv,
                  lens);
}

int hl_cluster_script(struct hl_cluster *cl, enum hl_script script,
                      int nkeys, long long timeout_ms, hl_cluster_cb *cb,
                      void *arg, int argc, const char **argv,
                      const size_t *lens) {
    if (nkeys < 1 || nkeys > argc || (int)script < 0 ||
        script >= HL_SCRIPT_COUNT)
        return HL_EINVAL;
    return submit(cl, argv[0], lens[0], (int)script, nkeys, timeout_ms, cb,
                  arg, argc, argv, lens);
}

/* ---------------------------------------------------------- lifecycle */

int hl_cluster_ready(const struct hl_cluster *cl) {
    return cl != NULL && cl->map != NULL &&
           hl_slot_map_assigned(cl->map) == HL_SLOT_COUNT;
}

long hl_cluster_refreshes(const struct hl_cluster *cl) {
    return cl->refreshes;
}

int hl_cluster_nodes(const struct hl_cluster *cl) {
    return cl->n_nodes;
}

void hl_cluster_set_state_cb(struct hl_cluster *cl, hl_cluster_state_cb *cb,
                             void *arg) {
    cl->state_cb = cb;
    cl->state_arg = arg;
}

int hl_cluster_node_of(const struct hl_cluster *cl, const char *key,
                       size_t keylen) {
    int node;

    if (cl->map == NULL ||
        hl_slot_map_lookup(cl->map, hl_slot_of(key, keylen), &node) != HL_OK)
        return -1;
    return node;
}

struct hl_cluster *hl_cluster_new(struct event_base *base,
                                  const char *seeds,
                                  const char *password, size_t pwlen,
                                  char err[HL_ERR_LEN]) {
    char hosts[HL_CLUSTER_SEEDS_MAX][HL_SLOT_HOST_MAX];
    int ports[HL_CLUSTER_SEEDS_MAX];
    struct hl_cluster *cl = NULL;
    int n = 0, i;

    if (hl_cluster_parse_seeds(seeds, hosts, ports, &n, err) != HL_OK)
        return NULL;
    cl = calloc(1, sizeof(*cl));
    if (cl == NULL)
        goto nomem;
    cl->base = base;
    cl->refresh_timer = evtimer_new(base, refresh_timer_cb, cl);
    cl->sweep_timer = evtimer_new(base, sweep_cb, cl);
    if (cl->refresh_timer == NULL || cl->sweep_timer == NULL)
        goto nomem;
    {
        struct timeval tv = { SWEEP_MS / 1000, (SWEEP_MS % 1000) * 1000 };
        evtimer_add(cl->sweep_timer, &tv);
    }
    if (password != NULL && pwlen > 0 &&
        hl_secret_set(&cl->password, password, pwlen) != HL_OK)
        goto nomem;
    for (i = 0; i < n; i++) {
        struct node *nd = node_get(cl, hosts[i], ports[i]);

        if (nd == NULL)
            goto nomem;
        nd->seed = 1;
    }
    return cl;
nomem:
    snprintf(err, HL_ERR_LEN, "out of memory");
    hl_cluster_free(cl);
    return NULL;
}

void hl_cluster_free(struct hl_cluster *cl) {
    int i;

    if (cl == NULL)
        return;
    cl->stopping = 1;
    /* in-flight requests get their NULL here, through reply_cb */
    for (i = 0; i < cl->n_nodes; i++) {
        hl_redis_free(cl->nodes[i]->r);
        free(cl->nodes[i]);
    }
    HL_FREE(cl->nodes);
    while (cl->reqs != NULL)
        finish(cl->reqs, NULL);
    hl_slot_map_free(cl->map);
    if (cl->refresh_timer != NULL)
        event_free(cl->refresh_timer);
    if (cl->sweep_timer != NULL)
        event_free(cl->sweep_timer);
    hl_secret_cleanup(&cl->password);
    free(cl);
}
