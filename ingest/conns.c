/* conns.c - the HTTP connections ingest holds: how many (HOOKLINE_MAX_CONNS)
 * and for how long without a whole request (HOOKLINE_REQUEST_TIMEOUT_MS).
 *
 * libevent 2.1's evhttp has neither: its only timer is an inactivity
 * timeout, which a client sending one byte a second (slowloris) resets
 * forever, and it accepts every connection it can. So ingest tracks each
 * connection itself:
 *   - evhttp_set_bevcb() lets us create each new connection's bufferevent,
 *     synchronously inside evhttp's accept: that is where a connection is
 *     counted. evhttp_get_request() is static in 2.1 (so is evhttp's accept
 *     callback), which rules out accepting on our own listener.
 *   - The evhttp_connection is created just after our callback returns, so
 *     it is picked up from a deferred event in the same loop iteration
 *     (conn_setup_cb): evhttp registers it as the bufferevent's callback
 *     argument. There evhttp_connection_set_closecb() is set; it uncounts
 *     the connection when evhttp frees it, whoever closes it.
 *   - A connection is "idle" from its accept, or from the end of its last
 *     answer, until a whole request has been read (ingest_conns_request(),
 *     called first thing by the request callback); then it is "busy" until
 *     its answer has been written (evhttp's on-complete callback). Idle
 *     connections sit on one list in deadline order (every deadline is now
 *     + the same timeout, so appending keeps it sorted); one timer closes
 *     the ones past their deadline. Busy connections are never closed by
 *     us: ingest holds their request, and the ack deadline bounds them.
 *
 * At the cap, which keeps answering other clients best? Pausing accept
 * (evconnlistener_disable) alone would let 4096 idle or slowloris
 * connections lock every new client out for a whole request timeout, and
 * refusing new connections does the same with an error. Instead a new
 * connection is accepted and the OLDEST IDLE one is closed to make room
 * (as nginx does with idle keep-alive connections when it runs short): a
 * client that sends its request at once is served unless MAX_CONNS newer
 * connections arrive before its request is complete, which an attacker
 * cannot do faster than ingest accepts. Only when every connection is busy
 * with a request does accepting pause (new clients wait in the listen
 * backlog until an answer frees a slot, at most the ack deadline). So
 * there are never more than MAX_CONNS + 1 client sockets (the +1 for an
 * instant, between an accept and the close it causes).
 *
 * Every closing evhttp_connection_free() here happens from our own timer or
 * deferred event, never inside an evhttp callback of the same connection,
 * and only for idle connections, whose only request object is evhttp's
 * own (not yet handed to ingest). */
#include "ingest.h"
#include "hl_log.h"
#include "hl_time.h"

#include <errno.h>
#include <string.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#define ACCEPT_BACKOFF_MS 100    /* after EMFILE/ENFILE/ENOMEM from accept */
#define WARN_EVERY_MS 10000      /* rate of the cap / accept warnings */

struct ingest_conn {
    struct hl_ingest *ing;                 /* borrowed */
    struct bufferevent *bev;               /* evhttp's once set up */
    struct evhttp_connection *evcon;       /* NULL until set up */
    long long deadline_ms;                 /* idle: closed at this time */
    int fd;                                /* -1 until set up */
    int on_idle;                           /* linked on cs->idle */
    TAILQ_ENTRY(ingest_conn) idle;         /* oldest deadline first */
    struct ingest_conn *next_fresh;        /* on cs->fresh */
};

static void idle_append(struct ingest_conns *cs, struct ingest_conn *c) {
    c->deadline_ms = hl_time_mono_ms() + cs->timeout_ms;
    TAILQ_INSERT_TAIL(&cs->idle, c, idle);
    c->on_idle = 1;
    cs->n_idle++;
}

static void idle_remove(struct ingest_conns *cs, struct ingest_conn *c) {
    if (!c->on_idle)
        return;
    TAILQ_REMOVE(&cs->idle, c, idle);
    c->on_idle = 0;
    cs->n_idle--;
}

/* Arms the sweep for the oldest idle connection's deadline. Deadlines on
 * the list only grow, so a pending timer is never later than the head's;
 * it may be earlier (its connection went away): the sweep re-arms. */
static void sweep_arm(struct ingest_conns *cs) {
    struct ingest_conn *c = TAILQ_FIRST(&cs->idle);
    long long ms;
    struct timeval tv;

    if (c == NULL || evtimer_pending(cs->sweep_ev, NULL))
        return;
    ms = c->deadline_ms - hl_time_mono_ms();
    if (ms < 0)
        ms = 0;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(cs->sweep_ev, &tv);
}

/* Accepting is on unless draining, backing off after an accept error, or
 * at the cap with no idle connection to make room. */
static void listener_update(struct ingest_conns *cs) {
    int want;

    if (cs->lev == NULL)
        return;
    want = !cs->backoff && (cs->count < cs->max || cs->n_idle > 0);
    if (want && cs->paused) {
        evconnlistener_enable(cs->lev);
        cs->paused = 0;
    } else if (!want && !cs->paused) {
        evconnlistener_disable(cs->lev);
        cs->paused = 1;
    }
}

