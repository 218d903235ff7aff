/* kv.c - the routed blocking client of kv.h: a table of node connections,
 * a slot map (cluster) or a primary address (sentinel), and one retry
 * loop that every command goes through. It does not parse CLUSTER SLOTS
 * itself (hl_slot.c does) and never writes for hookline. */
#include "kv.h"
#include "hl_test.h"
#include "redis_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KIND_SINGLE 0
#define KIND_CLUSTER 1
#define KIND_SENTINEL 2
#define HOST_MAX 64
#define LIST_MAX 512                /* seeds or sentinels, "h:p,..." */
#define MASTER_MAX 128
#define PAUSE_MS 50                 /* between two tries of a command */
#define REDIRECTS_MAX 16            /* MOVED/ASK hops of one command */

struct node {
    char host[HOST_MAX];
    int port;                       /* 0: free slot */
    redisContext *c;                /* owned; NULL until used */
};

struct ht_kv {
    int kind;                       /* KIND_* */
    long timeout_ms;                /* connect and per command */
    long retry_ms;                  /* a command's retry budget */
    char list[LIST_MAX];            /* cluster seeds or sentinels */
    char master[MASTER_MAX];        /* sentinel: the master's name */
    struct node node[HT_KV_NODES_MAX];  /* single, sentinel: node[0] */
    struct hl_slot_map *map;        /* cluster; owned; NULL: unknown */
    int primary_known;              /* sentinel: node[0] is the primary */
    long long redirects;
};

/* ---- construction -------------------------------------------------------- */

static struct ht_kv *kv_new(int kind, long timeout_ms) {
    struct ht_kv *kv = calloc(1, sizeof(*kv));

    if (kv == NULL)
        return NULL;
    kv->kind = kind;
    kv->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    kv->retry_ms = HT_KV_RETRY_MS;
    return kv;
}

/* Copies `s` into `out` (`sz` bytes); HL_ETOOBIG when it does not fit. */
static int copy(char *out, size_t sz, const char *s) {
    int n = snprintf(out, sz, "%s", s);

    return n < 0 || (size_t)n >= sz ? HL_ETOOBIG : HL_OK;
}

struct ht_kv *ht_kv_single(const char *host, int port, long timeout_ms) {
    struct ht_kv *kv;

    if (host == NULL || port <= 0 || port > 65535)
        return NULL;
    kv = kv_new(KIND_SINGLE, timeout_ms);
    if (kv == NULL)
        return NULL;
    if (copy(kv->node[0].host, HOST_MAX, host) != HL_OK) {
        ht_kv_free(kv);
        return NULL;
    }
    kv->node[0].port = port;
    return kv;
}

struct ht_kv *ht_kv_cluster(const char *seeds, long timeout_ms) {
    struct ht_kv *kv;

    if (seeds == NULL || seeds[0] == '\0')
        return NULL;
    kv = kv_new(KIND_CLUSTER, timeout_ms);
    if (kv != NULL && copy(kv->list, LIST_MAX, seeds) != HL_OK) {
        ht_kv_free(kv);
        return NULL;
    }
    return kv;
}

struct ht_kv *ht_kv_sentinel(const char *sentinels, const char *master,
                             long timeout_ms) {
    struct ht_kv *kv;

    if (sentinels == NULL || sentinels[0] == '\0' || master == NULL)
        return NULL;
    kv = kv_new(KIND_SENTINEL, timeout_ms);
    if (kv != NULL && (copy(kv->list, LIST_MAX, sentinels) != HL_OK ||
                       copy(kv->master, MASTER_MAX, master) != HL_OK)) {
        ht_kv_free(kv);
        return NULL;
    }
    return kv;
}

void ht_kv_set_retry(struct ht_kv *kv, long retry_ms) {
    kv->retry_ms = retry_ms >= 0 ? retry_ms : 0;
}

long long ht_kv_redirects(const struct ht_kv *kv) {
    return kv->redirects;
}

/* ---- connections --------------------------------------------------------- */

static void node_close(struct node *n) {
    if (n->c != NULL)
        redisFree(n->c);
    n->c = NULL;
}

/* The node entry for host:port, added when new; NULL when the table is
 * full. */
static struct node *node_find(struct ht_kv *kv, const char *host, int port) {
    struct node *fresh = NULL;
    int i;

    for (i = 0; i < HT_KV_NODES_MAX; i++) {
        struct node *n = &kv->node[i];
        if (n->port == port && strcmp(n->host, host) == 0)
            return n;
        if (n->port == 0 && fresh == NULL)
            fresh = n;
    }
    if (fresh == NULL || copy(fresh->host, HOST_MAX, host) != HL_OK)
        return NULL;
    fresh->port = port;
    return fresh;
}

