/* test_cluster.c - unit tests of common/hl_cluster_proto.c, the cluster
 * MOVED/ASK redirect parsing (IPv4, IPv6, empty host with and without a
 * fallback, malformed shapes), the judging of replies (redirects,
 * TRYAGAIN/CLUSTERDOWN, lost connection, ordinary errors and values),
 * the next-step decision (redirect loop cap, backoff cut to the deadline,
 * give up at the deadline) and the seed list parser. No I/O. */
#include "../lib/hl_test.h"
#include "hl.h"
#include "hl_cluster_proto.h"

#include <string.h>
#include <hiredis/hiredis.h>

static int parse(const char *s, const char *fb,
                 struct hl_cluster_redirect *rd) {
    return hl_cluster_parse_redirect(s, strlen(s), fb, rd);
}

static void check_parse_ok(void) {
    struct hl_cluster_redirect rd;

    HT_CHECK_BEGIN("MOVED/ASK parse: slot, host, port, addr; IPv6 keeps "
                   "its colons; empty host takes the fallback");
    HT_ASSERT_EQ_INT(parse("MOVED 3999 127.0.0.1:6381", NULL, &rd), HL_OK);
    HT_ASSERT_EQ_INT(rd.slot, 3999);
    HT_ASSERT_EQ_STR(rd.host, "127.0.0.1");
    HT_ASSERT_EQ_INT(rd.port, 6381);
    HT_ASSERT_EQ_STR(rd.addr, "127.0.0.1:6381");
    HT_ASSERT_EQ_INT(parse("ASK 16383 redis-3.internal:7002", NULL, &rd),
                     HL_OK);
    HT_ASSERT_EQ_INT(rd.slot, 16383);
    HT_ASSERT_EQ_STR(rd.host, "redis-3.internal");
    HT_ASSERT_EQ_INT(parse("MOVED 0 ::1:7000", NULL, &rd), HL_OK);
    HT_ASSERT_EQ_INT(rd.slot, 0);
    HT_ASSERT_EQ_STR(rd.host, "::1");
    HT_ASSERT_EQ_INT(rd.port, 7000);
    HT_ASSERT_EQ_INT(parse("MOVED 12 :7005", "10.0.0.9", &rd), HL_OK);
    HT_ASSERT_EQ_STR(rd.addr, "10.0.0.9:7005");
    HT_CHECK_END();
}

static void check_parse_bad(void) {
    static const char *bad[] = {
        "MOVED", "MOVED ", "MOVED 3999", "MOVED 3999 ", "MOVED x 1.2.3.4:5",
        "MOVED 16384 1.2.3.4:5", "MOVED -1 1.2.3.4:5", "MOVED 1 1.2.3.4",
        "MOVED 1 1.2.3.4:0", "MOVED 1 1.2.3.4:65536", "MOVED 1 1.2.3.4:5x",
        "MOVED 1 1.2.3.4:5 extra", "MOVED  1 1.2.3.4:5", "ASK 1 :5",
        "MOVE 1 1.2.3.4:5", "moved 1 1.2.3.4:5", "ERR 1 1.2.3.4:5", "",
        "MOVED 99999999999 a:1",
    };
    struct hl_cluster_redirect rd;
    char big[400];
    size_t i;

    HT_CHECK_BEGIN("malformed redirects are HL_EINVAL (no fallback for an "
                   "empty host), a host too long HL_ETOOBIG");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (!HT_ASSERT_EQ_INT(parse(bad[i], NULL, &rd), HL_EINVAL))
            ht_note("input: '%s'", bad[i]);
    }
    HT_ASSERT_EQ_INT(hl_cluster_parse_redirect("MOVED 1 a\0:1", 12, NULL,
                                               &rd), HL_EINVAL);
    memset(big, 'h', sizeof(big));
    memcpy(big, "MOVED 1 ", 8);
    memcpy(big + sizeof(big) - 3, ":1", 3);
    HT_ASSERT_EQ_INT(parse(big, NULL, &rd), HL_ETOOBIG);
    HT_CHECK_END();
}

static void check_judge(void) {
    redisReply r;
    struct hl_cluster_redirect rd;
    char s[64];

    HT_CHECK_BEGIN("judge: MOVED, ASK, TRYAGAIN, CLUSTERDOWN, NULL, other "
                   "errors and values final, unparsable MOVED final");
    memset(&r, 0, sizeof(r));
    r.type = REDIS_REPLY_ERROR;
    r.str = s;
#define SET(t) (strcpy(s, t), r.len = strlen(t))
    SET("MOVED 7 127.0.0.1:1");
    HT_ASSERT_EQ_INT(hl_cluster_judge(&r, NULL, &rd), HL_CLUSTER_MOVED);
    HT_ASSERT_EQ_INT(rd.port, 1);
    SET("ASK 7 127.0.0.1:2");
    HT_ASSERT_EQ_INT(hl_cluster_judge(&r, NULL, &rd), HL_CLUSTER_ASK);
    HT_ASSERT_EQ_INT(rd.port, 2);
    SET("TRYAGAIN Multiple keys request during rehashing of slot");
    HT_ASSERT_EQ_INT(hl_cluster_judge(&r, NULL, &rd), HL_CLUSTER_BUSY);
    SET("CLUSTERDOWN The cluster is down");
    HT_ASSERT_EQ_INT(hl_cluster_judge(&r, NULL, &rd), HL_CLUSTER_BUSY);
    SET("CLUSTERDOWNX");
    HT_ASSERT_EQ_INT(hl_cluster_judge(&r, NULL, &rd), HL_CLUSTER_FINAL);
    SET("MOVED garbage");
    HT_ASSERT_EQ_INT(hl_cluster_judge(&r, NULL, &rd), HL_CLUSTER_FINAL);
    SET("ERR wrong number of arguments");
    HT_ASSERT_EQ_INT(hl_cluster_judge(&r, NULL, &rd), HL_CLUSTER_FINAL);
    SET("NOSCRIPT No matching script");
    HT_ASSERT_EQ_INT(hl_cluster_judge(&r, NULL, &rd), HL_CLUSTER_FINAL);
    r.type = REDIS_REPLY_STRING;
    SET("MOVED 7 127.0.0.1:1");
    HT_ASSERT_EQ_INT(hl_cluster_judge(&r, NULL, &rd), HL_CLUSTER_FINAL);
    r.type = REDIS_REPLY_NIL;
    r.str = NULL;
    r.len = 0;
    HT_ASSERT_EQ_INT(hl_cluster_judge(&r, NULL, &rd), HL_CLUSTER_FINAL);
    HT_ASSERT_EQ_INT(hl_cluster_judge(NULL, NULL, &rd), HL_CLUSTER_LOST);
#undef SET
    HT_CHECK_END();
}

