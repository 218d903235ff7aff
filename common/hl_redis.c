/* hl_redis.c - the asynchronous Redis connection (see hl_redis.h).
 *
 * States: DOWN (waiting to reconnect) -> CONNECTING -> LOADING (AUTH,
 * SELECT, SCRIPT LOAD in flight) -> READY; any failure -> DOWN; STOPPED is
 * final. A PING every second notices a server that accepts but does not
 * answer (e.g. SIGSTOPped): READY but stalled is not ready, so callers can
 * answer fast instead of queueing behind it. */
#include "hl_redis.h"
#include "hl_log.h"
#include "hl_time.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>
#include <openssl/evp.h>

#define BACKOFF_BASE_MS 100
#define BACKOFF_CAP_MS 1000
#define CONNECT_TIMEOUT_MS 2000
#define SETUP_TIMEOUT_MS 5000      /* AUTH, SELECT, SCRIPT LOAD answered */
#define PING_EVERY_MS 1000
#define STALL_MS 1500
#define STALL_DROP_MS 10000        /* then the connection is dropped */

enum rstate {
    RS_DOWN,
    RS_CONNECTING,
    RS_LOADING,
    RS_READY,
    RS_STOPPED
};

/* The kinds of failure the reconnect loop logs, each throttled on its
 * own: a WRONGPASS after a minute of refused connects is news. */
enum fail_kind {
    F_CONNECT, F_CONNECT_TIMEOUT, F_SETUP, F_SETUP_TIMEOUT, F_DISCONNECT,
    F_KINDS
};

struct hl_redis {
    struct event_base *base;            /* borrowed */
    const struct hl_redis_addr *addr;   /* borrowed */
    redisAsyncContext *ac;              /* owned by hiredis once connected */
    enum rstate state;
    int attempt;                        /* reconnects since last READY */
    long fails[F_KINDS];                /* failures of each kind since
                                         * last READY, for the log */
    int loads_pending;                  /* setup replies still awaited */
    int load_failed;
    char sha[HL_SCRIPT_COUNT][41];      /* hex SHA1 of each script */
    struct event *retry_timer;          /* reconnect backoff / connect limit */
    struct event *ping_timer;
    long long ping_sent_ms;             /* 0: no PING outstanding */
    int stalled;
    hl_redis_state_cb *state_cb;
    void *state_arg;
};

/* One command in flight; freed in its reply callback. */
struct call {
    struct hl_redis *r;
    hl_redis_cb *cb;
    void *arg;
    int script;                 /* -1 for plain commands */
    int nkeys, argc;
    const char *argv[HL_REDIS_MAX_ARGS]; /* into bytes (scripts only) */
    size_t lens[HL_REDIS_MAX_ARGS];
    char *bytes;                /* copy of every argument, allocated
                                 * with the struct (scripts only) */
    int retried;
};

static void schedule_reconnect(struct hl_redis *r);

/* Ends a connection whose server does not answer. redisAsyncDisconnect()
 * would wait for the pending replies, forever on a hung server; shutting
 * the socket down makes hiredis see an error at once: every pending
 * callback gets NULL and the disconnect callback reconnects. */
static void drop_connection(struct hl_redis *r) {
    if (r->ac != NULL && r->ac->c.fd >= 0)
        shutdown(r->ac->c.fd, SHUT_RDWR);
}

/* --------------------------------------------------------------- state */

static void set_ready(struct hl_redis *r, int up) {
    int was = hl_redis_ready(r);
    int now;

    if (up) {
        r->state = RS_READY;
        r->attempt = 0;
        memset(r->fails, 0, sizeof(r->fails));
        r->stalled = 0;
        r->ping_sent_ms = 0;
    }
    now = hl_redis_ready(r);
    if (was != now && r->state_cb != NULL)
        r->state_cb(r, now, r->state_arg);
}

int hl_redis_ready(const struct hl_redis *r) {
    return r != NULL && r->state == RS_READY && !r->stalled;
}

int hl_redis_failing(const struct hl_redis *r) {
    return r != NULL && !hl_redis_ready(r) && r->state != RS_STOPPED &&
           (r->attempt > 0 || r->stalled);
}

