/* sentinel_fixture.c - start, watch, kill, restart and stop a primary, its
 * replica and three sentinels of our own on free loopback ports.
 *
 * The data nodes are redis_fixture.c servers (AOF on, the replica with
 * --replicaof), so their port choice, PING wait, child table and cleanup
 * are that file's. The sentinels are proc.c children running
 * `redis-server <dir>/sentinel.conf --sentinel`; this file writes their
 * configuration, waits for them (the PING check, the busy-port test and
 * the directory removal are redis_fixture.c's too), reads SENTINEL
 * answers for readiness and failover, and removes their directories.
 * Every wait is bounded.
 * The SENTINEL replies are read raw here, so the fixture does not lean on
 * the hl_sentinel.c parsers it helps to test. */
#include "sentinel_fixture.h"
#include "hl_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PING_TRIES 50          /* a sentinel's PING, at most ... */
#define PING_INTERVAL_MS 100   /* ... this far apart */
#define PORT_TRIES 3           /* a sentinel's port was taken: retry */
#define READY_TRIES 200        /* readiness polls ... */
#define READY_INTERVAL_MS 100  /* ... this far apart */
#define FAILOVER_POLL_MS 100
#define CMD_TIMEOUT_MS 500     /* one blocking command to a node */
#define LOG_TAIL 2000          /* bytes of a sentinel log shown */

/* ---- small helpers ------------------------------------------------------- */

/* The value after `key` in a flat [k, v, k, v, ...] array reply, or
 * NULL. Borrowed from `rep`. */
static const char *field(const redisReply *rep, const char *key) {
    size_t i;

    if (rep == NULL || rep->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (i = 0; i + 1 < rep->elements; i += 2) {
        if (rep->element[i]->type == REDIS_REPLY_STRING &&
            rep->element[i + 1]->type == REDIS_REPLY_STRING &&
            strcmp(rep->element[i]->str, key) == 0)
            return rep->element[i + 1]->str;
    }
    return NULL;
}

/* The port sentinel `c` names for our master, or -1 (nil, error, no
 * connection). */
static int named_port(redisContext *c) {
    redisReply *rep = redisCommand(c, "SENTINEL get-master-addr-by-name %s",
                                   HT_SENTINEL_MASTER);
    int port = -1;

    if (rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
        rep->elements == 2 &&
        rep->element[1]->type == REDIS_REPLY_STRING)
        port = (int)strtol(rep->element[1]->str, NULL, 10);
    if (rep != NULL)
        freeReplyObject(rep);
    return port;
}

/* ---- sentinels ----------------------------------------------------------- */

/* Writes sentinel i's configuration for its current port. */
static int write_conf(const struct ht_sentinel *f, int i,
                      char err[HL_ERR_LEN]) {
    const struct ht_sentinel_proc *s = &f->sent[i];
    char buf[1024];
    int n;

    n = snprintf(buf, sizeof(buf),
                 "port %d\n"
                 "bind 127.0.0.1\n"
                 "dir %s\n"
                 "sentinel monitor %s 127.0.0.1 %d 2\n"
                 "sentinel down-after-milliseconds %s 1000\n"
                 "sentinel failover-timeout %s 5000\n",
                 s->port, s->dir, HT_SENTINEL_MASTER, f->data[0].port,
                 HT_SENTINEL_MASTER, HT_SENTINEL_MASTER);
    if (n < 0 || (size_t)n >= sizeof(buf)) {
        snprintf(err, HL_ERR_LEN, "sentinel.conf too long");
        return HL_ETOOBIG;
    }
    if (ht_write_file(s->conf, buf, (size_t)n) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "cannot write %.200s", s->conf);
        return HL_EIO;
    }
    return HL_OK;
}

/* Runs sentinel `i` on its current port and waits for its PING. HL_EAGAIN
 * when the port was taken (nothing left running). */
