/* test_sentinel_watch.c - common/hl_sentinel.c against real sentinels
 * (tests/lib/sentinel_fixture.h: a primary, its replica, 3 sentinels):
 * the watcher's first callback names the primary, once; a first sentinel
 * that is dead (nobody listens) or hung (accepts, never answers) is
 * skipped, the hung one after HL_SENTINEL_TIMEOUT_MS; a SIGKILLed primary
 * is replaced by the replica and the callback names the replica's port
 * within a bounded time (printed); the old primary restarted (it claims
 * to be a master until the sentinels demote it) does not move the
 * watcher; a sentinel with a password is asked with AUTH (and refuses
 * a watcher without it or with a wrong one); freeing watchers with
 * connections open calls nothing back
 * and, under ASan, leaks nothing. Every wait is bounded; the whole test
 * takes about 15 s. */
#include "../lib/hl_test.h"
#include "../lib/sentinel_fixture.h"
#include "hl.h"
#include "hl_log.h"
#include "hl_sentinel.h"
#include "hl_time.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/event.h>

#define FIRST_MS 3000          /* first answer from a live sentinel */
#define FAILOVER_MS 20000      /* SIGKILL to the watcher's callback */
#define QUIET_MS 1500          /* a stretch with no callback expected */
#define CALLS_MAX 16

/* What one watcher has called back. */
struct watch {
    int calls;
    int ports[CALLS_MAX];       /* port of each call, in order */
    char host[HL_SLOT_HOST_MAX];/* host of the last call */
    long long last_ms;          /* monotonic time of the last call */
    int dup;                    /* calls that repeated the previous port */
};

static void watch_cb(struct hl_sentinel *s, const char *host, int port,
                     void *arg) {
    struct watch *w = arg;

    (void)s;
    if (w->calls > 0 && w->ports[(w->calls - 1) % CALLS_MAX] == port)
        w->dup++;
    w->ports[w->calls % CALLS_MAX] = port;
    w->calls++;
    snprintf(w->host, sizeof(w->host), "%s", host);
    w->last_ms = hl_time_mono_ms();
}

/* Runs the loop until `w` has `calls` calls or `ms` passed (10 ms
 * slices). Returns 1 when it got there. */
