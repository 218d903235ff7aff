/* run.c - the chaos run's controller (see chaos.h): brings the stack up,
 * starts the poster thread, and while it posts kills and restarts
 * workers, restarts Redis once (or fails a primary over, and reshards a
 * cluster: dist.c), reads the fake Graph's request log every
 * second, measures the G5 window at each kill and samples resident
 * memory; then waits (bounded) for the queues to drain, stops everything
 * with SIGTERM and hands the book to the checker.
 *
 * Every wait is bounded (the loop itself by the poster's own bounds plus
 * a margin; the waits on programs get 10x under valgrind, ht_budget_ms).
 * Only PIDs this run forked are signalled, through proc.c and
 * redis_fixture.c. Workers are started without waiting for their port
 * (they run no metrics port), so a restart never stalls the controller. */
#include "chaos_int.h"
#include "hl_keys.h"
#include "hl_test.h"
#include "httpc.h"
#include "proc.h"
#include "redis_fixture.h"
#include "stack.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#define PREFIX "chaos"
#define PARTS 16
#define SECRET "chaos-app-secret-4b1d0e77c2"
#define VERIFY "chaos-verify-9a3f"
#define TOKEN "chaos-page-token-71e0c5d8b3"
#define WEBHOOK "/webhook"
#define LOOP_MS 20                /* controller tick */
#define POLL_LOG_MS 1000          /* fake Graph request log read */
#define STATUS_MS 10000           /* progress line (verbose) */
#define KILL_MIN_AGE_MS 3000      /* a worker holds its share by then */
#define REDIS_QUIET_MS 4000       /* no kill this close to Redis's restart */
#define RESHARD_WAIT_MS 500       /* the primary's loss waits for a reshard
                                   * in progress this long at a time */
#define SETTLE_MS 100             /* after a kill: the fake Graph reads what
                                   * the dead worker had already sent */
#define FAILOVER_MARGIN_MS 2000  /* around a failover's span (check.c) */
#define WINDOW_HORIZON_MS 30000   /* accepted sends older than this had
                                   * their done keys long written */
#define READY_MS 15000            /* every partition leased at the start */
#define ID_MS 5000                /* a worker's "started" line */
#define STOP_MS 12000             /* SIGTERM to exit (workers drain 8 s) */
#define POSTER_MARGIN_MS 120000   /* the poster's own bounds, and more */
#define REQ_MS 10000              /* one control request */
#define LOG_TAIL 4000

struct wslot {
    struct ht_proc p;
    int alive;                    /* started and not killed or exited */
    long long started;            /* monotonic ms */
    long long restart_at;         /* monotonic ms; 0: none planned */
    char id[128];                 /* worker id, "" until read */
};

struct run {
    const struct chaos_opts *o;
    struct chaos_report *rep;
    struct ht_stack st;
    struct wslot w[CHAOS_WORKERS_MAX];
    struct chaos_book *book;
    struct chaos_poster ps;
    pthread_t thread;
    int thread_started;
    uint64_t rng;
    long long t0;                 /* monotonic ms at the load start */
    long long next_kill;          /* monotonic ms; 0: no more kills */
    long long redis_at;           /* monotonic ms; 0: none (left) */
    long long redis_done_at;
    int failover_measured;    /* failover_window() has run */
    long long reshard_at;         /* monotonic ms; 0: none (left) */
    long long last_poll, last_status, next_rss;
    struct chaos_dist dist;       /* the Redis and the client reading it */
};

/* ---- small helpers -------------------------------------------------------- */

