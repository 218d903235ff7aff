/* test_keys.c - unit tests of common/hl_keys.c: every Redis key name of
 * DESIGN.md "Redis keyspace" (prefix, {n} hash tag, q / inflight / lease /
 * seen / done / conv, workers, dlq), that all keys of one partition hash
 * to the same Redis Cluster slot, and that a name that would not fit in
 * HL_KEY_MAX is HL_ETOOBIG, never cut. The cluster slot is computed here
 * from the Redis Cluster spec (CRC16-XMODEM of the hash tag, mod 16384),
 * independently of the code under test. */
#include "../lib/hl_test.h"
#include "hl.h"
#include "hl_keys.h"

#include <stdio.h>
#include <string.h>

/* ---- Redis Cluster key slot (cluster spec, "Keys hash tags") ------------- */

static unsigned crc16_xmodem(const char *p, size_t n) {
    unsigned crc = 0;
    size_t i;
    int b;

    for (i = 0; i < n; i++) {
        crc ^= (unsigned)(unsigned char)p[i] << 8;
        for (b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) : (crc << 1);
        crc &= 0xffff;
    }
    return crc;
}

static unsigned key_slot(const char *key) {
    const char *open = strchr(key, '{');
    const char *close;

    if (open != NULL) {
        close = strchr(open + 1, '}');
        if (close != NULL && close > open + 1)
            return crc16_xmodem(open + 1, (size_t)(close - open - 1)) &
                   16383;
    }
    return crc16_xmodem(key, strlen(key)) & 16383;
}

/* ---- checks -------------------------------------------------------------- */

static void check_shapes(void) {
    char k[HL_KEY_MAX];

    HT_CHECK_BEGIN("key shapes of DESIGN.md with the default prefix");
    HT_ASSERT_EQ_INT(hl_keys_queue("hookline", 3, k), HL_OK);
    HT_ASSERT_EQ_STR(k, "hookline:{3}:q");
    HT_ASSERT_EQ_INT(hl_keys_inflight("hookline", 3, k), HL_OK);
    HT_ASSERT_EQ_STR(k, "hookline:{3}:inflight");
    HT_ASSERT_EQ_INT(hl_keys_lease("hookline", 15, k), HL_OK);
    HT_ASSERT_EQ_STR(k, "hookline:{15}:lease");
    HT_ASSERT_EQ_INT(hl_keys_seen("hookline", 0, "m:mid.1457764197618:41d1",
                                  k), HL_OK);
    HT_ASSERT_EQ_STR(k, "hookline:{0}:seen:m:mid.1457764197618:41d1");
    HT_ASSERT_EQ_INT(hl_keys_done("hookline", 7, "p:PM", 2, k), HL_OK);
    HT_ASSERT_EQ_STR(k, "hookline:{7}:done:p:PM:2");
    HT_ASSERT_EQ_INT(hl_keys_conv("hookline", 4, "111899832631525",
                                  "1433960459967306", k), HL_OK);
    HT_ASSERT_EQ_STR(k, "hookline:{4}:conv:111899832631525:1433960459967306");
    HT_ASSERT_EQ_INT(hl_keys_workers("hookline", k), HL_OK);
    HT_ASSERT_EQ_STR(k, "hookline:workers");
    HT_ASSERT_EQ_INT(hl_keys_dlq("hookline", k), HL_OK);
    HT_ASSERT_EQ_STR(k, "hookline:dlq");
    HT_CHECK_END();
}

static void check_prefix(void) {
    char k[HL_KEY_MAX];

    HT_CHECK_BEGIN("HOOKLINE_PREFIX replaces \"hookline\" in every key");
    HT_ASSERT_EQ_INT(hl_keys_queue("t42", 4095, k), HL_OK);
    HT_ASSERT_EQ_STR(k, "t42:{4095}:q");
    HT_ASSERT_EQ_INT(hl_keys_inflight("t42", 1, k), HL_OK);
    HT_ASSERT_EQ_STR(k, "t42:{1}:inflight");
    HT_ASSERT_EQ_INT(hl_keys_lease("a:b", 1, k), HL_OK);
    HT_ASSERT_EQ_STR(k, "a:b:{1}:lease");
    HT_ASSERT_EQ_INT(hl_keys_seen("t42", 1, "h:ab", k), HL_OK);
    HT_ASSERT_EQ_STR(k, "t42:{1}:seen:h:ab");
    HT_ASSERT_EQ_INT(hl_keys_done("t42", 1, "m:x", 0, k), HL_OK);
    HT_ASSERT_EQ_STR(k, "t42:{1}:done:m:x:0");
    HT_ASSERT_EQ_INT(hl_keys_conv("t42", 1, "P", "", k), HL_OK);
    HT_ASSERT_EQ_STR(k, "t42:{1}:conv:P:");
    HT_ASSERT_EQ_INT(hl_keys_workers("t42", k), HL_OK);
    HT_ASSERT_EQ_STR(k, "t42:workers");
    HT_ASSERT_EQ_INT(hl_keys_dlq("t42", k), HL_OK);
    HT_ASSERT_EQ_STR(k, "t42:dlq");
    HT_CHECK_END();
}