/* A connected context for `n`, dialled when needed; NULL on failure. */
static redisContext *node_conn(struct ht_kv *kv, struct node *n) {
    if (n->c != NULL && n->c->err != 0)
        node_close(n);
    if (n->c == NULL)
        n->c = ht_redis_connect_host(n->host, n->port, kv->timeout_ms);
    return n->c;
}

/* Splits "host:port" of a list entry [p, end) into host and *port. */
static int parse_addr(const char *p, size_t len, char host[HOST_MAX],
                      int *port) {
    const char *colon = NULL;
    char num[8];
    char *end = NULL;
    size_t i;
    long v;

    for (i = 0; i < len; i++) {
        if (p[i] == ':')
            colon = p + i;
    }
    if (colon == NULL || (size_t)(colon - p) >= HOST_MAX ||
        len - (size_t)(colon - p) - 1 >= sizeof(num))
        return HL_EINVAL;
    memcpy(host, p, (size_t)(colon - p));
    host[colon - p] = '\0';
    memcpy(num, colon + 1, len - (size_t)(colon - p) - 1);
    num[len - (size_t)(colon - p) - 1] = '\0';
    v = strtol(num, &end, 10);
    if (end == num || *end != '\0' || v <= 0 || v > 65535)
        return HL_EINVAL;
    *port = (int)v;
    return HL_OK;
}

/* Entry `k` of kv->list; HL_ENOTFOUND past the end. */
static int list_entry(const struct ht_kv *kv, int k, char host[HOST_MAX],
                      int *port) {
    const char *p = kv->list;
    const char *comma;

    for (; k > 0 && p != NULL; k--) {
        comma = strchr(p, ',');
        p = comma != NULL ? comma + 1 : NULL;
    }
    if (p == NULL || *p == '\0')
        return HL_ENOTFOUND;
    comma = strchr(p, ',');
    return parse_addr(p, comma != NULL ? (size_t)(comma - p) : strlen(p),
                      host, port);
}

/* ---- cluster map --------------------------------------------------------- */

/* CLUSTER SLOTS from host:port into kv->map. */
static int map_from(struct ht_kv *kv, const char *host, int port) {
    struct node *n = node_find(kv, host, port);
    struct hl_slot_map *m = NULL;
    redisContext *c = n != NULL ? node_conn(kv, n) : NULL;
    redisReply *rep = NULL;
    char err[HL_ERR_LEN];
    int rc = HL_EIO;

    if (c == NULL)
        return HL_EIO;
    rep = redisCommand(c, "CLUSTER SLOTS");
    if (rep == NULL) {
        node_close(n);
        return HL_EIO;
    }
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements > 0 &&
        hl_slot_map_build(rep, host, &m, err) == HL_OK) {
        hl_slot_map_free(kv->map);
        kv->map = m;
        rc = HL_OK;
    }
    freeReplyObject(rep);
    return rc;
}

int ht_kv_refresh(struct ht_kv *kv) {
    char host[HOST_MAX];
    int port = 0, k, i;

    if (kv->kind != KIND_CLUSTER)
        return HL_EINVAL;
    /* the nodes we know first (a reshard or failover is known to them
     * before the seeds' list is of any help), then the seeds */
    for (i = 0; i < HT_KV_NODES_MAX; i++) {
        if (kv->node[i].port != 0 &&
            copy(host, HOST_MAX, kv->node[i].host) == HL_OK &&
            map_from(kv, host, kv->node[i].port) == HL_OK)
            return HL_OK;
    }
    for (k = 0; list_entry(kv, k, host, &port) != HL_ENOTFOUND; k++) {
        if (map_from(kv, host, port) == HL_OK)
            return HL_OK;
    }
    return HL_EIO;
}

const struct hl_slot_map *ht_kv_map(struct ht_kv *kv) {
    if (kv->kind == KIND_CLUSTER && kv->map == NULL)
        ht_kv_refresh(kv);
    return kv->map;
}

/* ---- sentinel ------------------------------------------------------------ */

/* Asks sentinel host:port for the master's address. */
static int ask_sentinel(struct ht_kv *kv, const char *host, int port,
                        char out[HOST_MAX], int *out_port) {
    redisContext *c = ht_redis_connect_host(host, port, kv->timeout_ms);
    redisReply *rep = NULL;
    int rc = HL_EIO;
    char num[8];
    char *end = NULL;
    long v;

    if (c == NULL)
        return HL_EIO;
    rep = redisCommand(c, "SENTINEL get-master-addr-by-name %s", kv->master);
    if (rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
        rep->elements == 2 &&
        rep->element[0]->type == REDIS_REPLY_STRING &&
        rep->element[1]->type == REDIS_REPLY_STRING &&
        copy(out, HOST_MAX, rep->element[0]->str) == HL_OK &&
        copy(num, sizeof(num), rep->element[1]->str) == HL_OK) {
        v = strtol(num, &end, 10);
        if (end != num && *end == '\0' && v > 0 && v <= 65535) {
            *out_port = (int)v;
            rc = HL_OK;
        }
    }
    if (rep != NULL)
        freeReplyObject(rep);
    redisFree(c);
    return rc;
}