static int warn_due(struct ingest_conns *cs) {
    long long now = hl_time_mono_ms();

    if (cs->last_warn_ms != 0 && now - cs->last_warn_ms < WARN_EVERY_MS)
        return 0;
    cs->last_warn_ms = now;
    return 1;
}

/* evhttp frees a connection (any reason): forget it. */
static void conn_closed_cb(struct evhttp_connection *evcon, void *arg) {
    struct ingest_conn *c = arg;
    struct ingest_conns *cs = &c->ing->conns;

    /* evhttp calls this once per connection; forget us all the same */
    evhttp_connection_set_closecb(evcon, NULL, NULL);
    idle_remove(cs, c);
    if (c->fd >= 0 && (size_t)c->fd < cs->by_fd_len && cs->by_fd[c->fd] == c)
        cs->by_fd[c->fd] = NULL;
    cs->count--;
    free(c);
    listener_update(cs);
}

/* Closes an idle connection (closecb then frees its record). */
static void conn_close(struct ingest_conn *c) {
    evhttp_connection_free(c->evcon);
}

/* evhttp's bevcb: a connection was just accepted. Returns its bufferevent
 * (NULL lets evhttp make its own, untracked, when we are out of memory).
 * The bufferevent is created as evhttp would (no BEV_OPT_CLOSE_ON_FREE:
 * evhttp closes the socket itself, at once), with one extra reference
 * held until conn_setup_cb, so it can be inspected there even if evhttp
 * gave up on it meanwhile. Our record is its callback argument until
 * evhttp sets its own. */
static struct bufferevent *conn_new_cb(struct event_base *base, void *arg) {
    struct hl_ingest *ing = arg;
    struct ingest_conns *cs = &ing->conns;
    struct ingest_conn *c;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);

    if (bev == NULL)
        return NULL;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return bev;
    c->ing = ing;
    c->bev = bev;
    c->fd = -1;
    bufferevent_setcb(bev, NULL, NULL, NULL, c);
    bufferevent_incref(bev);
    c->next_fresh = cs->fresh;
    cs->fresh = c;
    idle_append(cs, c);
    cs->count++;
    /* over the cap: accept nothing more until the setup made room */
    if (cs->count > cs->max && cs->lev != NULL && !cs->paused) {
        evconnlistener_disable(cs->lev);
        cs->paused = 1;
    }
    event_active(cs->setup_ev, 0, 0);
    return bev;
}

/* Picks up the evhttp_connection of a fresh record. */
static void conn_attach(struct ingest_conns *cs, struct ingest_conn *c) {
    struct bufferevent *bev = c->bev;
    bufferevent_data_cb readcb = NULL;
    void *arg = NULL;
    int fd;

    bufferevent_getcb(bev, &readcb, NULL, NULL, &arg);
    fd = bufferevent_getfd(bev);
    if (arg == c) {
        /* evhttp never took it (out of memory before its setcb): it closed
         * the socket; the bufferevent is ours to free */
        bufferevent_free(bev);
    } else if (readcb != NULL && arg != NULL && fd >= 0 &&
               evhttp_connection_get_bufferevent(arg) == bev) {
        c->evcon = arg;
        c->fd = fd;
        if ((size_t)fd < cs->by_fd_len)
            cs->by_fd[fd] = c;
        evhttp_connection_set_closecb(c->evcon, conn_closed_cb, c);
        bufferevent_decref(bev);
        return;
    }
    /* gone (evhttp freed it on a failure) or not recognisable: forget */
    bufferevent_decref(bev);
    idle_remove(cs, c);
    cs->count--;
    free(c);
}

/* Deferred from conn_new_cb: set up every fresh connection, then enforce
 * the cap by closing the oldest idle ones. */
static void conn_setup_cb(evutil_socket_t fd, short what, void *arg) {
    struct hl_ingest *ing = arg;
    struct ingest_conns *cs = &ing->conns;
    struct ingest_conn *c;
    long long closed = 0;

    (void)fd;
    (void)what;
    while ((c = cs->fresh) != NULL) {
        cs->fresh = c->next_fresh;
        c->next_fresh = NULL;
        conn_attach(cs, c);
    }
    while (cs->count > cs->max && (c = TAILQ_FIRST(&cs->idle)) != NULL &&
           c->evcon != NULL) {
        conn_close(c);
        closed++;
    }
    if (closed > 0) {
        hl_metric_add(ing->m.conns_rejected, (double)closed);
        if (warn_due(cs))
            hl_log(HL_LOG_WARN, "max_conns_reached",
                   HL_KV_I("max_conns", cs->max),
                   HL_KV_S("action", "closed the oldest idle connection"));
    }
    sweep_arm(cs);
    listener_update(cs);
}

