/* cluster.c - hookctl over a Redis Cluster (REDIS_URL redis-cluster://):
 * blocking hiredis connections, one per node, opened when first needed
 * (AUTH with the data nodes' password), and every command sent to the
 * primary serving the slot of its key (argv[1]) according to a slot map
 * read from CLUSTER SLOTS (common/hl_slot.h). Replies are judged by
 * hl_cluster_judge(): -MOVED refreshes the map and goes to the named
 * node, -ASK sends ASKING and the command to the named node, -TRYAGAIN
 * and -CLUSTERDOWN wait BUSY_WAIT_MS and try again, a few times.
 *
 * Pipelines keep their order across nodes with a FIFO of the pipelined
 * commands (node, slot, the command's bytes): ctl_cluster_next() reads
 * the oldest one's reply from its node, and a redirect or busy reply is
 * replaced by the reply of the same command run again synchronously. A
 * command run synchronously on a node that still has pipelined replies
 * to read goes over a second ("side") connection to that node, so it
 * cannot take one of those replies.
 *
 * Deliberately not here: retrying after a lost connection (the command
 * may have run; the map is refreshed for the next command and the error
 * returned), reading from replicas, following a failover while it
 * happens, and multi-key commands across slots (hookctl's keys of one
 * partition share a hash tag). The event-loop router of ingest and the
 * workers is common/hl_cluster.c. */
#include "ctl.h"
#include "hl_cluster_proto.h"
#include "hl_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define NODES_MAX 256          /* connections one run may open */
#define BUSY_TRIES 5           /* -TRYAGAIN / -CLUSTERDOWN retries */
#define BUSY_WAIT_MS 100
#define REDIRECTS_MAX 3        /* MOVED/ASK per command; more: a loop */
#define QUEUE_MIN 64           /* first FIFO allocation */

struct node {
    char host[HL_SLOT_HOST_MAX];
    int port;
    char addr[HL_SLOT_ADDR_MAX];    /* "host:port", for messages */
    redisContext *ctx;              /* owned; NULL until needed or lost */
    redisContext *side;             /* owned; synchronous commands while
                                     * ctx has pipelined replies pending */
    long pending;                   /* pipelined replies unread on ctx */
};

/* One pipelined command, kept until its reply is read. */
struct pend {
    int node;                       /* index in cl->node; -1: not sent */
    int slot;                       /* its key's slot; -1: keyless */
    int in_multi;                   /* MULTI..EXEC: never run again */
    char *cmd;                      /* owned (redisFreeCommand): bytes */
    size_t len;
    char *why;                      /* owned; node -1: why not sent */
};

struct ctl_cluster {
    const struct hl_redis_addr *a;  /* borrowed: seeds, password */
    struct hl_slot_map *map;        /* owned; never NULL after new */
    struct node node[NODES_MAX];    /* seeds first, then as met */
    int nnodes;
    int route;                      /* node for keyless commands; -1:
                                     * the first primary of the map */
    struct pend *q;                 /* owned: the pipeline, q[head..len) */
    size_t head, len, cap;
    int multi;                      /* appending between MULTI and EXEC */
    int lost;                       /* last next() lost a connection */
};

/* Commands without a key at argv[1]; all others have one there. */
static const char *const keyless[] = {
    "MULTI", "EXEC", "DISCARD", "PING", "ECHO", "CONFIG", "INFO",
    "CLUSTER", "TIME", "DBSIZE", "ROLE", "WAIT", "SCRIPT", "ASKING",
    "READONLY", "CLIENT", "COMMAND", "LASTSAVE", "MEMORY", "SLOWLOG",
};

