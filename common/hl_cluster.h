/* hl_cluster.h - commands routed over a Redis Cluster by key slot, on top
 * of one hl_redis connection per node (see hl_redis.h for the hiredis
 * rules relied on: a reply is valid only during its callback, pending
 * callbacks get NULL on a connection error).
 *
 * From seed nodes ("host:port,host:port") it asks any reachable node for
 * CLUSTER SLOTS, builds an hl_slot_map and sends each command to the
 * primary serving its key's slot. A reply is judged by
 * hl_cluster_judge() and the next step chosen by hl_cluster_next():
 *  - -MOVED slot host:port: the map is refreshed (at most one CLUSTER
 *    SLOTS in flight) and the command resent at once to the named node;
 *  - -ASK slot host:port: ASKING then the command on the named node, once
 *    per ASK reply;
 *  - -TRYAGAIN, -CLUSTERDOWN, no connection yet or a lost one (NULL
 *    reply): resent after a short backoff (a lost connection also
 *    refreshes the map), while the request's deadline allows;
 *  - but a request the map sends to a primary whose connection is
 *    failing (hl_redis_failing(): down since a failed connect or a lost
 *    connection, or stalled) is called back with NULL at once, as one
 *    Redis that is down answers at once: ingest answers 503 fast, and
 *    the caller's retry finds the promoted replica once the map has it;
 *  - anything else (including other error replies) is the final reply.
 *
 * Nodes that are neither seeds nor primaries of the current map (they
 * left the cluster or became replicas) are closed by a timer every few
 * seconds once no request uses them.
 *
 * Deliberately not here: redis-cluster:// URL parsing (hl_cfg), reading
 * from replicas and multi-key commands across slots (the caller routes
 * by one key; hookline keeps a partition's keys under one hash tag).
 * hl_store.h puts this behind the same interface as one server.
 *
 * Each request has a deadline timer: at the deadline a request waiting
 * to be resent is called back with NULL and freed; one in flight is
 * called back with NULL at once and its late reply, when the node (or
 * hl_redis's NULL on connection loss) delivers it, is dropped. */
#ifndef HL_CLUSTER_H
#define HL_CLUSTER_H

#include <hiredis/hiredis.h>
#include <event2/event.h>
#include "hl.h"
#include "hl_lua.h"
#include "hl_slot.h"

#define HL_CLUSTER_SEEDS_MAX 16
#define HL_CLUSTER_RETRY_BASE_MS 20     /* backoff before resending */
#define HL_CLUSTER_RETRY_CAP_MS 200
#define HL_CLUSTER_REFRESH_MIN_MS 100   /* between two CLUSTER SLOTS */

struct hl_cluster;

/* What a reply means for the router. */
enum hl_cluster_verdict {
    HL_CLUSTER_FINAL = 0,   /* hand it to the caller */
    HL_CLUSTER_MOVED,       /* -MOVED slot host:port */
    HL_CLUSTER_ASK,         /* -ASK slot host:port */
    HL_CLUSTER_BUSY,        /* -TRYAGAIN or -CLUSTERDOWN */
    HL_CLUSTER_LOST         /* NULL: no connection or it failed */
};

/* A parsed MOVED or ASK redirect. */
struct hl_cluster_redirect {
    unsigned slot;                  /* 0..16383 */
    char host[HL_SLOT_HOST_MAX];
    int port;                       /* 1..65535 */
    char addr[HL_SLOT_ADDR_MAX];    /* "host:port" */
};

/* What the router does next with a request. */
enum hl_cluster_step {
    HL_CLUSTER_DELIVER = 0, /* call back with the reply */
    HL_CLUSTER_RESEND_NOW,  /* to the redirect's node, at once */
    HL_CLUSTER_RESEND_LATER,/* after *delay_ms, routed by the map */
    HL_CLUSTER_GIVE_UP      /* call back with NULL (deadline, loop) */
};

/* Parses the error text `s` (`len` bytes, without the leading '-') of a
 * "MOVED 3999 127.0.0.1:6381" or "ASK ..." reply into *out. The host is
 * everything before the last ':' (an IPv6 address keeps its colons); an
 * empty host means "the node that answered" and is replaced by
 * `fallback_host` (borrowed; may be NULL, then it is HL_EINVAL).
 * Returns HL_OK, or HL_EINVAL for any other shape (slot not a number
 * below 16384, port not 1..65535, missing fields, trailing bytes),
 * HL_ETOOBIG for a host that does not fit. */
int hl_cluster_parse_redirect(const char *s, size_t len,
                              const char *fallback_host,
                              struct hl_cluster_redirect *out);

/* Judges `reply` (borrowed; NULL allowed). For MOVED and ASK it fills
 * *redir (may not be NULL); a MOVED or ASK that does not parse is
 * HL_CLUSTER_FINAL (the caller sees the error as is). */