int ht_kv_primary(struct ht_kv *kv, char *host, size_t hostsz, int *port) {
    char sh[HOST_MAX], ph[HOST_MAX];
    int sp = 0, pp = 0, k;

    if (kv->kind != KIND_SENTINEL)
        return HL_EINVAL;
    for (k = 0; list_entry(kv, k, sh, &sp) != HL_ENOTFOUND; k++) {
        if (ask_sentinel(kv, sh, sp, ph, &pp) != HL_OK)
            continue;
        if (copy(host, hostsz, ph) != HL_OK)
            return HL_ETOOBIG;
        *port = pp;
        return HL_OK;
    }
    return HL_EIO;
}

/* Points node[0] at the primary the sentinels name now. */
static int follow_primary(struct ht_kv *kv) {
    char host[HOST_MAX];
    int port = 0;

    if (ht_kv_primary(kv, host, sizeof(host), &port) != HL_OK)
        return HL_EIO;
    if (kv->node[0].port != port || strcmp(kv->node[0].host, host) != 0) {
        node_close(&kv->node[0]);
        memcpy(kv->node[0].host, host, sizeof(host));
        kv->node[0].port = port;
    }
    kv->primary_known = 1;
    return HL_OK;
}

/* ---- routing ------------------------------------------------------------- */

/* The node serving `key` now; NULL when unknown (map or primary). */
static struct node *route(struct ht_kv *kv, const char *key) {
    const struct hl_slot_node *sn;
    int idx = -1;

    if (kv->kind == KIND_SINGLE)
        return &kv->node[0];
    if (kv->kind == KIND_SENTINEL) {
        if (!kv->primary_known && follow_primary(kv) != HL_OK)
            return NULL;
        return &kv->node[0];
    }
    if (kv->map == NULL && ht_kv_refresh(kv) != HL_OK)
        return NULL;
    if (hl_slot_map_lookup_key(kv->map, key, strlen(key), &idx) != HL_OK)
        return NULL;
    sn = hl_slot_map_node(kv->map, idx);
    return sn != NULL ? node_find(kv, sn->host, sn->port) : NULL;
}

/* 1 when error reply `r` starts with the word `w`. */
static int is_err(const redisReply *r, const char *w) {
    size_t n = strlen(w);

    return r->type == REDIS_REPLY_ERROR && r->len >= n &&
           strncmp(r->str, w, n) == 0 && (r->str[n] == ' ' ||
                                          r->str[n] == '\0');
}

/* 1 for the error replies a retry (after a refresh) can cure. */
static int is_transient(const redisReply *r) {
    return is_err(r, "TRYAGAIN") || is_err(r, "CLUSTERDOWN") ||
           is_err(r, "LOADING") || is_err(r, "READONLY") ||
           is_err(r, "MASTERDOWN");
}

/* The address of "-MOVED 1234 host:port" / "-ASK ..." into host/port. */
static int redirect_addr(const redisReply *r, char host[HOST_MAX],
                         int *port) {
    const char *sp = strrchr(r->str, ' ');

    if (sp == NULL)
        return HL_EINVAL;
    return parse_addr(sp + 1, strlen(sp + 1), host, port);
}

/* Forgets what routed the last command: map or primary. */
static void stale(struct ht_kv *kv) {
    if (kv->kind == KIND_CLUSTER) {
        hl_slot_map_free(kv->map);
        kv->map = NULL;
    } else if (kv->kind == KIND_SENTINEL) {
        kv->primary_known = 0;
    }
}

/* One try on node `n`, with ASKING first when `asking`. */
static redisReply *try_node(struct ht_kv *kv, struct node *n, int asking,
                            int argc, const char **argv) {
    redisContext *c = node_conn(kv, n);
    redisReply *rep = NULL;

    if (c == NULL)
        return NULL;
    if (asking) {
        rep = redisCommand(c, "ASKING");
        if (rep == NULL) {
            node_close(n);
            return NULL;
        }
        freeReplyObject(rep);
    }
    rep = redisCommandArgv(c, argc, argv, NULL);
    if (rep == NULL)
        node_close(n);
    return rep;
}

