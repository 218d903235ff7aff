/* test_cluster_slots.c - common/hl_slot.c against a real Redis Cluster
 * (3 primaries + 3 replicas, tests/lib/cluster_fixture.h): hl_slot_of()
 * agrees with the server's CLUSTER KEYSLOT for every hookline key of
 * partitions 0..4095 under the default prefix and for random binary keys;
 * the map built from the live CLUSTER SLOTS reply sends every sampled key
 * to the node that serves it (GET answers without MOVED) while another
 * primary answers MOVED; a replica killed by PID and restarted rejoins.
 * No skipping: without redis-cli --cluster the start fails the test. */
#include "../lib/hl_test.h"
#include "../lib/cluster_fixture.h"
#include "hl.h"
#include "hl_keys.h"
#include "hl_slot.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PARTITIONS 4096
#define KINDS 6                 /* q, inflight, lease, seen, done, conv */
#define RANDOM_KEYS 3000
#define RANDOM_KEY_MAX 40       /* bytes of a random key, at most */
#define TIMEOUT_MS 5000         /* per command on the blocking clients */

/* The keys under test: every partition key kind, then random keys. */
struct keys {
    char (*k)[HL_KEY_MAX];      /* owned; `n` of them */
    size_t *len;
    size_t n;
};

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Writes key `i` of partition `n` (kind i % KINDS) into out. */
static int partition_key(long n, int kind, char out[HL_KEY_MAX]) {
    switch (kind) {
    case 0: return hl_keys_queue("hookline", n, out);
    case 1: return hl_keys_inflight("hookline", n, out);
    case 2: return hl_keys_lease("hookline", n, out);
    case 3: return hl_keys_seen("hookline", n, "m:mid.1457764197618:41d1",
                                out);
    case 4: return hl_keys_done("hookline", n, "p:PM", 2, out);
    default: return hl_keys_conv("hookline", n, "111899832631525",
                                 "1433960459967306", out);
    }
}

/* Random bytes drawn mostly from "{}ab\0x" so hash tags of every shape
 * (empty, nested, unclosed, several) appear. */
static size_t random_key(char *out) {
    static const char alphabet[] = "{}{}ab\0xyz:09";
    size_t len = 1 + rng() % RANDOM_KEY_MAX;
    size_t i;

    for (i = 0; i < len; i++)
        out[i] = alphabet[rng() % (sizeof(alphabet) - 1)];
    return len;
}

static int keys_make(struct keys *ks) {
    long n;
    int kind;
    size_t i = 0;

    ks->n = PARTITIONS * KINDS + RANDOM_KEYS;
    ks->k = calloc(ks->n, sizeof(*ks->k));
    ks->len = calloc(ks->n, sizeof(*ks->len));
    if (ks->k == NULL || ks->len == NULL)
        return HT_FAIL("out of memory");
    for (n = 0; n < PARTITIONS; n++) {
        for (kind = 0; kind < KINDS; kind++, i++) {
            if (partition_key(n, kind, ks->k[i]) != HL_OK)
                return HT_FAIL("key %d of partition %ld", kind, n);
            ks->len[i] = strlen(ks->k[i]);
        }
    }
    for (; i < ks->n; i++)
        ks->len[i] = random_key(ks->k[i]);
    return 1;
}

/* ---- checks -------------------------------------------------------------- */

static void check_keyslot(redisContext *rc, const struct keys *ks) {
    redisReply *rep = NULL;
    size_t i;
    size_t bad = 0;
    long long t0 = ht_mono_ms();

    HT_CHECK_BEGIN("hl_slot_of == CLUSTER KEYSLOT for 24576 partition keys "
                   "(n = 0..4095) and 3000 random binary keys");
    for (i = 0; i < ks->n; i++) {
        const char *argv[3] = { "CLUSTER", "KEYSLOT", ks->k[i] };
        size_t lens[3] = { 7, 7, ks->len[i] };
        redisAppendCommandArgv(rc, 3, argv, lens);
    }
    for (i = 0; i < ks->n; i++) {
        unsigned mine = hl_slot_of(ks->k[i], ks->len[i]);

        if (redisGetReply(rc, (void **)&rep) != REDIS_OK) {
            HT_FAIL("reply %zu: %s", i, rc->errstr);
            break;
        }
        if (rep->type != REDIS_REPLY_INTEGER ||
            rep->integer != (long long)mine) {
            if (bad++ < 5)
                HT_FAIL("key %zu (%.*s): server slot %lld, ours %u", i,
                        (int)ks->len[i], ks->k[i], rep->type ==
                        REDIS_REPLY_INTEGER ? rep->integer : -1LL, mine);
        }
        freeReplyObject(rep);
    }
    HT_ASSERT_EQ_INT(bad, 0);
    ht_note("%zu keys in %lld ms", ks->n, ht_mono_ms() - t0);
    HT_CHECK_END();
}