static void say(struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void say(struct run *r, const char *fmt, ...) {
    va_list ap;

    if (!r->o->verbose)
        return;
    printf("  # [%6.1f s] ", r->t0 ? (ht_mono_ms() - r->t0) / 1000.0 : 0.0);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static uint64_t draw(struct run *r) {
    uint64_t x = r->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->rng = x;
    return x * 2685821657736338717ULL;
}

/* Uniform in [lo, hi]. */
static long long draw_in(struct run *r, long long lo, long long hi) {
    if (hi <= lo)
        return lo;
    return lo + (long long)(draw(r) % (uint64_t)(hi - lo + 1));
}

/* snprintf into one of a run's environment strings. */
static const char *envf(char *buf, size_t sz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static const char *envf(char *buf, size_t sz, const char *fmt, ...) {
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sz, fmt, ap);
    va_end(ap);
    return buf;
}

/* ---- the stack ------------------------------------------------------------ */

static int start_fakegraph(struct run *r, char err[HL_ERR_LEN]) {
    char seed[64], path[1024];
    const char *env[] = {
        "PORT=0", "HOOKLINE_LISTEN=127.0.0.1",
        "MESSENGER_PAGE_ACCESS_TOKEN=" TOKEN, seed, NULL
    };

    envf(seed, sizeof(seed), "FAKEGRAPH_SEED=%llu",
         (unsigned long long)(chaos_seed_mix(r->o->seed, 4) >> 1));
    if (ht_bin_path("hookline-fakegraph", path, sizeof(path)) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "HL_BIN too long");
        return HL_ETOOBIG;
    }
    return ht_proc_start_server(&r->st.fg, path, NULL, env, err);
}

/* fail_pct of all sends answer 500; delay_pct of all are answered after
 * delay_ms (the second rule draws only among the sends the first one
 * spared, so its percent is scaled up). */
static int set_faults(struct run *r, char err[HL_ERR_LEN]) {
    const struct chaos_opts *o = r->o;
    struct ht_http_resp resp;
    char body[256];
    int delay_pct = o->fail_pct < 100
                        ? (o->delay_pct * 100 + (100 - o->fail_pct) / 2) /
                              (100 - o->fail_pct)
                        : 0;
    int rc = HL_OK;

    if (delay_pct > 100)
        delay_pct = 100;
    snprintf(body, sizeof(body), "[{\"status\":500,\"percent\":%d},"
             "{\"delay_ms\":%ld,\"percent\":%d}]", o->fail_pct,
             o->delay_ms, delay_pct);
    ht_http_json(r->st.fg.port, "POST", "/_fake/faults", body, REQ_MS,
                 &resp);
    if (resp.status != 200) {
        snprintf(err, HL_ERR_LEN, "POST /_fake/faults: %ld %.100s",
                 resp.status, resp.body ? resp.body : resp.err);
        rc = HL_EIO;
    }
    ht_http_resp_cleanup(&resp);
    return rc;
}

static int start_ingest(struct run *r, char err[HL_ERR_LEN]) {
    char ttl[64], acks[64];
    const char *extra[] = { NULL, NULL, NULL };
    int n = 0;

    if (r->o->dedupe_ttl > 0)
        extra[n++] = envf(ttl, sizeof(ttl), "HOOKLINE_DEDUPE_TTL=%ld",
                          r->o->dedupe_ttl);
    if (r->o->ack_replicas > 0)
        extra[n++] = envf(acks, sizeof(acks), "HOOKLINE_ACK_REPLICAS=%ld",
                          r->o->ack_replicas);
    return ht_stack_start_ingest(&r->st, &r->st.ingest, PREFIX, VERIFY,
                                 SECRET, extra, err);
}

/* Starts worker `i` without waiting for anything (see the file comment). */
static int start_worker(struct run *r, int i, char err[HL_ERR_LEN]) {
    const struct chaos_opts *o = r->o;
    char url[512], graph[96], lease[64], tmo[64], att[64], reo[64];
    char ttl[64];
    char path[1024];
    const char *env[16];
    struct wslot *w = &r->w[i];
    int n = 0, rc;

    env[n++] = envf(url, sizeof(url), "REDIS_URL=%s",
                    r->st.redis_url != NULL ? r->st.redis_url
                                            : r->st.redis.url);
    env[n++] = envf(graph, sizeof(graph),
                    "GRAPH_API_BASE=http://127.0.0.1:%d", r->st.fg.port);
    env[n++] = "MESSENGER_APP_SECRET=" SECRET;
    env[n++] = "MESSENGER_PAGE_ACCESS_TOKEN=" TOKEN;
    env[n++] = "HOOKLINE_PREFIX=" PREFIX;
    env[n++] = envf(lease, sizeof(lease), "HOOKLINE_LEASE_MS=%ld",
                    o->lease_ms);
    env[n++] = envf(tmo, sizeof(tmo), "HOOKLINE_SEND_TIMEOUT_MS=%ld",
                    o->send_timeout_ms);
    env[n++] = envf(att, sizeof(att), "HOOKLINE_MAX_ATTEMPTS=%ld",
                    o->max_attempts);
    env[n++] = envf(reo, sizeof(reo), "HOOKLINE_REORDER_MS=%ld",
                    o->reorder_ms);
    if (o->dedupe_ttl > 0)
        env[n++] = envf(ttl, sizeof(ttl), "HOOKLINE_DEDUPE_TTL=%ld",
                        o->dedupe_ttl);
    env[n] = NULL;
    if (ht_bin_path("hookline-worker", path, sizeof(path)) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "HL_BIN too long");
        return HL_ETOOBIG;
    }
    ht_proc_cleanup(&w->p);
    memset(w, 0, sizeof(*w));
    w->p.pid = -1;
    rc = ht_proc_start(&w->p, path, NULL, env, err);
    if (rc != HL_OK)
        return rc;
    w->alive = 1;
    w->started = ht_mono_ms();
    /* a process started after the warm-up row has no series to judge */
    if (r->rep->rss_warm >= 0)
        r->rep->rss_restarted[2 + i] = 1;
    return HL_OK;
}

