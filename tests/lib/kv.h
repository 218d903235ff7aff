/* kv.h - a small blocking Redis client for test harnesses that must read
 * hookline's keyspace on whatever Redis the programs run on: one server,
 * a Sentinel-watched primary or a Redis Cluster (issue 7).
 *
 * Every command is routed by its key at argv[1]:
 *  - single: the one server;
 *  - sentinel: the primary the sentinels name (asked in turn with
 *    SENTINEL get-master-addr-by-name), asked again after a connection
 *    error or a -READONLY reply;
 *  - cluster: the primary serving the key's slot (hl_slot_of() over a
 *    CLUSTER SLOTS map read from any reachable node), one connection per
 *    node; -MOVED refreshes the map, -ASK is followed once with ASKING,
 *    -TRYAGAIN / -CLUSTERDOWN / -LOADING and connection errors refresh
 *    the map and retry.
 * Retries stop at a deadline per command (ht_kv_set_retry(); 3 s unless
 * set), so every call is bounded. A multi-key command must keep its keys
 * in one slot: a cross-slot MGET is the caller's to split (ht_kv_pipe()).
 *
 * Deliberately not here: async I/O, scripts, transactions, pub/sub, and
 * any write on behalf of hookline (tests read; the programs write). Not
 * thread-safe: one thread per client. */
#ifndef HT_KV_H
#define HT_KV_H

#include <stddef.h>
#include <hiredis/hiredis.h>
#include "hl.h"
#include "hl_slot.h"

#define HT_KV_NODES_MAX 16        /* connections one client keeps */
#define HT_KV_RETRY_MS 3000       /* default retry budget per command */

struct ht_kv;

/* A client for the server at host:port. `timeout_ms` bounds each connect
 * and each command's round trip. Caller owns; free with ht_kv_free().
 * NULL on a bad argument or ENOMEM (no connection is made yet). */
struct ht_kv *ht_kv_single(const char *host, int port, long timeout_ms);

/* A client for the cluster reachable through `seeds` ("host:port,..."),
 * copied. Same returns as ht_kv_single(). */
struct ht_kv *ht_kv_cluster(const char *seeds, long timeout_ms);

/* A client for the primary of `master` as named by the sentinels in
 * `sentinels` ("host:port,..."); both copied. Same returns. */
struct ht_kv *ht_kv_sentinel(const char *sentinels, const char *master,
                             long timeout_ms);

/* Sets how long one command may keep retrying (ms, >= 0). */
void ht_kv_set_retry(struct ht_kv *kv, long retry_ms);

/* Sends argv (argc >= 2, key at argv[1]) to the node serving the key (see
 * the file comment). Returns the reply (caller owns; free with
 * freeReplyObject(); it may be an error reply other than the redirects
 * and retries above), or NULL when no node answered before the retry
 * deadline. */
redisReply *ht_kv_command(struct ht_kv *kv, int argc, const char **argv);

/* `cmd key` for each of keys[0..n), pipelined per node. HL_OK with every
 * out[i] set (caller owns each; free with freeReplyObject()), or HL_EIO
 * (a key went unanswered within the retry deadline) or HL_ENOMEM with
 * every out[i] NULL. Replies that are redirects are sent again one by
 * one with ht_kv_command(). */
int ht_kv_pipe(struct ht_kv *kv, const char *cmd, const char *const *keys,
               size_t n, redisReply **out);

/* LLEN of `key`, or -1 on an error or no answer. */
long long ht_kv_llen(struct ht_kv *kv, const char *key);

/* Cluster: reads the slot map again (from the nodes of the current map,
 * then the seeds). HL_OK, HL_EIO (no node answered with a map), HL_EINVAL
 * (not a cluster client). */
int ht_kv_refresh(struct ht_kv *kv);

/* Cluster: the map last read (ht_kv_refresh() first when NULL).
 * Borrowed; valid until the next call on `kv`. NULL when none. */
const struct hl_slot_map *ht_kv_map(struct ht_kv *kv);

/* Sentinel: asks the sentinels for the primary now and sets *port
 * (and host into `host`, `hostsz` bytes). HL_OK, HL_EIO (none named
 * one), HL_ETOOBIG, HL_EINVAL (not a sentinel client). */
int ht_kv_primary(struct ht_kv *kv, char *host, size_t hostsz, int *port);

/* Redirects followed so far (-MOVED and -ASK), for reports. */
long long ht_kv_redirects(const struct ht_kv *kv);

/* Closes every connection and frees the client. NULL is a no-op. */
void ht_kv_free(struct ht_kv *kv);

#endif