static int run_sentinel(struct ht_sentinel *f, int i, const char *server,
                        char err[HL_ERR_LEN]) {
    struct ht_sentinel_proc *s = &f->sent[i];
    const char *args[3] = { s->conf, "--sentinel", NULL };
    int try;
    int rc;

    rc = write_conf(f, i, err);
    if (rc == HL_OK)
        rc = ht_proc_start(&s->proc, server, args, NULL, err);
    if (rc != HL_OK)
        return rc;
    for (try = 0; try < PING_TRIES; try++) {
        if (!ht_proc_alive(&s->proc)) {
            if (ht_redis_log_port_busy(s->proc.log_path)) {
                ht_proc_cleanup(&s->proc);
                return HL_EAGAIN;
            }
            ht_proc_dump_log(&s->proc, LOG_TAIL);
            snprintf(err, HL_ERR_LEN, "sentinel %d (port %d) exited "
                     "before answering PING (log above)", i, s->port);
            return HL_EIO;
        }
        if (ht_redis_answers(s->port, s->proc.pid))
            return HL_OK;
        ht_sleep_ms(PING_INTERVAL_MS);
    }
    ht_proc_dump_log(&s->proc, LOG_TAIL);
    snprintf(err, HL_ERR_LEN, "sentinel %d (port %d) did not answer PING "
             "within %d x %d ms (log above)", i, s->port, PING_TRIES,
             PING_INTERVAL_MS);
    return HL_ETIMEDOUT;
}

/* Makes sentinel i's directory, picks its port and starts it. */
static int start_sentinel(struct ht_sentinel *f, int i, const char *server,
                          char err[HL_ERR_LEN]) {
    struct ht_sentinel_proc *s = &f->sent[i];
    char path[sizeof(s->conf)];
    int try;
    int n;
    int rc;

    s->proc.pid = -1;
    n = snprintf(s->dir, sizeof(s->dir), "%s/hl-sentinel-XXXXXX",
                 ht_tmpdir());
    if (n < 0 || (size_t)n >= sizeof(s->dir) || mkdtemp(s->dir) == NULL) {
        snprintf(err, HL_ERR_LEN, "cannot make a sentinel directory in "
                 "%.150s", ht_tmpdir());
        s->dir[0] = '\0';
        return HL_EIO;
    }
    /* through a local buffer: gcc's -Wrestrict sees s->dir and s->conf
     * as one object */
    n = snprintf(path, sizeof(path), "%s/sentinel.conf", s->dir);
    if (n < 0 || (size_t)n >= sizeof(s->conf))
        return HL_ETOOBIG;
    memcpy(s->conf, path, (size_t)n + 1);
    for (try = 0; try < PORT_TRIES; try++) {
        rc = ht_free_port(&s->port, err);
        if (rc != HL_OK)
            return rc;
        rc = run_sentinel(f, i, server, err);
        if (rc != HL_EAGAIN)
            return rc;
        fprintf(stderr, "  # port %d busy, picking another\n", s->port);
    }
    snprintf(err, HL_ERR_LEN, "no free port for sentinel %d after %d "
             "tries", i, PORT_TRIES);
    return HL_EIO;
}

/* ---- start --------------------------------------------------------------- */

static int make_url(struct ht_sentinel *f) {
    int n;

    n = snprintf(f->seeds, sizeof(f->seeds),
                 "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", f->sent[0].port,
                 f->sent[1].port, f->sent[2].port);
    if (n < 0 || (size_t)n >= sizeof(f->seeds))
        return HL_ETOOBIG;
    n = snprintf(f->url, sizeof(f->url), "redis-sentinel://%s/%s",
                 f->seeds, HT_SENTINEL_MASTER);
    if (n < 0 || (size_t)n >= sizeof(f->url))
        return HL_ETOOBIG;
    return HL_OK;
}

/* Starts the primary and its replica. */
static int start_data(struct ht_sentinel *f, char err[HL_ERR_LEN]) {
    int rc;

    rc = ht_redis_start_aof(&f->data[0], err);
    f->data_started = 1;
    if (rc != HL_OK)
        return rc;
    snprintf(f->replica_port, sizeof(f->replica_port), "%d",
             f->data[0].port);
    f->replica_args[0] = "--replicaof";
    f->replica_args[1] = "127.0.0.1";
    f->replica_args[2] = f->replica_port;
    f->replica_args[3] = NULL;
    rc = ht_redis_start_args(&f->data[1], 1, f->replica_args, err);
    f->data_started = 2;
    return rc;
}

int ht_sentinel_start(struct ht_sentinel *f, char err[HL_ERR_LEN]) {
    char server[512];
    int rc;

    memset(f, 0, sizeof(*f));
    err[0] = '\0';
    rc = ht_proc_which("redis-server", server, sizeof(server), err);
    if (rc != HL_OK)
        goto fail;
    rc = start_data(f, err);
    if (rc != HL_OK)
        goto fail;
    for (f->sent_started = 0; f->sent_started < HT_SENTINEL_COUNT;
         f->sent_started++) {
        rc = start_sentinel(f, f->sent_started, server, err);
        if (rc != HL_OK) {
            f->sent_started++;      /* its directory still needs cleanup */
            goto fail;
        }
    }
    rc = make_url(f);
    if (rc != HL_OK) {
        snprintf(err, HL_ERR_LEN, "sentinel URL too long");
        goto fail;
    }
    f->primary = 0;
    rc = ht_sentinel_wait_ready(f, err);
    if (rc == HL_OK)
        return HL_OK;
fail:
    ht_sentinel_cleanup(f);
    return rc;
}

