/* hl_sentinel.c - finds and follows a Sentinel master's primary (see
 * hl_sentinel.h).
 *
 * Two hiredis async connections at most, both owned by the watcher:
 *  - the query connection, to the sentinel being asked (`qidx`), kept
 *    open while that sentinel answers. A question is bounded by our own
 *    timer (hiredis 0.14.1 has no command timeouts): on expiry, an error,
 *    a nil answer or a lost connection the next sentinel is asked, and
 *    when all of them failed in one round the poll timer tries again;
 *  - the subscription connection (`SUBSCRIBE +switch-master`), opened to
 *    a sentinel once it has answered. hiredis calls its callback for the
 *    subscribe confirmation, for every message and with NULL when the
 *    connection goes; a lost one is opened again after the next answer.
 *
 * The poll runs every HL_SENTINEL_POLL_MS whether or not the subscription
 * is up: it costs one tiny command a second and also catches a lost
 * message or a subscribed sentinel that hangs.
 *
 * Query states: Q_IDLE (poll timer armed) -> Q_WAIT (question sent,
 * `qtimer` bounds it) -> Q_IDLE on an answer, or Q_NEXT (`qtimer` armed
 * at 0: ask the next sentinel from the loop). Nothing is freed or opened
 * inside a hiredis callback of the same connection: those steps run from
 * the timers. Every callback checks `stopping` and that its context is
 * still the one we hold, so redisAsyncFree()'s NULL replies during
 * hl_sentinel_free() or a drop do nothing.
 *
 * With a sentinel password (hl_sentinel_set_password()) every connection
 * sends AUTH first; hiredis pipelines it ahead of the question or the
 * SUBSCRIBE. The command behind a refused AUTH decides: it fails like any
 * other error (-NOAUTH; a SUBSCRIBE refused so makes hiredis close the
 * connection), or it works (a sentinel without a password answers AUTH
 * with an error and everything else as usual). A query connection whose
 * AUTH was refused is not asked again: the next question opens a new
 * one, so a password fixed on the sentinel is picked up.
 *
 * Deliberately not here: sentinel discovery (SENTINEL sentinels), and
 * connecting to the primary (hl_store does that). */
#include "hl_sentinel.h"
#include "hl_cluster_proto.h"
#include "hl_log.h"
#include "hl_secret.h"

#include <stdio.h>
#include <string.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#define MASTER_MAX 256              /* a master name, with NUL */
#define SWITCH_CHANNEL "+switch-master"

enum qstate {
    Q_IDLE,     /* no question out; poll timer armed (once started) */
    Q_WAIT,     /* question sent on qac; qtimer bounds it */
    Q_NEXT      /* qtimer armed at 0: ask sentinel qidx from the loop */
};

enum sstate {
    S_NONE,     /* no subscription connection */
    S_PENDING,  /* SUBSCRIBE sent; stimer bounds the confirmation */
    S_UP        /* subscribed */
};

struct hl_sentinel {
    struct event_base *base;                /* borrowed */
    char master[MASTER_MAX];
    char hosts[HL_CLUSTER_SEEDS_MAX][HL_SLOT_HOST_MAX];
    int ports[HL_CLUSTER_SEEDS_MAX];
    int n;                                  /* sentinels */
    hl_sentinel_cb *cb;
    void *arg;
    int started;
    int stopping;                           /* in hl_sentinel_free() */
    struct hl_secret password;              /* owned; empty: no AUTH */
    long auth_failures;                     /* in a row, for the log */

    redisAsyncContext *qac;                 /* query connection or NULL */
    int qac_idx;                            /* sentinel qac is open to */
    int qac_auth_refused;                   /* AUTH refused and no answer
                                             * since: reopen before asking */
    int qidx;                               /* sentinel to ask */
    int tried;                              /* failed asks this round */
    enum qstate qstate;
    struct event *qtimer;                   /* question limit / next */
    struct event *poll_timer;
    int down_logged;                        /* "none answered" logged */

