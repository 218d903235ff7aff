/* test_sentinel_fake.c - common/hl_sentinel.c against scripted fake
 * sentinels, for what real ones will not do on request: a nil answer and
 * an error answer (the next sentinel is asked), a +switch-master message
 * (the callback fires from the message itself, before any question is
 * asked), a message about another master (ignored), a message the
 * sentinel then contradicts (its answer wins), a subscription the
 * sentinel closes (polling goes on and it subscribes again), and a
 * subscribed sentinel that hangs (the subscription moves to the
 * sentinel that answers).
 *
 * A fake is a libevent listener on a free loopback port, on the test's
 * own event base: each SENTINEL get-master-addr-by-name gets the scripted
 * answer (an address, nil or an error) and is counted; a SUBSCRIBE gets
 * the confirmation and makes that connection the one messages are
 * pushed to. It reads whole commands as hiredis writes them (one write
 * each on loopback); it is not a RESP parser. No Redis is started. */
#include "../lib/hl_test.h"
#include "hl.h"
#include "hl_log.h"
#include "hl_sentinel.h"
#include "hl_time.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define MASTER "fakemaster"
#define CONNS_MAX 16
#define WAIT_MS 3000            /* an expected callback, at most */

enum fake_mode {
    FK_ADDR,    /* answers the address */
    FK_NIL,     /* answers nil */
    FK_ERR,     /* answers an error */
    FK_HANG     /* counts the question, never answers */
};

/* One fake sentinel. */
struct fake {
    struct evconnlistener *lis;
    int port;
    enum fake_mode mode;
    int answer;                     /* port named in FK_ADDR answers */
    long queries;                   /* get-master-addr-by-name seen */
    long subscribes;                /* SUBSCRIBE seen */
    struct bufferevent *sub;        /* the subscribed connection */
    struct bufferevent *conn[CONNS_MAX];  /* open connections */
};

/* What the watcher has called back. */
struct watch {
    int calls;
    int port;                       /* last port */
    long queries_at_call;           /* probe's count at the last call */
    const long *probe;              /* a fake's query counter, or NULL */
};

static void watch_cb(struct hl_sentinel *s, const char *host, int port,
                     void *arg) {
    struct watch *w = arg;

    (void)s;
    (void)host;
    w->calls++;
    w->port = port;
    w->queries_at_call = w->probe ? *w->probe : -1;
}

/* ---- the fake ------------------------------------------------------------ */

static void fake_forget(struct fake *fk, struct bufferevent *bev) {
    int i;

    for (i = 0; i < CONNS_MAX; i++) {
        if (fk->conn[i] == bev)
            fk->conn[i] = NULL;
    }
    if (fk->sub == bev)
        fk->sub = NULL;
    bufferevent_free(bev);
}

static void fake_answer(struct fake *fk, struct evbuffer *out) {
    char port[16];

    fk->queries++;
    if (fk->mode == FK_HANG)
        return;
    if (fk->mode == FK_NIL) {
        evbuffer_add_printf(out, "*-1\r\n");
        return;
    }
    if (fk->mode == FK_ERR) {
        evbuffer_add_printf(out, "-ERR scripted failure\r\n");
        return;
    }
    snprintf(port, sizeof(port), "%d", fk->answer);
    evbuffer_add_printf(out, "*2\r\n$9\r\n127.0.0.1\r\n$%zu\r\n%s\r\n",
                        strlen(port), port);
}

static void fake_read_cb(struct bufferevent *bev, void *arg) {
    struct fake *fk = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer *out = bufferevent_get_output(bev);
    size_t len = evbuffer_get_length(in);
    char buf[1024];

    if (len >= sizeof(buf))
        len = sizeof(buf) - 1;
    evbuffer_remove(in, buf, len);
    buf[len] = '\0';
    if (strstr(buf, "get-master-addr-by-name") != NULL)
        fake_answer(fk, out);
    if (strstr(buf, "SUBSCRIBE") != NULL) {
        fk->subscribes++;
        fk->sub = bev;
        evbuffer_add_printf(out, "*3\r\n$9\r\nsubscribe\r\n"
                            "$14\r\n+switch-master\r\n:1\r\n");
    }
}