/* ---- readiness ----------------------------------------------------------- */

/* 1 when one of the replicas in SENTINEL replicas' reply has its link up
 * and is neither down nor disconnected. */
static int replica_ok(redisContext *c, char why[HL_ERR_LEN]) {
    redisReply *rep = redisCommand(c, "SENTINEL replicas %s",
                                   HT_SENTINEL_MASTER);
    const char *link, *flags;
    int ok = 0;
    size_t i;

    snprintf(why, HL_ERR_LEN, "no replica with its link up");
    for (i = 0; rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
                i < rep->elements; i++) {
        link = field(rep->element[i], "master-link-status");
        flags = field(rep->element[i], "flags");
        if (link != NULL && strcmp(link, "ok") == 0 && flags != NULL &&
            strstr(flags, "down") == NULL &&
            strstr(flags, "disconnected") == NULL)
            ok = 1;
    }
    if (rep != NULL)
        freeReplyObject(rep);
    return ok;
}

/* 1 when sentinel `i` is ready (see ht_sentinel_wait_ready()). */
static int sentinel_ready(const struct ht_sentinel *f, int i,
                          char why[HL_ERR_LEN]) {
    redisContext *c = ht_sentinel_connect(f, i, CMD_TIMEOUT_MS);
    redisReply *rep = NULL;
    const char *others, *flags;
    int port;
    int ok = 0;

    snprintf(why, HL_ERR_LEN, "no connection");
    if (c == NULL)
        return 0;
    port = named_port(c);
    if (port != f->data[f->primary].port) {
        snprintf(why, HL_ERR_LEN, "names port %d, not %d", port,
                 f->data[f->primary].port);
        goto cleanup;
    }
    rep = redisCommand(c, "SENTINEL master %s", HT_SENTINEL_MASTER);
    others = field(rep, "num-other-sentinels");
    flags = field(rep, "flags");
    if (others == NULL || strcmp(others, "2") != 0 || flags == NULL ||
        strcmp(flags, "master") != 0) {
        snprintf(why, HL_ERR_LEN, "flags %s, other sentinels %s",
                 flags ? flags : "?", others ? others : "?");
        goto cleanup;
    }
    ok = replica_ok(c, why);
cleanup:
    if (rep != NULL)
        freeReplyObject(rep);
    redisFree(c);
    return ok;
}

/* ht_wait_all()'s question: 1 when sentinel `i` is ready or not
 * running. */
static int sentinel_ready_cb(void *arg, int i, char why[HL_ERR_LEN]) {
    const struct ht_sentinel *f = arg;

    return f->sent[i].proc.pid <= 0 || sentinel_ready(f, i, why);
}

int ht_sentinel_wait_ready(struct ht_sentinel *f, char err[HL_ERR_LEN]) {
    char why[HL_ERR_LEN];
    int i = ht_wait_all(HT_SENTINEL_COUNT, READY_TRIES, READY_INTERVAL_MS,
                        sentinel_ready_cb, f, why);

    if (i < 0)
        return HL_OK;
    snprintf(err, HL_ERR_LEN, "sentinel %d (port %d) not ready after %d x "
             "%d ms: %.150s", i, f->sent[i].port, READY_TRIES,
             READY_INTERVAL_MS, why);
    return HL_ETIMEDOUT;
}

/* ---- failover ------------------------------------------------------------ */

int ht_sentinel_kill_primary(struct ht_sentinel *f) {
    return ht_redis_kill(&f->data[f->primary]);
}

/* 1 when data node `i` answers INFO replication with role:master. */
static int is_master(const struct ht_sentinel *f, int i) {
    redisContext *c = ht_redis_connect(&f->data[i], CMD_TIMEOUT_MS);
    redisReply *rep = c ? redisCommand(c, "INFO replication") : NULL;
    int ok;

    ok = rep != NULL && rep->type == REDIS_REPLY_STRING &&
         strstr(rep->str, "role:master\r\n") != NULL;
    if (rep != NULL)
        freeReplyObject(rep);
    if (c != NULL)
        redisFree(c);
    return ok;
}