    redisAsyncContext *sac;                 /* subscription or NULL */
    int sidx;                               /* sentinel sac is open to */
    enum sstate sstate;
    struct event *stimer;                   /* subscribe confirmation */

    int known;                              /* host/port valid */
    char host[HL_SLOT_HOST_MAX];
    int port;
};

/* ------------------------------------------------------- pure parsing */

/* Copies `n` bytes at `p` as a host: 1..HL_SLOT_HOST_MAX-1 bytes, no NUL
 * and no space. */
static int copy_host(const char *p, size_t n, char host[HL_SLOT_HOST_MAX]) {
    size_t i;

    if (n == 0 || n >= HL_SLOT_HOST_MAX)
        return HL_EINVAL;
    for (i = 0; i < n; i++) {
        if (p[i] == '\0' || p[i] == ' ')
            return HL_EINVAL;
    }
    memcpy(host, p, n);
    host[n] = '\0';
    return HL_OK;
}

int hl_sentinel_parse_addr(const redisReply *reply,
                           char host[HL_SLOT_HOST_MAX], int *port) {
    const redisReply *h, *p;
    char tmp[HL_SLOT_HOST_MAX];
    int pt = 0;

    if (reply == NULL)
        return HL_EINVAL;
    if (reply->type == REDIS_REPLY_NIL)
        return HL_ENOTFOUND;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
        return HL_EINVAL;
    h = reply->element[0];
    p = reply->element[1];
    if (h == NULL || p == NULL || h->type != REDIS_REPLY_STRING ||
        p->type != REDIS_REPLY_STRING)
        return HL_EINVAL;
    if (copy_host(h->str, h->len, tmp) != HL_OK ||
        hl_parse_port(p->str, p->len, &pt) != HL_OK)
        return HL_EINVAL;
    memcpy(host, tmp, sizeof(tmp));
    *port = pt;
    return HL_OK;
}

/* Splits msg[0..len) into exactly `max` fields separated by single
 * spaces; no empty field, no leading or trailing space. */
static int split_fields(const char *msg, size_t len, const char **f,
                        size_t *flen, int max) {
    size_t start = 0, i;
    int k = 0;

    for (i = 0; i <= len; i++) {
        if (i < len && msg[i] != ' ')
            continue;
        if (i == start || k == max)
            return HL_EINVAL;
        f[k] = msg + start;
        flen[k++] = i - start;
        start = i + 1;
    }
    return k == max ? HL_OK : HL_EINVAL;
}

int hl_sentinel_parse_switch(const char *msg, size_t len, const char *name,
                             char host[HL_SLOT_HOST_MAX], int *port) {
    const char *f[5];
    size_t fl[5];
    char tmp[HL_SLOT_HOST_MAX];
    int oldport = 0, newport = 0;

    if (msg == NULL || name == NULL || memchr(msg, '\0', len) != NULL)
        return HL_EINVAL;
    if (split_fields(msg, len, f, fl, 5) != HL_OK ||
        copy_host(f[1], fl[1], tmp) != HL_OK ||
        hl_parse_port(f[2], fl[2], &oldport) != HL_OK ||
        copy_host(f[3], fl[3], tmp) != HL_OK ||
        hl_parse_port(f[4], fl[4], &newport) != HL_OK)
        return HL_EINVAL;
    if (fl[0] != strlen(name) || memcmp(f[0], name, fl[0]) != 0)
        return HL_ENOTFOUND;
    memcpy(host, tmp, sizeof(tmp));
    *port = newport;
    return HL_OK;
}

/* -------------------------------------------------------- connections */

static void arm(struct event *ev, long ms) {
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    evtimer_add(ev, &tv);
}

/* Frees a connection we hold, from outside its own callbacks. Clearing
 * our pointer first makes the NULL replies and the disconnect callback
 * that redisAsyncFree() runs see a context that is no longer ours. */
static void drop(redisAsyncContext **pac) {
    redisAsyncContext *ac = *pac;

    *pac = NULL;
    if (ac != NULL)
        redisAsyncFree(ac);
}

