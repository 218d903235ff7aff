/* test_regress.c - regression checks for the review fixes of commit
 * ec9f587 ("Review fixes: ..."). Each numbered check after the setup
 * fails on that commit's parent (e162efe) and passes with the fix:
 *
 *   - a pages file of 40 pages (each its own token) starts the worker (the
 *     logger's secret table held 32), and a page with "id": null is a
 *     config error naming HOOKLINE_PAGES_FILE (it was a NULL strdup);
 *   - more workers than partitions (2 partitions, 3 workers): the leases
 *     settle and stay put (each worker above a floor share of 0 gave one
 *     back every tick, so they churned forever);
 *   - a drain hands queued envelopes back newest first, so the oldest is
 *     popped first, and the next worker answers in timestamp order (they
 *     went back oldest first: the next pop got the newest 64 first);
 *   - ingest drained with Redis hung and a request that arrived on a kept-
 *     alive connection after SIGTERM (its ack deadline falls after the
 *     drain timer) exits 0 (evhttp was freed before Redis, so the late
 *     NULL reply answered a freed request);
 *   - a Redis that answers nothing for 10 s is dropped (redis_dropping_
 *     stalled) and ingest is ready again soon after SIGCONT.
 *
 * The stack: our own redis-server (STYLE rule 24), bin/hookline-fakegraph,
 * bin/hookline-ingest and bin/hookline-worker as real processes. Each group
 * uses its own HOOKLINE_PREFIX. Bodies carry CURRENT timestamps (a reply is
 * only allowed inside the 24 h window). Every wait is N x M ms. Requests
 * that must stay on one kept-alive connection use raw sockets here. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <json-c/json.h>

#include "hl.h"
#include "../lib/hl_test.h"
#include "../lib/httpc.h"
#include "../lib/proc.h"
#include "../lib/redis_fixture.h"
#include "../lib/stack.h"

#define PREFIX "hlr"                  /* hand-back order, ingest */
#define PREFIX_FEW "hlrfew"           /* 2 partitions, 3 workers */
#define PREFIX_PAGES "hlrpg"          /* pages-file workers */
#define PARTS 16
#define FEW_PARTS 2
#define NWORKERS 3
#define SECRET "hlr-app-secret-2b7e4c19d0"
#define VERIFY "hlr-verify-5f0a"
#define TOKEN "hlr-page-token-8c3d61e0f4"
#define PAGE "100000000000909"
#define WEBHOOK "/webhook"
#define MANY_PAGES 40                 /* over the old 32 logged secrets */
#define ORDER_EVENTS 100              /* over one pop batch (64) */
#define ORDER_USER "u-handback"
#define HOLD_REORDER_MS 3000          /* events sit queued this long */
#define ACK_MS 3000                   /* HOOKLINE_ACK_TIMEOUT_MS */
#define DRAIN_GRACE_MS 500            /* ingest/main.c: drain timer is
                                       * ACK_MS + this after SIGTERM */
#define LATE_POST_MS 1000             /* second POST after SIGTERM:
                                       * deadline ACK_MS + 1000 > drain */
#define STALL_DROP_MS 10000           /* common/hl_redis.c */

struct ctx {
    struct ht_stack st;               /* ingest: prefix hlr, ack ACK_MS */
    struct ht_proc w[NWORKERS];
    char id[NWORKERS][128];
    char pages_path[512];
    long req_ms;
    int n;                            /* unique mid counter */
};

/* ---- helpers ------------------------------------------------------------- */

static redisContext *db(struct ctx *c) {
    return ht_stack_db(&c->st);
}

static int http(struct ctx *c, int port, const char *method,
                const char *path, const char *body,
                struct ht_http_resp *r) {
    return ht_http_json(port, method, path, body, c->req_ms, r);
}

static long get_status(struct ctx *c, int port, const char *path) {
    return ht_http_status(port, path, c->req_ms);
}

/* Polls GET `path` on `port` until it answers 200, at most `ms`. */
static int wait_200(struct ctx *c, int port, const char *path, long ms) {
    long tries = ht_budget_ms(ms) / 100, i;

    for (i = 0; i < tries; i++) {
        if (get_status(c, port, path) == 200)
            return 1;
        ht_sleep_ms(100);
    }
    return 0;
}