static int pump_calls(struct event_base *base, const struct watch *w,
                      int calls, long long ms) {
    long long end = hl_time_mono_ms() + ms;
    struct timeval tv = { 0, 10000 };

    while (w->calls < calls && hl_time_mono_ms() < end) {
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    return w->calls >= calls;
}

/* Runs the loop for `ms`. */
static void pump(struct event_base *base, long long ms) {
    static const struct watch never = { .calls = 0 };

    pump_calls(base, &never, 1, ms);
}

static struct hl_sentinel *watcher(struct event_base *base,
                                   const char *seeds, struct watch *w) {
    char err[HL_ERR_LEN];
    struct hl_sentinel *s;

    memset(w, 0, sizeof(*w));
    s = hl_sentinel_new(base, seeds, HT_SENTINEL_MASTER, watch_cb, w, err);
    if (s == NULL) {
        HT_FAIL("hl_sentinel_new(%s): %s", seeds, err);
        return NULL;
    }
    if (!HT_ASSERT_EQ_INT(hl_sentinel_start(s), HL_OK)) {
        hl_sentinel_free(s);
        return NULL;
    }
    return s;
}

/* A loopback socket that listens and never accepts: connects succeed
 * (the kernel's backlog), nothing is ever answered. Returns the fd with
 * *port set, or -1. */
static int hung_listener(int *port) {
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(fd, 8) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &salen) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

/* ---- checks -------------------------------------------------------------- */

static void check_first(struct event_base *base, struct ht_sentinel *f,
                        struct hl_sentinel **out, struct watch *w) {
    long long t0 = hl_time_mono_ms();

    HT_CHECK_BEGIN("the first callback names the primary's port, and no "
                   "second one follows while nothing changes");
    *out = watcher(base, f->seeds, w);
    if (*out == NULL)
        goto done;
    HT_ASSERT_EQ_INT(hl_sentinel_known(*out), 0);
    if (!HT_ASSERT_TRUE(pump_calls(base, w, 1, ht_budget_ms(FIRST_MS))))
        goto done;
    ht_note("first answer after %lld ms", w->last_ms - t0);
    HT_ASSERT_EQ_STR(w->host, "127.0.0.1");
    HT_ASSERT_EQ_INT(w->ports[0], f->data[0].port);
    HT_ASSERT_EQ_INT(hl_sentinel_known(*out), 1);
    /* a few polls and a recheck answer the same address: no callback */
    hl_sentinel_recheck(*out);
    pump(base, QUIET_MS);
    HT_ASSERT_EQ_INT(w->calls, 1);
done:
    HT_CHECK_END();
}

static void check_dead_first(struct event_base *base,
                             const struct ht_sentinel *f) {
    char err[HL_ERR_LEN], seeds[256];
    struct hl_sentinel *s = NULL;
    struct watch w;
    long long t0;
    int dead = 0;

    HT_CHECK_BEGIN("a first sentinel nobody listens on is skipped: the "
                   "primary is found through the next one");
    if (!HT_ASSERT_EQ_INT(ht_free_port(&dead, err), HL_OK))
        goto done;
    snprintf(seeds, sizeof(seeds), "127.0.0.1:%d,%s", dead, f->seeds);
    t0 = hl_time_mono_ms();
    s = watcher(base, seeds, &w);
    if (s == NULL)
        goto done;
    if (HT_ASSERT_TRUE(pump_calls(base, &w, 1, ht_budget_ms(FIRST_MS)))) {
        ht_note("found after %lld ms", w.last_ms - t0);
        HT_ASSERT_EQ_INT(w.ports[0], f->data[f->primary].port);
    }
done:
    hl_sentinel_free(s);
    HT_CHECK_END();
}

static void check_hung_first(struct event_base *base,
                             const struct ht_sentinel *f) {
    char seeds[256];
    struct hl_sentinel *s = NULL;
    struct watch w;
    long long t0;
    int port = 0;
    int fd;

    HT_CHECK_BEGIN("a first sentinel that accepts and never answers is "
                   "dropped after HL_SENTINEL_TIMEOUT_MS, then the next "
                   "one names the primary");
    fd = hung_listener(&port);
    if (!HT_ASSERT_TRUE(fd >= 0))
        goto done;
    snprintf(seeds, sizeof(seeds), "127.0.0.1:%d,%s", port, f->seeds);
    t0 = hl_time_mono_ms();
    s = watcher(base, seeds, &w);
    if (s == NULL)
        goto done;
    if (HT_ASSERT_TRUE(pump_calls(base, &w, 1,
                                  ht_budget_ms(HL_SENTINEL_TIMEOUT_MS +
                                               FIRST_MS)))) {
        ht_note("found after %lld ms", w.last_ms - t0);
        HT_ASSERT_EQ_INT(w.ports[0], f->data[f->primary].port);
        HT_ASSERT_GE_INT(w.last_ms - t0, HL_SENTINEL_TIMEOUT_MS - 50);
    }
done:
    hl_sentinel_free(s);
    if (fd >= 0)
        close(fd);
    HT_CHECK_END();
}

static void check_failover(struct event_base *base, struct ht_sentinel *f,
                           struct watch *w) {
    char err[HL_ERR_LEN];
    int replica = f->data[1 - f->primary].port;
    long long t0;
    int port = -1;

    HT_CHECK_BEGIN("SIGKILL of the primary: the callback names the "
                   "replica's port within the bound, once, and the "
                   "sentinels agree");
    if (!HT_ASSERT_EQ_INT(w->calls, 1) ||
        !HT_ASSERT_EQ_INT(ht_sentinel_kill_primary(f), HL_OK))
        goto done;
    t0 = hl_time_mono_ms();
    if (!HT_ASSERT_TRUE(pump_calls(base, w, 2,
                                   ht_budget_ms(FAILOVER_MS))))
        goto done;
    printf("  # failover seen by the watcher %.2f s after the SIGKILL\n",
           (double)(w->last_ms - t0) / 1000.0);
    HT_ASSERT_EQ_INT(w->ports[1], replica);
    HT_ASSERT_EQ_STR(w->host, "127.0.0.1");
    if (HT_ASSERT_EQ_INT(ht_sentinel_wait_failover(f, 5000, &port, err),
                         HL_OK))
        HT_ASSERT_EQ_INT(port, replica);
    else
        ht_note("%s", err);
    pump(base, QUIET_MS);
    HT_ASSERT_EQ_INT(w->calls, 2);
    HT_ASSERT_EQ_INT(w->dup, 0);
done:
    HT_CHECK_END();
}

static void check_old_back(struct event_base *base, struct ht_sentinel *f,
                           struct watch *w) {
    char err[HL_ERR_LEN];
    int old = 1 - f->primary;
    int calls = w->calls;

    HT_CHECK_BEGIN("the old primary restarted (a master again until the "
                   "sentinels demote it) does not move the watcher");
    if (!HT_ASSERT_EQ_INT(ht_sentinel_restart(f, old, err), HL_OK)) {
        ht_note("%s", err);
        goto done;
    }
    pump(base, 2 * QUIET_MS);
    HT_ASSERT_EQ_INT(w->calls, calls);
    HT_ASSERT_EQ_INT(w->ports[(w->calls - 1) % CALLS_MAX],
                     f->data[f->primary].port);
done:
    HT_CHECK_END();
}

static void check_free(struct event_base *base, const struct ht_sentinel *f,
                       struct hl_sentinel *s, struct watch *w) {
    struct hl_sentinel *fresh;
    struct watch w2;
    int calls = w->calls;

    HT_CHECK_BEGIN("freeing watchers (one with both connections open and "
                   "a recheck due, one still connecting) calls nothing "
                   "back, then or later");
    if (s != NULL) {
        hl_sentinel_recheck(s);
        hl_sentinel_free(s);
    }
    fresh = watcher(base, f->seeds, &w2);
    hl_sentinel_free(fresh);
    pump(base, 300);
    HT_ASSERT_EQ_INT(w->calls, calls);
    HT_ASSERT_EQ_INT(w2.calls, 0);
    HT_CHECK_END();
}

static void check_auth(struct event_base *base, struct ht_sentinel *f) {
    static const char pw[] = "sentinel-pass-5e1f";
    struct hl_secret good = { (unsigned char *)pw, sizeof(pw) - 1 };
    struct hl_secret bad = { (unsigned char *)"wrong", 5 };
    struct hl_sentinel *with = NULL, *without = NULL, *wrong = NULL;
    struct watch ww, wn, wb;
    char seeds[64], err[HL_ERR_LEN];
    const char *cur = NULL;     /* the sentinel's password now */
    int set = 0;

    HT_CHECK_BEGIN("a sentinel with a password: found and subscribed to "
                   "with hl_sentinel_set_password(), never without it or "
                   "with a wrong one, until the sentinel's password "
                   "becomes that one");
    if (!HT_ASSERT_EQ_INT(ht_sentinel_password(f, 0, NULL, pw), HL_OK))
        goto done;
    set = 1;
    cur = pw;
    snprintf(seeds, sizeof(seeds), "127.0.0.1:%d", f->sent[0].port);
    memset(&ww, 0, sizeof(ww));
    memset(&wn, 0, sizeof(wn));
    memset(&wb, 0, sizeof(wb));
    with = hl_sentinel_new(base, seeds, HT_SENTINEL_MASTER, watch_cb, &ww,
                           err);
    without = hl_sentinel_new(base, seeds, HT_SENTINEL_MASTER, watch_cb,
                              &wn, err);
    wrong = hl_sentinel_new(base, seeds, HT_SENTINEL_MASTER, watch_cb, &wb,
                            err);
    if (!HT_ASSERT_TRUE(with != NULL && without != NULL && wrong != NULL)) {
        ht_note("%s", err);
        goto done;
    }
    HT_ASSERT_EQ_INT(hl_sentinel_set_password(with, &good), HL_OK);
    HT_ASSERT_EQ_INT(hl_sentinel_set_password(wrong, &bad), HL_OK);
    hl_sentinel_start(with);
    hl_sentinel_start(without);
    hl_sentinel_start(wrong);
    if (HT_ASSERT_TRUE(pump_calls(base, &ww, 1, ht_budget_ms(FIRST_MS))))
        HT_ASSERT_EQ_INT(ww.ports[0], f->data[f->primary].port);
    /* a few polls more: the others keep being refused; the subscription
     * (AUTH, then SUBSCRIBE) is up by then */
    pump(base, QUIET_MS);
    HT_ASSERT_EQ_INT(hl_sentinel_subscribed(with), 1);
    HT_ASSERT_EQ_INT(hl_sentinel_subscribed(without), 0);
    HT_ASSERT_EQ_INT(wn.calls, 0);
    HT_ASSERT_EQ_INT(wb.calls, 0);
    HT_ASSERT_EQ_INT(hl_sentinel_known(without), 0);
    HT_ASSERT_EQ_INT(hl_sentinel_known(wrong), 0);
    /* the sentinel's password changed to the one `wrong` sends: its next
     * poll opens a new connection, so AUTH goes again and is accepted */
    if (!HT_ASSERT_EQ_INT(ht_sentinel_password(f, 0, pw, "wrong"), HL_OK))
        goto done;
    cur = "wrong";
    if (HT_ASSERT_TRUE(pump_calls(base, &wb, 1, ht_budget_ms(FIRST_MS))))
        HT_ASSERT_EQ_INT(wb.ports[0], f->data[f->primary].port);
done:
    hl_sentinel_free(with);
    hl_sentinel_free(without);
    hl_sentinel_free(wrong);
    if (set)
        HT_ASSERT_EQ_INT(ht_sentinel_password(f, 0, cur, NULL), HL_OK);
    HT_CHECK_END();
}

int main(void) {
    char err[HL_ERR_LEN];
    struct ht_sentinel f;
    struct event_base *base = NULL;
    struct hl_sentinel *s = NULL;
    struct watch w;
    int rc;

    ht_init();
    hl_log_init("test_sentinel_watch", HL_LOG_INFO);
    memset(&w, 0, sizeof(w));
    HT_CHECK_BEGIN("fixture: a primary, its replica and 3 sentinels that "
                   "agree on it");
    rc = ht_sentinel_start(&f, err);
    if (!HT_ASSERT_EQ_INT(rc, HL_OK))
        ht_note("%s", err);
    HT_CHECK_END();
    base = event_base_new();
    if (rc == HL_OK && HT_ASSERT_TRUE(base != NULL)) {
        check_first(base, &f, &s, &w);
        check_dead_first(base, &f);
        check_hung_first(base, &f);
        check_failover(base, &f, &w);
        check_old_back(base, &f, &w);
        check_auth(base, &f);
        check_free(base, &f, s, &w);
    }
    if (base != NULL)
        event_base_free(base);
    ht_sentinel_cleanup(&f);
    return ht_summary();
}
