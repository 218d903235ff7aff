/* ctl.h - hookctl's context and the pieces its subcommands share: the
 * blocking Redis connection, the HTTP client (libcurl easy) and output
 * (human text by default, one JSON document with --json).
 *
 * hookctl is a short-lived CLI, so it talks to Redis with hiredis's
 * blocking API and every call has a timeout; there is no event loop.
 * Every subcommand returns the process exit code: 0 ok, 1 runtime
 * failure, 2 usage or configuration error (DESIGN.md "Programs"). Errors
 * go to stderr as one "hookctl <cmd>: ..." line; results go to stdout. No
 * secret is ever printed: tokens travel in headers, never in a URL we
 * print, and doctor says whether a secret is shaped right, not what it
 * is. */
#ifndef CTL_H
#define CTL_H
#include <stdio.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include "hl.h"
#include "hl_cfg.h"
#include "hl_dlq.h"
#include "hl_pages.h"
#include "hl_slot.h"

#define CTL_EXIT_OK 0
#define CTL_EXIT_FAIL 1
#define CTL_EXIT_USAGE 2

#define CTL_REDIS_TIMEOUT_MS 5000   /* connect and every command */
#define CTL_HTTP_TIMEOUT_MS 10000   /* whole HTTP request */

struct ctl {
    const struct hl_cfg *cfg;       /* borrowed */
    const char *cmd;                /* subcommand name, for messages */
    int json;                       /* --json given */
    redisContext *db;               /* owned; NULL until ctl_redis_open();
                                     * stays NULL for redis-cluster:// */
    struct ctl_cluster *cl;         /* owned; redis-cluster:// only, NULL
                                     * until ctl_redis_open() */
    struct hl_page *pages;          /* owned; NULL until ctl_pages() */
    size_t npages;
};

/* One subcommand: argv[0] is its name; options follow. */
typedef int ctl_cmd_fn(struct ctl *c, int argc, char **argv);

ctl_cmd_fn ctl_cmd_stats;
ctl_cmd_fn ctl_cmd_dlq;
ctl_cmd_fn ctl_cmd_sign;
ctl_cmd_fn ctl_cmd_send_test;
ctl_cmd_fn ctl_cmd_subscribe;
ctl_cmd_fn ctl_cmd_doctor;

