/* hl_cluster_proto.c - the Redis Cluster protocol's pure decisions (see
 * hl_cluster_proto.h): redirect parsing, reply verdicts, the next step
 * within a deadline, and the seed list. */
#include "hl_cluster_proto.h"
#include "hl_time.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hl_cluster_parse_redirect(const char *s, size_t len,
                              const char *fallback_host,
                              struct hl_cluster_redirect *out) {
    const char *p, *end = s + len, *sp, *colon;
    unsigned long slot;
    int port;
    size_t hlen;

    if (s == NULL)
        return HL_EINVAL;
    if (len > 6 && memcmp(s, "MOVED ", 6) == 0)
        p = s + 6;
    else if (len > 4 && memcmp(s, "ASK ", 4) == 0)
        p = s + 4;
    else
        return HL_EINVAL;
    sp = memchr(p, ' ', (size_t)(end - p));
    if (sp == NULL ||
        hl_parse_uint(p, (size_t)(sp - p), HL_SLOT_COUNT - 1, &slot)
            != HL_OK)
        return HL_EINVAL;
    p = sp + 1;
    colon = NULL;
    for (sp = p; sp < end; sp++) {
        if (*sp == ':')
            colon = sp;
        else if (*sp == ' ' || *sp == '\0')
            return HL_EINVAL;
    }
    if (colon == NULL ||
        hl_parse_port(colon + 1, (size_t)(end - colon - 1), &port) != HL_OK)
        return HL_EINVAL;
    hlen = (size_t)(colon - p);
    if (hlen == 0) {
        if (fallback_host == NULL || fallback_host[0] == '\0')
            return HL_EINVAL;
        p = fallback_host;
        hlen = strlen(fallback_host);
    }
    if (hlen >= HL_SLOT_HOST_MAX)
        return HL_ETOOBIG;
    memcpy(out->host, p, hlen);
    out->host[hlen] = '\0';
    out->slot = (unsigned)slot;
    out->port = port;
    snprintf(out->addr, sizeof(out->addr), "%s:%d", out->host, out->port);
    return HL_OK;
}

static int starts(const redisReply *r, const char *word) {
    size_t n = strlen(word);

    return (size_t)r->len >= n && memcmp(r->str, word, n) == 0 &&
           ((size_t)r->len == n || r->str[n] == ' ');
}

enum hl_cluster_verdict hl_cluster_judge(const redisReply *reply,
                                         const char *fallback_host,
                                         struct hl_cluster_redirect *redir) {
    if (reply == NULL)
        return HL_CLUSTER_LOST;
    if (reply->type != REDIS_REPLY_ERROR || reply->str == NULL)
        return HL_CLUSTER_FINAL;
    if (starts(reply, "MOVED") || starts(reply, "ASK")) {
        if (hl_cluster_parse_redirect(reply->str, (size_t)reply->len,
                                      fallback_host, redir) != HL_OK)
            return HL_CLUSTER_FINAL;
        return reply->str[0] == 'M' ? HL_CLUSTER_MOVED : HL_CLUSTER_ASK;
    }
    if (starts(reply, "TRYAGAIN") || starts(reply, "CLUSTERDOWN"))
        return HL_CLUSTER_BUSY;
    return HL_CLUSTER_FINAL;
}

enum hl_cluster_step hl_cluster_next(enum hl_cluster_verdict v,
                                     int redirects, int retries,
                                     long long now_ms, long long deadline_ms,
                                     uint32_t jitter, long long *delay_ms) {
    long long left = deadline_ms - now_ms;
    long long d;

    *delay_ms = 0;
    switch (v) {
    case HL_CLUSTER_FINAL:
        return HL_CLUSTER_DELIVER;
    case HL_CLUSTER_MOVED:
    case HL_CLUSTER_ASK:
        if (redirects >= HL_CLUSTER_REDIRECTS_MAX || left <= 0)
            return HL_CLUSTER_GIVE_UP;
        return HL_CLUSTER_RESEND_NOW;
    default:
        if (left <= 0)
            return HL_CLUSTER_GIVE_UP;
        d = hl_time_backoff_ms(retries + 1, HL_CLUSTER_RETRY_BASE_MS,
                               HL_CLUSTER_RETRY_CAP_MS, jitter);
        *delay_ms = d < left ? d : left;
        return HL_CLUSTER_RESEND_LATER;
    }
}

int hl_cluster_parse_seeds(const char *seeds,
                           char hosts[][HL_SLOT_HOST_MAX], int *ports,
                           int *n, char err[HL_ERR_LEN]) {
    const char *p = seeds, *end, *colon, *c;
    int port;
    size_t hlen;

    *n = 0;
    if (seeds == NULL || *seeds == '\0') {
        snprintf(err, HL_ERR_LEN, "no seed nodes");
        return HL_EINVAL;
    }
    for (;;) {
        end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        colon = NULL;
        for (c = p; c < end; c++) {
            if (*c == ':')
                colon = c;
        }
        if (colon == NULL || colon == p ||
            hl_parse_port(colon + 1, (size_t)(end - colon - 1), &port)
                != HL_OK) {
            snprintf(err, HL_ERR_LEN, "seed %d: want host:port", *n + 1);
            return HL_EINVAL;
        }
        hlen = (size_t)(colon - p);
        if (*n >= HL_CLUSTER_SEEDS_MAX || hlen >= HL_SLOT_HOST_MAX) {
            snprintf(err, HL_ERR_LEN, "seed %d: %s", *n + 1,
                     *n >= HL_CLUSTER_SEEDS_MAX ? "too many seeds"
                                                : "host too long");
            return HL_ETOOBIG;
        }
        memcpy(hosts[*n], p, hlen);
        hosts[*n][hlen] = '\0';
        ports[*n] = port;
        (*n)++;
        if (*end == '\0')
            return HL_OK;
        p = end + 1;
    }
}