static void fake_event_cb(struct bufferevent *bev, short what, void *arg) {
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        fake_forget(arg, bev);
}

static void fake_accept_cb(struct evconnlistener *lis, evutil_socket_t fd,
                           struct sockaddr *sa, int salen, void *arg) {
    struct fake *fk = arg;
    struct bufferevent *bev;
    int i;

    (void)sa;
    (void)salen;
    bev = bufferevent_socket_new(evconnlistener_get_base(lis), fd,
                                 BEV_OPT_CLOSE_ON_FREE);
    for (i = 0; bev != NULL && i < CONNS_MAX; i++) {
        if (fk->conn[i] == NULL) {
            fk->conn[i] = bev;
            bufferevent_setcb(bev, fake_read_cb, NULL, fake_event_cb, fk);
            bufferevent_enable(bev, EV_READ | EV_WRITE);
            return;
        }
    }
    if (bev != NULL)
        bufferevent_free(bev);
    else
        evutil_closesocket(fd);
}

/* Listens on a free loopback port. HL_OK or HL_EIO. */
static int fake_start(struct fake *fk, struct event_base *base,
                      enum fake_mode mode, int answer) {
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);

    memset(fk, 0, sizeof(*fk));
    fk->mode = mode;
    fk->answer = answer;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fk->lis = evconnlistener_new_bind(base, fake_accept_cb, fk,
                                      LEV_OPT_CLOSE_ON_FREE |
                                      LEV_OPT_REUSEABLE, 16,
                                      (struct sockaddr *)&sa, sizeof(sa));
    if (fk->lis == NULL)
        return HL_EIO;
    if (getsockname(evconnlistener_get_fd(fk->lis), (struct sockaddr *)&sa,
                    &salen) != 0)
        return HL_EIO;
    fk->port = ntohs(sa.sin_port);
    return HL_OK;
}

/* Pushes a +switch-master message to the subscribed connection. */
static int fake_push(struct fake *fk, const char *msg) {
    if (fk->sub == NULL)
        return HL_ESTATE;
    evbuffer_add_printf(bufferevent_get_output(fk->sub),
                        "*3\r\n$7\r\nmessage\r\n$14\r\n+switch-master\r\n"
                        "$%zu\r\n%s\r\n", strlen(msg), msg);
    return HL_OK;
}

static void fake_stop(struct fake *fk) {
    int i;

    for (i = 0; i < CONNS_MAX; i++) {
        if (fk->conn[i] != NULL)
            fake_forget(fk, fk->conn[i]);
    }
    if (fk->lis != NULL)
        evconnlistener_free(fk->lis);
    fk->lis = NULL;
}

/* ---- loop helpers -------------------------------------------------------- */

/* Runs the loop (5 ms slices) until *counter >= want or `ms` passed.
 * Returns 1 when it got there. */
