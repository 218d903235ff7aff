/* test_partition.c - unit tests of common/hl_partition.c: FNV-1a 64 known
 * answers and the conversation -> partition rule of DESIGN.md
 * (n = fnv1a64(page ":" user) % partitions).
 *
 * Every expected hash below was computed independently (a few lines of
 * python3 implementing FNV-1a 64 from its definition); "", "a" and
 * "foobar" are also the published FNV test vectors. Nothing here reads the
 * code's own output back as an expectation. */
#include "../lib/hl_test.h"
#include "hl_partition.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct fnv_case {
    const char *in;
    size_t len;
    uint64_t want;
};

static const struct fnv_case fnv_cases[] = {
    { "", 0, 0xcbf29ce484222325ULL },
    { "a", 1, 0xaf63dc4c8601ec8cULL },
    { "foobar", 6, 0x85944171f73967e8ULL },
    { ":", 1, 0xaf63b74c8601adadULL },
    { "page:user", 9, 0xff715e9dba52df27ULL },
    { "111899832631525:1433960459967306", 32, 0xd951c5e42bc99304ULL },
    { "\xff\x00\x80", 3, 0xf920891be415651eULL },   /* NUL and high bytes */
};

struct part_case {
    const char *page;
    const char *user;
    long partitions;
    long want;
};

static const struct part_case part_cases[] = {
    { "page", "user", 16, 7 },
    { "page", "user", 7, 3 },
    { "page", "user", 4096, 3879 },
    { "111899832631525", "1433960459967306", 16, 4 },
    { "111899832631525", "1433960459967306", 7, 2 },
    { "111899832631525", "1433960459967306", 4096, 772 },
    { "", "", 16, 13 },                  /* hash of ":" */
    /* 0xb0b91796ba833efa has its top bit set: a signed modulo would give
     * 242 for 1000 instead of 858 */
    { "P3", "U3", 1000, 858 },
    { "P3", "U3", 16, 10 },
    { "P3", "U3", 4096, 3834 },
};

static void check_known_answers(void) {
    size_t i;

    HT_CHECK_BEGIN("fnv1a64 known answers (incl. published vectors)");
    for (i = 0; i < HL_ARRAY_LEN(fnv_cases); i++) {
        const struct fnv_case *c = &fnv_cases[i];
        uint64_t got = hl_partition_fnv1a64(HL_FNV_OFFSET, c->in, c->len);
        if (got != c->want)
            HT_FAIL("fnv1a64(case %zu) = 0x%016llx, want 0x%016llx", i,
                    (unsigned long long)got, (unsigned long long)c->want);
    }
    HT_CHECK_END();
}

static void check_chaining(void) {
    const char *s = "111899832631525:1433960459967306";
    uint64_t whole = hl_partition_fnv1a64(HL_FNV_OFFSET, s, strlen(s));
    size_t cut;

    HT_CHECK_BEGIN("fnv1a64 continues from h: any split hashes the same");
    for (cut = 0; cut <= strlen(s); cut++) {
        uint64_t h = hl_partition_fnv1a64(HL_FNV_OFFSET, s, cut);
        h = hl_partition_fnv1a64(h, s + cut, strlen(s) - cut);
        if (h != whole)
            HT_FAIL("split at %zu: 0x%016llx != 0x%016llx", cut,
                    (unsigned long long)h, (unsigned long long)whole);
    }
    HT_ASSERT_TRUE(hl_partition_fnv1a64(12345, "", 0) == 12345);
    HT_CHECK_END();
}

static void check_partition_known(void) {
    size_t i;

    HT_CHECK_BEGIN("partition_of = fnv1a64(page \":\" user) % partitions");
    for (i = 0; i < HL_ARRAY_LEN(part_cases); i++) {
        const struct part_case *c = &part_cases[i];
        long got = hl_partition_of(c->page, c->user, c->partitions);
        if (got != c->want)
            HT_FAIL("partition_of(\"%s\", \"%s\", %ld) = %ld, want %ld",
                    c->page, c->user, c->partitions, got, c->want);
    }
    HT_CHECK_END();
}

static void check_separator_matters(void) {
    HT_CHECK_BEGIN("page/user boundary is part of the key (\"ab\":\"c\" vs "
                   "\"a\":\"bc\")");
    /* "ab:c" and "a:bc" hash differently; with 4096 partitions they land
     * in different partitions (1737 and 2073, computed with python3) */
    HT_ASSERT_EQ_INT(hl_partition_of("ab", "c", 4096), 1737);
    HT_ASSERT_EQ_INT(hl_partition_of("a", "bc", 4096), 2073);
    HT_CHECK_END();
}

static void check_range_and_spread(void) {
    long count[16];
    char page[32], user[32];
    long i, lo = 1000000, hi = 0;

    HT_CHECK_BEGIN("partitions=1 gives 0; 16000 conversations spread over "
                   "all 16 partitions");
    HT_ASSERT_EQ_INT(hl_partition_of("page", "user", 1), 0);
    HT_ASSERT_EQ_INT(hl_partition_of("P3", "U3", 1), 0);
    memset(count, 0, sizeof(count));
    for (i = 0; i < 16000; i++) {
        long p;
        snprintf(page, sizeof(page), "page%ld", i % 7);
        snprintf(user, sizeof(user), "user%ld", i);
        p = hl_partition_of(page, user, 16);
        if (p < 0 || p >= 16) {
            HT_FAIL("partition %ld out of [0,16)", p);
            break;
        }
        count[p]++;
    }
    for (i = 0; i < 16; i++) {
        lo = count[i] < lo ? count[i] : lo;
        hi = count[i] > hi ? count[i] : hi;
    }
    /* python3 over the same inputs: min 921, max 1056 */
    HT_ASSERT_EQ_INT(lo, 921);
    HT_ASSERT_EQ_INT(hi, 1056);
    HT_CHECK_END();
}

int main(void) {
    ht_init();
    check_known_answers();
    check_chaining();
    check_partition_known();
    check_separator_matters();
    check_range_and_spread();
    return ht_summary();
}