static int fake(struct ctx *c, const char *method, const char *path,
                const char *body) {
    struct ht_http_resp r;
    int ok;

    http(c, c->st.fg.port, method, path, body, &r);
    ok = HT_ASSERT_EQ_INT(r.status, 200);
    if (!ok)
        ht_note("%s %s -> %s %s", method, path, r.body ? r.body : "",
                r.err);
    ht_http_resp_cleanup(&r);
    return ok;
}

/* The fake Graph's request log (caller frees), or NULL. */
static json_object *fake_log(struct ctx *c) {
    struct ht_http_resp r;
    json_object *o = NULL;

    http(c, c->st.fg.port, "GET", "/_fake/requests", NULL, &r);
    if (r.status == 200 && r.body != NULL)
        o = json_tokener_parse(r.body);
    ht_http_resp_cleanup(&r);
    if (o == NULL || !json_object_is_type(o, json_type_array)) {
        json_object_put(o);
        HT_FAIL("GET /_fake/requests did not give a JSON array");
        return NULL;
    }
    return o;
}

/* body.message.text of a logged request, or NULL. */
static const char *req_text(json_object *e) {
    json_object *b = NULL, *m = NULL;

    if (!json_object_object_get_ex(e, "body", &b) ||
        !json_object_object_get_ex(b, "message", &m))
        return NULL;
    return ht_json_str(m, "text");
}

/* The texts of the requests to `user` answered 200, in log order, into
 * out[0..max-1] (borrowed from `log`). Returns how many. */
static int texts_to(json_object *log, const char *user, const char **out,
                    int max) {
    size_t i, n = log != NULL ? json_object_array_length(log) : 0;
    int k = 0;

    for (i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(log, i);
        const char *r = ht_json_str(e, "recipient");
        if (r == NULL || strcmp(r, user) != 0 ||
            ht_json_int(e, "answered") != 200 || req_text(e) == NULL)
            continue;
        if (k < max)
            out[k] = req_text(e);
        k++;
    }
    return k;
}

/* 1 when the whole captured log of `p` contains `needle`. */
static int log_has(const struct ht_proc *p, const char *needle) {
    char *log = NULL;
    size_t len = 0;
    int yes;

    if (ht_proc_read_log(p, &log, &len) != HL_OK)
        return 0;
    yes = strstr(log, needle) != NULL;
    free(log);
    return yes;
}

/* Copies the first log line of `p` containing `needle` into `out` ("" if
 * none). */
static void log_line(const struct ht_proc *p, const char *needle,
                     char *out, size_t sz) {
    char *log = NULL, *hit, *start, *nl;
    size_t len = 0;

    out[0] = '\0';
    if (ht_proc_read_log(p, &log, &len) != HL_OK)
        return;
    hit = strstr(log, needle);
    if (hit != NULL) {
        start = hit;
        while (start > log && start[-1] != '\n')
            start--;
        nl = strchr(hit, '\n');
        if (nl != NULL)
            *nl = '\0';
        snprintf(out, sz, "%s", start);
    }
    free(log);
}

/* Starts a worker with the common environment plus `extra` (NULL-
 * terminated, at most 8) and reads its id (20 x 100 ms). */
static int start_worker(struct ctx *c, int i, const char *const *extra) {
    char err[HL_ERR_LEN];

    if (ht_stack_start_worker(&c->st, &c->w[i], SECRET, extra, err)
        != HL_OK)
        return HT_FAIL("worker %d: %s", i, err);
    if (ht_stack_worker_id(&c->w[i], ht_budget_ms(2000), c->id[i],
                           sizeof(c->id[i]), err) != HL_OK)
        return HT_FAIL("%s", err);
    ht_note("worker %d: %s, metrics on port %d", i, c->id[i],
            c->w[i].port);
    return 1;
}

/* SIGTERM, wait up to 10 s; returns the exit code (-1 when it did not
 * exit), dumping the log unless it is 0. Reaped and cleaned up. */
