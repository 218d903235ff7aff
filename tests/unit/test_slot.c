/* test_slot.c - unit tests of common/hl_slot.c: the Redis Cluster key slot
 * against the spec's known answers (CRC16 check value, "foo", "bar", the
 * hash tag rules), that every key of one hookline partition lands in one
 * slot, and the slot map built from CLUSTER SLOTS replies. The replies are
 * RESP bytes turned into redisReply trees by hiredis's own reader, the
 * same trees a live reply arrives as; malformed ones must fail with
 * HL_EINVAL (or HL_ETOOBIG) and an error text naming the problem. */
#include "../lib/hl_test.h"
#include "hl.h"
#include "hl_keys.h"
#include "hl_slot.h"

#include <stdio.h>
#include <string.h>
#include <hiredis/hiredis.h>

/* RESP for a node entry [host, port, id] and the common three-node
 * cluster: 0-5460 on :7000 (replica :7003), 5461-10922 on :7001 (replica
 * :7004), 10923-16383 on :7002 (replica :7005). */
#define NODE(h, p) "*3\r\n$" h "\r\n:" p "\r\n$6\r\nid" p "\r\n"
#define H9 "9\r\n127.0.0.1"
#define THREE \
    "*3\r\n" \
    "*4\r\n:0\r\n:5460\r\n" NODE(H9, "7000") NODE(H9, "7003") \
    "*4\r\n:5461\r\n:10922\r\n" NODE(H9, "7001") NODE(H9, "7004") \
    "*4\r\n:10923\r\n:16383\r\n" NODE(H9, "7002") NODE(H9, "7005")

/* Parses one RESP reply from `resp` with hiredis's reader. Returns it
 * (caller owns; free with freeReplyObject()) or NULL (check failed). */
static redisReply *parse_resp(const char *resp) {
    redisReader *r = redisReaderCreate();
    void *reply = NULL;

    if (r == NULL) {
        HT_FAIL("redisReaderCreate failed");
        return NULL;
    }
    if (redisReaderFeed(r, resp, strlen(resp)) != REDIS_OK ||
        redisReaderGetReply(r, &reply) != REDIS_OK || reply == NULL) {
        HT_FAIL("RESP not parsed: %s", r->errstr);
        reply = NULL;
    }
    redisReaderFree(r);
    return reply;
}

/* Builds a map from `resp`; returns the status, *m set on HL_OK (and
 * left to hl_slot_map_build() otherwise, so its NULL-on-failure shows). */
static int build(const char *resp, const char *fallback,
                 struct hl_slot_map **m, char err[HL_ERR_LEN]) {
    redisReply *rep = parse_resp(resp);
    int rc;

    if (rep == NULL) {
        *m = NULL;
        return HL_ERR;
    }
    rc = hl_slot_map_build(rep, fallback, m, err);
    freeReplyObject(rep);
    return rc;
}

/* Address of the primary of `slot`, or "(none)". */
static const char *primary_of(const struct hl_slot_map *m, unsigned slot) {
    int idx = -1;

    if (hl_slot_map_lookup(m, slot, &idx) != HL_OK)
        return "(none)";
    return hl_slot_map_node(m, idx)->addr;
}

static unsigned slot_str(const char *key) {
    return hl_slot_of(key, strlen(key));
}

/* ---- slots --------------------------------------------------------------- */

static void check_crc16(void) {
    HT_CHECK_BEGIN("CRC16-XMODEM check value: crc16(\"123456789\") = 0x31C3");
    HT_ASSERT_EQ_INT(hl_slot_crc16("123456789", 9), 0x31C3);
    HT_ASSERT_EQ_INT(hl_slot_crc16("", 0), 0);
    HT_ASSERT_EQ_INT(hl_slot_crc16("A", 1), 0x58E5);
    HT_CHECK_END();
}

static void check_known_slots(void) {
    HT_CHECK_BEGIN("spec answers: foo = 12182, bar = 5061, 123456789 = "
                   "0x31C3 mod 16384");
    HT_ASSERT_EQ_INT(slot_str("foo"), 12182);
    HT_ASSERT_EQ_INT(slot_str("bar"), 5061);
    HT_ASSERT_EQ_INT(slot_str("123456789"), 0x31C3 & 16383);
    HT_ASSERT_EQ_INT(slot_str(""), 0);
    HT_CHECK_END();
}