static void sleep_ms(long ms) {
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* The slot of the command's key, or -1 for a keyless command. The key
 * is argv[1], except for EVAL/EVALSHA (argv[3], the first of KEYS). */
static int key_slot(int argc, const char **argv, const size_t *lens) {
    int k = 1;
    size_t i;

    if (strcasecmp(argv[0], "EVAL") == 0 ||
        strcasecmp(argv[0], "EVALSHA") == 0)
        k = argc > 3 && strcmp(argv[2], "0") != 0 ? 3 : argc;
    if (argc <= k)
        return -1;
    for (i = 0; i < HL_ARRAY_LEN(keyless); i++) {
        if (strcasecmp(argv[0], keyless[i]) == 0)
            return -1;
    }
    return (int)hl_slot_of(argv[k], lens != NULL ? lens[k]
                                                 : strlen(argv[k]));
}

/* ---- nodes ------------------------------------------------------------ */

/* Index of node host:port, added when new. -1 with `err` when full. */
static int node_find(struct ctl_cluster *cl, const char *host, int port,
                     char err[HL_ERR_LEN]) {
    struct node *n;
    int i;

    for (i = 0; i < cl->nnodes; i++) {
        if (cl->node[i].port == port && strcmp(cl->node[i].host, host) == 0)
            return i;
    }
    if (cl->nnodes == NODES_MAX) {
        snprintf(err, HL_ERR_LEN, "Redis Cluster: more than %d nodes",
                 NODES_MAX);
        return -1;
    }
    n = &cl->node[cl->nnodes];
    snprintf(n->host, sizeof(n->host), "%s", host);
    n->port = port;
    snprintf(n->addr, sizeof(n->addr), "%s:%d", host, port);
    return cl->nnodes++;
}

/* The connection to node `i` for a synchronous command (`sync`: the side
 * connection while pipelined replies are pending) or for the pipeline,
 * opened when needed. NULL with `err` set. */
static redisContext *node_ctx(struct ctl_cluster *cl, int i, int sync,
                              char err[HL_ERR_LEN]) {
    struct node *n = &cl->node[i];
    redisContext **slot = sync && n->pending > 0 ? &n->side : &n->ctx;

    if (*slot == NULL)
        *slot = ctl_redis_connect(n->host, n->port, NULL, &cl->a->password,
                                  0, err);
    return *slot;
}

/* Frees the connection `ctx` of node `i` (its ctx or its side). */
static void node_drop(struct ctl_cluster *cl, int i, redisContext *ctx) {
    struct node *n = &cl->node[i];

    if (ctx == n->ctx) {
        n->ctx = NULL;
        n->pending = 0;
    } else if (ctx == n->side) {
        n->side = NULL;
    }
    redisFree(ctx);
}

/* ---- the slot map ----------------------------------------------------- */

/* CLUSTER SLOTS from node `i` into *map. */
static int ask_slots(struct ctl_cluster *cl, int i, struct hl_slot_map **map,
                     char why[HL_ERR_LEN]) {
    const char *argv[2] = { "CLUSTER", "SLOTS" };
    redisContext *ctx = node_ctx(cl, i, 1, why);
    redisReply *r;
    int rc;

    if (ctx == NULL)
        return HL_EIO;
    r = redisCommandArgv(ctx, 2, argv, NULL);
    if (r == NULL) {
        snprintf(why, HL_ERR_LEN, "Redis at %s: %.100s", cl->node[i].addr,
                 ctx->errstr);
        node_drop(cl, i, ctx);
        return HL_EIO;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(why, HL_ERR_LEN, "Redis at %s: CLUSTER SLOTS: %.100s "
                 "(not a cluster node?)", cl->node[i].addr, r->str);
        rc = HL_EIO;
    } else {
        rc = hl_slot_map_build(r, cl->node[i].host, map, why);
    }
    freeReplyObject(r);
    return rc;
}

/* Reads a new slot map from a node already connected, else from any
 * node known (seeds first). HL_OK or HL_EIO with `err` saying why the
 * last one failed. */
static int refresh(struct ctl_cluster *cl, char err[HL_ERR_LEN]) {
    struct hl_slot_map *map = NULL;
    int pass, i;

    snprintf(err, HL_ERR_LEN, "Redis Cluster: no node known");
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < cl->nnodes; i++) {
            int open = cl->node[i].ctx != NULL || cl->node[i].side != NULL;
            if (open != (pass == 0))
                continue;
            if (ask_slots(cl, i, &map, err) == HL_OK) {
                hl_slot_map_free(cl->map);
                cl->map = map;
                return HL_OK;
            }
        }
    }
    return HL_EIO;
}

/* The node serving `slot` (-1: the route, else the map's first
 * primary) into *i. HL_OK, or HL_EIO with `err` set. */
static int pick(struct ctl_cluster *cl, int slot, int *i,
                char err[HL_ERR_LEN]) {
    const struct hl_slot_node *n = NULL;
    int idx = -1, k;

    if (slot < 0 && cl->route >= 0) {
        *i = cl->route;
        return HL_OK;
    }
    if (slot >= 0 && hl_slot_map_lookup(cl->map, (unsigned)slot, &idx)
                         != HL_OK) {
        snprintf(err, HL_ERR_LEN, "Redis Cluster: no primary serves slot "
                 "%d (redis-cli --cluster check)", slot);
        return HL_EIO;
    }
    for (k = 0; slot < 0 && k < hl_slot_map_node_count(cl->map); k++) {
        if (hl_slot_map_node(cl->map, k)->primary == -1) {
            idx = k;
            break;
        }
    }
    n = hl_slot_map_node(cl->map, idx);
    if (n == NULL) {
        snprintf(err, HL_ERR_LEN, "Redis Cluster: no primary known");
        return HL_EIO;
    }
    *i = node_find(cl, n->host, n->port, err);
    return *i >= 0 ? HL_OK : HL_EIO;
}

