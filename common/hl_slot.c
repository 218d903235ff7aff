/* hl_slot.c - Redis Cluster key slots (CRC16-XMODEM of the key or its hash
 * tag, mod 16384) and the slot map built from a CLUSTER SLOTS reply.
 *
 * Pure: the reply arrives as a redisReply tree the caller already has;
 * nothing here opens a socket or keeps a pointer into the reply. The
 * map's node table is deduplicated by "host:port", so a node named in
 * several entries (a primary with several ranges) is one index. It does
 * not route, refresh or follow MOVED/ASK (see hl_slot.h). */
#include "hl_slot.h"

#include <stdio.h>
#include <string.h>

#define NODES_INITIAL 8         /* first node table allocation */

struct hl_slot_map {
    int16_t slot[HL_SLOT_COUNT];  /* primary's node index, -1 unassigned */
    struct hl_slot_node *nodes;   /* owned; `len` used of `cap` */
    int len;
    int cap;
    int assigned;                 /* slots with a primary */
};

/* ---- slots -------------------------------------------------------------- */

unsigned hl_slot_crc16(const char *p, size_t len) {
    unsigned crc = 0;
    size_t i;
    int b;

    for (i = 0; i < len; i++) {
        crc ^= (unsigned)(unsigned char)p[i] << 8;
        for (b = 0; b < 8; b++) {
            if (crc & 0x8000)
                crc = (crc << 1) ^ 0x1021;
            else
                crc <<= 1;
        }
        crc &= 0xffff;
    }
    return crc;
}

unsigned hl_slot_of(const char *key, size_t len) {
    const char *open = memchr(key, '{', len);
    const char *close;
    size_t rest;

    if (open != NULL) {
        rest = len - (size_t)(open - key) - 1;
        close = memchr(open + 1, '}', rest);
        /* an empty tag "{}" does not count: the whole key is hashed */
        if (close != NULL && close > open + 1)
            return hl_slot_crc16(open + 1, (size_t)(close - open - 1)) &
                   (HL_SLOT_COUNT - 1);
    }
    return hl_slot_crc16(key, len) & (HL_SLOT_COUNT - 1);
}

/* ---- building the map --------------------------------------------------- */

/* Index of the node with address `addr`, or -1. */
static int node_find(const struct hl_slot_map *m, const char *addr) {
    int i;

    for (i = 0; i < m->len; i++) {
        if (strcmp(m->nodes[i].addr, addr) == 0)
            return i;
    }
    return -1;
}

/* Appends a zeroed node and returns its index in *idx. */
static int node_add(struct hl_slot_map *m, int *idx) {
    struct hl_slot_node *grown;
    int cap;

    if (m->len == HL_SLOT_NODES_MAX)
        return HL_ETOOBIG;
    if (m->len == m->cap) {
        cap = m->cap == 0 ? NODES_INITIAL : m->cap * 2;
        if (cap > HL_SLOT_NODES_MAX)
            cap = HL_SLOT_NODES_MAX;
        grown = realloc(m->nodes, (size_t)cap * sizeof(*grown));
        if (grown == NULL)
            return HL_ENOMEM;
        m->nodes = grown;
        m->cap = cap;
    }
    memset(&m->nodes[m->len], 0, sizeof(m->nodes[m->len]));
    m->nodes[m->len].primary = -1;
    *idx = m->len++;
    return HL_OK;
}