static void check_hash_tags(void) {
    HT_CHECK_BEGIN("hash tags: first non-empty {...} only, {} hashes whole");
    HT_ASSERT_EQ_INT(slot_str("{user1000}.following"),
                     slot_str("{user1000}.followers"));
    HT_ASSERT_EQ_INT(slot_str("{user1000}.following"), slot_str("user1000"));
    HT_ASSERT_NE_INT(slot_str("user1000.following"),
                     slot_str("user1000.followers"));
    HT_ASSERT_EQ_INT(slot_str("foo{}{bar}"),
                     hl_slot_crc16("foo{}{bar}", 10) & 16383);
    HT_ASSERT_NE_INT(slot_str("foo{}{bar}"), slot_str("bar"));
    HT_ASSERT_EQ_INT(slot_str("foo{{bar}}zap"), slot_str("{bar"));
    HT_ASSERT_EQ_INT(slot_str("foo{{bar}}zap"),
                     hl_slot_crc16("{bar", 4) & 16383);
    HT_ASSERT_EQ_INT(slot_str("foo{bar}{zap}"), slot_str("bar"));
    HT_ASSERT_EQ_INT(slot_str("foo{bar"), hl_slot_crc16("foo{bar", 7) &
                     16383);
    HT_ASSERT_EQ_INT(slot_str("foo}bar{"), hl_slot_crc16("foo}bar{", 8) &
                     16383);
    HT_ASSERT_EQ_INT(slot_str("}{x}"), slot_str("x"));
    HT_CHECK_END();
}

static void check_binary_keys(void) {
    HT_CHECK_BEGIN("keys are binary safe: a NUL is hashed, not an end");
    HT_ASSERT_NE_INT(hl_slot_of("a\0b", 3), hl_slot_of("a", 1));
    HT_ASSERT_EQ_INT(hl_slot_of("x{a\0b}y", 7), hl_slot_of("a\0b", 3));
    HT_ASSERT_EQ_INT(hl_slot_of("{ab}", 2), hl_slot_of("{a", 2));
    HT_CHECK_END();
}

/* Fails the check (once) when a key of partition `n` under `prefix`
 * is not in the slot of "{n}". */
static void partition_keys(const char *prefix, long n) {
    char k[HL_KEY_MAX];
    char tag[32];
    unsigned want;
    int rc[6];
    unsigned got[6];
    int i;

    snprintf(tag, sizeof(tag), "%ld", n);
    want = slot_str(tag);
    rc[0] = hl_keys_queue(prefix, n, k);
    got[0] = slot_str(k);
    rc[1] = hl_keys_inflight(prefix, n, k);
    got[1] = slot_str(k);
    rc[2] = hl_keys_lease(prefix, n, k);
    got[2] = slot_str(k);
    rc[3] = hl_keys_seen(prefix, n, "m:mid.{1}:x}", k);
    got[3] = slot_str(k);
    rc[4] = hl_keys_done(prefix, n, "p:{PM}", 3, k);
    got[4] = slot_str(k);
    rc[5] = hl_keys_conv(prefix, n, "111899832631525", "{1433}", k);
    got[5] = slot_str(k);
    for (i = 0; i < 6; i++) {
        if (rc[i] != HL_OK || got[i] != want) {
            HT_FAIL("prefix %s partition %ld key kind %d: rc %d slot %u, "
                    "want slot %u", prefix, n, i, rc[i], got[i], want);
            return;
        }
    }
}

static void check_partition_keys(void) {
    static const char *prefixes[] = { "hookline", "t42", "a:b", "x}y" };
    size_t p;
    long n;

    HT_CHECK_BEGIN("every key of a partition (q, inflight, lease, seen, "
                   "done, conv) is in the slot of {n}, n = 0..4095");
    for (p = 0; p < HL_ARRAY_LEN(prefixes) && !ht_check_failed(); p++) {
        for (n = 0; n < 4096 && !ht_check_failed(); n++)
            partition_keys(prefixes[p], n);
    }
    HT_CHECK_END();
}

static void check_partitions_spread(void) {
    static int seen[HL_SLOT_COUNT];
    int distinct = 0;
    long n;

    /* 4096 draws from 16384 slots by a random function give about
     * 16384 * (1 - e^-0.25) = 3625 distinct slots; CRC16 gives 3962 */
    HT_CHECK_BEGIN("4096 partitions spread over at least 3600 slots");
    memset(seen, 0, sizeof(seen));
    for (n = 0; n < 4096; n++) {
        char tag[32];
        unsigned s;

        snprintf(tag, sizeof(tag), "{%ld}", n);
        s = slot_str(tag);
        if (!seen[s])
            distinct++;
        seen[s] = 1;
    }
    HT_ASSERT_GE_INT(distinct, 3600);
    HT_CHECK_END();
}

