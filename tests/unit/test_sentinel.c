/* test_sentinel.c - unit tests of common/hl_sentinel.c's pure parsers:
 * the SENTINEL get-master-addr-by-name reply (built here as redisReply
 * trees: good, nil, error, wrong shapes and types, bad ports, hosts too
 * long or with NUL bytes) and the +switch-master message (good, another
 * master, a name that is only a prefix, bad ports, missing and extra
 * fields, stray spaces, trailing garbage). Also the constructor's checks
 * of the seed list and master name. No I/O. */
#include "../lib/hl_test.h"
#include "hl.h"
#include "hl_sentinel.h"

#include <string.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>

/* ---- reply builders (on the stack; nothing to free) -------------------- */

static redisReply str_reply(const char *s, size_t len) {
    redisReply r;

    memset(&r, 0, sizeof(r));
    r.type = REDIS_REPLY_STRING;
    r.str = (char *)s;
    r.len = len;
    return r;
}

static redisReply arr_reply(redisReply **el, size_t n) {
    redisReply r;

    memset(&r, 0, sizeof(r));
    r.type = REDIS_REPLY_ARRAY;
    r.element = el;
    r.elements = n;
    return r;
}

/* parse_addr of the two-string array [host, port]. */
static int addr2(const char *h, const char *p, char host[HL_SLOT_HOST_MAX],
                 int *port) {
    redisReply rh = str_reply(h, strlen(h));
    redisReply rp = str_reply(p, strlen(p));
    redisReply *el[2] = { &rh, &rp };
    redisReply top = arr_reply(el, 2);

    return hl_sentinel_parse_addr(&top, host, port);
}

static void check_addr_ok(void) {
    char host[HL_SLOT_HOST_MAX];
    int port = 0;

    HT_CHECK_BEGIN("get-master-addr-by-name: [host, port] gives host and "
                   "port (IPv4, IPv6, a name, port 1 and 65535)");
    HT_ASSERT_EQ_INT(addr2("127.0.0.1", "6380", host, &port), HL_OK);
    HT_ASSERT_EQ_STR(host, "127.0.0.1");
    HT_ASSERT_EQ_INT(port, 6380);
    HT_ASSERT_EQ_INT(addr2("::1", "1", host, &port), HL_OK);
    HT_ASSERT_EQ_STR(host, "::1");
    HT_ASSERT_EQ_INT(port, 1);
    HT_ASSERT_EQ_INT(addr2("redis-a.internal", "65535", host, &port),
                     HL_OK);
    HT_ASSERT_EQ_STR(host, "redis-a.internal");
    HT_ASSERT_EQ_INT(port, 65535);
    HT_CHECK_END();
}

static void check_addr_nil(void) {
    char host[HL_SLOT_HOST_MAX] = "unchanged";
    int port = 7;
    redisReply nil;

    HT_CHECK_BEGIN("get-master-addr-by-name: nil (unknown master) is "
                   "HL_ENOTFOUND and leaves the outputs alone");
    memset(&nil, 0, sizeof(nil));
    nil.type = REDIS_REPLY_NIL;
    HT_ASSERT_EQ_INT(hl_sentinel_parse_addr(&nil, host, &port),
                     HL_ENOTFOUND);
    HT_ASSERT_EQ_STR(host, "unchanged");
    HT_ASSERT_EQ_INT(port, 7);
    HT_CHECK_END();
}

static void check_addr_shapes(void) {
    char host[HL_SLOT_HOST_MAX] = "unchanged";
    int port = 7;
    redisReply h = str_reply("10.0.0.1", 8);
    redisReply p = str_reply("6379", 4);
    redisReply x = str_reply("x", 1);
    redisReply num, err, st;
    redisReply *el3[3] = { &h, &p, &x };
    redisReply *el1[1] = { &h };
    redisReply *elnum[2] = { &h, &num };
    redisReply *elswap[2] = { &num, &p };
    redisReply *elst[2] = { &st, &p };
    redisReply a3 = arr_reply(el3, 3);
    redisReply a1 = arr_reply(el1, 1);
    redisReply a0 = arr_reply(NULL, 0);
    redisReply anum = arr_reply(elnum, 2);
    redisReply aswap = arr_reply(elswap, 2);
    redisReply ast = arr_reply(elst, 2);
    redisReply *nested_el[2] = { &a1, &p };
    redisReply nested = arr_reply(nested_el, 2);

    HT_CHECK_BEGIN("get-master-addr-by-name: NULL, an error, a string, "
                   "arrays of 0/1/3 items, an integer or status item, a "
                   "nested array are HL_EINVAL");
    memset(&num, 0, sizeof(num));
    num.type = REDIS_REPLY_INTEGER;
    num.integer = 6379;
    err = str_reply("ERR unknown command", 19);
    err.type = REDIS_REPLY_ERROR;
    st = str_reply("10.0.0.1", 8);
    st.type = REDIS_REPLY_STATUS;
    HT_ASSERT_EQ_INT(hl_sentinel_parse_addr(NULL, host, &port), HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_sentinel_parse_addr(&err, host, &port), HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_sentinel_parse_addr(&h, host, &port), HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_sentinel_parse_addr(&a0, host, &port), HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_sentinel_parse_addr(&a1, host, &port), HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_sentinel_parse_addr(&a3, host, &port), HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_sentinel_parse_addr(&anum, host, &port),
                     HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_sentinel_parse_addr(&aswap, host, &port),
                     HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_sentinel_parse_addr(&ast, host, &port), HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_sentinel_parse_addr(&nested, host, &port),
                     HL_EINVAL);
    HT_ASSERT_EQ_STR(host, "unchanged");
    HT_ASSERT_EQ_INT(port, 7);
    HT_CHECK_END();
}