/* 1 when this failure gets a log line: the first HL_LOG_REPEAT_FIRST of
 * its kind since the connection was last ready, then every
 * HL_LOG_REPEAT_EVERY-th (hl_log_repeat()). */
static int worth_a_line(struct hl_redis *r, enum fail_kind k) {
    return hl_log_repeat(++r->fails[k]);
}

void hl_redis_set_state_cb(struct hl_redis *r, hl_redis_state_cb *cb,
                           void *arg) {
    r->state_cb = cb;
    r->state_arg = arg;
}

/* Marks the connection gone (the context is being freed by hiredis). */
static void went_down(struct hl_redis *r) {
    int was = hl_redis_ready(r);

    r->ac = NULL;
    r->ping_sent_ms = 0;
    r->stalled = 0;
    if (r->state == RS_STOPPED)
        return;
    r->state = RS_DOWN;
    if (was && r->state_cb != NULL)
        r->state_cb(r, 0, r->state_arg);
    schedule_reconnect(r);
}

/* ------------------------------------------------------------ commands */

static void call_done_cb(redisAsyncContext *ac, void *reply, void *privdata);

static int send_call(struct hl_redis *r, struct call *c) {
    const char *argv[HL_REDIS_MAX_ARGS + 3];
    size_t lens[HL_REDIS_MAX_ARGS + 3];
    const struct hl_script_def *def = hl_lua_script(c->script);
    char nk[16];
    int i, n = 0;

    snprintf(nk, sizeof(nk), "%d", c->nkeys);
    if (c->retried) {
        argv[n] = "EVAL";
        lens[n++] = 4;
        argv[n] = def->body;
        lens[n++] = def->len;
    } else {
        argv[n] = "EVALSHA";
        lens[n++] = 7;
        argv[n] = r->sha[c->script];
        lens[n++] = 40;
    }
    argv[n] = nk;
    lens[n++] = strlen(nk);
    for (i = 0; i < c->argc; i++) {
        argv[n] = c->argv[i];
        lens[n++] = c->lens[i];
    }
    if (r->ac == NULL ||
        redisAsyncCommandArgv(r->ac, call_done_cb, c, n, argv, lens)
            != REDIS_OK)
        return HL_EAGAIN;
    return HL_OK;
}

static int is_noscript(const redisReply *reply) {
    return reply != NULL && reply->type == REDIS_REPLY_ERROR &&
           reply->str != NULL && strncmp(reply->str, "NOSCRIPT", 8) == 0;
}

static void call_done_cb(redisAsyncContext *ac, void *reply, void *privdata) {
    struct call *c = privdata;
    redisReply *rep = reply;

    (void)ac;
    if (c->script >= 0 && !c->retried && is_noscript(rep)) {
        c->retried = 1;
        if (send_call(c->r, c) == HL_OK)
            return;
        rep = NULL;
    }
    c->cb(c->r, rep, c->arg);
    free(c);
}

int hl_redis_command(struct hl_redis *r, hl_redis_cb *cb, void *arg,
                     int argc, const char **argv, const size_t *lens) {
    struct call *c;

    if (!hl_redis_ready(r) || r->ac == NULL)
        return HL_EAGAIN;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return HL_ENOMEM;
    c->r = r;
    c->cb = cb;
    c->arg = arg;
    c->script = -1;
    if (redisAsyncCommandArgv(r->ac, call_done_cb, c, argc, argv, lens)
        != REDIS_OK) {
        free(c);
        return HL_EAGAIN;
    }
    return HL_OK;
}

