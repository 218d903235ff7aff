/* redis.c - hookctl's blocking Redis connection: REDIS_URL (TCP or unix
 * socket, a Redis Cluster, or a Sentinel master), AUTH and SELECT, one
 * timeout for the connect and every command, and error texts that never
 * hold the password.
 *
 * One server and a sentinel master end up the same: one redisContext in
 * c->db (for a sentinel master, the primary the sentinels named when
 * hookctl started; a short-lived CLI does not follow a failover). A
 * cluster is cluster.c's, behind the same calls. */
#include "ctl.h"
#include "hl_cluster_proto.h"
#include "hl_sentinel.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static struct timeval ms_tv(long ms) {
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return tv;
}

void ctl_redis_where(const struct hl_redis_addr *a, char *out, size_t sz) {
    if (a->kind == HL_REDIS_CLUSTER)
        snprintf(out, sz, "%s", a->seeds);
    else if (a->kind == HL_REDIS_SENTINEL)
        snprintf(out, sz, "%s via sentinels %s", a->master, a->seeds);
    else if (a->unix_path[0] != '\0')
        snprintf(out, sz, "%.100s", a->unix_path);
    else
        snprintf(out, sz, "%.100s:%d", a->host, a->port);
}

/* Runs a setup command (AUTH, SELECT) and checks for an error reply. */
static int setup_cmd(redisContext *db, int argc, const char **argv,
                     const size_t *lens, const char *what, const char *at,
                     char err[HL_ERR_LEN]) {
    redisReply *r = redisCommandArgv(db, argc, argv, lens);
    int rc = HL_OK;

    if (r == NULL) {
        snprintf(err, HL_ERR_LEN, "Redis at %.100s: %s failed: %.100s", at,
                 what, db->errstr);
        return HL_EIO;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, HL_ERR_LEN, "Redis at %.100s: %s refused: %.100s", at,
                 what, r->str);
        rc = HL_EIO;
    }
    freeReplyObject(r);
    return rc;
}

redisContext *ctl_redis_connect(const char *host, int port,
                                const char *unix_path,
                                const struct hl_secret *password, int db,
                                char err[HL_ERR_LEN]) {
    struct timeval tv = ms_tv(CTL_REDIS_TIMEOUT_MS);
    redisContext *ctx = NULL;
    char at[HL_SLOT_ADDR_MAX + 16], dbs[16];
    const char *argv[2];
    size_t lens[2];

    if (unix_path != NULL && unix_path[0] != '\0') {
        snprintf(at, sizeof(at), "%.100s", unix_path);
        ctx = redisConnectUnixWithTimeout(unix_path, tv);
    } else {
        snprintf(at, sizeof(at), "%.255s:%d", host, port);
        ctx = redisConnectWithTimeout(host, port, tv);
    }
    if (ctx == NULL) {
        snprintf(err, HL_ERR_LEN, "Redis at %.100s: out of memory", at);
        return NULL;
    }
    if (ctx->err) {
        snprintf(err, HL_ERR_LEN, "cannot reach Redis at %.100s: %.100s", at,
                 ctx->errstr);
        goto fail;
    }
    if (redisSetTimeout(ctx, tv) != REDIS_OK) {
        snprintf(err, HL_ERR_LEN, "Redis at %.100s: cannot set a timeout",
                 at);
        goto fail;
    }
    if (password != NULL && password->len > 0) {
        argv[0] = "AUTH";
        lens[0] = 4;
        argv[1] = (const char *)password->buf;
        lens[1] = password->len;
        if (setup_cmd(ctx, 2, argv, lens, "AUTH", at, err) != HL_OK)
            goto fail;
    }
    if (db != 0) {
        snprintf(dbs, sizeof(dbs), "%d", db);
        argv[0] = "SELECT";
        lens[0] = 6;
        argv[1] = dbs;
        lens[1] = strlen(dbs);
        if (setup_cmd(ctx, 2, argv, lens, "SELECT", at, err) != HL_OK)
            goto fail;
    }
    return ctx;
fail:
    redisFree(ctx);
    return NULL;
}