static void connect_cb(const redisAsyncContext *ac, int status);
static void disconnect_cb(const redisAsyncContext *ac, int status);

static void auth_cb(redisAsyncContext *ac, void *reply, void *priv) {
    struct hl_sentinel *s = priv;
    const redisReply *r = reply;
    int i;

    if (s->stopping || r == NULL || (ac != s->qac && ac != s->sac))
        return;
    if (r->type != REDIS_REPLY_ERROR) {
        s->auth_failures = 0;
        return;
    }
    if (ac == s->qac)
        s->qac_auth_refused = 1;
    i = ac == s->qac ? s->qac_idx : s->sidx;
    /* the server's text never holds the password ("WRONGPASS ..."); a
     * warning, as the command behind it may still work (see above) */
    if (hl_log_repeat(++s->auth_failures))
        hl_log(HL_LOG_WARN, "sentinel_auth_refused",
               HL_KV_S("host", s->hosts[i]), HL_KV_I("port", s->ports[i]),
               HL_KV_S("error", r->str), HL_KV_I("attempt", s->auth_failures));
}

/* Queues AUTH on a new connection, ahead of anything else sent on it. */
static int send_auth(struct hl_sentinel *s, redisAsyncContext *ac) {
    const char *argv[2] = { "AUTH", (const char *)s->password.buf };
    size_t lens[2] = { 4, s->password.len };

    if (s->password.len == 0)
        return HL_OK;
    return redisAsyncCommandArgv(ac, auth_cb, s, 2, argv, lens) == REDIS_OK
               ? HL_OK : HL_EIO;
}

/* Opens an async connection to sentinel `i`. NULL on failure (logged). */
static redisAsyncContext *open_conn(struct hl_sentinel *s, int i) {
    redisAsyncContext *ac = redisAsyncConnect(s->hosts[i], s->ports[i]);

    if (ac == NULL)
        return NULL;
    if (ac->err) {
        hl_log(HL_LOG_DEBUG, "sentinel_connect_failed",
               HL_KV_S("host", s->hosts[i]), HL_KV_I("port", s->ports[i]),
               HL_KV_S("error", ac->errstr));
        redisAsyncFree(ac);
        return NULL;
    }
    ac->data = s;
    if (redisLibeventAttach(ac, s->base) != REDIS_OK) {
        redisAsyncFree(ac);
        return NULL;
    }
    redisAsyncSetConnectCallback(ac, connect_cb);
    redisAsyncSetDisconnectCallback(ac, disconnect_cb);
    if (send_auth(s, ac) != HL_OK) {
        ac->data = NULL;
        redisAsyncFree(ac);
        return NULL;
    }
    return ac;
}

/* ------------------------------------------------------------ answers */

/* The sentinels name host:port: remember it, and call back when it is
 * the first address or a different one. */
static void answered(struct hl_sentinel *s, const char *host, int port) {
    if (s->known && s->port == port && strcmp(s->host, host) == 0)
        return;
    snprintf(s->host, sizeof(s->host), "%s", host);
    s->port = port;
    s->known = 1;
    hl_log(HL_LOG_INFO, "sentinel_primary", HL_KV_S("master", s->master),
           HL_KV_S("host", host), HL_KV_I("port", port));
    s->cb(s, host, port, s->arg);
}

/* Sentinel qidx could not answer: move on to the next one from the loop,
 * or end the round when every sentinel has failed in it. */
static void ask_failed(struct hl_sentinel *s, const char *why) {
    hl_log(HL_LOG_DEBUG, "sentinel_ask_failed",
           HL_KV_S("host", s->hosts[s->qidx]),
           HL_KV_I("port", s->ports[s->qidx]), HL_KV_S("error", why));
    evtimer_del(s->qtimer);
    s->qidx = (s->qidx + 1) % s->n;
    if (++s->tried < s->n) {
        s->qstate = Q_NEXT;
        arm(s->qtimer, 0);
        return;
    }
    if (!s->down_logged) {
        hl_log(HL_LOG_WARN, "sentinel_none_answered",
               HL_KV_S("master", s->master), HL_KV_I("sentinels", s->n),
               HL_KV_S("last_error", why));
        s->down_logged = 1;
    }
    s->qstate = Q_IDLE;
    arm(s->poll_timer, HL_SENTINEL_POLL_MS);
}