static int stop_worker(struct ctx *c, int i) {
    int code = -1;

    if (c->w[i].pid <= 0 && !c->w[i].exited)
        return -1;                    /* never started */
    if (c->w[i].pid > 0 && ht_proc_signal(&c->w[i], SIGTERM) == HL_OK &&
        ht_proc_wait_exit(&c->w[i], ht_budget_ms(10000), &code) != HL_OK)
        code = -1;
    else if (c->w[i].exited)
        code = c->w[i].exit_code;
    if (code != 0)
        ht_proc_dump_log(&c->w[i], 4000);
    ht_proc_cleanup(&c->w[i]);
    memset(&c->w[i], 0, sizeof(c->w[i]));
    c->w[i].pid = -1;
    c->id[i][0] = '\0';
    return code;
}

static int start_ingest(struct ctx *c, struct ht_proc *p) {
    char err[HL_ERR_LEN], ack[48];
    const char *extra[] = { ack, NULL };

    snprintf(ack, sizeof(ack), "HOOKLINE_ACK_TIMEOUT_MS=%d", ACK_MS);
    if (ht_stack_start_ingest(&c->st, p, PREFIX, VERIFY, SECRET, extra, err)
        != HL_OK)
        return HT_FAIL("ingest: %s", err);
    if (!wait_200(c, p->port, "/readyz", 5000))
        return HT_FAIL("ingest /readyz not 200 after 5 s");
    return 1;
}

/* A POST body of `n` text events of `user`, timestamps ts0, ts0+1, ...
 * and texts "order 000", "order 001", ... (caller frees; NULL on OOM). */
static char *events_body(struct ctx *c, const char *user, long long ts0,
                         int n) {
    struct ht_text t = { 0 };
    int i;

    ht_text_add(&t, "{\"object\":\"page\",\"entry\":[{\"id\":\"" PAGE "\","
                "\"time\":%lld,\"messaging\":[", ts0);
    for (i = 0; i < n; i++) {
        ht_text_add(&t, "%s{\"sender\":{\"id\":\"%s\"},\"recipient\":"
                    "{\"id\":\"" PAGE "\"},\"timestamp\":%lld,\"message\":"
                    "{\"mid\":\"mid.hlr.%d.%lld\",\"text\":\"order %03d\"}}",
                    i > 0 ? "," : "", user, ts0 + i, ++c->n, ts0, i);
    }
    ht_text_add(&t, "]}]}");
    if (t.failed)
        HL_FREE(t.p);
    return t.p;
}

/* ---- raw HTTP on one connection ------------------------------------------ */