/* The data node every running sentinel names, when they agree on one
 * other than `old`; -1 otherwise. `last` gets the ports named. */
static int agreed_new(const struct ht_sentinel *f, int old,
                      char last[HL_ERR_LEN]) {
    int agreed = -1;
    size_t off = 0;
    int i;

    last[0] = '\0';
    for (i = 0; i < HT_SENTINEL_COUNT; i++) {
        redisContext *c;
        int port, idx;

        if (f->sent[i].proc.pid <= 0)
            continue;
        c = ht_sentinel_connect(f, i, CMD_TIMEOUT_MS);
        port = c ? named_port(c) : -1;
        if (c != NULL)
            redisFree(c);
        if (off < HL_ERR_LEN)
            off += (size_t)snprintf(last + off, HL_ERR_LEN - off, "%s%d",
                                    i ? "," : "", port);
        idx = ht_sentinel_data_at(f, port);
        if (idx < 0 || idx == old || (agreed >= 0 && idx != agreed))
            return -1;
        agreed = idx;
    }
    return agreed;
}

int ht_sentinel_wait_failover(struct ht_sentinel *f, long timeout_ms,
                              int *port, char err[HL_ERR_LEN]) {
    long long end = ht_mono_ms() + timeout_ms;
    char last[HL_ERR_LEN] = "";
    int idx;

    *port = -1;
    while (ht_mono_ms() < end) {
        idx = agreed_new(f, f->primary, last);
        if (idx >= 0 && is_master(f, idx)) {
            f->primary = idx;
            *port = f->data[idx].port;
            return HL_OK;
        }
        ht_sleep_ms(FAILOVER_POLL_MS);
    }
    snprintf(err, HL_ERR_LEN, "no failover from port %d within %ld ms; "
             "the sentinels named %.100s", f->data[f->primary].port,
             timeout_ms, last);
    return HL_ETIMEDOUT;
}

int ht_sentinel_restart(struct ht_sentinel *f, int i, char err[HL_ERR_LEN]) {
    if (i < 0 || i >= f->data_started) {
        snprintf(err, HL_ERR_LEN, "no data node %d", i);
        return HL_EINVAL;
    }
    return ht_redis_restart(&f->data[i], err);
}

int ht_sentinel_data_at(const struct ht_sentinel *f, int port) {
    int i;

    for (i = 0; port > 0 && i < f->data_started; i++) {
        if (f->data[i].port == port)
            return i;
    }
    return -1;
}

redisContext *ht_sentinel_connect(const struct ht_sentinel *f, int i,
                                  long timeout_ms) {
    if (i < 0 || i >= HT_SENTINEL_COUNT || f->sent[i].port <= 0)
        return NULL;
    return ht_redis_connect_port(f->sent[i].port, timeout_ms);
}

/* ---- cleanup ------------------------------------------------------------- */

int ht_sentinel_password(struct ht_sentinel *f, int i, const char *old,
                         const char *pw) {
    redisContext *c = ht_sentinel_connect(f, i, 2000);
    redisReply *r = NULL;
    int ok = c != NULL;

    if (ok && old != NULL) {
        r = redisCommand(c, "AUTH %s", old);
        ok = r != NULL && r->type == REDIS_REPLY_STATUS;
        if (r != NULL)
            freeReplyObject(r);
    }
    if (ok) {
        r = pw != NULL ? redisCommand(c, "ACL SETUSER default on >%s", pw)
                       : redisCommand(c, "ACL SETUSER default on resetpass "
                                      "nopass");
        ok = r != NULL && r->type == REDIS_REPLY_STATUS;
        if (r != NULL)
            freeReplyObject(r);
    }
    if (c != NULL)
        redisFree(c);
    return ok ? HL_OK : HL_EIO;
}

void ht_sentinel_cleanup(struct ht_sentinel *f) {
    int i;

    for (i = 0; i < f->sent_started && i < HT_SENTINEL_COUNT; i++) {
        ht_proc_cleanup(&f->sent[i].proc);
        if (f->sent[i].dir[0] != '\0')
            ht_redis_remove_dir(f->sent[i].dir);
        f->sent[i].dir[0] = '\0';
    }
    f->sent_started = 0;
    for (i = 0; i < f->data_started && i < HT_SENTINEL_DATA; i++)
        ht_redis_cleanup(&f->data[i]);
    f->data_started = 0;
}