/* ---- one command, synchronously --------------------------------------- */

/* Sends [ASKING and] the command's bytes and reads its reply (NULL when
 * the connection failed). */
static redisReply *exchange(redisContext *ctx, int asking, const char *cmd,
                            size_t len) {
    const char *ask[1] = { "ASKING" };
    void *r = NULL;

    if (asking && redisAppendCommandArgv(ctx, 1, ask, NULL) != REDIS_OK)
        return NULL;
    if (redisAppendFormattedCommand(ctx, cmd, len) != REDIS_OK)
        return NULL;
    if (asking) {
        if (redisGetReply(ctx, &r) != REDIS_OK)
            return NULL;
        freeReplyObject(r);
        r = NULL;
    }
    if (redisGetReply(ctx, &r) != REDIS_OK)
        return NULL;
    return r;
}

/* Runs the command `cmd` (for `slot`) on node `i` (after ASKING when
 * `asking`), following redirects and busy replies. HL_OK with *out the
 * final reply (caller owns; may be an error reply), or HL_EIO with `err`
 * set when a node could not be reached or the connection was lost (the
 * map is refreshed for the next command; the command is not sent again:
 * it may have run). */
static int run(struct ctl_cluster *cl, int i, int asking, const char *cmd,
               size_t len, redisReply **out, char err[HL_ERR_LEN]) {
    long long deadline = hl_time_mono_ms() + CTL_REDIS_TIMEOUT_MS;
    struct hl_cluster_redirect redir;
    enum hl_cluster_verdict v;
    char why[HL_ERR_LEN];
    int redirects = 0, busy = 0;
    redisContext *ctx;
    redisReply *r;

    for (;;) {
        ctx = node_ctx(cl, i, 1, err);
        if (ctx == NULL)
            return HL_EIO;
        r = exchange(ctx, asking, cmd, len);
        v = hl_cluster_judge(r, cl->node[i].host, &redir);
        if (v == HL_CLUSTER_LOST) {
            snprintf(err, HL_ERR_LEN, "Redis at %s: %.100s",
                     cl->node[i].addr, ctx->errstr[0] ? ctx->errstr
                                                      : "no reply");
            node_drop(cl, i, ctx);
            (void)refresh(cl, why);
            return HL_EIO;
        }
        if (v == HL_CLUSTER_FINAL ||
            (v == HL_CLUSTER_BUSY && (++busy > BUSY_TRIES ||
             hl_time_mono_ms() + BUSY_WAIT_MS > deadline)) ||
            (v != HL_CLUSTER_BUSY && ++redirects > REDIRECTS_MAX)) {
            *out = r;
            return HL_OK;
        }
        freeReplyObject(r);
        asking = v == HL_CLUSTER_ASK;
        if (v == HL_CLUSTER_BUSY) {
            sleep_ms(BUSY_WAIT_MS);
            continue;
        }
        if (v == HL_CLUSTER_MOVED)
            (void)refresh(cl, why);   /* the redirect names the node */
        i = node_find(cl, redir.host, redir.port, err);
        if (i < 0)
            return HL_EIO;
    }
}

int ctl_cluster_cmd(struct ctl_cluster *cl, redisReply **reply, int argc,
                    const char **argv, const size_t *lens,
                    char err[HL_ERR_LEN]) {
    int slot = key_slot(argc, argv, lens);
    redisReply *r = NULL;
    char *cmd = NULL;
    int len, i, rc;

    *reply = NULL;
    len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (len < 0) {
        snprintf(err, HL_ERR_LEN, "out of memory");
        return HL_ENOMEM;
    }
    rc = pick(cl, slot, &i, err);
    if (rc == HL_OK)
        rc = run(cl, i, 0, cmd, (size_t)len, &r, err);
    if (rc == HL_OK)
        rc = ctl_redis_reply(r, reply, err);
    redisFreeCommand(cmd);
    return rc;
}

int ctl_cluster_route(struct ctl_cluster *cl, const char *key,
                      char err[HL_ERR_LEN]) {
    int i;

    cl->route = -1;
    if (key == NULL)
        return HL_OK;
    if (pick(cl, (int)hl_slot_of(key, strlen(key)), &i, err) != HL_OK)
        return HL_EIO;
    cl->route = i;
    return HL_OK;
}