/* The worker id of slot `i`, read from its log once. */
static const char *worker_id(struct run *r, int i) {
    char err[HL_ERR_LEN];
    struct wslot *w = &r->w[i];

    if (w->id[0] == '\0' && w->alive &&
        ht_stack_worker_id(&w->p, ht_budget_ms(ID_MS), w->id, sizeof(w->id), err) != HL_OK)
        w->id[0] = '\0';
    return w->id;
}

/* Every lease (one GET each, pipelined per node: the leases live in
 * different slots): owner[p] is the slot holding it, -1 for none or a
 * stranger, -2 on a Redis error. Returns HL_OK or HL_EIO. */
static int read_leases(struct run *r, int owner[PARTS]) {
    char keys[PARTS][HL_KEY_MAX];
    const char *kp[PARTS];
    redisReply *rep[PARTS];
    int p, i;

    for (p = 0; p < PARTS; p++) {
        hl_keys_lease(PREFIX, p, keys[p]);
        kp[p] = keys[p];
        owner[p] = -2;
    }
    if (ht_kv_pipe(r->dist.kv, "GET", kp, PARTS, rep) != HL_OK)
        return HL_EIO;
    for (p = 0; p < PARTS; p++) {
        const redisReply *e = rep[p];
        owner[p] = -1;
        for (i = 0; e->type == REDIS_REPLY_STRING && i < r->o->workers; i++) {
            if (r->w[i].id[0] != '\0' && strcmp(r->w[i].id, e->str) == 0)
                owner[p] = i;
        }
        freeReplyObject(rep[p]);
    }
    return HL_OK;
}

/* Waits until every partition is leased by one of our live workers. */
static int wait_ready(struct run *r, char err[HL_ERR_LEN]) {
    long tries = ht_budget_ms(READY_MS) / 100, t;
    int owner[PARTS], p, i, ok = 0;

    for (i = 0; i < r->o->workers; i++) {
        if (worker_id(r, i)[0] == '\0') {
            snprintf(err, HL_ERR_LEN, "worker %d logged no id", i);
            return HL_EIO;
        }
    }
    for (t = 0; t < tries && !ok; t++) {
        read_leases(r, owner);
        ok = 1;
        for (p = 0; p < PARTS; p++)
            ok &= owner[p] >= 0;
        if (!ok)
            ht_sleep_ms(100);
    }
    if (!ok)
        snprintf(err, HL_ERR_LEN, "partitions not all leased within %d ms",
                 READY_MS);
    return ok ? HL_OK : HL_ETIMEDOUT;
}

/* ---- what the run watches ------------------------------------------------- */