static void check_map_shape(const struct ht_cluster *c,
                            const struct hl_slot_map *m) {
    int primaries = 0;
    int i;
    int r;

    HT_CHECK_BEGIN("live CLUSTER SLOTS: 16384 slots, 3 primaries with one "
                   "replica each, all fixture nodes");
    HT_ASSERT_EQ_INT(hl_slot_map_assigned(m), HL_SLOT_COUNT);
    HT_ASSERT_EQ_INT(hl_slot_map_node_count(m), HT_CLUSTER_NODES);
    for (i = 0; i < hl_slot_map_node_count(m); i++) {
        const struct hl_slot_node *n = hl_slot_map_node(m, i);

        HT_ASSERT_NE_INT(ht_cluster_node_at(c, n->port), -1);
        HT_ASSERT_EQ_STR(n->host, "127.0.0.1");
        HT_ASSERT_EQ_INT(strlen(n->id), 40);
        primaries += n->primary < 0;
    }
    HT_ASSERT_EQ_INT(primaries, HT_CLUSTER_PRIMARIES);
    HT_ASSERT_EQ_INT(hl_slot_map_replica(m, 0, 0, &r), HL_OK);
    HT_ASSERT_EQ_INT(hl_slot_map_replica(m, 0, 1, &r), HL_ENOTFOUND);
    HT_ASSERT_EQ_INT(hl_slot_map_replica(m, 16383, 0, &r), HL_OK);
    HT_CHECK_END();
}

/* Sends GET for every key to the node `pick` chooses (0: the mapped
 * primary, 1: the next primary), pipelined per node; counts the replies
 * that are MOVED errors naming the mapped primary's address and slot. */
static size_t gets(const struct ht_cluster *c, const struct hl_slot_map *m,
                   const struct keys *ks, int pick, size_t *errors) {
    redisContext *ctx[HT_CLUSTER_NODES] = { 0 };
    size_t moved = 0;
    size_t i;
    int phase;

    *errors = 0;
    for (i = 0; i < HT_CLUSTER_NODES; i++)
        ctx[i] = ht_cluster_connect(c, (int)i, TIMEOUT_MS);
    for (phase = 0; phase < 2; phase++) {
        for (i = 0; i < ks->n; i++) {
            unsigned slot = hl_slot_of(ks->k[i], ks->len[i]);
            int p = -1;
            int to;
            const struct hl_slot_node *n;
            redisReply *rep = NULL;
            char want[HL_SLOT_ADDR_MAX + 32];

            if (hl_slot_map_lookup(m, slot, &p) != HL_OK) {
                (*errors)++;
                continue;
            }
            to = p;
            if (pick == 1) {
                do
                    to = (to + 1) % hl_slot_map_node_count(m);
                while (hl_slot_map_node(m, to)->primary >= 0);
            }
            n = hl_slot_map_node(m, to);
            to = ht_cluster_node_at(c, n->port);
            if (to < 0 || ctx[to] == NULL) {
                (*errors)++;
                continue;
            }
            if (phase == 0) {
                const char *argv[2] = { "GET", ks->k[i] };
                size_t lens[2] = { 3, ks->len[i] };
                redisAppendCommandArgv(ctx[to], 2, argv, lens);
                continue;
            }
            if (redisGetReply(ctx[to], (void **)&rep) != REDIS_OK) {
                (*errors)++;
                continue;
            }
            snprintf(want, sizeof(want), "MOVED %u %s", slot,
                     hl_slot_map_node(m, p)->addr);
            if (rep->type == REDIS_REPLY_ERROR &&
                strcmp(rep->str, want) == 0)
                moved++;
            else if (rep->type != REDIS_REPLY_NIL)
                (*errors)++;
            freeReplyObject(rep);
        }
    }
    for (i = 0; i < HT_CLUSTER_NODES; i++) {
        if (ctx[i] != NULL)
            redisFree(ctx[i]);
    }
    return moved;
}