/* ---- sentinel --------------------------------------------------------- */

/* Asks one sentinel for the primary of `master`, after AUTH with
 * `password` when it is not empty. HL_OK, HL_ENOTFOUND (it does not know
 * the name), or HL_EIO; `why` says what went wrong. */
static int ask_sentinel(const char *host, int port, const char *master,
                        const struct hl_secret *password,
                        char phost[HL_SLOT_HOST_MAX], int *pport,
                        char why[HL_ERR_LEN]) {
    struct timeval tv = ms_tv(HL_SENTINEL_TIMEOUT_MS);
    const char *argv[3] = { "SENTINEL", "get-master-addr-by-name", master };
    const char *auth[2] = { "AUTH", (const char *)password->buf };
    size_t auth_lens[2] = { 4, password->len };
    char auth_err[128] = "";
    redisContext *s = redisConnectWithTimeout(host, port, tv);
    redisReply *r = NULL;
    int rc = HL_EIO;

    if (s == NULL || s->err) {
        snprintf(why, HL_ERR_LEN, "%.100s:%d: %.100s", host, port,
                 s != NULL ? s->errstr : "out of memory");
        goto cleanup;
    }
    if (redisSetTimeout(s, tv) != REDIS_OK) {
        snprintf(why, HL_ERR_LEN, "%.100s:%d: cannot set a timeout", host,
                 port);
        goto cleanup;
    }
    if (password->len > 0) {
        /* a refused AUTH decides nothing by itself (a sentinel without a
         * password refuses it and answers the rest), the question does;
         * the server's text never holds the password */
        r = redisCommandArgv(s, 2, auth, auth_lens);
        if (r == NULL) {
            snprintf(why, HL_ERR_LEN, "%.100s:%d: AUTH: %.100s", host, port,
                     s->errstr);
            goto cleanup;
        }
        if (r->type == REDIS_REPLY_ERROR)
            snprintf(auth_err, sizeof(auth_err), " (AUTH: %.100s)", r->str);
        freeReplyObject(r);
    }
    r = redisCommandArgv(s, 3, argv, NULL);
    if (r == NULL) {
        snprintf(why, HL_ERR_LEN, "%.100s:%d: %.100s", host, port,
                 s->errstr[0] ? s->errstr : "no answer");
        goto cleanup;
    }
    rc = hl_sentinel_parse_addr(r, phost, pport);
    if (rc == HL_ENOTFOUND)
        snprintf(why, HL_ERR_LEN, "%.100s:%d does not know master %.100s",
                 host, port, master);
    else if (rc != HL_OK)
        snprintf(why, HL_ERR_LEN, "%.100s:%d: unexpected answer%s%.60s%s",
                 host, port, r->type == REDIS_REPLY_ERROR ? ": " : "",
                 r->type == REDIS_REPLY_ERROR ? r->str : "", auth_err);
cleanup:
    if (r != NULL)
        freeReplyObject(r);
    if (s != NULL)
        redisFree(s);
    return rc;
}

/* Asks each sentinel in turn until one names the primary. */
static int sentinel_primary(const struct hl_redis_addr *a,
                            char phost[HL_SLOT_HOST_MAX], int *pport,
                            char err[HL_ERR_LEN]) {
    char hosts[HL_CLUSTER_SEEDS_MAX][HL_SLOT_HOST_MAX], why[HL_ERR_LEN] = "";
    int ports[HL_CLUSTER_SEEDS_MAX];
    int i, n = 0;

    if (hl_cluster_parse_seeds(a->seeds, hosts, ports, &n, err) != HL_OK)
        return HL_EINVAL;
    for (i = 0; i < n; i++) {
        if (ask_sentinel(hosts[i], ports[i], a->master,
                         &a->sentinel_password, phost, pport, why) == HL_OK)
            return HL_OK;
    }
    snprintf(err, HL_ERR_LEN, "no sentinel of %.60s named a primary for "
             "master %.40s (last: %.100s)", a->seeds, a->master, why);
    return HL_EIO;
}