int hl_redis_script(struct hl_redis *r, enum hl_script script, int nkeys,
                    int argc, const char **argv, const size_t *lens,
                    hl_redis_cb *cb, void *arg) {
    struct call *c;
    size_t total = 0, off = 0;
    int i;

    if (argc > HL_REDIS_MAX_ARGS || nkeys > argc || (int)script < 0 ||
        script >= HL_SCRIPT_COUNT)
        return HL_EINVAL;
    if (!hl_redis_ready(r))
        return HL_EAGAIN;
    for (i = 0; i < argc; i++)
        total += lens[i];
    /* one allocation for the call and its copy of the arguments */
    c = calloc(1, sizeof(*c) + total + 1);
    if (c == NULL)
        return HL_ENOMEM;
    c->bytes = (char *)(c + 1);
    c->r = r;
    c->cb = cb;
    c->arg = arg;
    c->script = (int)script;
    c->nkeys = nkeys;
    c->argc = argc;
    /* copied so a NOSCRIPT resend never reads the caller's memory */
    for (i = 0; i < argc; i++) {
        memcpy(c->bytes + off, argv[i], lens[i]);
        c->argv[i] = c->bytes + off;
        c->lens[i] = lens[i];
        off += lens[i];
    }
    if (send_call(r, c) != HL_OK) {
        free(c);
        return HL_EAGAIN;
    }
    return HL_OK;
}

/* ------------------------------------------------------- setup replies */

static void setup_reply_cb(redisAsyncContext *ac, void *reply, void *priv) {
    struct hl_redis *r = ac->data;
    redisReply *rep = reply;
    const char *what = priv;

    if (r == NULL || r->state != RS_LOADING)
        return;
    if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
        /* the server's message never holds our password: AUTH errors
         * are fixed texts like "WRONGPASS invalid username-password" */
        if (worth_a_line(r, F_SETUP))
            hl_log(HL_LOG_ERROR, "redis_setup_failed", HL_KV_S("step", what),
                   HL_KV_S("error", rep && rep->str ? rep->str : "no reply"),
                   HL_KV_I("attempt", r->attempt));
        if (!r->load_failed && r->ac != NULL)
            redisAsyncDisconnect(r->ac);
        r->load_failed = 1;
        return;
    }
    if (--r->loads_pending == 0 && !r->load_failed) {
        evtimer_del(r->retry_timer);
        hl_log(HL_LOG_INFO, "redis_ready",
               HL_KV_S("host", r->addr->unix_path[0] ? r->addr->unix_path
                                                     : r->addr->host),
               HL_KV_I("port", r->addr->port));
        set_ready(r, 1);
    }
}

static int send_setup(struct hl_redis *r, const char *what, int argc,
                      const char **argv, const size_t *lens) {
    if (redisAsyncCommandArgv(r->ac, setup_reply_cb, (void *)what, argc,
                              argv, lens) != REDIS_OK)
        return HL_EIO;
    r->loads_pending++;
    return HL_OK;
}

/* AUTH, SELECT and SCRIPT LOAD, pipelined; READY when all answered. */
static int begin_setup(struct hl_redis *r) {
    const struct hl_redis_addr *a = r->addr;
    char db[16];
    int i;

    r->state = RS_LOADING;
    r->loads_pending = 0;
    r->load_failed = 0;
    if (a->password.len > 0) {
        const char *argv[2] = { "AUTH", (const char *)a->password.buf };
        size_t lens[2] = { 4, a->password.len };
        if (send_setup(r, "auth", 2, argv, lens) != HL_OK)
            return HL_EIO;
    }
    if (a->db != 0) {
        const char *argv[2] = { "SELECT", db };
        size_t lens[2] = { 6, 0 };
        snprintf(db, sizeof(db), "%d", a->db);
        lens[1] = strlen(db);
        if (send_setup(r, "select", 2, argv, lens) != HL_OK)
            return HL_EIO;
    }
    for (i = 0; i < HL_SCRIPT_COUNT; i++) {
        const struct hl_script_def *d = hl_lua_script(i);
        const char *argv[3] = { "SCRIPT", "LOAD", d->body };
        size_t lens[3] = { 6, 4, d->len };
        if (send_setup(r, "script_load", 3, argv, lens) != HL_OK)
            return HL_EIO;
    }
    return HL_OK;
}

/* ---------------------------------------------------- connect / retry */

