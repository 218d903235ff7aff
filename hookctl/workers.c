/* workers.c - what hookctl reads about the workers, for stats and
 * doctor alike: which are live (the rule of hl_membership.h, as the
 * workers apply it to themselves) and which partition each one owns (its
 * lease). Reads only; a worker's own bookkeeping is worker/membership.c
 * and worker/lease.c. */
#include "ctl.h"
#include "hl_keys.h"
#include "hl_membership.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ctl_worker_live(const struct ctl *c, long long heartbeat_ms,
                    long long now) {
    return hl_membership_live(heartbeat_ms, now, c->cfg->lease_ms);
}

int ctl_workers_live(struct ctl *c, long long now, long long *live,
                     char err[HL_ERR_LEN]) {
    char key[HL_KEY_MAX], since[32];
    const char *argv[4] = { "ZCOUNT", key, since, "+inf" };
    redisReply *r = NULL;
    int rc;

    *live = 0;
    if (hl_keys_workers(c->cfg->prefix, key) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "HOOKLINE_PREFIX too long for a key");
        return HL_ETOOBIG;
    }
    snprintf(since, sizeof(since), "%lld",
             hl_membership_live_since(now, c->cfg->lease_ms));
    rc = ctl_redis_cmd(c, &r, 4, argv, NULL, err);
    if (rc != HL_OK)
        return rc;
    *live = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    return HL_OK;
}

/* Queues GET <lease of n> for every partition. Returns HL_OK, or an
 * error with `err` set and *queued the number queued before it. */
static int append_gets(struct ctl *c, long parts, long *queued,
                       char err[HL_ERR_LEN]) {
    char key[HL_KEY_MAX];
    const char *argv[2] = { "GET", key };
    long n;

    for (n = 0; n < parts; n++) {
        *queued = n;
        if (hl_keys_lease(c->cfg->prefix, n, key) != HL_OK) {
            snprintf(err, HL_ERR_LEN, "HOOKLINE_PREFIX too long for a key");
            return HL_ETOOBIG;
        }
        if (ctl_redis_append(c, 2, argv, NULL) != HL_OK) {
            snprintf(err, HL_ERR_LEN, "out of memory");
            return HL_ENOMEM;
        }
    }
    *queued = parts;
    return HL_OK;
}

int ctl_lease_owners(struct ctl *c, char (*owners)[HL_ID_MAX],
                     char err[HL_ERR_LEN]) {
    long n, queued = 0, parts = (long)c->cfg->partitions;
    char later[HL_ERR_LEN];
    redisReply *r = NULL;
    int rc;

    for (n = 0; n < parts; n++)
        owners[n][0] = '\0';
    if (!ctl_redis_connected(c)) {
        snprintf(err, HL_ERR_LEN, "Redis: not connected");
        return HL_EIO;
    }
    rc = append_gets(c, parts, &queued, err);
    /* Every queued reply is read, even after an error, so the pipeline
     * never leaves stale replies for the next command; `err` keeps the
     * first error. */
    for (n = 0; n < queued; n++) {
        int one = ctl_redis_next(c, &r, rc == HL_OK ? err : later);
        if (one != HL_OK) {
            if (rc == HL_OK)
                rc = one;
            if (ctl_redis_lost(c))
                return rc;          /* the connection is gone */
            continue;
        }
        if (r->type == REDIS_REPLY_STRING)
            snprintf(owners[n], HL_ID_MAX, "%s", r->str);
        freeReplyObject(r);
    }
    return rc;
}

int ctl_unowned(struct ctl *c, long long *n, char err[HL_ERR_LEN]) {
    long i, parts = (long)c->cfg->partitions;
    char (*owners)[HL_ID_MAX] = calloc((size_t)parts, sizeof(*owners));
    int rc;

    *n = 0;
    if (owners == NULL) {
        snprintf(err, HL_ERR_LEN, "out of memory");
        return HL_ENOMEM;
    }
    rc = ctl_lease_owners(c, owners, err);
    for (i = 0; rc == HL_OK && i < parts; i++) {
        if (owners[i][0] == '\0')
            (*n)++;
    }
    free(owners);
    return rc;
}