/* ---- pipelines -------------------------------------------------------- */

static void pend_cleanup(struct pend *e) {
    if (e->cmd != NULL)
        redisFreeCommand(e->cmd);
    e->cmd = NULL;
    HL_FREE(e->why);
}

/* Forgets the whole pipeline after a lost connection: every connection
 * with replies still pending is closed (they will never be read). */
static void drop_pipeline(struct ctl_cluster *cl) {
    int i;

    for (; cl->head < cl->len; cl->head++)
        pend_cleanup(&cl->q[cl->head]);
    cl->head = 0;
    cl->len = 0;
    cl->multi = 0;
    for (i = 0; i < cl->nnodes; i++) {
        if (cl->node[i].pending > 0)
            node_drop(cl, i, cl->node[i].ctx);
    }
}

static struct pend *pend_push(struct ctl_cluster *cl) {
    struct pend *q;
    size_t cap;

    if (cl->head == cl->len) {
        cl->head = 0;
        cl->len = 0;
    }
    if (cl->len == cl->cap) {
        cap = cl->cap == 0 ? QUEUE_MIN : cl->cap * 2;
        q = realloc(cl->q, cap * sizeof(*q));
        if (q == NULL)
            return NULL;
        cl->q = q;
        cl->cap = cap;
    }
    memset(&cl->q[cl->len], 0, sizeof(cl->q[0]));
    return &cl->q[cl->len++];
}

int ctl_cluster_append(struct ctl_cluster *cl, int argc, const char **argv,
                       const size_t *lens) {
    char why[HL_ERR_LEN];
    redisContext *ctx = NULL;
    struct pend *e = pend_push(cl);
    int len;

    if (e == NULL)
        return HL_ENOMEM;
    e->slot = key_slot(argc, argv, lens);
    len = redisFormatCommandArgv(&e->cmd, argc, argv, lens);
    if (len < 0) {
        cl->len--;
        return HL_ENOMEM;
    }
    e->len = (size_t)len;
    if (strcasecmp(argv[0], "MULTI") == 0)
        cl->multi = 1;
    e->in_multi = cl->multi;
    if (strcasecmp(argv[0], "EXEC") == 0 ||
        strcasecmp(argv[0], "DISCARD") == 0)
        cl->multi = 0;
    if (pick(cl, e->slot, &e->node, why) == HL_OK)
        ctx = node_ctx(cl, e->node, 0, why);
    if (ctx == NULL) {
        /* told in order, by ctl_cluster_next() */
        e->node = -1;
        e->why = strdup(why);
        return e->why != NULL ? HL_OK : HL_ENOMEM;
    }
    if (redisAppendFormattedCommand(ctx, e->cmd, e->len) != REDIS_OK) {
        pend_cleanup(e);
        cl->len--;
        return HL_ENOMEM;
    }
    cl->node[e->node].pending++;
    return HL_OK;
}

/* The reply of pipelined command `e`, read from its node, or run again
 * when it was redirected or busy. */
static int read_pend(struct ctl_cluster *cl, const struct pend *e,
                     redisReply **out, char err[HL_ERR_LEN]) {
    struct node *n = &cl->node[e->node];
    struct hl_cluster_redirect redir;
    enum hl_cluster_verdict v;
    char why[HL_ERR_LEN];
    void *r = NULL;
    int i = e->node;

    if (n->ctx == NULL || redisGetReply(n->ctx, &r) != REDIS_OK) {
        snprintf(err, HL_ERR_LEN, "Redis at %s: %.100s", n->addr,
                 n->ctx != NULL && n->ctx->errstr[0] ? n->ctx->errstr
                                                     : "connection lost");
        cl->lost = 1;
        return HL_EIO;
    }
    n->pending--;
    v = hl_cluster_judge(r, n->host, &redir);
    if (v == HL_CLUSTER_FINAL || v == HL_CLUSTER_LOST || e->in_multi) {
        *out = r;
        return HL_OK;
    }
    freeReplyObject(r);
    if (v == HL_CLUSTER_MOVED)
        (void)refresh(cl, why);
    if (v != HL_CLUSTER_BUSY) {
        i = node_find(cl, redir.host, redir.port, err);
        if (i < 0)
            return HL_EIO;
    }
    return run(cl, i, v == HL_CLUSTER_ASK, e->cmd, e->len, out, err);
}