static int pump_until(struct event_base *base, const long *counter,
                      long want, long long ms) {
    long long end = hl_time_mono_ms() + ms;
    struct timeval tv = { 0, 5000 };

    while ((counter == NULL || *counter < want) &&
           hl_time_mono_ms() < end) {
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    return counter != NULL && *counter >= want;
}

static int pump_calls(struct event_base *base, struct watch *w, int want,
                      long long ms) {
    long long end = hl_time_mono_ms() + ms;
    struct timeval tv = { 0, 5000 };

    while (w->calls < want && hl_time_mono_ms() < end) {
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    return w->calls >= want;
}

static struct hl_sentinel *watcher(struct event_base *base,
                                   const char *seeds, struct watch *w) {
    char err[HL_ERR_LEN];
    struct hl_sentinel *s;

    s = hl_sentinel_new(base, seeds, MASTER, watch_cb, w, err);
    if (s == NULL) {
        HT_FAIL("hl_sentinel_new(%s): %s", seeds, err);
        return NULL;
    }
    if (hl_sentinel_start(s) != HL_OK) {
        hl_sentinel_free(s);
        HT_FAIL("hl_sentinel_start");
        return NULL;
    }
    return s;
}

/* ---- checks -------------------------------------------------------------- */

static void check_skip(struct event_base *base, enum fake_mode mode,
                       const char *name) {
    struct fake bad, good;
    struct hl_sentinel *s = NULL;
    struct watch w = { 0, 0, 0, NULL };
    char seeds[128];

    HT_CHECK_BEGIN(name);
    if (!HT_ASSERT_EQ_INT(fake_start(&bad, base, mode, 0), HL_OK) ||
        !HT_ASSERT_EQ_INT(fake_start(&good, base, FK_ADDR, 7001), HL_OK))
        goto done;
    snprintf(seeds, sizeof(seeds), "127.0.0.1:%d,127.0.0.1:%d", bad.port,
             good.port);
    s = watcher(base, seeds, &w);
    if (s != NULL && HT_ASSERT_TRUE(pump_calls(base, &w, 1, WAIT_MS))) {
        HT_ASSERT_EQ_INT(w.port, 7001);
        HT_ASSERT_EQ_INT(bad.queries, 1);
        HT_ASSERT_EQ_INT(good.queries, 1);
        /* the subscription goes to the sentinel that answered */
        HT_ASSERT_TRUE(pump_until(base, &good.subscribes, 1, WAIT_MS));
        HT_ASSERT_EQ_INT(bad.subscribes, 0);
    }
done:
    hl_sentinel_free(s);
    fake_stop(&bad);
    fake_stop(&good);
    HT_CHECK_END();
}

/* A watcher on one fake answering 7001, subscribed. */
static struct hl_sentinel *subscribed(struct event_base *base,
                                      struct fake *fk, struct watch *w) {
    char seeds[64];
    struct hl_sentinel *s;

    if (!HT_ASSERT_EQ_INT(fake_start(fk, base, FK_ADDR, 7001), HL_OK))
        return NULL;
    snprintf(seeds, sizeof(seeds), "127.0.0.1:%d", fk->port);
    memset(w, 0, sizeof(*w));
    w->probe = &fk->queries;
    s = watcher(base, seeds, w);
    if (s == NULL)
        return NULL;
    if (!HT_ASSERT_TRUE(pump_calls(base, w, 1, WAIT_MS)) ||
        !HT_ASSERT_TRUE(pump_until(base, &fk->subscribes, 1, WAIT_MS)) ||
        !HT_ASSERT_EQ_INT(w->port, 7001)) {
        hl_sentinel_free(s);
        return NULL;
    }
    pump_until(base, NULL, 0, 50);  /* the confirmation is read */
    return s;
}

static void check_push(struct event_base *base) {
    struct fake fk;
    struct watch w;
    struct hl_sentinel *s;
    long before;
    long long t0;

    HT_CHECK_BEGIN("+switch-master for our master: the callback names the "
                   "new port from the message, before any question, and "
                   "the answer that confirms it calls nothing more");
    s = subscribed(base, &fk, &w);
    if (s == NULL)
        goto done;
    fk.answer = 7002;
    before = fk.queries;
    t0 = hl_time_mono_ms();
    if (!HT_ASSERT_EQ_INT(fake_push(&fk, MASTER " 127.0.0.1 7001 "
                                    "127.0.0.1 7002"), HL_OK) ||
        !HT_ASSERT_TRUE(pump_calls(base, &w, 2, WAIT_MS)))
        goto done;
    ht_note("called back %lld ms after the push", hl_time_mono_ms() - t0);
    HT_ASSERT_EQ_INT(w.port, 7002);
    HT_ASSERT_EQ_INT(w.queries_at_call, before);
    /* the verifying question goes out at once and agrees */
    HT_ASSERT_TRUE(pump_until(base, &fk.queries, before + 1, 500));
    pump_until(base, NULL, 0, 200);
    HT_ASSERT_EQ_INT(w.calls, 2);
done:
    hl_sentinel_free(s);
    fake_stop(&fk);
    HT_CHECK_END();
}

static void check_other_master(struct event_base *base) {
    struct fake fk;
    struct watch w;
    struct hl_sentinel *s;

    HT_CHECK_BEGIN("+switch-master about another master, or one that does "
                   "not parse, is ignored");
    s = subscribed(base, &fk, &w);
    if (s == NULL)
        goto done;
    HT_ASSERT_EQ_INT(fake_push(&fk, "othermaster 127.0.0.1 7001 "
                               "127.0.0.1 7009"), HL_OK);
    HT_ASSERT_EQ_INT(fake_push(&fk, MASTER " 127.0.0.1 7001 127.0.0.1"),
                     HL_OK);
    pump_until(base, NULL, 0, 300);
    HT_ASSERT_EQ_INT(w.calls, 1);
    HT_ASSERT_EQ_INT(w.port, 7001);
done:
    hl_sentinel_free(s);
    fake_stop(&fk);
    HT_CHECK_END();
}

static void check_contradicted(struct event_base *base) {
    struct fake fk;
    struct watch w;
    struct hl_sentinel *s;

    HT_CHECK_BEGIN("a message the sentinel then contradicts: the callback "
                   "names the message's port, then the answer's again");
    s = subscribed(base, &fk, &w);
    if (s == NULL)
        goto done;
    HT_ASSERT_EQ_INT(fake_push(&fk, MASTER " 127.0.0.1 7001 "
                               "127.0.0.1 7003"), HL_OK);
    if (HT_ASSERT_TRUE(pump_calls(base, &w, 3, WAIT_MS)))
        HT_ASSERT_EQ_INT(w.port, 7001);
    pump_until(base, NULL, 0, 200);
    HT_ASSERT_EQ_INT(w.calls, 3);
done:
    hl_sentinel_free(s);
    fake_stop(&fk);
    HT_CHECK_END();
}

static void check_resubscribe(struct event_base *base) {
    struct fake fk;
    struct watch w;
    struct hl_sentinel *s;
    long queries;

    HT_CHECK_BEGIN("a subscription the sentinel closes: questions go on, "
                   "a new subscription follows within a poll or two, and "
                   "it carries messages");
    s = subscribed(base, &fk, &w);
    if (s == NULL || !HT_ASSERT_TRUE(fk.sub != NULL))
        goto done;
    fake_forget(&fk, fk.sub);
    queries = fk.queries;
    HT_ASSERT_TRUE(pump_until(base, &fk.subscribes, 2,
                              3 * HL_SENTINEL_POLL_MS + 500));
    HT_ASSERT_GT_INT(fk.queries, queries);
    pump_until(base, NULL, 0, 50);
    fk.answer = 7004;
    if (HT_ASSERT_EQ_INT(fake_push(&fk, MASTER " 127.0.0.1 7001 "
                                   "127.0.0.1 7004"), HL_OK) &&
        HT_ASSERT_TRUE(pump_calls(base, &w, 2, WAIT_MS)))
        HT_ASSERT_EQ_INT(w.port, 7004);
done:
    hl_sentinel_free(s);
    fake_stop(&fk);
    HT_CHECK_END();
}

static void check_none_answer(struct event_base *base) {
    struct fake a, b;
    struct hl_sentinel *s = NULL;
    struct watch w = { 0, 0, 0, NULL };
    char seeds[128];

    HT_CHECK_BEGIN("no sentinel knows the master: nothing is called back, "
                   "known stays 0, each is asked again every poll; the "
                   "first answer then calls back");
    if (!HT_ASSERT_EQ_INT(fake_start(&a, base, FK_NIL, 0), HL_OK) ||
        !HT_ASSERT_EQ_INT(fake_start(&b, base, FK_ERR, 0), HL_OK))
        goto done;
    snprintf(seeds, sizeof(seeds), "127.0.0.1:%d,127.0.0.1:%d", a.port,
             b.port);
    s = watcher(base, seeds, &w);
    if (s == NULL)
        goto done;
    HT_ASSERT_TRUE(pump_until(base, &a.queries, 2,
                              2 * HL_SENTINEL_POLL_MS + 500));
    HT_ASSERT_GE_INT(b.queries, 1);
    HT_ASSERT_EQ_INT(w.calls, 0);
    HT_ASSERT_EQ_INT(hl_sentinel_known(s), 0);
    b.mode = FK_ADDR;
    b.answer = 7005;
    if (HT_ASSERT_TRUE(pump_calls(base, &w, 1, 2 * HL_SENTINEL_POLL_MS +
                                               500)))
        HT_ASSERT_EQ_INT(w.port, 7005);
    HT_ASSERT_EQ_INT(hl_sentinel_known(s), 1);
done:
    hl_sentinel_free(s);
    fake_stop(&a);
    fake_stop(&b);
    HT_CHECK_END();
}

static void check_hung_subscribed(struct event_base *base) {
    struct fake a, b;
    struct hl_sentinel *s = NULL;
    struct watch w = { 0, 0, 0, NULL };
    char seeds[128];

    HT_CHECK_BEGIN("the subscribed sentinel hangs: its question times out, "
                   "the next one answers (same port: no callback) and the "
                   "subscription moves there and carries messages");
    if (!HT_ASSERT_EQ_INT(fake_start(&a, base, FK_ADDR, 7001), HL_OK) ||
        !HT_ASSERT_EQ_INT(fake_start(&b, base, FK_ADDR, 7001), HL_OK))
        goto done;
    snprintf(seeds, sizeof(seeds), "127.0.0.1:%d,127.0.0.1:%d", a.port,
             b.port);
    s = watcher(base, seeds, &w);
    if (s == NULL || !HT_ASSERT_TRUE(pump_calls(base, &w, 1, WAIT_MS)) ||
        !HT_ASSERT_TRUE(pump_until(base, &a.subscribes, 1, WAIT_MS)))
        goto done;
    a.mode = FK_HANG;
    HT_ASSERT_TRUE(pump_until(base, &b.subscribes, 1,
                              HL_SENTINEL_POLL_MS +
                              HL_SENTINEL_TIMEOUT_MS + 1000));
    HT_ASSERT_EQ_INT(w.calls, 1);
    pump_until(base, NULL, 0, 50);
    b.answer = 7006;
    if (HT_ASSERT_EQ_INT(fake_push(&b, MASTER " 127.0.0.1 7001 "
                                   "127.0.0.1 7006"), HL_OK) &&
        HT_ASSERT_TRUE(pump_calls(base, &w, 2, WAIT_MS)))
        HT_ASSERT_EQ_INT(w.port, 7006);
done:
    hl_sentinel_free(s);
    fake_stop(&a);
    fake_stop(&b);
    HT_CHECK_END();
}

int main(void) {
    struct event_base *base;

    ht_init();
    hl_log_init("test_sentinel_fake", HL_LOG_WARN);
    base = event_base_new();
    if (base == NULL)
        return 1;
    check_skip(base, FK_NIL, "a sentinel answering nil (master unknown) "
               "is passed over for the next one");
    check_skip(base, FK_ERR, "a sentinel answering an error is passed "
               "over for the next one");
    check_push(base);
    check_other_master(base);
    check_contradicted(base);
    check_resubscribe(base);
    check_none_answer(base);
    check_hung_subscribed(base);
    event_base_free(base);
    return ht_summary();
}