static void subscribe(struct hl_sentinel *s, int i);

static void query_reply_cb(redisAsyncContext *ac, void *reply, void *priv) {
    struct hl_sentinel *s = priv;
    char host[HL_SLOT_HOST_MAX];
    int port = 0;
    int rc;

    /* a NULL reply on our connection is followed by a connection
     * callback, which moves on */
    if (s->stopping || ac != s->qac || s->qstate != Q_WAIT || reply == NULL)
        return;
    rc = hl_sentinel_parse_addr(reply, host, &port);
    if (rc != HL_OK) {
        const redisReply *r = reply;

        ask_failed(s, rc == HL_ENOTFOUND ? "master unknown"
                      : r->type == REDIS_REPLY_ERROR ? r->str
                      : "unexpected reply");
        return;
    }
    evtimer_del(s->qtimer);
    s->qstate = Q_IDLE;
    s->tried = 0;
    s->qac_auth_refused = 0;    /* it answers: a password it does not need */
    if (s->down_logged) {
        hl_log(HL_LOG_INFO, "sentinel_answering",
               HL_KV_S("host", s->hosts[s->qidx]),
               HL_KV_I("port", s->ports[s->qidx]));
        s->down_logged = 0;
    }
    arm(s->poll_timer, HL_SENTINEL_POLL_MS);
    if (s->sstate == S_NONE)
        subscribe(s, s->qidx);
    answered(s, host, port);
}

/* Sends the question to sentinel qidx, opening a connection to it (and
 * closing one to another sentinel) when needed. Runs from the loop only
 * (start, timers). */
static void ask(struct hl_sentinel *s) {
    const char *argv[3] = { "SENTINEL", "get-master-addr-by-name",
                            s->master };
    size_t lens[3] = { 8, 23, strlen(s->master) };

    if (s->qac != NULL && (s->qac_idx != s->qidx || s->qac_auth_refused))
        drop(&s->qac);
    if (s->qac == NULL) {
        s->qac = open_conn(s, s->qidx);
        s->qac_idx = s->qidx;
        s->qac_auth_refused = 0;
    }
    if (s->qac == NULL) {
        ask_failed(s, "cannot connect");
        return;
    }
    if (redisAsyncCommandArgv(s->qac, query_reply_cb, s, 3, argv, lens)
        != REDIS_OK) {
        drop(&s->qac);
        ask_failed(s, "cannot send");
        return;
    }
    s->qstate = Q_WAIT;
    arm(s->qtimer, HL_SENTINEL_TIMEOUT_MS);
}

static void qtimer_cb(evutil_socket_t fd, short what, void *arg) {
    struct hl_sentinel *s = arg;

    (void)fd;
    (void)what;
    if (s->qstate == Q_WAIT) {
        /* connect or answer took too long: a hung sentinel keeps the
         * socket open, so the connection goes, and so does a
         * subscription to it, which would never carry a message; the
         * next answer subscribes to the sentinel that gave it */
        drop(&s->qac);
        if (s->sac != NULL && s->sidx == s->qidx) {
            evtimer_del(s->stimer);
            drop(&s->sac);
            s->sstate = S_NONE;
        }
        ask_failed(s, "timeout");
        return;
    }
    if (s->qstate == Q_NEXT)
        ask(s);
}

static void poll_cb(evutil_socket_t fd, short what, void *arg) {
    struct hl_sentinel *s = arg;

    (void)fd;
    (void)what;
    if (s->qstate != Q_IDLE)
        return;
    s->tried = 0;
    ask(s);
}

/* ------------------------------------------------------- subscription */

/* A +switch-master message: the new address is used at once, then the
 * sentinel that sent it is asked (a message is only a hint). */