static void poll_log(struct run *r) {
    char path[64];
    struct ht_http_resp resp;

    r->last_poll = ht_mono_ms();
    snprintf(path, sizeof(path), "/_fake/requests?since=%lld",
             r->book->last_seq);
    ht_http_get(r->st.fg.port, path, REQ_MS, &resp);
    if (resp.status != 200 || resp.body == NULL ||
        chaos_book_feed(r->book, resp.body, resp.body_len) != HL_OK)
        say(r, "request log read failed: %ld %s", resp.status, resp.err);
    ht_http_resp_cleanup(&resp);
}

/* Sum of every partition's queue and in-flight lengths; -1 on error. */
static long long backlog(struct run *r) {
    char keys[2 * PARTS][HL_KEY_MAX];
    const char *kp[2 * PARTS];
    redisReply *rep[2 * PARTS];
    long long sum = 0;
    long p;

    for (p = 0; p < PARTS; p++) {
        hl_keys_queue(PREFIX, p, keys[2 * p]);
        hl_keys_inflight(PREFIX, p, keys[2 * p + 1]);
        kp[2 * p] = keys[2 * p];
        kp[2 * p + 1] = keys[2 * p + 1];
    }
    if (ht_kv_pipe(r->dist.kv, "LLEN", kp, 2 * PARTS, rep) != HL_OK)
        return -1;
    for (p = 0; p < 2 * PARTS; p++) {
        if (rep[p]->type != REDIS_REPLY_INTEGER || sum < 0)
            sum = -1;
        else
            sum += rep[p]->integer;
        freeReplyObject(rep[p]);
    }
    return sum;
}

/* A program of ours that died without being told to is a violation; a
 * worker is started again so the run goes on. */
static void check_crashes(struct run *r) {
    char err[HL_ERR_LEN];
    int i;

    for (i = 0; i < r->o->workers; i++) {
        struct wslot *w = &r->w[i];
        if (!w->alive || ht_proc_alive(&w->p))
            continue;
        w->alive = 0;
        ht_proc_dump_log(&w->p, LOG_TAIL);
        chaos_violation(r->rep, "worker %d (%s) exited by itself with %d",
                        i, w->id, w->p.exit_code);
        if (start_worker(r, i, err) != HL_OK)
            say(r, "worker %d restart failed: %s", i, err);
    }
    if (r->st.ingest.pid > 0 && !ht_proc_alive(&r->st.ingest)) {
        ht_proc_dump_log(&r->st.ingest, LOG_TAIL);
        chaos_violation(r->rep, "ingest exited by itself with %d",
                        r->st.ingest.exit_code);
    }
}

/* ---- the chaos ------------------------------------------------------------ */

/* A victim: alive long enough to hold its share, not spared, and not the
 * last one alive. -1 when there is none now. */
static int pick_victim(struct run *r) {
    long long now = ht_mono_ms();
    int cand[CHAOS_WORKERS_MAX], n = 0, alive = 0, i;

    for (i = 0; i < r->o->workers; i++) {
        struct wslot *w = &r->w[i];
        alive += w->alive;
        if (!w->alive || now - w->started < KILL_MIN_AGE_MS ||
            (i == 0 && r->o->spare_worker0))
            continue;
        cand[n++] = i;
    }
    if (n == 0 || alive < 2)
        return -1;
    return cand[draw(r) % (uint64_t)n];
}

/* SIGKILLs worker `v` and measures its G5 window: the sends the fake
 * Graph accepted for events of its partitions whose done key is not
 * written. Its leases outlive it by at least lease - lease/3, far more
 * than the measurement takes; that no other worker took one meanwhile is
 * checked after (a takeover could write done keys of its own). */