/* ---- slot maps ----------------------------------------------------------- */

static void check_map_three(void) {
    char err[HL_ERR_LEN];
    struct hl_slot_map *m = NULL;
    int idx = -1;

    HT_CHECK_BEGIN("three primaries + three replicas: lookup and replicas");
    if (!HT_ASSERT_EQ_INT(build(THREE, NULL, &m, err), HL_OK))
        goto cleanup;
    HT_ASSERT_EQ_INT(hl_slot_map_assigned(m), HL_SLOT_COUNT);
    HT_ASSERT_EQ_INT(hl_slot_map_node_count(m), 6);
    HT_ASSERT_EQ_STR(primary_of(m, 0), "127.0.0.1:7000");
    HT_ASSERT_EQ_STR(primary_of(m, 5460), "127.0.0.1:7000");
    HT_ASSERT_EQ_STR(primary_of(m, 5461), "127.0.0.1:7001");
    HT_ASSERT_EQ_STR(primary_of(m, 12182), "127.0.0.1:7002");
    HT_ASSERT_EQ_STR(primary_of(m, 16383), "127.0.0.1:7002");
    HT_ASSERT_EQ_INT(hl_slot_map_lookup_key(m, "foo", 3, &idx), HL_OK);
    HT_ASSERT_EQ_STR(hl_slot_map_node(m, idx)->addr, "127.0.0.1:7002");
    HT_ASSERT_EQ_STR(hl_slot_map_node(m, idx)->host, "127.0.0.1");
    HT_ASSERT_EQ_INT(hl_slot_map_node(m, idx)->port, 7002);
    HT_ASSERT_EQ_STR(hl_slot_map_node(m, idx)->id, "id7002");
    HT_ASSERT_EQ_INT(hl_slot_map_node(m, idx)->primary, -1);
    HT_ASSERT_EQ_INT(hl_slot_map_replica(m, 5061, 0, &idx), HL_OK);
    HT_ASSERT_EQ_STR(hl_slot_map_node(m, idx)->addr, "127.0.0.1:7003");
    HT_ASSERT_EQ_INT(hl_slot_map_node(m, idx)->primary, 0);
    HT_ASSERT_EQ_INT(hl_slot_map_replica(m, 5061, 1, &idx), HL_ENOTFOUND);
    HT_ASSERT_EQ_INT(idx, -1);
    HT_ASSERT_EQ_INT(hl_slot_map_lookup(m, HL_SLOT_COUNT, &idx), HL_EINVAL);
    HT_ASSERT_TRUE(hl_slot_map_node(m, 6) == NULL);
    HT_ASSERT_TRUE(hl_slot_map_node(m, -1) == NULL);
cleanup:
    hl_slot_map_free(m);
    HT_CHECK_END();
}

static void check_map_shapes(void) {
    char err[HL_ERR_LEN];
    struct hl_slot_map *m = NULL;
    int idx = -1;

    HT_CHECK_BEGIN("split ranges share one node; gaps stay unassigned; "
                   "Redis 7 metadata ignored; empty reply is empty map");
    /* :7000 owns 0-99 and 200-299 (two entries, one node); the id is
     * missing on one node and Redis 7 metadata follows on another */
    if (!HT_ASSERT_EQ_INT(build("*2\r\n"
            "*3\r\n:0\r\n:99\r\n*2\r\n$9\r\n127.0.0.1\r\n:7000\r\n"
            "*4\r\n:200\r\n:299\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n"
            "$2\r\nid\r\n*4\r\n$9\r\n127.0.0.1\r\n:7001\r\n$2\r\nr1\r\n"
            "*2\r\n$8\r\nhostname\r\n$2\r\nr1\r\n", NULL, &m, err), HL_OK))
        goto cleanup;
    HT_ASSERT_EQ_INT(hl_slot_map_node_count(m), 2);
    HT_ASSERT_EQ_INT(hl_slot_map_assigned(m), 200);
    HT_ASSERT_EQ_STR(primary_of(m, 250), "127.0.0.1:7000");
    HT_ASSERT_EQ_INT(hl_slot_map_lookup(m, 150, &idx), HL_ENOTFOUND);
    HT_ASSERT_EQ_INT(hl_slot_map_replica(m, 150, 0, &idx), HL_ENOTFOUND);
    HT_ASSERT_EQ_INT(hl_slot_map_replica(m, 50, 0, &idx), HL_OK);
    HT_ASSERT_EQ_STR(hl_slot_map_node(m, idx)->addr, "127.0.0.1:7001");
    HT_ASSERT_EQ_STR(hl_slot_map_node(m, idx)->id, "r1");
    hl_slot_map_free(m);
    m = NULL;
    if (!HT_ASSERT_EQ_INT(build("*0\r\n", NULL, &m, err), HL_OK))
        goto cleanup;
    HT_ASSERT_EQ_INT(hl_slot_map_assigned(m), 0);
    HT_ASSERT_EQ_INT(hl_slot_map_node_count(m), 0);
    HT_ASSERT_EQ_INT(hl_slot_map_lookup(m, 0, &idx), HL_ENOTFOUND);
cleanup:
    hl_slot_map_free(m);
    hl_slot_map_free(NULL);
    HT_CHECK_END();
}