/* A Lua script touches only keys of one partition, so they must share one
 * Cluster slot, whatever the event id (even one holding braces). */
static void check_same_slot(void) {
    char k[6][HL_KEY_MAX];
    char tag[32];
    long n;
    int i;

    HT_CHECK_BEGIN("all keys of a partition share one cluster slot; "
                   "different partitions differ");
    for (n = 0; n < 16; n++) {
        unsigned slot;
        hl_keys_queue("hookline", n, k[0]);
        hl_keys_inflight("hookline", n, k[1]);
        hl_keys_lease("hookline", n, k[2]);
        hl_keys_seen("hookline", n, "m:{evil}", k[3]);
        hl_keys_done("hookline", n, "m:}{", 1, k[4]);
        hl_keys_conv("hookline", n, "P{1}", "U", k[5]);
        slot = key_slot(k[0]);
        for (i = 1; i < 6; i++) {
            if (key_slot(k[i]) != slot)
                HT_FAIL("%s: slot %u, %s: slot %u", k[0], slot, k[i],
                        key_slot(k[i]));
        }
        /* the tag is exactly the partition number */
        snprintf(tag, sizeof(tag), "%ld", n);
        if (slot != (crc16_xmodem(tag, strlen(tag)) & 16383))
            HT_FAIL("%s: hash tag is not {%ld}", k[0], n);
    }
    /* slot of "{3}" vs "{4}" per CRC16-XMODEM("3") / ("4") */
    hl_keys_queue("hookline", 3, k[0]);
    hl_keys_queue("hookline", 4, k[1]);
    HT_ASSERT_NE_INT(key_slot(k[0]), key_slot(k[1]));
    /* CRC16-XMODEM("123456789") = 0x31c3: the spec's check value */
    HT_ASSERT_EQ_INT(crc16_xmodem("123456789", 9), 0x31c3);
    HT_CHECK_END();
}

static void check_too_long(void) {
    char id[HL_KEY_MAX + 16];
    char pfx[HL_KEY_MAX + 16];
    char k[HL_KEY_MAX];
    size_t base = strlen("p:{1}:seen:");   /* 11 */

    HT_CHECK_BEGIN("a key that does not fit is HL_ETOOBIG (boundary "
                   "HL_KEY_MAX-1 fits)");
    /* "p:{1}:seen:" + id: 511 characters fit (plus the NUL), 512 not */
    memset(id, 'x', sizeof(id));
    id[HL_KEY_MAX - 1 - base] = '\0';
    HT_ASSERT_EQ_INT(hl_keys_seen("p", 1, id, k), HL_OK);
    HT_ASSERT_EQ_INT(strlen(k), HL_KEY_MAX - 1);
    memset(id, 'x', sizeof(id));
    id[HL_KEY_MAX - base] = '\0';
    HT_ASSERT_EQ_INT(hl_keys_seen("p", 1, id, k), HL_ETOOBIG);
    HT_ASSERT_EQ_INT(hl_keys_done("p", 1, id, 3, k), HL_ETOOBIG);
    HT_ASSERT_EQ_INT(hl_keys_conv("p", 1, id, "u", k), HL_ETOOBIG);
    HT_ASSERT_EQ_INT(hl_keys_conv("p", 1, "u", id, k), HL_ETOOBIG);
    memset(pfx, 'k', sizeof(pfx));
    pfx[HL_KEY_MAX] = '\0';
    HT_ASSERT_EQ_INT(hl_keys_queue(pfx, 1, k), HL_ETOOBIG);
    HT_ASSERT_EQ_INT(hl_keys_inflight(pfx, 1, k), HL_ETOOBIG);
    HT_ASSERT_EQ_INT(hl_keys_lease(pfx, 1, k), HL_ETOOBIG);
    HT_ASSERT_EQ_INT(hl_keys_workers(pfx, k), HL_ETOOBIG);
    HT_ASSERT_EQ_INT(hl_keys_dlq(pfx, k), HL_ETOOBIG);
    /* "done" carries the action index after the id: its limit is lower */
    memset(id, 'x', sizeof(id));
    id[HL_KEY_MAX - 1 - strlen("p:{1}:done::9")] = '\0';
    HT_ASSERT_EQ_INT(hl_keys_done("p", 1, id, 9, k), HL_OK);
    HT_ASSERT_EQ_INT(hl_keys_done("p", 1, id, 10, k), HL_ETOOBIG);
    HT_CHECK_END();
}

int main(void) {
    ht_init();
    check_shapes();
    check_prefix();
    check_same_slot();
    check_too_long();
    return ht_summary();
}
