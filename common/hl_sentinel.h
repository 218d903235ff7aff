/* hl_sentinel.h - finds and follows the primary of a Redis Sentinel
 * master name, on a libevent base, for hl_store's redis-sentinel://.
 *
 * It asks the sentinels (one at a time, in turn, until one answers)
 * SENTINEL get-master-addr-by-name MASTER, each question bounded by
 * HL_SENTINEL_TIMEOUT_MS (a nil answer, an error, a timeout or a lost
 * connection moves on to the next sentinel), and keeps one subscription
 * to +switch-master on a sentinel that answered, so a failover is seen
 * at once: a message naming our master calls back with its new address
 * right away, and the sentinel that sent it is then asked to confirm
 * (its answer wins). The poll every HL_SENTINEL_POLL_MS runs whether or
 * not the subscription is up; it is what finds the primary while no
 * subscription is (a sentinel restarted, a message lost; the
 * subscription is opened again after the next answer). Whenever an
 * answer or a message names a different address than the last one, the
 * address callback fires. hl_sentinel_recheck() asks at once (hl_store
 * calls it when the primary's connection is lost or a write gets
 * -READONLY); an answer that repeats the last address calls nothing.
 *
 * Sentinels get AUTH only with their own password
 * (hl_sentinel_set_password(), from HOOKLINE_SENTINEL_PASSWORD): the
 * password in REDIS_URL or HOOKLINE_REDIS_PASSWORD is the data nodes'.
 * hiredis rules as in
 * hl_redis.h: replies are borrowed for the callback only. */
#ifndef HL_SENTINEL_H
#define HL_SENTINEL_H

#include <hiredis/hiredis.h>
#include <event2/event.h>
#include "hl.h"
#include "hl_secret.h"
#include "hl_slot.h"

#define HL_SENTINEL_POLL_MS 1000      /* ask again this often */
#define HL_SENTINEL_TIMEOUT_MS 1000   /* a sentinel's connect or answer */

struct hl_sentinel;

/* The primary is now `host`:`port` (borrowed; valid during the call).
 * Fires on the first answer and on every change after it, never twice in
 * a row with the same address. May call hl_sentinel_recheck(); must not
 * free `s`. */
typedef void hl_sentinel_cb(struct hl_sentinel *s, const char *host,
                            int port, void *arg);

/* Parses the reply of SENTINEL get-master-addr-by-name (an array of two
 * strings: host, port) into host/port. HL_OK; HL_ENOTFOUND for a nil
 * reply (the sentinel does not know the name); HL_EINVAL for any other
 * shape. Pure. */
int hl_sentinel_parse_addr(const redisReply *reply,
                           char host[HL_SLOT_HOST_MAX], int *port);

/* Parses a +switch-master message ("MASTER oldip oldport newip newport")
 * for master `name`: HL_OK with the new address; HL_ENOTFOUND when the
 * message is about another master; HL_EINVAL when it does not parse.
 * Pure. */
int hl_sentinel_parse_switch(const char *msg, size_t len, const char *name,
                             char host[HL_SLOT_HOST_MAX], int *port);

/* Creates a watcher of master `master` over the sentinels `seeds`
 * ("host:port,...", see hl_cluster_parse_seeds()); both are copied.
 * Nothing is sent before hl_sentinel_start(). Caller owns; free with
 * hl_sentinel_free(). NULL with `err` set on a bad seed list or ENOMEM. */
struct hl_sentinel *hl_sentinel_new(struct event_base *base,
                                    const char *seeds, const char *master,
                                    hl_sentinel_cb *cb, void *arg,
                                    char err[HL_ERR_LEN]);

/* Sets the password sent with AUTH on every connection to a sentinel
 * (sentinels with `requirepass`); copied; NULL or empty: none. Call
 * before hl_sentinel_start(). HL_OK or HL_ENOMEM. */
int hl_sentinel_set_password(struct hl_sentinel *s,
                             const struct hl_secret *password);

/* Starts asking (a second call does nothing). HL_OK; HL_ENOMEM is
 * reserved: a connection that cannot be made now is retried like any
 * other failed question. */
int hl_sentinel_start(struct hl_sentinel *s);

/* Asks the sentinels now (no-op while a question is in flight). */
void hl_sentinel_recheck(struct hl_sentinel *s);

/* 1 when some sentinel has answered with an address (the last one is
 * kept while sentinels are unreachable). */
int hl_sentinel_known(const struct hl_sentinel *s);

/* 1 while the +switch-master subscription is confirmed. */
int hl_sentinel_subscribed(const struct hl_sentinel *s);

/* Closes every sentinel connection and frees everything. No callback
 * fires during or after this. NULL is a no-op. */
void hl_sentinel_free(struct hl_sentinel *s);

#endif