static void check_map_fallback(void) {
    char err[HL_ERR_LEN];
    struct hl_slot_map *m = NULL;

    HT_CHECK_BEGIN("an empty or NIL host is the asked node's host");
    if (!HT_ASSERT_EQ_INT(build("*2\r\n"
            "*3\r\n:0\r\n:8191\r\n*2\r\n$0\r\n\r\n:7000\r\n"
            "*3\r\n:8192\r\n:16383\r\n*2\r\n$-1\r\n:7001\r\n",
            "10.0.0.5", &m, err), HL_OK))
        goto cleanup;
    HT_ASSERT_EQ_STR(primary_of(m, 0), "10.0.0.5:7000");
    HT_ASSERT_EQ_STR(primary_of(m, 16383), "10.0.0.5:7001");
    hl_slot_map_free(m);
    m = NULL;
    HT_ASSERT_EQ_INT(build("*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$0\r\n\r\n"
                           ":7000\r\n", NULL, &m, err), HL_EINVAL);
    HT_ASSERT_CONTAINS(err, "no fallback host");
    HT_ASSERT_TRUE(m == NULL);
cleanup:
    hl_slot_map_free(m);
    HT_CHECK_END();
}

/* Expects `resp` to be refused with `rc` and an error containing `what`. */
static void refused(const char *resp, int rc, const char *what) {
    char err[HL_ERR_LEN];
    struct hl_slot_map *m = (struct hl_slot_map *)&err;

    HT_ASSERT_EQ_INT(build(resp, "h", &m, err), rc);
    HT_ASSERT_TRUE(m == NULL);
    HT_ASSERT_CONTAINS(err, what);
    hl_slot_map_free(m);
}

#define N7000 "*2\r\n$1\r\nh\r\n:7000\r\n"
#define N7001 "*2\r\n$1\r\nh\r\n:7001\r\n"

static void check_map_malformed(void) {
    HT_CHECK_BEGIN("malformed CLUSTER SLOTS replies are refused with a "
                   "reason, never half-built");
    refused("-ERR This instance has cluster support disabled\r\n",
            HL_EINVAL, "not an array");
    refused(":1\r\n", HL_EINVAL, "not an array");
    refused("*1\r\n:5\r\n", HL_EINVAL, "entry 0: not an array");
    refused("*1\r\n*2\r\n:0\r\n:1\r\n", HL_EINVAL, "entry 0: not an array");
    refused("*1\r\n*3\r\n:-1\r\n:1\r\n" N7000, HL_EINVAL, "start slot");
    refused("*1\r\n*3\r\n:0\r\n:16384\r\n" N7000, HL_EINVAL, "end slot");
    refused("*1\r\n*3\r\n$1\r\n0\r\n:1\r\n" N7000, HL_EINVAL, "start slot");
    refused("*1\r\n*3\r\n:9\r\n:8\r\n" N7000, HL_EINVAL, "after end");
    refused("*2\r\n*3\r\n:0\r\n:10\r\n" N7000 "*3\r\n:10\r\n:20\r\n" N7001,
            HL_EINVAL, "entry 1: slot 10 is already served by h:7000");
    refused("*1\r\n*3\r\n:0\r\n:1\r\n:7000\r\n", HL_EINVAL,
            "node 0: not an array");
    refused("*1\r\n*3\r\n:0\r\n:1\r\n*1\r\n$1\r\nh\r\n", HL_EINVAL,
            "node 0: not an array");
    refused("*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n:1\r\n:7000\r\n", HL_EINVAL,
            "host is not a string");
    refused("*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\n?\r\n:7000\r\n", HL_EINVAL,
            "endpoint unknown");
    refused("*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n:0\r\n", HL_EINVAL,
            "port");
    refused("*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n:65536\r\n",
            HL_EINVAL, "port");
    refused("*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$1\r\nh\r\n$4\r\n7000\r\n",
            HL_EINVAL, "port");
    refused("*1\r\n*4\r\n:0\r\n:1\r\n" N7000 ":3\r\n", HL_EINVAL,
            "entry 0 node 1: not an array");
    HT_CHECK_END();
}