/* Reads the host of node reply `r` (element 0) into `host`. */
static int node_host(const redisReply *r, const char *fallback,
                     char host[HL_SLOT_HOST_MAX], char err[HL_ERR_LEN],
                     size_t e, size_t k) {
    const char *h = NULL;
    size_t hlen = 0;

    if (r->element[0]->type == REDIS_REPLY_STRING) {
        h = r->element[0]->str;
        hlen = r->element[0]->len;
    } else if (r->element[0]->type != REDIS_REPLY_NIL) {
        snprintf(err, HL_ERR_LEN, "entry %zu node %zu: host is not a "
                 "string", e, k);
        return HL_EINVAL;
    }
    if (hlen == 0) {
        /* NIL or "": the endpoint of the node that was asked */
        if (fallback == NULL) {
            snprintf(err, HL_ERR_LEN, "entry %zu node %zu: empty host and "
                     "no fallback host", e, k);
            return HL_EINVAL;
        }
        h = fallback;
        hlen = strlen(fallback);
    }
    if (hlen == 1 && h[0] == '?') {
        snprintf(err, HL_ERR_LEN, "entry %zu node %zu: endpoint unknown "
                 "(\"?\")", e, k);
        return HL_EINVAL;
    }
    if (hlen >= HL_SLOT_HOST_MAX || memchr(h, '\0', hlen) != NULL) {
        snprintf(err, HL_ERR_LEN, "entry %zu node %zu: host too long or "
                 "holds a NUL", e, k);
        return HL_ETOOBIG;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    return HL_OK;
}

/* Parses node reply `r` ([host, port, id?, ...]) of entry `e`, position
 * `k`, and sets *idx to its node table index (added when new). */
static int node_parse(struct hl_slot_map *m, const redisReply *r,
                      const char *fallback, int *idx, char err[HL_ERR_LEN],
                      size_t e, size_t k) {
    struct hl_slot_node n;
    const redisReply *id;
    int rc;
    int w;

    memset(&n, 0, sizeof(n));
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
        snprintf(err, HL_ERR_LEN, "entry %zu node %zu: not an array of "
                 "host and port", e, k);
        return HL_EINVAL;
    }
    rc = node_host(r, fallback, n.host, err, e, k);
    if (rc != HL_OK)
        return rc;
    if (r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->integer < 1 || r->element[1]->integer > 65535) {
        snprintf(err, HL_ERR_LEN, "entry %zu node %zu: port is not an "
                 "integer in 1..65535", e, k);
        return HL_EINVAL;
    }
    n.port = (int)r->element[1]->integer;
    w = snprintf(n.addr, sizeof(n.addr), "%s:%d", n.host, n.port);
    if (w < 0 || (size_t)w >= sizeof(n.addr)) {
        snprintf(err, HL_ERR_LEN, "entry %zu node %zu: address too long",
                 e, k);
        return HL_ETOOBIG;
    }
    id = r->elements > 2 ? r->element[2] : NULL;
    if (id != NULL && id->type == REDIS_REPLY_STRING &&
        id->len < sizeof(n.id))
        memcpy(n.id, id->str, id->len + 1);
    *idx = node_find(m, n.addr);
    if (*idx >= 0)
        return HL_OK;
    rc = node_add(m, idx);
    if (rc != HL_OK) {
        snprintf(err, HL_ERR_LEN, "entry %zu node %zu: %s", e, k,
                 rc == HL_ETOOBIG ? "more than HL_SLOT_NODES_MAX nodes"
                                  : "out of memory");
        return rc;
    }
    n.primary = -1;
    m->nodes[*idx] = n;
    return HL_OK;
}

/* Reads slot number `i` of entry `r` into *slot. */
static int slot_bound(const redisReply *r, size_t i, long long *slot,
                      char err[HL_ERR_LEN], size_t e) {
    if (r->element[i]->type != REDIS_REPLY_INTEGER ||
        r->element[i]->integer < 0 ||
        r->element[i]->integer >= HL_SLOT_COUNT) {
        snprintf(err, HL_ERR_LEN, "entry %zu: %s slot is not an integer "
                 "in 0..%d", e, i == 0 ? "start" : "end", HL_SLOT_COUNT - 1);
        return HL_EINVAL;
    }
    *slot = r->element[i]->integer;
    return HL_OK;
}

/* Records that node `idx` replicates `primary`; a node cannot be both. */
static int mark_replica(struct hl_slot_map *m, int idx, int primary,
                        char err[HL_ERR_LEN], size_t e) {
    int i;

    if (idx == primary || m->nodes[idx].primary >= 0)
        goto conflict;
    for (i = 0; i < m->len; i++) {
        if (m->nodes[i].primary == idx)
            goto conflict;
    }
    for (i = 0; i < HL_SLOT_COUNT; i++) {
        if (m->slot[i] == idx)
            goto conflict;
    }
    m->nodes[idx].primary = primary;
    return HL_OK;
conflict:
    snprintf(err, HL_ERR_LEN, "entry %zu: node %.150s is named as a primary "
             "and as a replica, or of two primaries", e, m->nodes[idx].addr);
    return HL_EINVAL;
}

