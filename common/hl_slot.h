/* hl_slot.h - Redis Cluster key slots and the slot map, as pure functions.
 *
 * hl_slot_of() is the Redis Cluster spec's HASH_SLOT: CRC16 (XMODEM) of
 * the key, or of its hash tag (the bytes between the first '{' and the
 * first '}' after it, when there are any), mod 16384. A slot map says,
 * for each of the 16384 slots, which node of a small node table
 * ("host:port" strings) is its primary, and which nodes replicate that
 * primary. It is built from a CLUSTER SLOTS reply that the caller already
 * holds as a hiredis redisReply tree.
 *
 * Deliberately not here: any I/O (no sockets, no hiredis context), the
 * routing of commands, MOVED/ASK handling, map refresh policy and the
 * parsing of redis-cluster:// URLs. Those belong to the layer that owns
 * the connections and calls into this file. */
#ifndef HL_SLOT_H
#define HL_SLOT_H

#include <hiredis/hiredis.h>
#include "hl.h"

#define HL_SLOT_COUNT 16384     /* slots of a Redis Cluster */
#define HL_SLOT_HOST_MAX 256    /* a host name or address, with NUL */
#define HL_SLOT_ADDR_MAX 264    /* "host:port", with NUL */
#define HL_SLOT_ID_MAX 41       /* a 40-hex node id, with NUL */
#define HL_SLOT_NODES_MAX 1024  /* nodes in one map (Redis advises fewer
                                 * than 1000 in one cluster) */

/* One node named by a CLUSTER SLOTS reply. */
struct hl_slot_node {
    char host[HL_SLOT_HOST_MAX];  /* as reported (or the fallback host) */
    int port;                     /* 1..65535 */
    char addr[HL_SLOT_ADDR_MAX];  /* "host:port": the node's identity */
    char id[HL_SLOT_ID_MAX];      /* node id, "" when not reported */
    int primary;                  /* index of the primary it replicates,
                                   * -1 for a primary */
};

/* The slot map; opaque. Caller owns; free with hl_slot_map_free(). */
struct hl_slot_map;

/* CRC16-XMODEM (poly 0x1021, init 0) of `len` bytes at `p`, as Redis's
 * crc16.c: crc16("123456789") == 0x31C3. */
unsigned hl_slot_crc16(const char *p, size_t len);

/* The cluster slot (0..16383) of the `len`-byte key at `key` (binary
 * safe). A key whose first '{' has no '}' after it, or whose first
 * "{...}" is empty, hashes whole. */
unsigned hl_slot_of(const char *key, size_t len);

/* Builds a slot map from the CLUSTER SLOTS reply `reply` (borrowed; not
 * kept). Each entry is [start, end, primary, replica...] and each node is
 * [host, port, id?, ...] (fields past the id, such as Redis 7's metadata,
 * are ignored). A NIL or empty host means "the host you asked" and is
 * replaced by `fallback_host` (borrowed; may be NULL, then such a reply is
 * malformed). Slots no entry names stay unassigned.
 * Returns HL_OK and sets *out (caller owns; free with hl_slot_map_free());
 * HL_EINVAL for a malformed reply (not an array, a range out of
 * 0..16383 or reversed, a slot named twice, a node without host or port,
 * a port out of range, "?" as host (unknown endpoint), a node that is
 * primary in one entry and replica in another); HL_ETOOBIG for more than
 * HL_SLOT_NODES_MAX nodes or a host too long; HL_ENOMEM. On failure *out
 * is NULL and `err` says what and where (entry and node index). */
int hl_slot_map_build(const redisReply *reply, const char *fallback_host,
                      struct hl_slot_map **out, char err[HL_ERR_LEN]);

/* Frees the map; NULL is a no-op. */
void hl_slot_map_free(struct hl_slot_map *m);

/* The node table index of the primary serving `slot` in *node. HL_OK,
 * HL_ENOTFOUND (no entry named the slot), HL_EINVAL (slot >= 16384). */
int hl_slot_map_lookup(const struct hl_slot_map *m, unsigned slot,
                       int *node);

/* hl_slot_map_lookup(hl_slot_of(key, len)). */
int hl_slot_map_lookup_key(const struct hl_slot_map *m, const char *key,
                           size_t len, int *node);

/* The `k`-th (from 0) replica of the primary serving `slot`, in *node, in
 * node table order. HL_OK, HL_ENOTFOUND (slot unassigned or fewer than
 * k+1 replicas), HL_EINVAL (slot >= 16384). */
int hl_slot_map_replica(const struct hl_slot_map *m, unsigned slot,
                        int k, int *node);

/* Number of nodes in the table (primaries and replicas). */
int hl_slot_map_node_count(const struct hl_slot_map *m);

/* Node `idx` (0 .. node_count-1) or NULL when out of range. Borrowed;
 * valid until hl_slot_map_free(m). */
const struct hl_slot_node *hl_slot_map_node(const struct hl_slot_map *m,
                                            int idx);

/* Number of slots that have a primary (16384 on a healthy cluster). */
int hl_slot_map_assigned(const struct hl_slot_map *m);

#endif