static void kill_worker(struct run *r, int v) {
    struct wslot *w = &r->w[v];
    unsigned char parts[PARTS];
    int before[PARTS], after[PARTS], p, held = 0, raced = 0, code = -1;
    long long kill_wall, n = 0;

    if (worker_id(r, v)[0] == '\0' || read_leases(r, before) != HL_OK)
        return;
    for (p = 0; p < PARTS; p++) {
        parts[p] = before[p] == v;
        held += parts[p];
    }
    if (ht_proc_signal(&w->p, SIGKILL) != HL_OK)
        return;
    ht_proc_wait_exit(&w->p, 2000, &code);
    kill_wall = ht_wall_ms();
    w->alive = 0;
    ht_sleep_ms(SETTLE_MS);
    poll_log(r);
    if (chaos_book_window(r->book, r->dist.kv, PREFIX, parts,
                          kill_wall - WINDOW_HORIZON_MS, &n) != HL_OK)
        chaos_violation(r->rep, "kill %lld: done keys unreadable",
                        r->rep->kills + 1);
    if (read_leases(r, after) != HL_OK)
        chaos_violation(r->rep, "kill %lld: leases unreadable after it",
                        r->rep->kills + 1);
    for (p = 0; p < PARTS; p++)
        raced += parts[p] && after[p] != v;
    r->rep->kills++;
    r->rep->window += n;
    r->rep->window_raced += raced > 0;
    w->restart_at = ht_mono_ms() + draw_in(r, r->o->restart_min_ms,
                                           r->o->restart_max_ms);
    say(r, "SIGKILL worker %d (%s, %d partitions): G5 window %lld%s", v,
        w->id, held, n, raced ? " (a takeover raced the measurement)" : "");
}

static void restart_due(struct run *r, int now_all) {
    char err[HL_ERR_LEN];
    long long now = ht_mono_ms();
    int i;

    for (i = 0; i < r->o->workers; i++) {
        struct wslot *w = &r->w[i];
        if (w->alive || w->restart_at == 0 ||
            (!now_all && now < w->restart_at))
            continue;
        if (start_worker(r, i, err) != HL_OK) {
            chaos_violation(r->rep, "worker %d restart failed: %s", i, err);
            continue;
        }
        say(r, "worker %d started again", i);
    }
}

static void maybe_kill(struct run *r) {
    long long now = ht_mono_ms();
    long long load_end = r->t0 + r->o->seconds * 1000;
    int v;

    if (r->next_kill == 0 || now < r->next_kill)
        return;
    if (now > load_end - 2000) {
        r->next_kill = 0;
        return;
    }
    if ((r->redis_at && r->redis_at - now < REDIS_QUIET_MS) ||
        (r->redis_done_at && now - r->redis_done_at < REDIS_QUIET_MS)) {
        r->next_kill = now + 1000;
        return;
    }
    v = pick_victim(r);
    if (v < 0) {
        r->next_kill = now + 1000;
        return;
    }
    kill_worker(r, v);
    r->next_kill = ht_mono_ms() + draw_in(r, r->o->kill_min_ms,
                                          r->o->kill_max_ms);
}

/* The G5 window of a failover, measured once the replica is promoted:
 * sends the fake Graph accepted for events of the lost primary's
 * partitions whose done key the promoted one does not have (written to
 * the old primary but not replicated, or not written while no primary
 * answered). A worker that then loses the partition's lease (cut off for
 * longer than its lease) may see its send made again by the new owner:
 * G5's window of a worker dying between a send and recording it. */
static void failover_window(struct run *r) {
    long long n = 0;

    r->failover_measured = 1;
    poll_log(r);
    if (chaos_book_window(r->book, r->dist.kv, PREFIX, r->dist.failed,
                          atomic_load(&r->ps.watch_ms) -
                              WINDOW_HORIZON_MS, &n) != HL_OK) {
        chaos_violation(r->rep, "failover: done keys unreadable");
        return;
    }
    r->rep->failover_window = n;
    r->rep->window += n;
    say(r, "failover: G5 window %lld (accepted, no done key on the "
        "promoted primary)", n);
}

/* While dist.c waits on a failover: the request log, worker restarts
 * and crash checks go on (no worker kill: that waits for the quiet). */
static void pump_cb(void *arg) {
    struct run *r = arg;

    check_crashes(r);
    if (ht_mono_ms() - r->last_poll >= POLL_LOG_MS)
        poll_log(r);
    restart_due(r, 0);
    if (r->rep->promoted && !r->failover_measured)
        failover_window(r);
}

/* SIGKILL Redis and start it again on its append-only file (SINGLE), or
 * lose a primary and get it back as a replica (dist.c). */