/* ---- open, close, commands -------------------------------------------- */

int ctl_redis_open(struct ctl *c, char err[HL_ERR_LEN]) {
    const struct hl_redis_addr *a = &c->cfg->redis;
    char host[HL_SLOT_HOST_MAX];
    int port = 0;

    if (ctl_redis_connected(c))
        return HL_OK;
    if (a->kind == HL_REDIS_CLUSTER) {
        c->cl = ctl_cluster_new(a, err);
        return c->cl != NULL ? HL_OK : HL_EIO;
    }
    if (a->kind == HL_REDIS_SENTINEL) {
        if (sentinel_primary(a, host, &port, err) != HL_OK)
            return HL_EIO;
        c->db = ctl_redis_connect(host, port, NULL, &a->password, a->db,
                                  err);
    } else {
        c->db = ctl_redis_connect(a->host, a->port, a->unix_path,
                                  &a->password, a->db, err);
    }
    return c->db != NULL ? HL_OK : HL_EIO;
}

int ctl_redis_connected(const struct ctl *c) {
    return c->db != NULL || c->cl != NULL;
}

int ctl_redis_lost(const struct ctl *c) {
    if (c->cl != NULL)
        return ctl_cluster_lost(c->cl);
    return c->db == NULL || c->db->err != 0;
}

void ctl_redis_close(struct ctl *c) {
    if (c->db != NULL)
        redisFree(c->db);
    c->db = NULL;
    ctl_cluster_free(c->cl);
    c->cl = NULL;
}

int ctl_redis_reply(redisReply *r, redisReply **out, char err[HL_ERR_LEN]) {
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, HL_ERR_LEN, "Redis: %s", r->str);
        freeReplyObject(r);
        return HL_EIO;
    }
    *out = r;
    return HL_OK;
}

static int check_reply(struct ctl *c, redisReply *r, redisReply **out,
                       char err[HL_ERR_LEN]) {
    if (r == NULL) {
        snprintf(err, HL_ERR_LEN, "Redis: %s",
                 c->db->errstr[0] ? c->db->errstr : "no reply");
        return HL_EIO;
    }
    return ctl_redis_reply(r, out, err);
}

int ctl_redis_cmd(struct ctl *c, redisReply **reply, int argc,
                  const char **argv, const size_t *lens,
                  char err[HL_ERR_LEN]) {
    *reply = NULL;
    if (c->cl != NULL)
        return ctl_cluster_cmd(c->cl, reply, argc, argv, lens, err);
    if (c->db == NULL || c->db->err) {
        snprintf(err, HL_ERR_LEN, "Redis: not connected");
        return HL_EIO;
    }
    return check_reply(c, redisCommandArgv(c->db, argc, argv, lens), reply,
                       err);
}

int ctl_redis_append(struct ctl *c, int argc, const char **argv,
                     const size_t *lens) {
    if (c->cl != NULL)
        return ctl_cluster_append(c->cl, argc, argv, lens);
    if (c->db == NULL)
        return HL_ESTATE;
    return redisAppendCommandArgv(c->db, argc, argv, lens) == REDIS_OK
               ? HL_OK : HL_ENOMEM;
}

int ctl_redis_next(struct ctl *c, redisReply **reply, char err[HL_ERR_LEN]) {
    void *r = NULL;

    *reply = NULL;
    if (c->cl != NULL)
        return ctl_cluster_next(c->cl, reply, err);
    if (c->db == NULL) {
        snprintf(err, HL_ERR_LEN, "Redis: not connected");
        return HL_EIO;
    }
    if (redisGetReply(c->db, &r) != REDIS_OK)
        r = NULL;
    return check_reply(c, r, reply, err);
}

int ctl_redis_route(struct ctl *c, const char *key, char err[HL_ERR_LEN]) {
    if (c->cl != NULL)
        return ctl_cluster_route(c->cl, key, err);
    if (c->db == NULL) {
        snprintf(err, HL_ERR_LEN, "Redis: not connected");
        return HL_ESTATE;
    }
    return HL_OK;
}