static int raw_connect(int port) {
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int raw_send(int fd, const char *p, size_t len) {
    while (len > 0) {
        ssize_t k = send(fd, p, len, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return 0;
        p += k;
        len -= (size_t)k;
    }
    return 1;
}

/* Sends a signed POST of `body` to /webhook (HTTP/1.1, kept alive). */
static int raw_post(int fd, const char *body) {
    char sig[96], head[512];
    int n;

    if (ht_http_sign(SECRET, body, strlen(body), sig, sizeof(sig)) != HL_OK)
        return 0;
    n = snprintf(head, sizeof(head), "POST " WEBHOOK " HTTP/1.1\r\n"
                 "Host: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 HT_SIG_HEADER ": %s\r\nContent-Length: %zu\r\n\r\n", sig,
                 strlen(body));
    return n > 0 && (size_t)n < sizeof(head) &&
           raw_send(fd, head, (size_t)n) && raw_send(fd, body, strlen(body));
}

/* Reads one reply (headers and a Content-Length body) within `ms`.
 * Returns its status, 0 on a timeout, a closed connection or garbage. */
static long raw_reply(int fd, long ms) {
    char buf[8192];
    size_t len = 0;
    long long end = ht_mono_ms() + ms;
    long status = 0;

    for (;;) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        char *eoh;
        long long left = end - ht_mono_ms();
        ssize_t k;
        buf[len] = '\0';
        eoh = strstr(buf, "\r\n\r\n");
        if (eoh != NULL) {
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            size_t want = (size_t)(eoh + 4 - buf) +
                          (cl != NULL ? strtoul(cl + 17, NULL, 10) : 0);
            if (len >= want) {
                if (sscanf(buf, "HTTP/1.%*d %ld", &status) != 1)
                    status = 0;
                return status;
            }
        }
        if (left <= 0 || len + 1 >= sizeof(buf) ||
            poll(&pfd, 1, (int)left) <= 0)
            return 0;
        k = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return 0;
        len += (size_t)k;
    }
}

/* ---- setup --------------------------------------------------------------- */

static int check_setup(struct ctx *c) {
    char err[HL_ERR_LEN];
    int ok = 0;

    HT_CHECK_BEGIN("redis-server, fake Graph and ingest start");
    if (ht_redis_start(&c->st.redis, err) != HL_OK) {
        HT_FAIL("redis-server: %s", err);
        goto done;
    }
    if (!HT_ASSERT_TRUE(db(c) != NULL))
        goto done;
    if (ht_stack_start_fakegraph(&c->st, TOKEN, err) != HL_OK) {
        HT_FAIL("fakegraph: %s", err);
        goto done;
    }
    if (!start_ingest(c, &c->st.ingest))
        goto done;
    ok = !ht_check_failed();
done:
    HT_CHECK_END();
    return ok;
}

/* ---- pages file ---------------------------------------------------------- */

static void check_many_pages(struct ctx *c) {
    const char *extra[] = {
        "HOOKLINE_PREFIX=" PREFIX_PAGES, NULL /* the file */, NULL
    };
    char file[600];
    struct ht_text t = { 0 };
    int i;

    HT_CHECK_BEGIN("a pages file of 40 pages, each with its own token: the "
                   "worker starts (started, /healthz 200) and exits 0 on "
                   "SIGTERM");
    ht_text_add(&t, "{\"pages\":[");
    for (i = 0; i < MANY_PAGES; i++)
        ht_text_add(&t, "%s{\"id\":\"1000000000%05d\",\"access_token\":"
                    "\"hlr-many-token-%02d-7d1e9a\"}", i ? "," : "", i, i);
    ht_text_add(&t, "]}");
    snprintf(c->pages_path, sizeof(c->pages_path), "%s/hlr-pages-%ld.json",
             ht_tmpdir(), (long)getpid());
    if (t.failed ||
        ht_write_file(c->pages_path, t.p, t.len) != HL_OK) {
        HT_FAIL("cannot write %s", c->pages_path);
        goto done;
    }
    snprintf(file, sizeof(file), "HOOKLINE_PAGES_FILE=%s", c->pages_path);
    extra[1] = file;
    if (!start_worker(c, 0, extra))
        goto done;
    HT_ASSERT_EQ_INT(get_status(c, c->w[0].port, "/healthz"), 200);
    HT_ASSERT_EQ_INT(stop_worker(c, 0), 0);
done:
    ht_proc_cleanup(&c->w[0]);
    free(t.p);
    HT_CHECK_END();
}

static void check_null_page_id(struct ctx *c) {
    static const char pages[] =
        "{\"pages\":[{\"id\":\"" PAGE "\",\"access_token\":\"" TOKEN "\"},"
        "{\"id\":null,\"access_token\":\"hlr-null-id-token-0e4b\"}]}";
    char path[1024], err[HL_ERR_LEN], url[96], file[600];
    const char *env[] = {
        url, file, "MESSENGER_APP_SECRET=" SECRET,
        "HOOKLINE_PREFIX=" PREFIX_PAGES, "HOOKLINE_METRICS_PORT=0",
        "HOOKLINE_LISTEN=127.0.0.1", NULL
    };
    char *out = NULL;
    size_t len = 0;
    int code = -1;

    HT_CHECK_BEGIN("a pages file with \"id\": null: exit 2 and the message "
                   "names HOOKLINE_PAGES_FILE");
    snprintf(url, sizeof(url), "REDIS_URL=%s", c->st.redis.url);
    snprintf(file, sizeof(file), "HOOKLINE_PAGES_FILE=%s", c->pages_path);
    if (ht_write_file(c->pages_path, pages, sizeof(pages) - 1) != HL_OK) {
        HT_FAIL("cannot write %s", c->pages_path);
        goto done;
    }
    if (ht_bin_path("hookline-worker", path, sizeof(path)) != HL_OK ||
        ht_proc_run(path, NULL, env, 5000, &code, &out, &len, err)
        != HL_OK) {
        HT_FAIL("worker did not run to completion: %s", err);
        goto done;
    }
    if (!HT_ASSERT_EQ_INT(code, 2) ||
        !HT_ASSERT_CONTAINS(out, "HOOKLINE_PAGES_FILE"))
        ht_note("output: %.1500s", out ? out : "");
done:
    free(out);
    HT_CHECK_END();
}

/* ---- more workers than partitions --------------------------------------- */

/* MGET of both leases of PREFIX_FEW into owner[] (caller frees). */
static int read_few_leases(struct ctx *c, char *owner[FEW_PARTS]) {
    const char *argv[1 + FEW_PARTS] = {
        "MGET", PREFIX_FEW ":{0}:lease", PREFIX_FEW ":{1}:lease"
    };
    redisReply *r = NULL;
    int i;

    for (i = 0; i < FEW_PARTS; i++)
        owner[i] = NULL;
    if (db(c) == NULL || ht_redis_array(db(c), &r, 1 + FEW_PARTS, argv)
        != HL_OK)
        return 0;
    for (i = 0; i < FEW_PARTS && (size_t)i < r->elements; i++) {
        if (r->element[i]->type == REDIS_REPLY_STRING)
            owner[i] = strdup(r->element[i]->str);
    }
    freeReplyObject(r);
    return 1;
}

/* Index of a live worker of ours whose id is `s`, or -1. */
static int live_index(struct ctx *c, const char *s) {
    int i;

    for (i = 0; s != NULL && i < NWORKERS; i++) {
        if (c->id[i][0] != '\0' && strcmp(c->id[i], s) == 0 &&
            ht_proc_alive(&c->w[i]))
            return i;
    }
    return -1;
}

static void check_few_partitions(struct ctx *c) {
    const char *extra[] = {
        "HOOKLINE_PREFIX=" PREFIX_FEW, "HOOKLINE_PARTITIONS=2",
        "HOOKLINE_REORDER_MS=100", NULL
    };
    char *owner[FEW_PARTS], *first[FEW_PARTS] = { NULL, NULL };
    long tries, t;
    long long t0 = ht_mono_ms(), zc = -1;
    int i, settled = 0, unowned = 0, changed = 0, samples = 0;

    HT_CHECK_BEGIN("2 partitions, 3 workers: within 10 s two live workers "
                   "hold one lease each; then for 5 s (every 100 ms) no "
                   "lease is ever free and no owner changes");
    for (i = 0; i < NWORKERS; i++) {
        if (!start_worker(c, i, extra))
            goto done;
    }
    tries = ht_budget_ms(10000) / 100;
    for (t = 0; t < tries && !settled; t++) {
        int a, b;
        read_few_leases(c, owner);
        a = live_index(c, owner[0]);
        b = live_index(c, owner[1]);
        ht_redis_int2(db(c), &zc, "ZCARD", PREFIX_FEW ":workers");
        settled = a >= 0 && b >= 0 && a != b && zc == NWORKERS;
        if (settled) {
            first[0] = owner[0];
            first[1] = owner[1];
        } else {
            HL_FREE(owner[0]);
            HL_FREE(owner[1]);
            ht_sleep_ms(100);
        }
    }
    if (!HT_ASSERT_TRUE(settled)) {
        ht_note("live workers registered: %lld", zc);
        goto done;
    }
    ht_note("settled %lld ms after the first start: {0} %s, {1} %s",
            ht_mono_ms() - t0, first[0], first[1]);
    for (t = 0; t < 50; t++) {
        ht_sleep_ms(100);
        read_few_leases(c, owner);
        samples++;
        for (i = 0; i < FEW_PARTS; i++) {
            if (owner[i] == NULL || live_index(c, owner[i]) < 0) {
                if (unowned++ < 3)
                    ht_note("sample %d: partition %d %s", samples, i,
                            owner[i] == NULL ? "has no lease"
                                             : "held by no live worker");
            } else if (strcmp(owner[i], first[i]) != 0) {
                if (changed++ < 3)
                    ht_note("sample %d: partition %d moved %s -> %s",
                            samples, i, first[i], owner[i]);
            }
            HL_FREE(owner[i]);
        }
    }
    ht_note("%d samples: %d without a live owner, %d with another owner",
            samples, unowned, changed);
    HT_ASSERT_EQ_INT(unowned, 0);
    HT_ASSERT_EQ_INT(changed, 0);
done:
    HL_FREE(first[0]);
    HL_FREE(first[1]);
    for (i = 0; i < NWORKERS; i++)
        stop_worker(c, i);
    HT_CHECK_END();
}

/* ---- hand-back order ----------------------------------------------------- */

static int check_handback_order(struct ctx *c, long long *ts0) {
    char reorder[48], qkey[64], ikey[64];
    const char *extra[] = {
        "HOOKLINE_PREFIX=" PREFIX, "MESSENGER_PAGE_ACCESS_TOKEN=" TOKEN,
        reorder, NULL
    };
    long part = ht_redis_partition(PAGE, ORDER_USER, PARTS);
    long tries, t;
    json_object *items = NULL;
    struct ht_http_resp r;
    char *body = NULL;
    int code, ok = 0;
    size_t i, n;

    HT_CHECK_BEGIN("SIGTERM hands 100 popped, queued events of one "
                   "conversation back so that the next pop takes the "
                   "oldest first (pop order = timestamp order)");
    snprintf(reorder, sizeof(reorder), "HOOKLINE_REORDER_MS=%ld",
             ht_budget_ms(HOLD_REORDER_MS));
    snprintf(qkey, sizeof(qkey), PREFIX ":{%ld}:q", part);
    snprintf(ikey, sizeof(ikey), PREFIX ":{%ld}:inflight", part);
    if (!fake(c, "DELETE", "/_fake/requests", NULL) ||
        !start_worker(c, 0, extra))
        goto done;
    if (!wait_200(c, c->w[0].port, "/readyz", 10000)) {
        HT_FAIL("worker /readyz not 200 after 10 s");
        goto done;
    }
    *ts0 = ht_wall_ms();
    body = events_body(c, ORDER_USER, *ts0, ORDER_EVENTS);
    if (body == NULL) {
        HT_FAIL("out of memory");
        goto done;
    }
    ht_http_post_signed(c->st.ingest.port, WEBHOOK, SECRET, body,
                        strlen(body), c->req_ms, &r);
    t = r.status;
    ht_http_resp_cleanup(&r);
    if (!HT_ASSERT_EQ_INT(t, 200))
        goto done;
    /* the worker has popped them all; they wait out the reorder window */
    tries = ht_budget_ms(2000) / 20;
    for (t = 0; t < tries; t++) {
        if (ht_redis_llen(db(c), qkey) == 0 &&
            ht_redis_llen(db(c), ikey) == ORDER_EVENTS)
            break;
        ht_sleep_ms(20);
    }
    if (!HT_ASSERT_EQ_INT(ht_redis_llen(db(c), qkey), 0) ||
        !HT_ASSERT_EQ_INT(ht_redis_llen(db(c), ikey), ORDER_EVENTS))
        goto done;
    code = stop_worker(c, 0);
    if (!HT_ASSERT_EQ_INT(code, 0))
        goto done;
    ok = 1;
    HT_ASSERT_EQ_INT(ht_redis_llen(db(c), ikey), 0);
    /* pop order: the right end (LRANGE -1) first */
    items = ht_redis_queue_items(db(c), PREFIX, part);
    if (!HT_ASSERT_TRUE(items != NULL))
        goto done;
    n = json_object_array_length(items);
    HT_ASSERT_EQ_INT(n, ORDER_EVENTS);
    if (n > 0) {
        ht_note("popped next: ts0+%lld, last: ts0+%lld",
                ht_json_int(json_object_array_get_idx(items, 0), "ts") -
                *ts0,
                ht_json_int(json_object_array_get_idx(items, n - 1),
                            "ts") - *ts0);
        HT_ASSERT_EQ_INT(ht_json_int(json_object_array_get_idx(items, 0),
                                     "ts"), *ts0);
    }
    for (i = 1; i < n; i++) {
        long long a = ht_json_int(json_object_array_get_idx(items, i - 1),
                                  "ts");
        long long b = ht_json_int(json_object_array_get_idx(items, i),
                                  "ts");
        if (!HT_ASSERT_LT_INT(a, b)) {
            ht_note("pop position %zu has ts0+%lld after ts0+%lld", i,
                    b - *ts0, a - *ts0);
            break;
        }
    }
done:
    json_object_put(items);
    free(body);
    HT_CHECK_END();
    return ok;
}

static void check_handback_replies(struct ctx *c) {
    const char *extra[] = {
        "HOOKLINE_PREFIX=" PREFIX, "MESSENGER_PAGE_ACCESS_TOKEN=" TOKEN,
        "HOOKLINE_REORDER_MS=100", NULL
    };
    const char *texts[ORDER_EVENTS];
    long tries = ht_budget_ms(20000) / 200, t;
    json_object *log = NULL;
    int got = 0, i, bad = 0;

    HT_CHECK_BEGIN("a fresh worker (reorder window 100 ms) answers the 100 "
                   "handed-back events once each, in timestamp order");
    if (!start_worker(c, 1, extra))
        goto done;
    for (t = 0; t < tries; t++) {
        json_object_put(log);
        log = fake_log(c);
        got = texts_to(log, ORDER_USER, texts, ORDER_EVENTS);
        if (log == NULL || got >= ORDER_EVENTS)
            break;
        ht_sleep_ms(200);
    }
    if (!HT_ASSERT_EQ_INT(got, ORDER_EVENTS))
        goto done;
    for (i = 0; i < ORDER_EVENTS; i++) {
        char want[48];
        snprintf(want, sizeof(want), "You said: order %03d", i);
        if (strcmp(texts[i], want) != 0 && bad++ < 3)
            HT_FAIL("reply %d is \"%s\", want \"%s\"", i, texts[i], want);
    }
    ht_note("%d of %d replies out of place; first three: \"%s\", \"%s\", "
            "\"%s\"", bad, ORDER_EVENTS, texts[0], texts[1], texts[2]);
done:
    json_object_put(log);
    stop_worker(c, 1);
    HT_CHECK_END();
}

/* ---- ingest drain with a hung Redis -------------------------------------- */

static void check_ingest_drain_hung(struct ctx *c) {
    static const char get[] = "GET /healthz HTTP/1.1\r\n"
                              "Host: 127.0.0.1\r\n\r\n";
    struct ht_proc in;
    char line[1024];
    long long t_term = 0;
    int fa = -1, fb = -1, code = -1;
    char *a = NULL, *b = NULL;

    memset(&in, 0, sizeof(in));
    in.pid = -1;
    HT_CHECK_BEGIN("ingest drained while Redis hangs, with a request sent "
                   "on a kept-alive connection 1 s after SIGTERM (its ack "
                   "deadline falls after the drain timer): exit 0");
    if (!start_ingest(c, &in))
        goto done;
    a = events_body(c, "u-drain-a", ht_wall_ms(), 1);
    b = events_body(c, "u-drain-b", ht_wall_ms(), 1);
    if (a == NULL || b == NULL) {
        HT_FAIL("out of memory");
        goto done;
    }
    /* connection B: one answered request, then kept alive, idle */
    fb = raw_connect(in.port);
    if (!HT_ASSERT_TRUE(fb >= 0) ||
        !HT_ASSERT_TRUE(raw_send(fb, get, strlen(get))) ||
        !HT_ASSERT_EQ_INT(raw_reply(fb, c->req_ms), 200))
        goto done;
    if (!HT_ASSERT_EQ_INT(ht_redis_pause(&c->st.redis), HL_OK))
        goto done;
    /* connection A: a POST that waits for Redis (keeps ingest draining) */
    fa = raw_connect(in.port);
    if (!HT_ASSERT_TRUE(fa >= 0) || !HT_ASSERT_TRUE(raw_post(fa, a)))
        goto done;
    ht_sleep_ms(100);
    if (!HT_ASSERT_EQ_INT(ht_proc_signal(&in, SIGTERM), HL_OK))
        goto done;
    t_term = ht_mono_ms();
    ht_sleep_ms(LATE_POST_MS);
    /* the listener is closed; B's connection still takes a request */
    HT_ASSERT_TRUE(raw_post(fb, b));
    if (!HT_ASSERT_EQ_INT(ht_proc_wait_exit(&in, ht_budget_ms(10000),
                                            &code), HL_OK) ||
        !HT_ASSERT_EQ_INT(code, 0))
        ht_proc_dump_log(&in, 6000);
    ht_note("exit %d %lld ms after SIGTERM (drain timer at %d ms)", code,
            ht_mono_ms() - t_term, ACK_MS + DRAIN_GRACE_MS);
    /* the scenario happened: A in flight at SIGTERM, B at the drain timer */
    log_line(&in, "\"msg\":\"draining\"", line, sizeof(line));
    if (!HT_ASSERT_CONTAINS(line, "\"inflight\":1"))
        ht_note("draining line: %s", line);
    log_line(&in, "\"msg\":\"drain_deadline\"", line, sizeof(line));
    if (!HT_ASSERT_CONTAINS(line, "\"inflight\":1"))
        ht_note("drain_deadline line: %s", line);
done:
    if (c->st.redis.paused)
        ht_redis_resume(&c->st.redis);
    if (fa >= 0)
        close(fa);
    if (fb >= 0)
        close(fb);
    free(a);
    free(b);
    ht_proc_cleanup(&in);
    HT_CHECK_END();
}

/* ---- a hung Redis connection is dropped ---------------------------------- */

static void check_stalled_dropped(struct ctx *c) {
    long long t0, dropped = -1;
    long tries, t;

    HT_CHECK_BEGIN("Redis frozen (SIGSTOP) past 10 s: ingest logs "
                   "redis_dropping_stalled (not before ~10 s); after "
                   "SIGCONT /readyz 200 within 10 s");
    if (!HT_ASSERT_EQ_INT(wait_200(c, c->st.ingest.port, "/readyz", 5000), 1))
        goto done;
    if (!HT_ASSERT_EQ_INT(ht_redis_pause(&c->st.redis), HL_OK))
        goto done;
    t0 = ht_mono_ms();
    tries = ht_budget_ms(STALL_DROP_MS + 4000) / 200;
    for (t = 0; t < tries; t++) {
        if (log_has(&c->st.ingest, "\"msg\":\"redis_dropping_stalled\"")) {
            dropped = ht_mono_ms() - t0;
            break;
        }
        ht_sleep_ms(200);
    }
    ht_redis_resume(&c->st.redis);
    if (!HT_ASSERT_GE_INT(dropped, 0)) {
        ht_proc_dump_log(&c->st.ingest, 2000);
        goto done;
    }
    ht_note("dropped %lld ms after SIGSTOP", dropped);
    HT_ASSERT_GE_INT(dropped, STALL_DROP_MS - 1500);
    t0 = ht_mono_ms();
    if (HT_ASSERT_EQ_INT(wait_200(c, c->st.ingest.port, "/readyz", 10000), 1))
        ht_note("ready %lld ms after SIGCONT", ht_mono_ms() - t0);
done:
    if (c->st.redis.paused)
        ht_redis_resume(&c->st.redis);
    HT_CHECK_END();
}

int main(void) {
    struct ctx c;
    long long ts0 = 0;
    int rc, i;

    ht_init();
    memset(&c, 0, sizeof(c));
    ht_stack_init(&c.st);
    for (i = 0; i < NWORKERS; i++)
        c.w[i].pid = -1;
    c.req_ms = ht_budget_ms(5000);
    if (check_setup(&c)) {
        check_many_pages(&c);
        check_null_page_id(&c);
        check_few_partitions(&c);
        if (check_handback_order(&c, &ts0))
            check_handback_replies(&c);
        check_ingest_drain_hung(&c);
        check_stalled_dropped(&c);
    }
    rc = ht_summary();
    for (i = 0; i < NWORKERS; i++)
        ht_proc_cleanup(&c.w[i]);
    ht_stack_cleanup(&c.st);
    if (c.pages_path[0] != '\0')
        unlink(c.pages_path);
    return rc;
}