enum hl_cluster_verdict hl_cluster_judge(const redisReply *reply,
                                         const char *fallback_host,
                                         struct hl_cluster_redirect *redir);

/* Decides the next step for a request judged `v` after `redirects`
 * earlier MOVED/ASK replies and `retries` earlier backoffs, at monotonic
 * `now_ms` with deadline `deadline_ms`. A redirect is followed at once
 * unless there have been HL_CLUSTER_REDIRECTS_MAX of them (a loop: give
 * up); BUSY and LOST wait hl_time_backoff_ms(retries + 1, base, cap,
 * `jitter`) in *delay_ms, cut to the time left, and give up when none is
 * left. Pure. */
#define HL_CLUSTER_REDIRECTS_MAX 16
enum hl_cluster_step hl_cluster_next(enum hl_cluster_verdict v,
                                     int redirects, int retries,
                                     long long now_ms, long long deadline_ms,
                                     uint32_t jitter, long long *delay_ms);

/* Parses "host:port[,host:port...]" into `hosts`/`ports` (at most
 * HL_CLUSTER_SEEDS_MAX). HL_OK with *n set, HL_EINVAL (empty, bad port,
 * empty host), HL_ETOOBIG (too many, host too long); `err` says which. */
int hl_cluster_parse_seeds(const char *seeds,
                           char hosts[][HL_SLOT_HOST_MAX], int *ports,
                           int *n, char err[HL_ERR_LEN]);

/* Reply callback: `reply` is the final reply (borrowed; valid only during
 * the call), or NULL when the deadline passed, the redirects looped, or
 * the router is being freed. Fires exactly once per accepted request. It
 * may send new requests but must not free the router (STYLE rule 9: free
 * it after the callback's frame has unwound). */
typedef void hl_cluster_cb(struct hl_cluster *cl, redisReply *reply,
                           void *arg);

/* Creates a router over the seeds (see hl_cluster_parse_seeds()) and
 * starts connecting to them. `password` (borrowed; copied; may be NULL or
 * empty) is sent as AUTH to every node. Caller owns; free with
 * hl_cluster_free(). NULL with `err` set on a bad seed list or ENOMEM. */
struct hl_cluster *hl_cluster_new(struct event_base *base,
                                  const char *seeds,
                                  const char *password, size_t pwlen,
                                  char err[HL_ERR_LEN]);

/* 1 once a slot map covering all 16384 slots is known. */
int hl_cluster_ready(const struct hl_cluster *cl);

/* Number of CLUSTER SLOTS replies turned into maps so far (for tests and
 * metrics). */
long hl_cluster_refreshes(const struct hl_cluster *cl);

/* Number of node connections held now (seeds, primaries, redirect
 * targets not yet swept). */
int hl_cluster_nodes(const struct hl_cluster *cl);

/* Called when hl_cluster_ready() turns 1 or 0, and with up=1 again when
 * a primary's connection becomes ready while the cluster stays ready and
 * it is not one of the first connects (a node reconnected, or a primary
 * created after the cluster was ready, e.g. a promoted replica, was first
 * reached). Must not free the router. */
typedef void hl_cluster_state_cb(struct hl_cluster *cl, int up, void *arg);
void hl_cluster_set_state_cb(struct hl_cluster *cl, hl_cluster_state_cb *cb,
                             void *arg);

/* Index in the current map of the primary serving `key`'s slot (two keys
 * with the same index go over the same connection), or -1 when no map
 * covers it. */
int hl_cluster_node_of(const struct hl_cluster *cl, const char *key,
                       size_t keylen);

/* Sends the command argv/lens (argc <= HL_REDIS_MAX_ARGS; copied before
 * return) to the primary serving the slot of `key` (`keylen` bytes;
 * borrowed, copied), following redirects and retrying until `timeout_ms`
 * from now. A command sent before the map is known waits for it.
 * Returns HL_OK (cb fires exactly once, never before this returns),
 * HL_EINVAL or HL_ENOMEM (cb never fires). */
int hl_cluster_command(struct hl_cluster *cl, const char *key,
                       size_t keylen, long long timeout_ms,
                       hl_cluster_cb *cb, void *arg, int argc,
                       const char **argv, const size_t *lens);

/* Runs `script` (EVALSHA, EVAL on NOSCRIPT, as hl_redis_script()) with
 * `nkeys` keys then the other arguments, routed by the slot of argv[0]
 * (nkeys >= 1). Returns like hl_cluster_command(). */
int hl_cluster_script(struct hl_cluster *cl, enum hl_script script,
                      int nkeys, long long timeout_ms, hl_cluster_cb *cb,
                      void *arg, int argc, const char **argv,
                      const size_t *lens);

/* Closes every connection; every pending request's callback fires with
 * NULL (during this call), then everything is freed. NULL is a no-op. */
void hl_cluster_free(struct hl_cluster *cl);

#endif