static void connect_cb(const redisAsyncContext *ac, int status) {
    struct hl_redis *r = ac->data;

    if (r == NULL)
        return;
    if (status != REDIS_OK) {
        if (worth_a_line(r, F_CONNECT))
            hl_log(HL_LOG_WARN, "redis_connect_failed",
                   HL_KV_S("error", ac->errstr),
                   HL_KV_I("attempt", r->attempt));
        went_down(r);
        return;
    }
    {
        /* the same timer bounds the setup replies */
        struct timeval tv = { SETUP_TIMEOUT_MS / 1000,
                              (SETUP_TIMEOUT_MS % 1000) * 1000 };
        evtimer_add(r->retry_timer, &tv);
    }
    if (begin_setup(r) != HL_OK && r->ac != NULL)
        redisAsyncDisconnect(r->ac);
}

static void disconnect_cb(const redisAsyncContext *ac, int status) {
    struct hl_redis *r = ac->data;

    if (r == NULL)
        return;
    if (r->state != RS_STOPPED && worth_a_line(r, F_DISCONNECT))
        hl_log(HL_LOG_WARN, "redis_disconnected",
               HL_KV_S("error", status == REDIS_OK ? "closed" : ac->errstr));
    went_down(r);
}

static int connect_now(struct hl_redis *r) {
    const struct hl_redis_addr *a = r->addr;
    redisAsyncContext *ac;
    struct timeval tv = { CONNECT_TIMEOUT_MS / 1000,
                          (CONNECT_TIMEOUT_MS % 1000) * 1000 };

    if (a->unix_path[0] != '\0')
        ac = redisAsyncConnectUnix(a->unix_path);
    else
        ac = redisAsyncConnect(a->host, a->port);
    if (ac == NULL)
        return HL_ENOMEM;
    if (ac->err) {
        if (worth_a_line(r, F_CONNECT))
            hl_log(HL_LOG_WARN, "redis_connect_failed",
                   HL_KV_S("error", ac->errstr),
                   HL_KV_I("attempt", r->attempt));
        redisAsyncFree(ac);
        return HL_EIO;
    }
    ac->data = r;
    if (redisLibeventAttach(ac, r->base) != REDIS_OK) {
        redisAsyncFree(ac);
        return HL_EIO;
    }
    redisAsyncSetConnectCallback(ac, connect_cb);
    redisAsyncSetDisconnectCallback(ac, disconnect_cb);
    r->ac = ac;
    r->state = RS_CONNECTING;
    /* the same timer bounds the connect: hiredis 0.14.1 has none */
    evtimer_add(r->retry_timer, &tv);
    return HL_OK;
}

static void schedule_reconnect(struct hl_redis *r) {
    struct timeval tv;
    long long ms;

    if (r->state == RS_STOPPED)
        return;
    r->attempt++;
    ms = hl_time_backoff_ms(r->attempt, BACKOFF_BASE_MS, BACKOFF_CAP_MS,
                            (uint32_t)random());
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(r->retry_timer, &tv);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg) {
    struct hl_redis *r = arg;

    (void)fd;
    (void)what;
    if (r->state == RS_CONNECTING && r->ac != NULL) {
        /* connect took too long: free it (no callbacks fire for a context
         * that never connected) and try again later */
        if (worth_a_line(r, F_CONNECT_TIMEOUT))
            hl_log(HL_LOG_WARN, "redis_connect_timeout",
                   HL_KV_I("timeout_ms", CONNECT_TIMEOUT_MS),
                   HL_KV_I("attempt", r->attempt));
        r->ac->data = NULL;
        redisAsyncFree(r->ac);
        r->ac = NULL;
        r->state = RS_DOWN;
        schedule_reconnect(r);
        return;
    }
    if (r->state == RS_LOADING && r->ac != NULL) {
        /* connected but the setup never answered: drop the connection;
         * the disconnect callback schedules the next attempt */
        if (worth_a_line(r, F_SETUP_TIMEOUT))
            hl_log(HL_LOG_WARN, "redis_setup_timeout",
                   HL_KV_I("timeout_ms", SETUP_TIMEOUT_MS),
                   HL_KV_I("attempt", r->attempt));
        drop_connection(r);
        return;
    }
    if (r->state != RS_DOWN)
        return;
    if (connect_now(r) != HL_OK) {
        r->state = RS_DOWN;
        schedule_reconnect(r);
    }
}