static void check_routing(const struct ht_cluster *c,
                          const struct hl_slot_map *m,
                          const struct keys *ks) {
    size_t errors = 0;
    size_t moved;

    HT_CHECK_BEGIN("every key GETs without MOVED on its mapped primary; "
                   "the next primary answers MOVED <slot> <mapped addr>");
    moved = gets(c, m, ks, 0, &errors);
    HT_ASSERT_EQ_INT(moved, 0);
    HT_ASSERT_EQ_INT(errors, 0);
    moved = gets(c, m, ks, 1, &errors);
    HT_ASSERT_EQ_INT(moved, ks->n);
    HT_ASSERT_EQ_INT(errors, 0);
    HT_CHECK_END();
}

static void check_kill_restart(struct ht_cluster *c,
                               const struct hl_slot_map *m) {
    char err[HL_ERR_LEN];
    int r = -1;
    int i;
    pid_t pid;

    HT_CHECK_BEGIN("a replica killed by PID and restarted rejoins; a PID "
                   "the fixture did not start is never signalled");
    HT_ASSERT_EQ_INT(ht_cluster_kill_pid(c, getpid()), HL_ENOTFOUND);
    HT_ASSERT_EQ_INT(ht_cluster_kill_pid(c, 0), HL_ENOTFOUND);
    if (!HT_ASSERT_EQ_INT(hl_slot_map_replica(m, 0, 0, &r), HL_OK))
        goto cleanup;
    i = ht_cluster_node_at(c, hl_slot_map_node(m, r)->port);
    if (!HT_ASSERT_NE_INT(i, -1))
        goto cleanup;
    pid = c->node[i].pid;
    HT_ASSERT_EQ_INT(ht_cluster_find_pid(c, pid), i);
    HT_ASSERT_EQ_INT(ht_cluster_kill_pid(c, pid), HL_OK);
    HT_ASSERT_EQ_INT(ht_cluster_find_pid(c, pid), -1);
    HT_ASSERT_EQ_INT(ht_cluster_kill(c, i), HL_ESTATE);
    if (!HT_ASSERT_EQ_INT(ht_cluster_restart(c, i, err), HL_OK)) {
        ht_note("%s", err);
        goto cleanup;
    }
    HT_ASSERT_NE_INT(c->node[i].pid, pid);
    if (!HT_ASSERT_EQ_INT(ht_cluster_wait_ok(c, err), HL_OK))
        ht_note("%s", err);
cleanup:
    HT_CHECK_END();
}

int main(void) {
    struct ht_cluster c;
    struct keys ks = { 0 };
    struct hl_slot_map *m = NULL;
    redisContext *rc = NULL;
    char err[HL_ERR_LEN];
    long long t0;

    ht_init();
    HT_CHECK_BEGIN("a 3 + 3 node cluster starts and reaches cluster_state:ok");
    t0 = ht_mono_ms();
    if (!HT_ASSERT_EQ_INT(ht_cluster_start(&c, err), HL_OK)) {
        ht_note("%s", err);
        goto cleanup;
    }
    ht_note("up in %lld ms: %s", ht_mono_ms() - t0, c.url);
    rc = ht_cluster_connect(&c, 0, TIMEOUT_MS);
    if (!HT_ASSERT_TRUE(rc != NULL) || !keys_make(&ks))
        goto cleanup;
    HT_CHECK_END();
    check_keyslot(rc, &ks);
    HT_CHECK_BEGIN("hl_slot_map_build accepts the live CLUSTER SLOTS reply");
    m = ht_cluster_live_map(&c, 0);
    HT_CHECK_END();
    if (m == NULL)
        goto cleanup;
    check_map_shape(&c, m);
    check_routing(&c, m, &ks);
    check_kill_restart(&c, m);
cleanup:
    hl_slot_map_free(m);
    if (rc != NULL)
        redisFree(rc);
    free(ks.k);
    free(ks.len);
    ht_cluster_cleanup(&c);
    return ht_summary();
}