static int restart_redis(struct run *r, char err[HL_ERR_LEN]) {
    struct chaos_report *rep = r->rep;
    int rc;

    r->redis_at = 0;
    rc = chaos_dist_fail(&r->dist, r->o, rep, PREFIX, PARTS,
                         &r->ps.watch_ms, pump_cb, r, err);
    r->redis_done_at = ht_mono_ms();
    if (r->o->backend != CHAOS_SINGLE && rep->promoted) {
        long long kill = atomic_load(&r->ps.watch_ms);
        rep->fail_from_wall = kill - FAILOVER_MARGIN_MS;
        rep->fail_to_wall = kill + rep->promote_ms + r->o->lease_ms +
                            FAILOVER_MARGIN_MS;
    }
    if (r->o->backend == CHAOS_SINGLE)
        say(r, "Redis SIGKILLed and restarted on its AOF: down %lld ms",
            rep->redis_down_ms);
    else
        say(r, "primary %d SIGKILLed (%d partitions): %d promoted after "
            "%lld ms, old primary replicating after %lld ms%s",
            rep->primary_port, rep->killed_parts, rep->promoted_port,
            rep->promote_ms, rep->rejoin_ms, rc == HL_OK ? "" : " (FAILED)");
    return rc;
}

/* Starts the reshard when due; ends it when redis-cli has. */
static void reshard_tick(struct run *r, long long now) {
    char err[HL_ERR_LEN];

    if (r->reshard_at && now >= r->reshard_at) {
        r->reshard_at = 0;
        if (chaos_dist_reshard_start(&r->dist, r->o, r->rep, PREFIX, PARTS,
                                     err) != HL_OK)
            chaos_violation(r->rep, "reshard not started: %s", err);
        else
            say(r, "reshard: %lld slots from the busiest primary",
                r->rep->reshard_asked);
        return;
    }
    if (r->dist.cli.pid > 0 &&
        chaos_dist_reshard_poll(&r->dist, r->rep, PREFIX, PARTS, err) == 0) {
        if (err[0] != '\0')
            chaos_violation(r->rep, "%s", err);
        say(r, "reshard done in %lld ms: %lld slots (%lld partitions) "
            "moved, exit %d", r->rep->reshard_ms, r->rep->reshard_moved,
            r->rep->reshard_parts, r->rep->reshard_exit);
    }
}

/* ---- resident memory ------------------------------------------------------ */

static void rss_sample(struct run *r) {
    pid_t workers[CHAOS_WORKERS_MAX];
    int i;

    r->next_rss = ht_mono_ms() + r->o->rss_every_s * 1000;
    for (i = 0; i < r->o->workers; i++)
        workers[i] = r->w[i].alive ? r->w[i].p.pid : -1;
    chaos_rss_sample(r->rep, r->o, (ht_mono_ms() - r->t0 + 500) / 1000,
                     r->st.ingest.pid, r->st.redis.pid, workers);
}

/* ---- phases ---------------------------------------------------------------- */

static int setup(struct run *r, char err[HL_ERR_LEN]) {
    int i, rc;

    rc = chaos_dist_start(&r->dist, r->o, &r->st, err);
    if (rc == HL_OK)
        rc = start_fakegraph(r, err);
    if (rc == HL_OK)
        rc = set_faults(r, err);
    if (rc == HL_OK)
        rc = start_ingest(r, err);
    for (i = 0; rc == HL_OK && i < r->o->workers; i++)
        rc = start_worker(r, i, err);
    if (rc == HL_OK)
        rc = wait_ready(r, err);
    return rc;
}