/* ------------------------------------------------------------ liveness */

static void ping_reply_cb(redisAsyncContext *ac, void *reply, void *priv) {
    struct hl_redis *r = ac->data;
    int was;

    (void)priv;
    if (r == NULL || reply == NULL)
        return;
    r->ping_sent_ms = 0;
    if (r->stalled) {
        was = hl_redis_ready(r);
        r->stalled = 0;
        hl_log(HL_LOG_INFO, "redis_answering_again");
        if (!was && hl_redis_ready(r) && r->state_cb != NULL)
            r->state_cb(r, 1, r->state_arg);
    }
}

static void ping_cb(evutil_socket_t fd, short what, void *arg) {
    struct hl_redis *r = arg;
    long long now = hl_time_mono_ms();

    (void)fd;
    (void)what;
    if (r->state != RS_READY || r->ac == NULL)
        return;
    if (r->ping_sent_ms != 0) {
        if (r->stalled && now - r->ping_sent_ms > STALL_DROP_MS) {
            hl_log(HL_LOG_WARN, "redis_dropping_stalled",
                   HL_KV_I("no_reply_ms", now - r->ping_sent_ms));
            r->ping_sent_ms = 0;
            drop_connection(r);
            return;
        }
        if (!r->stalled && now - r->ping_sent_ms > STALL_MS) {
            r->stalled = 1;
            hl_log(HL_LOG_WARN, "redis_stalled",
                   HL_KV_I("no_reply_ms", now - r->ping_sent_ms));
            if (r->state_cb != NULL)
                r->state_cb(r, 0, r->state_arg);
        }
        return;
    }
    if (redisAsyncCommand(r->ac, ping_reply_cb, NULL, "PING") == REDIS_OK)
        r->ping_sent_ms = now;
}

/* ---------------------------------------------------------- lifecycle */

static void script_sha(const struct hl_script_def *d, char out[41]) {
    static const char hex[] = "0123456789abcdef";
    unsigned char md[20];
    unsigned int n = 0;
    int i;

    EVP_Digest(d->body, d->len, md, &n, EVP_sha1(), NULL);
    for (i = 0; i < 20; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[40] = '\0';
}

struct hl_redis *hl_redis_new(struct event_base *base,
                              const struct hl_redis_addr *addr) {
    struct hl_redis *r = calloc(1, sizeof(*r));
    int i;

    if (r == NULL)
        return NULL;
    r->base = base;
    r->addr = addr;
    r->state = RS_DOWN;
    for (i = 0; i < HL_SCRIPT_COUNT; i++)
        script_sha(hl_lua_script(i), r->sha[i]);
    r->retry_timer = evtimer_new(base, retry_cb, r);
    r->ping_timer = event_new(base, -1, EV_PERSIST, ping_cb, r);
    if (r->retry_timer == NULL || r->ping_timer == NULL) {
        hl_redis_free(r);
        return NULL;
    }
    return r;
}

int hl_redis_start(struct hl_redis *r) {
    struct timeval ping = { PING_EVERY_MS / 1000,
                            (PING_EVERY_MS % 1000) * 1000 };

    if (evtimer_add(r->ping_timer, &ping) != 0)
        return HL_ENOMEM;
    if (connect_now(r) != HL_OK) {
        r->state = RS_DOWN;
        schedule_reconnect(r);
    }
    return HL_OK;
}

void hl_redis_free(struct hl_redis *r) {
    if (r == NULL)
        return;
    r->state = RS_STOPPED;
    if (r->ac != NULL) {
        redisAsyncContext *ac = r->ac;
        r->ac = NULL;
        /* pending callbacks run now with NULL; the disconnect callback
         * sees RS_STOPPED and does not reconnect */
        redisAsyncFree(ac);
    }
    if (r->retry_timer != NULL)
        event_free(r->retry_timer);
    if (r->ping_timer != NULL)
        event_free(r->ping_timer);
    free(r);
}