redisReply *ht_kv_command(struct ht_kv *kv, int argc, const char **argv) {
    long long deadline = ht_mono_ms() + kv->retry_ms;
    struct node *ask = NULL;
    redisReply *rep = NULL;
    char host[HOST_MAX];
    int port = 0, hops = 0;

    if (argc < 2 || argv == NULL || argv[1] == NULL)
        return NULL;
    for (;;) {
        struct node *n = ask != NULL ? ask : route(kv, argv[1]);
        rep = n != NULL ? try_node(kv, n, ask != NULL, argc, argv) : NULL;
        ask = NULL;
        if (rep != NULL && (is_err(rep, "MOVED") || is_err(rep, "ASK")) &&
            hops++ < REDIRECTS_MAX) {
            kv->redirects++;
            if (is_err(rep, "ASK") &&
                redirect_addr(rep, host, &port) == HL_OK)
                ask = node_find(kv, host, port);
            else
                stale(kv);
            freeReplyObject(rep);
            continue;
        }
        if (rep != NULL && !is_transient(rep))
            return rep;
        if (rep != NULL)
            freeReplyObject(rep);
        rep = NULL;
        stale(kv);
        if (ht_mono_ms() >= deadline)
            return NULL;
        ht_sleep_ms(PAUSE_MS);
    }
}

long long ht_kv_llen(struct ht_kv *kv, const char *key) {
    const char *argv[2] = { "LLEN", key };
    redisReply *rep = ht_kv_command(kv, 2, argv);
    long long n = -1;

    if (rep != NULL && rep->type == REDIS_REPLY_INTEGER)
        n = rep->integer;
    if (rep != NULL)
        freeReplyObject(rep);
    return n;
}

/* ---- pipelines ----------------------------------------------------------- */

/* Pipelines `cmd key` for the keys routed to node `n` (mark[i] == 1)
 * into out[]; a key whose reply is missing or a redirect stays NULL. */
static void pipe_node(struct ht_kv *kv, struct node *n, const char *cmd,
                      const char *const *keys, size_t count,
                      const unsigned char *mark, redisReply **out) {
    redisContext *c = node_conn(kv, n);
    size_t i, sent = 0;

    for (i = 0; c != NULL && i < count; i++) {
        if (mark[i] && redisAppendCommand(c, "%s %s", cmd, keys[i])
                           == REDIS_OK)
            sent++;
        else if (mark[i])
            break;
    }
    for (i = 0; c != NULL && sent > 0 && i < count; i++) {
        redisReply *rep = NULL;
        if (!mark[i])
            continue;
        if (redisGetReply(c, (void **)&rep) != REDIS_OK || rep == NULL) {
            node_close(n);
            return;
        }
        sent--;
        if (is_err(rep, "MOVED") || is_err(rep, "ASK") ||
            is_transient(rep)) {
            freeReplyObject(rep);
            continue;
        }
        out[i] = rep;
    }
    if (sent > 0)
        node_close(n);          /* replies left unread: drop them */
}

int ht_kv_pipe(struct ht_kv *kv, const char *cmd, const char *const *keys,
               size_t n, redisReply **out) {
    struct node *where[HT_KV_NODES_MAX];
    unsigned char *mark = calloc(n + 1, 1);
    struct node **of = calloc(n + 1, sizeof(*of));
    size_t i;
    int k, nn = 0, rc = HL_OK;

    for (i = 0; i < n; i++)
        out[i] = NULL;
    if (mark == NULL || of == NULL) {
        rc = HL_ENOMEM;
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        of[i] = route(kv, keys[i]);
        for (k = 0; of[i] != NULL && k < nn && where[k] != of[i]; k++)
            ;
        if (of[i] != NULL && k == nn && nn < HT_KV_NODES_MAX)
            where[nn++] = of[i];
    }
    for (k = 0; k < nn; k++) {
        for (i = 0; i < n; i++)
            mark[i] = of[i] == where[k];
        pipe_node(kv, where[k], cmd, keys, n, mark, out);
    }
    for (i = 0; i < n && rc == HL_OK; i++) {
        const char *argv[2] = { cmd, keys[i] };
        if (out[i] == NULL)
            out[i] = ht_kv_command(kv, 2, argv);
        if (out[i] == NULL)
            rc = HL_EIO;
    }
cleanup:
    for (i = 0; rc != HL_OK && i < n; i++) {
        if (out[i] != NULL)
            freeReplyObject(out[i]);
        out[i] = NULL;
    }
    free(of);
    free(mark);
    return rc;
}

void ht_kv_free(struct ht_kv *kv) {
    int i;

    if (kv == NULL)
        return;
    for (i = 0; i < HT_KV_NODES_MAX; i++)
        node_close(&kv->node[i]);
    hl_slot_map_free(kv->map);
    free(kv);
}