/* Closes idle connections past their deadline. */
static void conn_sweep_cb(evutil_socket_t fd, short what, void *arg) {
    struct hl_ingest *ing = arg;
    struct ingest_conns *cs = &ing->conns;
    struct ingest_conn *c;
    long long now = hl_time_mono_ms();
    long long closed = 0;

    (void)fd;
    (void)what;
    while ((c = TAILQ_FIRST(&cs->idle)) != NULL && c->deadline_ms <= now &&
           c->evcon != NULL) {
        conn_close(c);
        closed++;
    }
    if (closed > 0) {
        hl_metric_add(ing->m.conns_timed_out, (double)closed);
        hl_log(HL_LOG_DEBUG, "request_timeout", HL_KV_I("closed", closed),
               HL_KV_I("timeout_ms", cs->timeout_ms));
    }
    sweep_arm(cs);
    listener_update(cs);
}

/* accept() failed for lack of descriptors or memory: evconnlistener would
 * retry at once and spin. Pause, then try again. */
static void accept_error_cb(struct evconnlistener *lev, void *arg) {
    struct hl_ingest *ing = arg;
    struct ingest_conns *cs = &ing->conns;
    int err = EVUTIL_SOCKET_ERROR();
    struct timeval tv = { 0, ACCEPT_BACKOFF_MS * 1000 };

    (void)lev;
    if (warn_due(cs))
        hl_log(HL_LOG_WARN, "accept_failed",
               HL_KV_S("error", evutil_socket_error_to_string(err)),
               HL_KV_I("connections", cs->count));
    cs->backoff = 1;
    listener_update(cs);
    evtimer_add(cs->resume_ev, &tv);
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg) {
    struct hl_ingest *ing = arg;

    (void)fd;
    (void)what;
    ing->conns.backoff = 0;
    listener_update(&ing->conns);
}

/* The answer to a busy connection's request has been written: idle
 * again, with a fresh deadline for its next request. */
static void conn_done_cb(struct evhttp_request *req, void *arg) {
    struct ingest_conn *c = arg;
    struct ingest_conns *cs = &c->ing->conns;

    (void)req;
    idle_append(cs, c);
    sweep_arm(cs);
    listener_update(cs);
}

void ingest_conns_request(struct hl_ingest *ing, struct evhttp_request *req) {
    struct ingest_conns *cs = &ing->conns;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev;
    struct ingest_conn *c;
    int fd;

    if (evcon == NULL || cs->by_fd == NULL)
        return;
    bev = evhttp_connection_get_bufferevent(evcon);
    fd = bev != NULL ? bufferevent_getfd(bev) : -1;
    if (fd < 0 || (size_t)fd >= cs->by_fd_len)
        return;
    c = cs->by_fd[fd];
    if (c == NULL || c->evcon != evcon)
        return;
    idle_remove(cs, c);
    evhttp_request_set_on_complete_cb(req, conn_done_cb, c);
    listener_update(cs);
}

long long ingest_conns_open(const struct hl_ingest *ing) {
    return ing->conns.count;
}

int ingest_conns_init(struct hl_ingest *ing, long long max_conns,
                      size_t fd_limit, char err[HL_ERR_LEN]) {
    struct ingest_conns *cs = &ing->conns;

    TAILQ_INIT(&cs->idle);
    cs->max = max_conns;
    cs->timeout_ms = ing->cfg->request_timeout_ms;
    cs->by_fd = calloc(fd_limit, sizeof(*cs->by_fd));
    cs->by_fd_len = fd_limit;
    cs->setup_ev = event_new(ing->base, -1, 0, conn_setup_cb, ing);
    cs->sweep_ev = evtimer_new(ing->base, conn_sweep_cb, ing);
    cs->resume_ev = evtimer_new(ing->base, accept_resume_cb, ing);
    if (cs->by_fd == NULL || cs->setup_ev == NULL || cs->sweep_ev == NULL ||
        cs->resume_ev == NULL) {
        snprintf(err, HL_ERR_LEN, "connection table: out of memory");
        return HL_ENOMEM;
    }
    evhttp_set_bevcb(ing->http, conn_new_cb, ing);
    return HL_OK;
}

void ingest_conns_listen(struct hl_ingest *ing, struct evconnlistener *lev) {
    ing->conns.lev = lev;
    ing->conns.paused = 0;
    if (lev != NULL)
        evconnlistener_set_error_cb(lev, accept_error_cb);
}

void ingest_conns_stop_accepting(struct hl_ingest *ing) {
    ing->conns.lev = NULL;
}

void ingest_conns_flush(struct hl_ingest *ing) {
    struct ingest_conns *cs = &ing->conns;

    cs->lev = NULL;
    if (cs->setup_ev != NULL && cs->fresh != NULL)
        conn_setup_cb(-1, 0, ing);
}

void ingest_conns_cleanup(struct hl_ingest *ing) {
    struct ingest_conns *cs = &ing->conns;
    struct ingest_conn *c;

    /* evhttp_free() has closed every connection (conn_closed_cb); only
     * records evhttp never reported are left */
    while ((c = TAILQ_FIRST(&cs->idle)) != NULL) {
        idle_remove(cs, c);
        free(c);
    }
    if (cs->setup_ev != NULL)
        event_free(cs->setup_ev);
    if (cs->sweep_ev != NULL)
        event_free(cs->sweep_ev);
    if (cs->resume_ev != NULL)
        event_free(cs->resume_ev);
    free(cs->by_fd);
    memset(cs, 0, sizeof(*cs));
}