static void on_switch(struct hl_sentinel *s, const char *msg, size_t len) {
    char host[HL_SLOT_HOST_MAX];
    int port = 0;

    if (hl_sentinel_parse_switch(msg, len, s->master, host, &port)
        != HL_OK)
        return;
    hl_log(HL_LOG_INFO, "sentinel_switch_master",
           HL_KV_S("master", s->master), HL_KV_S("host", host),
           HL_KV_I("port", port));
    /* the verification goes to the sentinel that announced the switch,
     * so a sentinel still on the old config cannot flip us back */
    if (s->qstate == Q_IDLE)
        s->qidx = s->sidx;
    answered(s, host, port);
    hl_sentinel_recheck(s);
}

static void sub_cb(redisAsyncContext *ac, void *reply, void *priv) {
    struct hl_sentinel *s = priv;
    const redisReply *r = reply;
    const redisReply *kind;

    if (s->stopping || ac != s->sac || r == NULL ||
        r->type != REDIS_REPLY_ARRAY || r->elements != 3)
        return;
    kind = r->element[0];
    if (kind->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(kind->str, "subscribe") == 0 && s->sstate == S_PENDING) {
        evtimer_del(s->stimer);
        s->sstate = S_UP;
        hl_log(HL_LOG_INFO, "sentinel_subscribed",
               HL_KV_S("host", s->hosts[s->sidx]),
               HL_KV_I("port", s->ports[s->sidx]));
        return;
    }
    if (strcmp(kind->str, "message") == 0 &&
        r->element[2]->type == REDIS_REPLY_STRING)
        on_switch(s, r->element[2]->str, r->element[2]->len);
}

/* Opens the subscription to sentinel `i`; on failure it is tried again
 * after the next answer. */
static void subscribe(struct hl_sentinel *s, int i) {
    const char *argv[2] = { "SUBSCRIBE", SWITCH_CHANNEL };
    size_t lens[2] = { 9, sizeof(SWITCH_CHANNEL) - 1 };

    s->sac = open_conn(s, i);
    if (s->sac == NULL)
        return;
    s->sidx = i;
    if (redisAsyncCommandArgv(s->sac, sub_cb, s, 2, argv, lens)
        != REDIS_OK) {
        drop(&s->sac);
        return;
    }
    s->sstate = S_PENDING;
    arm(s->stimer, HL_SENTINEL_TIMEOUT_MS);
}

static void stimer_cb(evutil_socket_t fd, short what, void *arg) {
    struct hl_sentinel *s = arg;

    (void)fd;
    (void)what;
    if (s->sstate != S_PENDING)
        return;
    hl_log(HL_LOG_DEBUG, "sentinel_subscribe_timeout",
           HL_KV_S("host", s->hosts[s->sidx]),
           HL_KV_I("port", s->ports[s->sidx]));
    drop(&s->sac);
    s->sstate = S_NONE;
}

/* ------------------------------------------------ connection callbacks */

/* Connection `ac` failed or closed (hiredis frees it after this). */
static void conn_gone(struct hl_sentinel *s, const redisAsyncContext *ac,
                      const char *why) {
    if (ac == s->qac) {
        s->qac = NULL;
        if (s->qstate == Q_WAIT)
            ask_failed(s, why);
        return;
    }
    if (ac == s->sac) {
        s->sac = NULL;
        if (s->sstate == S_UP)
            hl_log(HL_LOG_WARN, "sentinel_subscription_lost",
                   HL_KV_S("host", s->hosts[s->sidx]),
                   HL_KV_I("port", s->ports[s->sidx]),
                   HL_KV_S("error", why));
        evtimer_del(s->stimer);
        s->sstate = S_NONE;
    }
}

static void connect_cb(const redisAsyncContext *ac, int status) {
    struct hl_sentinel *s = ac->data;

    if (s == NULL || s->stopping || status == REDIS_OK)
        return;
    conn_gone(s, ac, ac->errstr);
}