static void tick(struct run *r) {
    char err[HL_ERR_LEN];
    long long now = ht_mono_ms();

    check_crashes(r);
    if (now - r->last_poll >= POLL_LOG_MS)
        poll_log(r);
    reshard_tick(r, now);
    /* a primary is not killed under a reshard still running */
    if (r->redis_at && now >= r->redis_at &&
        (r->reshard_at || r->dist.cli.pid > 0))
        r->redis_at = now + RESHARD_WAIT_MS;
    if (r->redis_at && now >= r->redis_at &&
        restart_redis(r, err) != HL_OK)
        chaos_violation(r->rep, "%s failover failed: %s",
                        chaos_dist_name(r->o->backend), err);
    maybe_kill(r);
    restart_due(r, 0);
    if (r->o->rss_every_s > 0 && now >= r->next_rss)
        rss_sample(r);
    if (now - r->last_status >= STATUS_MS) {
        r->last_status = now;
        say(r, "backlog %lld, sends accepted %lld, failed %lld, late %lld",
            backlog(r), r->book->sends_ok, r->book->sends_failed,
            r->book->sends_late);
    }
}

static int load(struct run *r, char err[HL_ERR_LEN]) {
    const struct chaos_opts *o = r->o;
    long long bound;

    r->ps.book = r->book;
    r->ps.port = r->st.ingest.port;
    r->ps.path = WEBHOOK;
    r->ps.secret = SECRET;
    r->t0 = ht_mono_ms();
    r->ps.t0_mono = r->t0;
    r->ps.t0_wall = ht_wall_ms();
    r->book->t0_wall = r->ps.t0_wall;
    r->last_poll = r->last_status = r->t0;
    r->next_rss = r->t0;
    if (o->kill_max_ms > 0)
        r->next_kill = r->t0 + draw_in(r, o->kill_min_ms, o->kill_max_ms);
    if (o->redis_restart)
        r->redis_at = r->t0 + draw_in(r, o->seconds * 400, o->seconds * 600);
    if (o->redis_restart && o->redis_at_ms > 0)
        r->redis_at = r->t0 + o->redis_at_ms;
    if (o->backend == CHAOS_CLUSTER && o->reshard_slots > 0)
        r->reshard_at = r->t0 + draw_in(r, o->seconds * 150,
                                        o->seconds * 250);
    r->dist.t0 = r->t0;
    if (pthread_create(&r->thread, NULL, chaos_poster_main, &r->ps) != 0) {
        snprintf(err, HL_ERR_LEN, "pthread_create failed");
        return HL_ERR;
    }
    r->thread_started = 1;
    say(r, "load: %ld ev/s for %ld s over %ld conversations, %zu events",
        o->rate, o->seconds, o->convs, r->book->nev);
    bound = r->t0 + o->seconds * 1000 + POSTER_MARGIN_MS;
    while (!atomic_load(&r->ps.done) && ht_mono_ms() < bound) {
        tick(r);
        ht_sleep_ms(LOOP_MS);
    }
    atomic_store(&r->ps.abort, 1);
    pthread_join(r->thread, NULL);
    r->thread_started = 0;
    /* the last row: the load's end, judged against the warm-up row */
    if (o->rss_every_s > 0)
        rss_sample(r);
    if (r->ps.failed) {
        snprintf(err, HL_ERR_LEN, "poster: %.200s", r->ps.err);
        return HL_ERR;
    }
    say(r, "load done: %lld POSTs, %lld gave up, first POSTs at most "
        "%lld ms late", r->ps.attempts, r->ps.gave_up, r->ps.lag_max_ms);
    return HL_OK;
}

/* Every worker alive again, then queues and in-flight lists empty. */
static void drain(struct run *r) {
    long long t = ht_mono_ms(), end = t + r->o->drain_s * 1000, n = -1;

    restart_due(r, 1);
    while (ht_mono_ms() < end) {
        check_crashes(r);
        n = backlog(r);
        if (n == 0)
            break;
        if (ht_mono_ms() - r->last_poll >= POLL_LOG_MS)
            poll_log(r);
        ht_sleep_ms(250);
    }
    r->rep->drained = n == 0;
    r->rep->drain_ms = ht_mono_ms() - t;
    say(r, "drain: backlog %lld after %lld ms", n, r->rep->drain_ms);
    if (n != 0)
        chaos_violation(r->rep, "queues not empty %ld s after the load: "
                        "%lld envelopes left", r->o->drain_s, n);
}

/* SIGTERM every worker and ingest; each must exit 0 (under ASan that
 * also means no leak). */