/* Adds entry `r` ([start, end, primary, replica...]) number `e`. */
static int entry_parse(struct hl_slot_map *m, const redisReply *r,
                       const char *fallback, char err[HL_ERR_LEN],
                       size_t e) {
    long long start;
    long long end;
    long long s;
    int primary;
    int idx;
    size_t k;
    int rc;

    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3) {
        snprintf(err, HL_ERR_LEN, "entry %zu: not an array of start, end "
                 "and a primary", e);
        return HL_EINVAL;
    }
    rc = slot_bound(r, 0, &start, err, e);
    if (rc == HL_OK)
        rc = slot_bound(r, 1, &end, err, e);
    if (rc != HL_OK)
        return rc;
    if (start > end) {
        snprintf(err, HL_ERR_LEN, "entry %zu: start slot %lld after end "
                 "slot %lld", e, start, end);
        return HL_EINVAL;
    }
    rc = node_parse(m, r->element[2], fallback, &primary, err, e, 0);
    if (rc != HL_OK)
        return rc;
    if (m->nodes[primary].primary >= 0) {
        snprintf(err, HL_ERR_LEN, "entry %zu: primary %.150s is a replica in "
                 "another entry", e, m->nodes[primary].addr);
        return HL_EINVAL;
    }
    for (s = start; s <= end; s++) {
        if (m->slot[s] >= 0) {
            snprintf(err, HL_ERR_LEN, "entry %zu: slot %lld is already "
                     "served by %.150s", e, s, m->nodes[m->slot[s]].addr);
            return HL_EINVAL;
        }
        m->slot[s] = (int16_t)primary;
        m->assigned++;
    }
    for (k = 3; k < r->elements; k++) {
        rc = node_parse(m, r->element[k], fallback, &idx, err, e, k - 2);
        if (rc == HL_OK && m->nodes[idx].primary != primary)
            rc = mark_replica(m, idx, primary, err, e);
        if (rc != HL_OK)
            return rc;
    }
    return HL_OK;
}

int hl_slot_map_build(const redisReply *reply, const char *fallback_host,
                      struct hl_slot_map **out, char err[HL_ERR_LEN]) {
    struct hl_slot_map *m = NULL;
    size_t e;
    int i;
    int rc = HL_ERR;

    *out = NULL;
    err[0] = '\0';
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        snprintf(err, HL_ERR_LEN, "CLUSTER SLOTS reply is not an array");
        rc = HL_EINVAL;
        goto cleanup;
    }
    m = calloc(1, sizeof(*m));
    if (m == NULL) {
        snprintf(err, HL_ERR_LEN, "out of memory");
        rc = HL_ENOMEM;
        goto cleanup;
    }
    for (i = 0; i < HL_SLOT_COUNT; i++)
        m->slot[i] = -1;
    for (e = 0; e < reply->elements; e++) {
        rc = entry_parse(m, reply->element[e], fallback_host, err, e);
        if (rc != HL_OK)
            goto cleanup;
    }
    *out = m;
    m = NULL;
    rc = HL_OK;
cleanup:
    hl_slot_map_free(m);
    return rc;
}

void hl_slot_map_free(struct hl_slot_map *m) {
    if (m == NULL)
        return;
    HL_FREE(m->nodes);
    free(m);
}

/* ---- lookups ------------------------------------------------------------ */

int hl_slot_map_lookup(const struct hl_slot_map *m, unsigned slot,
                       int *node) {
    *node = -1;
    if (slot >= HL_SLOT_COUNT)
        return HL_EINVAL;
    if (m->slot[slot] < 0)
        return HL_ENOTFOUND;
    *node = m->slot[slot];
    return HL_OK;
}

int hl_slot_map_lookup_key(const struct hl_slot_map *m, const char *key,
                           size_t len, int *node) {
    return hl_slot_map_lookup(m, hl_slot_of(key, len), node);
}

int hl_slot_map_replica(const struct hl_slot_map *m, unsigned slot,
                        int k, int *node) {
    int primary;
    int i;
    int rc;

    rc = hl_slot_map_lookup(m, slot, &primary);
    *node = -1;
    if (rc != HL_OK)
        return rc;
    for (i = 0; i < m->len; i++) {
        if (m->nodes[i].primary == primary && k-- == 0) {
            *node = i;
            return HL_OK;
        }
    }
    return HL_ENOTFOUND;
}

int hl_slot_map_node_count(const struct hl_slot_map *m) {
    return m->len;
}

const struct hl_slot_node *hl_slot_map_node(const struct hl_slot_map *m,
                                            int idx) {
    if (idx < 0 || idx >= m->len)
        return NULL;
    return &m->nodes[idx];
}

int hl_slot_map_assigned(const struct hl_slot_map *m) {
    return m->assigned;
}