static void disconnect_cb(const redisAsyncContext *ac, int status) {
    struct hl_sentinel *s = ac->data;

    if (s == NULL || s->stopping)
        return;
    conn_gone(s, ac, status == REDIS_OK ? "closed" : ac->errstr);
}

/* ---------------------------------------------------------- lifecycle */

/* Checks and copies the master name: 1..MASTER_MAX-1 bytes, no space or
 * control byte (a +switch-master message is split on spaces). */
static int set_master(struct hl_sentinel *s, const char *master,
                      char err[HL_ERR_LEN]) {
    size_t n = master == NULL ? 0 : strlen(master);
    size_t i;

    if (n == 0 || n >= MASTER_MAX) {
        snprintf(err, HL_ERR_LEN, "sentinel master name: 1 to %d bytes",
                 MASTER_MAX - 1);
        return HL_EINVAL;
    }
    for (i = 0; i < n; i++) {
        if ((unsigned char)master[i] <= ' ') {
            snprintf(err, HL_ERR_LEN, "sentinel master name: no spaces "
                     "or control characters");
            return HL_EINVAL;
        }
    }
    memcpy(s->master, master, n + 1);
    return HL_OK;
}

struct hl_sentinel *hl_sentinel_new(struct event_base *base,
                                    const char *seeds, const char *master,
                                    hl_sentinel_cb *cb, void *arg,
                                    char err[HL_ERR_LEN]) {
    struct hl_sentinel *s = calloc(1, sizeof(*s));

    err[0] = '\0';
    if (s == NULL)
        goto nomem;
    s->base = base;
    s->cb = cb;
    s->arg = arg;
    if (cb == NULL) {
        snprintf(err, HL_ERR_LEN, "sentinel: no address callback");
        goto fail;
    }
    if (set_master(s, master, err) != HL_OK ||
        hl_cluster_parse_seeds(seeds, s->hosts, s->ports, &s->n, err)
            != HL_OK)
        goto fail;
    s->qtimer = evtimer_new(base, qtimer_cb, s);
    s->poll_timer = evtimer_new(base, poll_cb, s);
    s->stimer = evtimer_new(base, stimer_cb, s);
    if (s->qtimer == NULL || s->poll_timer == NULL || s->stimer == NULL)
        goto nomem;
    return s;
nomem:
    snprintf(err, HL_ERR_LEN, "sentinel: out of memory");
fail:
    hl_sentinel_free(s);
    return NULL;
}

int hl_sentinel_set_password(struct hl_sentinel *s,
                             const struct hl_secret *password) {
    hl_secret_cleanup(&s->password);
    if (password == NULL || password->len == 0)
        return HL_OK;
    return hl_secret_set(&s->password, password->buf, password->len);
}

int hl_sentinel_start(struct hl_sentinel *s) {
    if (s->started)
        return HL_OK;
    s->started = 1;
    s->tried = 0;
    ask(s);
    return HL_OK;
}

void hl_sentinel_recheck(struct hl_sentinel *s) {
    if (s == NULL || !s->started || s->stopping || s->qstate != Q_IDLE)
        return;
    /* from the loop: the caller may be inside one of our callbacks */
    evtimer_del(s->poll_timer);
    s->tried = 0;
    s->qstate = Q_NEXT;
    arm(s->qtimer, 0);
}

int hl_sentinel_subscribed(const struct hl_sentinel *s) {
    return s != NULL && s->sstate == S_UP;
}

int hl_sentinel_known(const struct hl_sentinel *s) {
    return s != NULL && s->known;
}

void hl_sentinel_free(struct hl_sentinel *s) {
    if (s == NULL)
        return;
    s->stopping = 1;
    /* pending callbacks run now with NULL and see `stopping` */
    drop(&s->qac);
    drop(&s->sac);
    if (s->qtimer != NULL)
        event_free(s->qtimer);
    if (s->poll_timer != NULL)
        event_free(s->poll_timer);
    if (s->stimer != NULL)
        event_free(s->stimer);
    hl_secret_cleanup(&s->password);
    free(s);
}