static void check_addr_fields(void) {
    static const char *bad_ports[] = {
        "", "0", "65536", "99999", "123456", "-1", "+1", "63 79", "6379x",
        " 6379", "6379 ", "0x10", "6379\n",
    };
    char host[HL_SLOT_HOST_MAX];
    char longhost[HL_SLOT_HOST_MAX + 8];
    int port = 0;
    size_t i;

    HT_CHECK_BEGIN("get-master-addr-by-name: a bad port, an empty host, a "
                   "host with a NUL or space, a host too long are "
                   "HL_EINVAL; the longest host fits");
    for (i = 0; i < HL_ARRAY_LEN(bad_ports); i++) {
        if (!HT_ASSERT_EQ_INT(addr2("127.0.0.1", bad_ports[i], host, &port),
                              HL_EINVAL))
            ht_note("port: '%s'", bad_ports[i]);
    }
    HT_ASSERT_EQ_INT(addr2("", "6379", host, &port), HL_EINVAL);
    HT_ASSERT_EQ_INT(addr2("a b", "6379", host, &port), HL_EINVAL);
    {
        redisReply rh = str_reply("ab\0c", 4);
        redisReply rp = str_reply("6379", 4);
        redisReply *el[2] = { &rh, &rp };
        redisReply top = arr_reply(el, 2);

        HT_ASSERT_EQ_INT(hl_sentinel_parse_addr(&top, host, &port),
                         HL_EINVAL);
    }
    memset(longhost, 'h', sizeof(longhost));
    longhost[HL_SLOT_HOST_MAX] = '\0';
    HT_ASSERT_EQ_INT(addr2(longhost, "6379", host, &port), HL_EINVAL);
    longhost[HL_SLOT_HOST_MAX - 1] = '\0';
    HT_ASSERT_EQ_INT(addr2(longhost, "6379", host, &port), HL_OK);
    HT_ASSERT_EQ_INT(strlen(host), HL_SLOT_HOST_MAX - 1);
    HT_CHECK_END();
}

/* ---- +switch-master ---------------------------------------------------- */

static int sw(const char *msg, const char *name, char host[HL_SLOT_HOST_MAX],
              int *port) {
    return hl_sentinel_parse_switch(msg, strlen(msg), name, host, port);
}

static void check_switch_ok(void) {
    char host[HL_SLOT_HOST_MAX];
    int port = 0;

    HT_CHECK_BEGIN("+switch-master for our master gives the NEW address "
                   "(not the old one)");
    HT_ASSERT_EQ_INT(sw("mymaster 127.0.0.1 6379 127.0.0.1 6380",
                        "mymaster", host, &port), HL_OK);
    HT_ASSERT_EQ_STR(host, "127.0.0.1");
    HT_ASSERT_EQ_INT(port, 6380);
    HT_ASSERT_EQ_INT(sw("hl 10.0.0.1 7000 10.0.0.2 7001", "hl", host,
                        &port), HL_OK);
    HT_ASSERT_EQ_STR(host, "10.0.0.2");
    HT_ASSERT_EQ_INT(port, 7001);
    HT_ASSERT_EQ_INT(sw("hl ::1 1 ::2 65535", "hl", host, &port), HL_OK);
    HT_ASSERT_EQ_STR(host, "::2");
    HT_ASSERT_EQ_INT(port, 65535);
    HT_CHECK_END();
}

static void check_switch_other(void) {
    char host[HL_SLOT_HOST_MAX] = "unchanged";
    int port = 7;

    HT_CHECK_BEGIN("+switch-master about another master (also one whose "
                   "name is a prefix or extension of ours, or differs in "
                   "case) is HL_ENOTFOUND; outputs untouched");
    HT_ASSERT_EQ_INT(sw("other 127.0.0.1 6379 127.0.0.1 6380", "mymaster",
                        host, &port), HL_ENOTFOUND);
    HT_ASSERT_EQ_INT(sw("mymaster2 127.0.0.1 6379 127.0.0.1 6380",
                        "mymaster", host, &port), HL_ENOTFOUND);
    HT_ASSERT_EQ_INT(sw("my 127.0.0.1 6379 127.0.0.1 6380", "mymaster",
                        host, &port), HL_ENOTFOUND);
    HT_ASSERT_EQ_INT(sw("MYMASTER 127.0.0.1 6379 127.0.0.1 6380",
                        "mymaster", host, &port), HL_ENOTFOUND);
    HT_ASSERT_EQ_STR(host, "unchanged");
    HT_ASSERT_EQ_INT(port, 7);
    HT_CHECK_END();
}