static void check_next(void) {
    long long d = -1;
    int i;

    HT_CHECK_BEGIN("next: final delivers; redirects at once up to the cap; "
                   "busy/lost back off within the deadline, then give up");
    HT_ASSERT_EQ_INT(hl_cluster_next(HL_CLUSTER_FINAL, 0, 0, 100, 50, 0, &d),
                     HL_CLUSTER_DELIVER);
    HT_ASSERT_EQ_INT(hl_cluster_next(HL_CLUSTER_MOVED, 0, 0, 0, 1000, 0, &d),
                     HL_CLUSTER_RESEND_NOW);
    HT_ASSERT_EQ_INT(d, 0);
    HT_ASSERT_EQ_INT(hl_cluster_next(HL_CLUSTER_ASK,
                                     HL_CLUSTER_REDIRECTS_MAX - 1, 0, 0,
                                     1000, 0, &d), HL_CLUSTER_RESEND_NOW);
    HT_ASSERT_EQ_INT(hl_cluster_next(HL_CLUSTER_ASK,
                                     HL_CLUSTER_REDIRECTS_MAX, 0, 0, 1000,
                                     0, &d), HL_CLUSTER_GIVE_UP);
    HT_ASSERT_EQ_INT(hl_cluster_next(HL_CLUSTER_MOVED, 0, 0, 1000, 1000, 0,
                                     &d), HL_CLUSTER_GIVE_UP);
    for (i = 0; i < 12; i++) {
        HT_ASSERT_EQ_INT(hl_cluster_next(HL_CLUSTER_BUSY, 0, i, 0, 100000,
                                         0xFFFFFFFFu, &d),
                         HL_CLUSTER_RESEND_LATER);
        HT_ASSERT_GE_INT(d, 1);
        HT_ASSERT_LE_INT(d, HL_CLUSTER_RETRY_CAP_MS);
    }
    HT_ASSERT_EQ_INT(hl_cluster_next(HL_CLUSTER_LOST, 0, 9, 990, 1000, 7,
                                     &d), HL_CLUSTER_RESEND_LATER);
    HT_ASSERT_LE_INT(d, 10);
    HT_ASSERT_EQ_INT(hl_cluster_next(HL_CLUSTER_LOST, 0, 0, 1000, 1000, 7,
                                     &d), HL_CLUSTER_GIVE_UP);
    HT_ASSERT_EQ_INT(hl_cluster_next(HL_CLUSTER_BUSY, 0, 0, 1001, 1000, 7,
                                     &d), HL_CLUSTER_GIVE_UP);
    HT_CHECK_END();
}

static void check_seeds(void) {
    char hosts[HL_CLUSTER_SEEDS_MAX][HL_SLOT_HOST_MAX];
    int ports[HL_CLUSTER_SEEDS_MAX];
    char err[HL_ERR_LEN];
    char many[HL_CLUSTER_SEEDS_MAX * 12 + 16];
    int n = -1, i;
    size_t off = 0;

    HT_CHECK_BEGIN("seeds: host:port lists (IPv6 by the last colon); "
                   "empty, portless, bad port, too many refused");
    HT_ASSERT_EQ_INT(hl_cluster_parse_seeds("127.0.0.1:7000,r2:7001,::1:9",
                                            hosts, ports, &n, err), HL_OK);
    HT_ASSERT_EQ_INT(n, 3);
    HT_ASSERT_EQ_STR(hosts[1], "r2");
    HT_ASSERT_EQ_INT(ports[1], 7001);
    HT_ASSERT_EQ_STR(hosts[2], "::1");
    HT_ASSERT_EQ_INT(ports[2], 9);
    HT_ASSERT_EQ_INT(hl_cluster_parse_seeds("", hosts, ports, &n, err),
                     HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_cluster_parse_seeds("a", hosts, ports, &n, err),
                     HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_cluster_parse_seeds(":1", hosts, ports, &n, err),
                     HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_cluster_parse_seeds("a:1,", hosts, ports, &n, err),
                     HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_cluster_parse_seeds("a:70000", hosts, ports, &n,
                                            err), HL_EINVAL);
    for (i = 0; i <= HL_CLUSTER_SEEDS_MAX; i++)
        off += (size_t)snprintf(many + off, sizeof(many) - off, "%sh:%d",
                                i ? "," : "", 1000 + i);
    HT_ASSERT_EQ_INT(hl_cluster_parse_seeds(many, hosts, ports, &n, err),
                     HL_ETOOBIG);
    HT_CHECK_END();
}

int main(void) {
    ht_init();
    check_parse_ok();
    check_parse_bad();
    check_judge();
    check_next();
    check_seeds();
    return ht_summary();
}