int ctl_cluster_next(struct ctl_cluster *cl, redisReply **reply,
                     char err[HL_ERR_LEN]) {
    redisReply *r = NULL;
    struct pend *e;
    int rc;

    *reply = NULL;
    cl->lost = 0;
    if (cl->head == cl->len) {
        snprintf(err, HL_ERR_LEN, "Redis: no command pipelined");
        return HL_ESTATE;
    }
    e = &cl->q[cl->head++];
    if (e->node < 0) {
        snprintf(err, HL_ERR_LEN, "%s", e->why);
        rc = HL_EIO;
    } else {
        rc = read_pend(cl, e, &r, err);
        if (rc == HL_OK)
            rc = ctl_redis_reply(r, reply, err);
    }
    pend_cleanup(e);
    if (cl->lost)
        drop_pipeline(cl);
    return rc;
}

int ctl_cluster_lost(const struct ctl_cluster *cl) {
    return cl->lost;
}

/* ---- life ------------------------------------------------------------- */

struct ctl_cluster *ctl_cluster_new(const struct hl_redis_addr *a,
                                    char err[HL_ERR_LEN]) {
    char hosts[HL_CLUSTER_SEEDS_MAX][HL_SLOT_HOST_MAX], why[HL_ERR_LEN];
    int ports[HL_CLUSTER_SEEDS_MAX];
    struct ctl_cluster *cl = calloc(1, sizeof(*cl));
    int i, n = 0;

    if (cl == NULL) {
        snprintf(err, HL_ERR_LEN, "out of memory");
        return NULL;
    }
    cl->a = a;
    cl->route = -1;
    if (hl_cluster_parse_seeds(a->seeds, hosts, ports, &n, err) != HL_OK)
        goto fail;
    for (i = 0; i < n; i++) {
        if (node_find(cl, hosts[i], ports[i], err) < 0)
            goto fail;
    }
    if (refresh(cl, why) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "no seed of Redis Cluster %.60s answered "
                 "CLUSTER SLOTS (last: %.130s)", a->seeds, why);
        goto fail;
    }
    return cl;
fail:
    ctl_cluster_free(cl);
    return NULL;
}

void ctl_cluster_free(struct ctl_cluster *cl) {
    int i;

    if (cl == NULL)
        return;
    for (; cl->head < cl->len; cl->head++)
        pend_cleanup(&cl->q[cl->head]);
    free(cl->q);
    for (i = 0; i < cl->nnodes; i++) {
        if (cl->node[i].ctx != NULL)
            redisFree(cl->node[i].ctx);
        if (cl->node[i].side != NULL)
            redisFree(cl->node[i].side);
    }
    hl_slot_map_free(cl->map);
    free(cl);
}

/* ---- doctor ----------------------------------------------------------- */

/* PING and CONFIG GET appendonly on primary `i` of the pool. */
static void probe(struct ctl_cluster *cl, int i,
                  struct ctl_cluster_health *h) {
    const char *ping[1] = { "PING" };
    const char *aof[3] = { "CONFIG", "GET", "appendonly" };
    char why[HL_ERR_LEN];
    redisContext *ctx = node_ctx(cl, i, 1, why);
    redisReply *r = ctx != NULL ? redisCommandArgv(ctx, 1, ping, NULL)
                                : NULL;

    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        if (h->first_bad[0] == '\0')
            snprintf(h->first_bad, sizeof(h->first_bad), "%s",
                     cl->node[i].addr);
        if (r == NULL && ctx != NULL)
            node_drop(cl, i, ctx);
        if (r != NULL)
            freeReplyObject(r);
        return;
    }
    freeReplyObject(r);
    h->reachable++;
    r = redisCommandArgv(ctx, 3, aof, NULL);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[1]->type != REDIS_REPLY_STRING) {
        h->aof_unknown++;
    } else if (strcmp(r->element[1]->str, "yes") != 0) {
        if (h->aof_off++ == 0)
            snprintf(h->first_aof_off, sizeof(h->first_aof_off), "%s",
                     cl->node[i].addr);
    }
    if (r != NULL)
        freeReplyObject(r);
}

int ctl_cluster_health(struct ctl_cluster *cl, struct ctl_cluster_health *h,
                       char err[HL_ERR_LEN]) {
    const struct hl_slot_node *n;
    int k, i;

    memset(h, 0, sizeof(*h));
    if (refresh(cl, err) != HL_OK)
        return HL_EIO;
    h->served = hl_slot_map_assigned(cl->map);
    for (k = 0; k < hl_slot_map_node_count(cl->map); k++) {
        n = hl_slot_map_node(cl->map, k);
        if (n->primary != -1)
            continue;
        h->primaries++;
        i = node_find(cl, n->host, n->port, err);
        if (i < 0)
            return HL_EIO;
        probe(cl, i, h);
    }
    return HL_OK;
}
