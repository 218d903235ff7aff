/* redis.c - hookctl's blocking Redis connection: REDIS_URL (TCP or unix
 * socket), AUTH and SELECT, one timeout for the connect and every command,
 * and error texts that never hold the password. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>

static struct timeval timeout_tv(void) {
    struct timeval tv;

    tv.tv_sec = CTL_REDIS_TIMEOUT_MS / 1000;
    tv.tv_usec = (CTL_REDIS_TIMEOUT_MS % 1000) * 1000;
    return tv;
}

void ctl_redis_where(const struct hl_redis_addr *a, char *out, size_t sz) {
    if (a->unix_path[0] != '\0')
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
        snprintf(err, HL_ERR_LEN, "Redis at %s: %s failed: %.100s", at, what,
                 db->errstr);
        return HL_EIO;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, HL_ERR_LEN, "Redis at %s: %s refused: %.100s", at, what,
                 r->str);
        rc = HL_EIO;
    }
    freeReplyObject(r);
    return rc;
}

int ctl_redis_open(struct ctl *c, char err[HL_ERR_LEN]) {
    const struct hl_redis_addr *a = &c->cfg->redis;
    struct timeval tv = timeout_tv();
    redisContext *db = NULL;
    char at[112], dbs[16];
    const char *argv[2];
    size_t lens[2];
    int rc = HL_EIO;

    if (c->db != NULL)
        return HL_OK;
    ctl_redis_where(a, at, sizeof(at));
    if (a->unix_path[0] != '\0')
        db = redisConnectUnixWithTimeout(a->unix_path, tv);
    else
        db = redisConnectWithTimeout(a->host, a->port, tv);
    if (db == NULL) {
        snprintf(err, HL_ERR_LEN, "Redis at %s: out of memory", at);
        return HL_ENOMEM;
    }
    if (db->err) {
        snprintf(err, HL_ERR_LEN, "cannot reach Redis at %s: %.100s", at,
                 db->errstr);
        goto cleanup;
    }
    if (redisSetTimeout(db, tv) != REDIS_OK) {
        snprintf(err, HL_ERR_LEN, "Redis at %s: cannot set a timeout", at);
        goto cleanup;
    }
    if (a->password.len > 0) {
        argv[0] = "AUTH";
        lens[0] = 4;
        argv[1] = (const char *)a->password.buf;
        lens[1] = a->password.len;
        if (setup_cmd(db, 2, argv, lens, "AUTH", at, err) != HL_OK)
            goto cleanup;
    }
    if (a->db != 0) {
        snprintf(dbs, sizeof(dbs), "%d", a->db);
        argv[0] = "SELECT";
        lens[0] = 6;
        argv[1] = dbs;
        lens[1] = strlen(dbs);
        if (setup_cmd(db, 2, argv, lens, "SELECT", at, err) != HL_OK)
            goto cleanup;
    }
    c->db = db;
    db = NULL;
    rc = HL_OK;
cleanup:
    if (db != NULL)
        redisFree(db);
    return rc;
}

static int check_reply(struct ctl *c, redisReply *r, redisReply **out,
                       char err[HL_ERR_LEN]) {
    if (r == NULL) {
        snprintf(err, HL_ERR_LEN, "Redis: %s",
                 c->db->errstr[0] ? c->db->errstr : "no reply");
        return HL_EIO;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, HL_ERR_LEN, "Redis: %s", r->str);
        freeReplyObject(r);
        return HL_EIO;
    }
    *out = r;
    return HL_OK;
}

int ctl_redis_cmd(struct ctl *c, redisReply **reply, int argc,
                  const char **argv, const size_t *lens,
                  char err[HL_ERR_LEN]) {
    *reply = NULL;
    if (c->db == NULL || c->db->err) {
        snprintf(err, HL_ERR_LEN, "Redis: not connected");
        return HL_EIO;
    }
    return check_reply(c, redisCommandArgv(c->db, argc, argv, lens), reply,
                       err);
}

int ctl_redis_append(struct ctl *c, int argc, const char **argv,
                     const size_t *lens) {
    if (c->db == NULL)
        return HL_ESTATE;
    return redisAppendCommandArgv(c->db, argc, argv, lens) == REDIS_OK
               ? HL_OK : HL_ENOMEM;
}

int ctl_redis_next(struct ctl *c, redisReply **reply, char err[HL_ERR_LEN]) {
    void *r = NULL;

    *reply = NULL;
    if (c->db == NULL) {
        snprintf(err, HL_ERR_LEN, "Redis: not connected");
        return HL_EIO;
    }
    if (redisGetReply(c->db, &r) != REDIS_OK)
        r = NULL;
    return check_reply(c, r, reply, err);
}
