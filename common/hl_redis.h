/* hl_redis.h - one asynchronous Redis connection on a libevent base:
 * connect (TCP or unix socket), AUTH/SELECT, load the Lua scripts, run
 * commands and scripts (EVALSHA, reloading on NOSCRIPT), notice a stalled
 * server (a PING that does not come back), and reconnect with backoff
 * forever until stopped.
 *
 * hiredis 0.14.1 rules this module relies on (see its README):
 *  - a redisReply is valid only during its callback: copy what you keep;
 *  - every pending callback gets NULL when the connection fails or is
 *    freed, so callers' callbacks must accept reply == NULL;
 *  - the async context is freed by hiredis right after the connect-failure
 *    or disconnect callback, so our pointer is cleared inside them;
 *  - there are no command timeouts: callers arm their own deadlines. */
#ifndef HL_REDIS_H
#define HL_REDIS_H

#include <hiredis/hiredis.h>
#include <event2/event.h>
#include "hl.h"
#include "hl_cfg.h"
#include "hl_lua.h"

#define HL_REDIS_MAX_ARGS 16

struct hl_redis;

/* Reply callback: `reply` is NULL on a connection error (borrowed; valid
 * only during the call). A REDIS_REPLY_ERROR reply is passed through. */
typedef void hl_redis_cb(struct hl_redis *r, redisReply *reply, void *arg);

/* Called when the connection becomes usable (up=1) or stops being (0). */
typedef void hl_redis_state_cb(struct hl_redis *r, int up, void *arg);

/* Creates an idle connection object. `addr` is borrowed and must outlive
 * it. Caller owns; free with hl_redis_free(). NULL on ENOMEM. */
struct hl_redis *hl_redis_new(struct event_base *base,
                              const struct hl_redis_addr *addr);

/* Sets the state callback (optional; call before hl_redis_start). */
void hl_redis_set_state_cb(struct hl_redis *r, hl_redis_state_cb *cb,
                           void *arg);

/* Starts connecting; on any failure it retries with backoff by itself.
 * Returns HL_OK or HL_ENOMEM. */
int hl_redis_start(struct hl_redis *r);

/* 1 when connected, authenticated, scripts loaded and not stalled. */
int hl_redis_ready(const struct hl_redis *r);

/* 1 when not ready because something failed: a connect or the connection
 * failed since it was last ready, or the server stalled. 0 while ready
 * and while a first connect is still under way. */
int hl_redis_failing(const struct hl_redis *r);

/* Sends a command. argv/lens are copied before return. Returns HL_OK (cb
 * will fire exactly once), or HL_EAGAIN when not ready / HL_ENOMEM (cb
 * will not fire). */
int hl_redis_command(struct hl_redis *r, hl_redis_cb *cb, void *arg,
                     int argc, const char **argv, const size_t *lens);

/* Runs a script by EVALSHA with `nkeys` keys followed by the other args
 * (argc in all). On NOSCRIPT it resends once as EVAL (which also loads the
 * script). Every argument is copied before return.
 * Returns like hl_redis_command(). */
int hl_redis_script(struct hl_redis *r, enum hl_script script, int nkeys,
                    int argc, const char **argv, const size_t *lens,
                    hl_redis_cb *cb, void *arg);

/* Stops reconnecting and closes the connection: pending callbacks fire
 * with NULL. Then frees everything. NULL is a no-op. */
void hl_redis_free(struct hl_redis *r);

#endif