/* main.c: prints "hookctl <cmd>: <message>" to stderr. */
void ctl_errorf(const struct ctl *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* main.c: prints the usage of subcommand `cmd` to `out`. */
void ctl_usage(const char *cmd, FILE *out);

/* main.c: a usage error: the message, then the subcommand's usage, on
 * stderr. Returns CTL_EXIT_USAGE. */
int ctl_usage_error(const struct ctl *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* main.c: 1 when argv has --help/-h (the caller prints its usage). */
int ctl_wants_help(int argc, char **argv);

/* main.c: the configured pages (hl_pages_load()), loaded once and cached
 * in `c`. Returns HL_OK, or an error with `err` set. */
int ctl_pages(struct ctl *c, char err[HL_ERR_LEN]);

/* main.c: writes `o` to stdout as pretty JSON plus a newline, then drops
 * the caller's reference (`o` is consumed; NULL prints nothing and
 * returns HL_ENOMEM). Returns HL_OK or HL_EIO. */
int ctl_print_json(json_object *o);

/* main.c: writes a duration in ms as "850ms", "4.2s", "3m12s", "2h05m"
 * or "3d04h" into out (at least 16 bytes); "-" when ms < 0. */
void ctl_fmt_age(long long ms, char *out, size_t sz);

/* ---- redis.c: the blocking connection ------------------------------- */

/* REDIS_URL may name one server (redis://, unix://), a Redis Cluster
 * (redis-cluster://seeds: cluster.c routes each command by its key) or a
 * Sentinel master (redis-sentinel://sentinels/MASTER: the sentinels are
 * asked for the primary once, at open). The calls below behave the same
 * for all three. */

#define CTL_REDIS_WHERE_MAX (HL_REDIS_SEEDS_MAX + HL_REDIS_MASTER_MAX + 40)

/* Where Redis is, for messages (never the password), into `out`
 * (CTL_REDIS_WHERE_MAX bytes hold any): "host:port" or the socket path;
 * the seed list for a cluster; "MASTER via sentinels SEEDS" for a
 * sentinel master. */
void ctl_redis_where(const struct hl_redis_addr *a, char *out, size_t sz);

/* Connects to REDIS_URL (AUTH and SELECT as configured), unless already
 * connected. Returns HL_OK, or HL_EIO with `err` saying why (never the
 * password). The connection is c->db (one server, or the sentinels'
 * primary) or c->cl (a cluster), freed by ctl_redis_close(). */
int ctl_redis_open(struct ctl *c, char err[HL_ERR_LEN]);

/* One blocking connection to host:port (or to `unix_path` when it is
 * not NULL or empty) with CTL_REDIS_TIMEOUT_MS on the connect and every
 * command, then AUTH with `password` (borrowed; may be NULL or empty) and
 * SELECT `db` when not 0. Caller owns; free with redisFree(). NULL with
 * `err` set (never the password). */
redisContext *ctl_redis_connect(const char *host, int port,
                                const char *unix_path,
                                const struct hl_secret *password, int db,
                                char err[HL_ERR_LEN]);

/* 1 once ctl_redis_open() succeeded (and ctl_redis_close() not called). */
int ctl_redis_connected(const struct ctl *c);

/* 1 when the last failure of ctl_redis_next() lost a connection: the
 * replies still queued behind it will not come (stop reading them). */
int ctl_redis_lost(const struct ctl *c);

/* Closes the connection(s); a no-op when not connected. */
void ctl_redis_close(struct ctl *c);

/* Runs one command (argc strings with lengths; lens NULL: strlen). On
 * HL_OK *reply is the reply (caller owns; freeReplyObject()), which is
 * never an error reply; an error reply or a connection failure is HL_EIO
 * with `err` set. On a cluster the command goes to the primary of the
 * slot of argv[1] (every hookctl command names its key there; EVAL and
 * EVALSHA: argv[3]); a keyless
 * command (MULTI, EXEC, PING, CONFIG, INFO...) goes to the node chosen by
 * ctl_redis_route(), or any primary. -MOVED refreshes the slot map and
 * retries once on the named node, -ASK sends ASKING and the command to
 * the named node, -TRYAGAIN and -CLUSTERDOWN are retried a few times
 * (bounded by CTL_REDIS_TIMEOUT_MS). */
int ctl_redis_cmd(struct ctl *c, redisReply **reply, int argc,
                  const char **argv, const size_t *lens,
                  char err[HL_ERR_LEN]);

/* Queues a command for a pipeline; ctl_redis_next() reads the replies in
 * order. Returns HL_OK, HL_ENOMEM or HL_ESTATE (not connected). On a
 * cluster each command goes to its key's node (as ctl_redis_cmd()); a
 * failure to reach that node is reported by its ctl_redis_next(). */
int ctl_redis_append(struct ctl *c, int argc, const char **argv,
                     const size_t *lens);

/* The next reply of the pipeline, as ctl_redis_cmd() returns one. On a
 * cluster a reply that is -MOVED, -ASK, -TRYAGAIN or -CLUSTERDOWN is
 * replaced by the reply of the same command run again through
 * ctl_redis_cmd()'s path (not for a command inside MULTI: there the error
 * is returned as is). */
int ctl_redis_next(struct ctl *c, redisReply **reply, char err[HL_ERR_LEN]);

/* Takes reply `r` (not NULL; always taken): an error reply is freed and
 * is HL_EIO with `err` "Redis: <its text>"; any other is HL_OK with *out
 * = r (caller owns; freeReplyObject()). */
int ctl_redis_reply(redisReply *r, redisReply **out, char err[HL_ERR_LEN]);

/* Sends the keyless commands that follow (MULTI, EXEC...) to the node
 * serving `key` (NUL-terminated; borrowed), until the next call; NULL
 * clears the route. A no-op (HL_OK) for one server or a sentinel master.
 * Call it before a MULTI whose commands name `key`. HL_OK, or HL_EIO /
 * HL_ESTATE with `err` set (no primary serves the key's slot, not
 * connected). */
int ctl_redis_route(struct ctl *c, const char *key, char err[HL_ERR_LEN]);

/* ---- cluster.c: a Redis Cluster behind the calls above ---------------- */

struct ctl_cluster;

/* What doctor says about a cluster. */
struct ctl_cluster_health {
    int primaries;                  /* primaries in the slot map */
    int reachable;                  /* of them, answering PING */
    int served;                     /* slots with a primary (of 16384) */
    int aof_off;                    /* primaries with appendonly no */
    int aof_unknown;                /* CONFIG GET refused or failed */
    char first_bad[HL_SLOT_ADDR_MAX];  /* first unreachable primary */
    char first_aof_off[HL_SLOT_ADDR_MAX];
};

/* Connects to the first reachable seed of `a` (borrowed; kept until
 * ctl_cluster_free()) and reads CLUSTER SLOTS. Caller owns; free with
 * ctl_cluster_free(). NULL with `err` set (never the password). */
struct ctl_cluster *ctl_cluster_new(const struct hl_redis_addr *a,
                                    char err[HL_ERR_LEN]);
void ctl_cluster_free(struct ctl_cluster *cl);

/* As ctl_redis_cmd() / _append() / _next() / _route() / _lost(). */
int ctl_cluster_cmd(struct ctl_cluster *cl, redisReply **reply, int argc,
                    const char **argv, const size_t *lens,
                    char err[HL_ERR_LEN]);
int ctl_cluster_append(struct ctl_cluster *cl, int argc, const char **argv,
                       const size_t *lens);
int ctl_cluster_next(struct ctl_cluster *cl, redisReply **reply,
                     char err[HL_ERR_LEN]);
int ctl_cluster_route(struct ctl_cluster *cl, const char *key,
                      char err[HL_ERR_LEN]);
int ctl_cluster_lost(const struct ctl_cluster *cl);

/* PINGs every primary of the slot map (and asks CONFIG GET appendonly)
 * and fills *h. HL_OK, or HL_EIO with `err` set when no map is known. */
int ctl_cluster_health(struct ctl_cluster *cl, struct ctl_cluster_health *h,
                       char err[HL_ERR_LEN]);

/* ---- workers.c: who is live, who owns which partition --------------- */

/* 1 when a worker whose heartbeat is `heartbeat_ms` (wall ms) is live at
 * `now`: the rule of hl_membership.h under HOOKLINE_LEASE_MS, as the
 * workers themselves apply it. */
int ctl_worker_live(const struct ctl *c, long long heartbeat_ms,
                    long long now);

/* The number of live workers at `now` (a ZCOUNT of <prefix>:workers) into
 * *live. HL_OK, or an error with `err` set. */
int ctl_workers_live(struct ctl *c, long long now, long long *live,
                     char err[HL_ERR_LEN]);

/* The lease owner (a worker id) of each partition 0..HOOKLINE_PARTITIONS-1
 * into owners[n], "" when the partition has no lease: one pipelined GET
 * per partition. `owners` has HOOKLINE_PARTITIONS slots (borrowed).
 * HL_OK, or the first error with `err` set (owners then partly filled). */
int ctl_lease_owners(struct ctl *c, char (*owners)[HL_ID_MAX],
                     char err[HL_ERR_LEN]);

/* The number of partitions without a lease (ctl_lease_owners()) into
 * *n. HL_OK, or an error with `err` set. */
int ctl_unowned(struct ctl *c, long long *n, char err[HL_ERR_LEN]);

/* ---- cmd_dlq.c: walking the dead-letter list ------------------------ */

#define CTL_DLQ_SCAN_STOP 1         /* a visitor's "seen enough" */

/* Called for each dead letter, newest first. `raw`/`len` are the stored
 * bytes (borrowed); `v` is NULL when they do not parse as a dead letter.
 * A visitor that removed the entry from the list adds 1 to *removed. It
 * returns HL_OK to go on, CTL_DLQ_SCAN_STOP to stop, or an error (err
 * set) that ends the walk. */
typedef int ctl_dlq_visit_fn(struct ctl *c, const char *raw, size_t len,
                             const struct hl_dlq_view *v, void *arg,
                             int *removed, char err[HL_ERR_LEN]);

/* The length of <prefix>:dlq into *n. HL_OK, or an error with `err`. */
int ctl_dlq_len(struct ctl *c, long long *n, char err[HL_ERR_LEN]);

/* Walks <prefix>:dlq in chunks (bounded memory) and calls `fn` for every
 * entry, newest first, or oldest first when `oldest_first` is set. Oldest
 * first visits exactly the entries there when it starts, once each,
 * whatever is pushed meanwhile (for walks that change the list); newest
 * first may see an entry pushed meanwhile twice. Another client removing
 * entries meanwhile can make either skip one. Returns HL_OK, or the error
 * of Redis or of `fn` with `err` set. */
int ctl_dlq_scan(struct ctl *c, int oldest_first, ctl_dlq_visit_fn *fn,
                 void *arg, char err[HL_ERR_LEN]);

/* ---- http.c: blocking requests with libcurl easy -------------------- */

#define CTL_HTTP_BODY_MAX (1024 * 1024)  /* longer answers: HL_ETOOBIG */

/* What kind of transport error ended a request (resp->fail). */
#define CTL_HTTP_F_NONE 0           /* an HTTP answer came */
#define CTL_HTTP_F_CONNECT 1        /* refused or unreachable */
#define CTL_HTTP_F_RESOLVE 2        /* host name not found */
#define CTL_HTTP_F_TIMEOUT 3
#define CTL_HTTP_F_TLS 4            /* handshake or certificate */
#define CTL_HTTP_F_OTHER 5

struct ctl_http_resp {
    long status;                    /* 0 on a transport error */
    char *body;                     /* owned; NUL-terminated; may be NULL */
    size_t body_len;
    int fail;                       /* CTL_HTTP_F_* */
    char err[HL_ERR_LEN];           /* transport error text, "" if none */
};

/* One request. `url` is never printed by this module (it may hold a
 * verify token); `bearer` (may be NULL) goes in an Authorization header;
 * `headers` are "Name: value" strings, NULL-terminated, may be NULL;
 * `body` NULL means no body. HTTPS certificates are always verified.
 * No redirect is followed. Returns HL_OK when an HTTP answer came (any
 * status), HL_EIO on a transport error or timeout and HL_ETOOBIG for an
 * answer over CTL_HTTP_BODY_MAX (resp->fail and resp->err set), HL_ENOMEM.
 * Release `resp` with ctl_http_resp_cleanup() in every case. */
int ctl_http_do(const char *method, const char *url, const char *bearer,
                const char *const *headers, const void *body, size_t len,
                long timeout_ms, struct ctl_http_resp *resp);
void ctl_http_resp_cleanup(struct ctl_http_resp *resp);

/* ---- cmd_sign.c: payloads and their signature ----------------------- */

#define CTL_PAYLOAD_MAX (64 * 1024 * 1024)  /* HOOKLINE_MAX_BODY's ceiling */

/* Reads the file at `path` ("-": standard input) whole, at most
 * CTL_PAYLOAD_MAX bytes. Returns HL_OK and sets *buf (caller owns;
 * free()) and *len, or HL_EIO / HL_ETOOBIG / HL_ENOMEM with `err` naming
 * the file. */
int ctl_payload_read(const char *path, char **buf, size_t *len,
                     char err[HL_ERR_LEN]);

/* Writes the X-Hub-Signature-256 value ("sha256=<hex>") of `body` under
 * the first MESSENGER_APP_SECRET into `out` (at least 72 bytes). Returns
 * HL_OK, HL_ESTATE when no app secret is configured, or HL_ERR. */
int ctl_payload_sign(const struct ctl *c, const void *body, size_t len,
                     char *out, size_t sz);

/* ---- cmd_send_test.c: a signed POST to ingest ----------------------- */

/* POSTs `body` (borrowed) as JSON, signed with ctl_payload_sign(), to
 * ingest's webhook (HOOKLINE_INGEST_URL, default http://127.0.0.1:$PORT,
 * plus HOOKLINE_WEBHOOK_PATH). Returns what ctl_http_do() returns, or
 * HL_ESTATE (no app secret) / HL_ETOOBIG (URL too long) with resp->err
 * set. Release `resp` with ctl_http_resp_cleanup() in every case. */
int ctl_ingest_post(const struct ctl *c, const void *body, size_t len,
                    long timeout_ms, struct ctl_http_resp *resp);

/* Writes sz - 1 random lower-case hex digits and a NUL into `out`
 * (OpenSSL RAND_bytes). Returns HL_OK or HL_ERR. */
int ctl_random_hex(char *out, size_t sz);

/* ---- cmd_subscribe.c: the Graph API --------------------------------- */

/* `method` {GRAPH_API_BASE}/{GRAPH_API_VERSION}/{node}[/{edge}][?query]
 * with `token` as a bearer (never in the URL); `form` (NULL: no body) is
 * sent form-encoded. `edge` and `query` may be NULL. Returns what
 * ctl_http_do() returns, or HL_EINVAL (a node that is not an id) /
 * HL_ETOOBIG with resp->err set. Borrows everything; release `resp`
 * with ctl_http_resp_cleanup() in every case. */
int ctl_graph_do(const struct ctl *c, const char *method, const char *node,
                 const char *edge, const char *query,
                 const struct hl_secret *token, const char *form,
                 struct ctl_http_resp *resp);

/* The app a page token was issued to (GET /app). */
struct ctl_app {
    char id[HL_ID_MAX];             /* "" when GET /app failed */
    char name[256];
    char why[512];                  /* then what it answered */
};

/* GET {GRAPH_API_BASE}/{GRAPH_API_VERSION}/app with `token` (borrowed)
 * as a bearer: fills `a` with the app's id and name, or a->id "" and
 * a->why saying what came instead (no answer, a Graph error, no id). */
void ctl_graph_app(const struct ctl *c, const struct hl_secret *token,
                   struct ctl_app *a);

/* Frees everything `c` holds. */
void ctl_cleanup(struct ctl *c);

#endif
