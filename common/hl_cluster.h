/* hl_cluster.h - commands routed over a Redis Cluster by key slot, on top
 * of one hl_redis connection per node (see hl_redis.h for the hiredis
 * rules relied on: a reply is valid only during its callback, pending
 * callbacks get NULL on a connection error).
 *
 * From seed nodes ("host:port,host:port") it asks any reachable node for
 * CLUSTER SLOTS, builds an hl_slot_map and sends each command to the
 * primary serving its key's slot. A reply is judged by
 * hl_cluster_judge() and the next step chosen by hl_cluster_next()
 * (hl_cluster_proto.h):
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
#include "hl_cluster_proto.h"
#include "hl_lua.h"
#include "hl_slot.h"

#define HL_CLUSTER_REFRESH_MIN_MS 100   /* between two CLUSTER SLOTS */

struct hl_cluster;

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
