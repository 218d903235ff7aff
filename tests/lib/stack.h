/* stack.h - the hookline stack the worker integration tests run against:
 * a redis-server of our own (redis_fixture.h), bin/hookline-fakegraph
 * standing in for the Send API, bin/hookline-ingest and any number of
 * bin/hookline-worker processes (proc.h), each started with PORT=0 (or
 * HOOKLINE_METRICS_PORT=0) on 127.0.0.1 and its announced port read from
 * its log (STYLE rule 24).
 *
 * This file only starts and stops processes with the environment every
 * such test gives them; what is tested (rules, leases, drains) stays in
 * the tests, which add their own variables. Workers belong to the test
 * (their number and names differ); struct ht_stack holds the rest and a
 * Redis connection for assertions. Every wait is bounded; only PIDs we
 * forked are signalled (see proc.h and redis_fixture.h). */
#ifndef HT_STACK_H
#define HT_STACK_H

#include <stddef.h>
#include <hiredis/hiredis.h>
#include "hl.h"
#include "proc.h"
#include "redis_fixture.h"

#define HT_STACK_DB_TIMEOUT_MS 2000   /* connect and per-command timeout */

struct ht_stack {
    struct ht_redis redis;
    struct ht_proc fg;                /* fake Graph */
    struct ht_proc ingest;
    redisContext *db;                 /* owned; NULL until ht_stack_db() */
    const char *redis_url;            /* borrowed: REDIS_URL for ingest and
                                       * workers instead of s->redis.url
                                       * (a cluster's or sentinels'), or
                                       * NULL */
};

/* Zeroes `s` and marks every process as not running, so ht_stack_cleanup()
 * is safe whatever was started. */
void ht_stack_init(struct ht_stack *s);

/* A connection to s->redis for assertions: the cached one while it has no
 * error, else a new one (HT_STACK_DB_TIMEOUT_MS) replacing it. Borrowed
 * (owned by `s`); NULL when Redis cannot be reached. */
redisContext *ht_stack_db(struct ht_stack *s);

/* Starts bin/hookline-fakegraph into s->fg, checking bearer `token`, and
 * waits for its port (ht_proc_start_server()). HL_OK, or an error with
 * `err` set. Borrows `token`. */
int ht_stack_start_fakegraph(struct ht_stack *s, const char *token,
                             char err[HL_ERR_LEN]);

/* Starts bin/hookline-ingest into `p` (s->ingest, or a test's own extra
 * ingest) against s->redis with HOOKLINE_PREFIX=`prefix`,
 * MESSENGER_VERIFY_TOKEN=`verify` and MESSENGER_APP_SECRET=`secret`, plus
 * `extra` ("NAME=value", NULL-terminated, may be NULL, at most 8), and
 * waits for its port. HL_OK, HL_ETOOBIG (a value or `extra` too long), or
 * a start error; `err` says why. Borrows everything. Release `p` with
 * ht_proc_cleanup() (ht_stack_cleanup() does for s->ingest). */
int ht_stack_start_ingest(struct ht_stack *s, struct ht_proc *p,
                          const char *prefix, const char *verify,
                          const char *secret, const char *const *extra,
                          char err[HL_ERR_LEN]);

/* Starts bin/hookline-worker into `w` against s->redis and s->fg with
 * MESSENGER_APP_SECRET=`secret`, HOOKLINE_METRICS_PORT=0,
 * HOOKLINE_LISTEN=127.0.0.1 and HOOKLINE_LEASE_MS=1500, plus `extra`
 * (NULL-terminated, may be NULL, at most 12: prefix, tokens, rules...),
 * and waits for its metrics port. Same returns and ownership as
 * ht_stack_start_ingest(); the caller releases `w` with ht_proc_cleanup(). */
int ht_stack_start_worker(struct ht_stack *s, struct ht_proc *w,
                          const char *secret, const char *const *extra,
                          char err[HL_ERR_LEN]);

/* Reads the "worker" field of the worker's "msg":"started" log line into
 * `out`, polling every 100 ms for at most `ms` (the caller scales it with
 * ht_budget_ms() if it wants). HL_OK; HL_EIO when the worker exited first,
 * HL_ETIMEDOUT when no such line came, HL_EINVAL when it has no id (the
 * log tail goes to stderr on these three); `err` says why. */
int ht_stack_worker_id(struct ht_proc *w, long ms, char *out, size_t sz,
                       char err[HL_ERR_LEN]);

/* Frees the connection, stops ingest and the fake Graph (SIGKILL, see
 * ht_proc_cleanup()) and the redis-server, and removes its directory.
 * Workers are the test's to clean up first. Idempotent; safe after
 * ht_stack_init() whatever failed. */
void ht_stack_cleanup(struct ht_stack *s);

#endif