static void check_map_roles(void) {
    char host[400];
    char resp[600];

    HT_CHECK_BEGIN("a node cannot be primary and replica, nor replicate two "
                   "primaries; an oversized host is HL_ETOOBIG");
    /* :7001 replicates :7000, then claims slots of its own */
    refused("*2\r\n*4\r\n:0\r\n:1\r\n" N7000 N7001
            "*3\r\n:2\r\n:3\r\n" N7001, HL_EINVAL, "is a replica");
    /* :7000 is a primary, then listed as :7001's replica */
    refused("*2\r\n*3\r\n:0\r\n:1\r\n" N7000
            "*4\r\n:2\r\n:3\r\n" N7001 N7000, HL_EINVAL,
            "h:7000 is named as a primary");
    /* a primary naming itself as its replica */
    refused("*1\r\n*4\r\n:0\r\n:1\r\n" N7000 N7000, HL_EINVAL,
            "h:7000 is named");
    /* :7002 replicates both :7000 and :7001 */
    refused("*2\r\n*4\r\n:0\r\n:1\r\n" N7000 "*2\r\n$1\r\nh\r\n:7002\r\n"
            "*4\r\n:2\r\n:3\r\n" N7001 "*2\r\n$1\r\nh\r\n:7002\r\n",
            HL_EINVAL, "of two primaries");
    memset(host, 'a', 300);
    host[300] = '\0';
    snprintf(resp, sizeof(resp), "*1\r\n*3\r\n:0\r\n:1\r\n*2\r\n$300\r\n"
             "%s\r\n:7000\r\n", host);
    refused(resp, HL_ETOOBIG, "host too long");
    HT_CHECK_END();
}

static void check_map_many_nodes(void) {
    struct ht_text t = { 0 };
    char err[HL_ERR_LEN];
    struct hl_slot_map *m = NULL;
    int i;

    HT_CHECK_BEGIN("HL_SLOT_NODES_MAX nodes fit; one more is HL_ETOOBIG");
    ht_text_add(&t, "*%d\r\n", HL_SLOT_NODES_MAX + 1);
    for (i = 0; i <= HL_SLOT_NODES_MAX; i++)
        ht_text_add(&t, "*3\r\n:%d\r\n:%d\r\n*2\r\n$1\r\nh\r\n:%d\r\n",
                    i, i, 1000 + i);
    if (!HT_ASSERT_EQ_INT(t.failed, 0))
        goto cleanup;
    HT_ASSERT_EQ_INT(build(t.p, NULL, &m, err), HL_ETOOBIG);
    HT_ASSERT_CONTAINS(err, "entry 1024 node 0: more than");
    /* the same without the last entry builds */
    t.p[0] = '*';
    snprintf(t.p + 1, 5, "%d", HL_SLOT_NODES_MAX);
    t.p[5] = '\r';
    if (!HT_ASSERT_EQ_INT(build(t.p, NULL, &m, err), HL_OK))
        goto cleanup;
    HT_ASSERT_EQ_INT(hl_slot_map_node_count(m), HL_SLOT_NODES_MAX);
    HT_ASSERT_EQ_STR(primary_of(m, 1023), "h:2023");
cleanup:
    hl_slot_map_free(m);
    free(t.p);
    HT_CHECK_END();
}

int main(void) {
    ht_init();
    check_crc16();
    check_known_slots();
    check_hash_tags();
    check_binary_keys();
    check_partition_keys();
    check_partitions_spread();
    check_map_three();
    check_map_shapes();
    check_map_fallback();
    check_map_malformed();
    check_map_roles();
    check_map_many_nodes();
    return ht_summary();
}