static void stop_all(struct run *r) {
    struct ht_proc *p[CHAOS_WORKERS_MAX + 1];
    int n = 0, i, code;

    for (i = 0; i < r->o->workers; i++) {
        if (r->w[i].alive)
            p[n++] = &r->w[i].p;
    }
    if (r->st.ingest.pid > 0)
        p[n++] = &r->st.ingest;
    for (i = 0; i < n; i++)
        ht_proc_signal(p[i], SIGTERM);
    for (i = 0; i < n; i++) {
        code = -1;
        if (ht_proc_wait_exit(p[i], ht_budget_ms(STOP_MS), &code) != HL_OK ||
            code != 0) {
            ht_proc_dump_log(p[i], LOG_TAIL);
            r->rep->exits_bad++;
            chaos_violation(r->rep, "%s exited %d after SIGTERM (-1: "
                            "still running after %d ms)", p[i]->name, code,
                            (int)ht_budget_ms(STOP_MS));
        }
    }
    for (i = 0; i < r->o->workers; i++)
        r->w[i].alive = 0;
}

static void copy_poster_figures(struct run *r) {
    struct chaos_report *rep = r->rep;
    long long watch = atomic_load(&r->ps.watch_ms);

    rep->post_attempts = r->ps.attempts;
    rep->post_503 = r->ps.n503;
    rep->post_other = r->ps.nother;
    rep->bad_n = r->ps.bad_n;
    rep->bad_503 = r->ps.bad_503;
    if (watch > 0 && r->ps.bad_first_ms > 0) {
        rep->bad_first_ms = r->ps.bad_first_ms - watch;
        rep->bad_window_ms = r->ps.bad_last_ms - r->ps.bad_first_ms;
        rep->bad_last_ms = r->ps.bad_last_ms - watch;
    }
}

int chaos_run(const struct chaos_opts *o, struct chaos_report *rep,
              char err[HL_ERR_LEN]) {
    struct run *r = calloc(1, sizeof(*r));
    int rc = HL_ERR, i;

    memset(rep, 0, sizeof(*rep));
    rep->seed = o->seed;
    rep->backend = o->backend;
    err[0] = '\0';
    if (r == NULL || o->workers < 1 || o->workers > CHAOS_WORKERS_MAX ||
        o->rate < 1 || o->seconds < 1 || o->convs < 1 ||
        o->backend < CHAOS_SINGLE || o->backend > CHAOS_SENTINEL) {
        snprintf(err, HL_ERR_LEN, "bad options or out of memory");
        free(r);
        return HL_EINVAL;
    }
    r->o = o;
    r->rep = rep;
    r->dist.cli.pid = -1;
    r->rng = chaos_seed_mix(o->seed, 3);
    ht_stack_init(&r->st);
    for (i = 0; i < CHAOS_WORKERS_MAX; i++)
        r->w[i].p.pid = -1;
    chaos_rss_init(rep, o->workers);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(err, HL_ERR_LEN, "curl_global_init failed");
        goto cleanup;
    }
    r->book = chaos_book_new(o, PARTS);
    if (r->book == NULL) {
        snprintf(err, HL_ERR_LEN, "out of memory planning the events");
        goto cleanup;
    }
    rc = setup(r, err);
    if (rc == HL_OK)
        rc = load(r, err);
    if (rc != HL_OK)
        goto cleanup;
    copy_poster_figures(r);
    drain(r);
    poll_log(r);
    if (chaos_book_dlq(r->book, r->dist.kv, PREFIX) != HL_OK)
        chaos_violation(rep, "the dead-letter list could not be read");
    stop_all(r);
    poll_log(r);
    chaos_check(r->book, rep);
    rep->not_acked = rep->posted - rep->acked;
    chaos_rss_judge(rep);
cleanup:
    if (r->thread_started) {
        atomic_store(&r->ps.abort, 1);
        pthread_join(r->thread, NULL);
    }
    for (i = 0; i < CHAOS_WORKERS_MAX; i++)
        ht_proc_cleanup(&r->w[i].p);
    ht_stack_cleanup(&r->st);
    chaos_dist_cleanup(&r->dist);
    chaos_book_free(r->book);
    free(r);
    return rc;
}
