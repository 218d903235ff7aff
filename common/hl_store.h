/* hl_store.h - the Redis that ingest and worker talk to, whatever
 * REDIS_URL names (hl_cfg.h, enum hl_redis_kind):
 *  - SINGLE: one hl_redis connection;
 *  - SENTINEL: an hl_sentinel watcher and one hl_redis to the primary it
 *    names, replaced when the primary changes (the old one is freed from
 *    a timer, never inside its own callbacks);
 *  - CLUSTER: an hl_cluster router (one hl_redis per primary).
 * Callers never see which: every command is routed by its key.
 *
 * The one routing rule: every command sent with hl_store_command() has
 * its key at argv[1] (LPUSH, LRANGE, LREM, GET, MGET, HGET, ZADD, ...),
 * and a multi-key command's keys share one hash tag (hookline's keys of
 * one partition do, see hl_keys.h). Scripts route by their first key.
 * WAIT, which has no key, is hl_store_wait().
 *
 * Replies follow hl_redis.h: borrowed for the callback only; NULL when
 * the connection failed, the request's deadline passed (CLUSTER) or the
 * store is being freed. A -READONLY reply (a primary demoted under us)
 * is passed through and, with SENTINEL, makes the store ask the sentinels
 * at once. */
#ifndef HL_STORE_H
#define HL_STORE_H

#include <hiredis/hiredis.h>
#include <event2/event.h>
#include "hl.h"
#include "hl_cfg.h"
#include "hl_lua.h"

struct hl_store;

/* Reply callback (see the file comment). May send new requests; must
 * not free the store. */
typedef void hl_store_cb(struct hl_store *s, redisReply *reply, void *arg);

/* Called when hl_store_ready() turns 1 or 0, and with up=1 again when a
 * connection the store lost comes back while it stayed ready (CLUSTER: a
 * node reconnected or a replica took over), so callers re-read what they
 * may have missed. Must not free the store. */
typedef void hl_store_state_cb(struct hl_store *s, int up, void *arg);

/* Creates an idle store for `addr` (borrowed; must outlive it).
 * `timeout_ms` bounds each CLUSTER request (redirects and retries
 * included; SINGLE and SENTINEL rely on hl_redis's stall detection and
 * the caller's own deadlines). Caller owns; free with hl_store_free().
 * NULL with `err` set on a bad address or ENOMEM. */
struct hl_store *hl_store_new(struct event_base *base,
                              const struct hl_redis_addr *addr,
                              long long timeout_ms, char err[HL_ERR_LEN]);

/* Sets the state callback (optional; before hl_store_start()). */
void hl_store_set_state_cb(struct hl_store *s, hl_store_state_cb *cb,
                           void *arg);

/* Starts connecting (and reconnecting, forever). HL_OK or HL_ENOMEM. */
int hl_store_start(struct hl_store *s);

/* 1 when commands can be sent: SINGLE, SENTINEL: the primary's
 * connection is ready; CLUSTER: a slot map covering every slot is known. */
int hl_store_ready(const struct hl_store *s);

/* Sends argv/lens (argc >= 2, key at argv[1]; copied before return;
 * CLUSTER: argc <= HL_REDIS_MAX_ARGS).
 * HL_OK (cb fires exactly once, never before this returns), HL_EAGAIN
 * when not ready, HL_EINVAL, HL_ENOMEM (cb never fires). */
int hl_store_command(struct hl_store *s, hl_store_cb *cb, void *arg,
                     int argc, const char **argv, const size_t *lens);

/* Runs `script` (see hl_redis_script()) with `nkeys` >= 1 keys first.
 * Returns like hl_store_command(). */
int hl_store_script(struct hl_store *s, enum hl_script script, int nkeys,
                    int argc, const char **argv, const size_t *lens,
                    hl_store_cb *cb, void *arg);

/* WAIT `nreplicas` `timeout_ms` on every connection that carried writes
 * to `keys` (n of them, borrowed; one WAIT per distinct node). The
 * callback gets an integer reply holding the smallest count any node
 * confirmed, or NULL when one failed. Returns like hl_store_command(). */
int hl_store_wait(struct hl_store *s, const char *const *keys, size_t n,
                  long long nreplicas, long long timeout_ms,
                  hl_store_cb *cb, void *arg);

/* Closes everything; pending callbacks fire with NULL during this call.
 * NULL is a no-op. */
void hl_store_free(struct hl_store *s);

#endif