static void check_switch_bad(void) {
    static const char *bad[] = {
        "", "mymaster", "mymaster 127.0.0.1 6379 127.0.0.1",
        "mymaster 127.0.0.1 6379 127.0.0.1 6380 extra",
        "mymaster 127.0.0.1 6379 127.0.0.1 6380 ",
        " mymaster 127.0.0.1 6379 127.0.0.1 6380",
        "mymaster  127.0.0.1 6379 127.0.0.1 6380",
        "mymaster 127.0.0.1 6379 127.0.0.1 0",
        "mymaster 127.0.0.1 6379 127.0.0.1 65536",
        "mymaster 127.0.0.1 6379 127.0.0.1 6380x",
        "mymaster 127.0.0.1 6379 127.0.0.1 6380\n",
        "mymaster 127.0.0.1 x 127.0.0.1 6380",
        "mymaster 127.0.0.1 6379 127.0.0.1 -6380",
        "mymaster\t127.0.0.1 6379 127.0.0.1 6380",
        "other 127.0.0.1 6379 127.0.0.1 0",
    };
    char host[HL_SLOT_HOST_MAX] = "unchanged";
    char longmsg[HL_SLOT_HOST_MAX + 64];
    int port = 7;
    size_t i;
    int n;

    HT_CHECK_BEGIN("+switch-master that does not parse (missing or extra "
                   "fields, stray spaces, bad ports, trailing garbage, a "
                   "NUL byte, a host too long) is HL_EINVAL");
    for (i = 0; i < HL_ARRAY_LEN(bad); i++) {
        if (!HT_ASSERT_EQ_INT(sw(bad[i], "mymaster", host, &port),
                              HL_EINVAL))
            ht_note("message: '%s'", bad[i]);
    }
    HT_ASSERT_EQ_INT(hl_sentinel_parse_switch(
                         "mymaster 1.1.1.1 1 2.2.2.2 2\0", 29, "mymaster",
                         host, &port), HL_EINVAL);
    n = snprintf(longmsg, sizeof(longmsg), "m 1.1.1.1 1 %0*d 2",
                 HL_SLOT_HOST_MAX, 0);
    HT_ASSERT_TRUE(n > 0 && (size_t)n < sizeof(longmsg));
    HT_ASSERT_EQ_INT(sw(longmsg, "m", host, &port), HL_EINVAL);
    HT_ASSERT_EQ_STR(host, "unchanged");
    HT_ASSERT_EQ_INT(port, 7);
    HT_CHECK_END();
}

/* ---- constructor checks ------------------------------------------------ */

static void noop_cb(struct hl_sentinel *s, const char *host, int port,
                    void *arg) {
    (void)s;
    (void)host;
    (void)port;
    (void)arg;
}

static void check_new(void) {
    struct event_base *base = event_base_new();
    struct hl_sentinel *s;
    char err[HL_ERR_LEN];

    HT_CHECK_BEGIN("hl_sentinel_new: bad seeds, empty master, a master with "
                   "a space, no callback are NULL with err; a good one "
                   "is not known before it starts and frees cleanly");
    HT_ASSERT_TRUE(hl_sentinel_new(base, "", "m", noop_cb, NULL, err)
                   == NULL);
    HT_ASSERT_TRUE(err[0] != '\0');
    HT_ASSERT_TRUE(hl_sentinel_new(base, "127.0.0.1:0", "m", noop_cb, NULL,
                                   err) == NULL);
    HT_ASSERT_TRUE(hl_sentinel_new(base, "127.0.0.1:26379", "", noop_cb,
                                   NULL, err) == NULL);
    HT_ASSERT_CONTAINS(err, "master");
    HT_ASSERT_TRUE(hl_sentinel_new(base, "127.0.0.1:26379", "a b", noop_cb,
                                   NULL, err) == NULL);
    HT_ASSERT_CONTAINS(err, "master");
    HT_ASSERT_TRUE(hl_sentinel_new(base, "127.0.0.1:26379", "m", NULL,
                                   NULL, err) == NULL);
    s = hl_sentinel_new(base, "127.0.0.1:26379,127.0.0.1:26380", "m",
                        noop_cb, NULL, err);
    if (HT_ASSERT_TRUE(s != NULL))
        HT_ASSERT_EQ_INT(hl_sentinel_known(s), 0);
    hl_sentinel_free(s);
    hl_sentinel_free(NULL);
    HT_ASSERT_EQ_INT(hl_sentinel_known(NULL), 0);
    event_base_free(base);
    HT_CHECK_END();
}

int main(void) {
    ht_init();
    check_addr_ok();
    check_addr_nil();
    check_addr_shapes();
    check_addr_fields();
    check_switch_ok();
    check_switch_other();
    check_switch_bad();
    check_new();
    return ht_summary();
}
