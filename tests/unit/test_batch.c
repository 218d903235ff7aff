/* test_batch.c - unit tests of common/hl_batch.c: one parsed webhook body
 * split into every event of every entry, messaging[] and standby[] alike
 * (a peer that handles only the first event is the bug hookline exists to
 * fix), each event an envelope bound for its partition or, when it cannot
 * be identified, a malformed_event item. Also: another object is
 * HL_IGNORED, wrong shapes are HL_EINVAL, and after anything but HL_OK the
 * batch holds nothing (LeakSanitizer would see it otherwise).
 * Expected ids were derived from DESIGN.md independently (see
 * test_event.c); the partition of each item must be hl_partition_of of
 * its page and user. */
#include "../lib/hl_test.h"
#include "hl.h"
#include "hl_batch.h"
#include "hl_envelope.h"
#include "hl_json.h"
#include "hl_partition.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#define RX 1700000000123LL
#define PARTITIONS 16

/* ---- helpers ------------------------------------------------------------- */

static int split_text(const char *text, size_t len, struct hl_batch *b) {
    json_object *root = NULL;
    int rc;

    if (hl_json_parse(text, len, HL_JSON_DEPTH, &root) != HL_OK) {
        HT_FAIL("test body does not parse");
        memset(b, 0, sizeof(*b));
        return HL_ERR;
    }
    rc = hl_batch_split(root, PARTITIONS, RX, b);
    json_object_put(root);   /* items own their data: root may go */
    return rc;
}

static int split_str(const char *text, struct hl_batch *b) {
    return split_text(text, strlen(text), b);
}

static int split_fixture(const char *name, struct hl_batch *b) {
    char rel[512];
    char *body = NULL;
    size_t len = 0;
    int rc;

    snprintf(rel, sizeof(rel), "webhook/%s", name);
    if (ht_read_fixture(rel, &body, &len) != HL_OK) {
        HT_FAIL("cannot read %s", rel);
        memset(b, 0, sizeof(*b));
        return HL_ERR;
    }
    rc = split_text(body, len, b);
    free(body);
    return rc;
}

/* Each good item: partition matches its conversation, its data is an
 * envelope that parses with the item's own fields. */
static void check_items_consistent(const struct hl_batch *b) {
    size_t i, malformed = 0;

    for (i = 0; i < b->n; i++) {
        const struct hl_batch_item *it = &b->items[i];
        struct hl_envelope env;

        if (!HT_ASSERT_TRUE(it->data != NULL))
            continue;
        HT_ASSERT_EQ_INT(strlen(it->data), it->len);
        if (it->malformed) {
            malformed++;
            continue;
        }
        HT_ASSERT_EQ_INT(it->partition,
                         hl_partition_of(it->info.page, it->info.user,
                                         PARTITIONS));
        if (!HT_ASSERT_EQ_INT(hl_envelope_parse(it->data, it->len, &env),
                              HL_OK))
            continue;
        HT_ASSERT_EQ_STR(env.id, it->info.id);
        HT_ASSERT_EQ_STR(env.page, it->info.page);
        HT_ASSERT_EQ_STR(env.user, it->info.user);
        HT_ASSERT_EQ_STR(env.object, b->object);
        HT_ASSERT_EQ_INT(env.standby, it->info.standby);
        HT_ASSERT_EQ_INT(env.rx, RX);
        hl_envelope_cleanup(&env);
    }
    HT_ASSERT_EQ_INT(malformed, b->n_malformed);
}

/* Index of the item with id `id` (and standby flag), or -1. */
static long find_item(const struct hl_batch *b, const char *id,
                      int standby) {
    size_t i;

    for (i = 0; i < b->n; i++) {
        if (!b->items[i].malformed &&
            strcmp(b->items[i].info.id, id) == 0 &&
            b->items[i].info.standby == standby)
            return (long)i;
    }
    return -1;
}

/* ---- checks -------------------------------------------------------------- */

static void check_single(void) {
    struct hl_batch b;

    HT_CHECK_BEGIN("one text message: one envelope, object page, its "
                   "partition");
    if (HT_ASSERT_EQ_INT(split_fixture("message_text_botman.json", &b),
                         HL_OK)) {
        HT_ASSERT_EQ_STR(b.object, "page");
        if (HT_ASSERT_EQ_INT(b.n, 1)) {
            HT_ASSERT_EQ_STR(b.items[0].info.id,
                             "m:mid.1480279487147:4388d3b344");
            /* python3 FNV-1a: "111899832631525:1433960459967306" % 16 */
            HT_ASSERT_EQ_INT(b.items[0].partition, 4);
            HT_ASSERT_EQ_INT(b.items[0].malformed, 0);
        }
        HT_ASSERT_EQ_INT(b.n_malformed, 0);
        check_items_consistent(&b);
        hl_batch_cleanup(&b);
    }
    HT_CHECK_END();
}

static void check_multi_entry(void) {
    static const char *const ids[] = {
        "m:mid.1457764197618:41d102a3e1ae206a38",
        "d:USER_ID:1458668856253",
        "rd:USER_ID:1458668856253",
        "h:e288faf5dd236664bcd8818c31b4cea3d4e7b098c4987e28420249701ea2cb42",
    };
    struct hl_batch b;
    size_t i;

    HT_CHECK_BEGIN("2 entries x 2 events: all four events, none dropped");
    if (HT_ASSERT_EQ_INT(split_fixture("batch_multi_entry_multi_event_"
                                       "composed.json", &b), HL_OK)) {
        HT_ASSERT_EQ_INT(b.n, 4);
        HT_ASSERT_EQ_INT(b.n_malformed, 0);
        for (i = 0; i < HL_ARRAY_LEN(ids); i++) {
            if (find_item(&b, ids[i], 0) < 0)
                HT_FAIL("missing event %s", ids[i]);
        }
        check_items_consistent(&b);
        hl_batch_cleanup(&b);
    }
    HT_CHECK_END();
}

static void check_same_mid(void) {
    struct hl_batch b;

    HT_CHECK_BEGIN("the same mid in two entries: two items, same id and "
                   "partition (dedupe is Redis's job)");
    if (HT_ASSERT_EQ_INT(split_fixture("batch_two_entries_same_mid_courier."
                                       "json", &b), HL_OK)) {
        if (HT_ASSERT_EQ_INT(b.n, 2)) {
            HT_ASSERT_EQ_STR(b.items[0].info.id, "m:external_id");
            HT_ASSERT_EQ_STR(b.items[1].info.id, "m:external_id");
            HT_ASSERT_EQ_INT(b.items[0].partition, b.items[1].partition);
            HT_ASSERT_EQ_INT(b.items[0].partition, 14);
        }
        check_items_consistent(&b);
        hl_batch_cleanup(&b);
    }
    HT_CHECK_END();
}

static void check_standby(void) {
    struct hl_batch b;
    long i;

    HT_CHECK_BEGIN("standby[] next to messaging[]: all three events, the "
                   "standby ones flagged");
    if (HT_ASSERT_EQ_INT(split_fixture("standby_plus_messaging_botbuilder."
                                       "json", &b), HL_OK)) {
        HT_ASSERT_EQ_INT(b.n, 3);
        HT_ASSERT_GE_INT(find_item(&b, "m:AAAA-BBBB-CCCC", 0), 0);
        i = find_item(&b, "h:c2792c186a402f7858cb85460ab7b0c4b9d566aa9643b8ae"
                      "a4bdecab2696b8c1", 1);
        if (HT_ASSERT_GE_INT(i, 0)) {
            HT_ASSERT_EQ_STR(b.items[i].info.user, "user1");
            HT_ASSERT_CONTAINS(b.items[i].data, "\"standby\":true");
        }
        i = find_item(&b, "h:e89d1f18e1762df47f7560dd7917748036810994fd5a8c18"
                      "29b03d5a3cbfac4a", 1);
        if (HT_ASSERT_GE_INT(i, 0))
            HT_ASSERT_EQ_STR(b.items[i].info.user, "user2");
        check_items_consistent(&b);
        hl_batch_cleanup(&b);
    }
    if (HT_ASSERT_EQ_INT(split_fixture("standby_postback_empty_real_tock."
                                       "json", &b), HL_OK)) {
        if (HT_ASSERT_EQ_INT(b.n, 1)) {
            HT_ASSERT_EQ_INT(b.items[0].info.standby, 1);
            HT_ASSERT_EQ_INT(b.items[0].info.kind, HL_KIND_POSTBACK);
        }
        hl_batch_cleanup(&b);
    }
    if (HT_ASSERT_EQ_INT(split_fixture("standby_echo_media_template_docs."
                                       "json", &b), HL_OK)) {
        if (HT_ASSERT_EQ_INT(b.n, 1)) {
            HT_ASSERT_EQ_INT(b.items[0].info.standby, 1);
            HT_ASSERT_EQ_INT(b.items[0].info.kind, HL_KIND_ECHO);
            HT_ASSERT_EQ_STR(b.items[0].info.user, "<PSID>");
        }
        hl_batch_cleanup(&b);
    }
    HT_CHECK_END();
}

static void check_instagram(void) {
    struct hl_batch b;

    HT_CHECK_BEGIN("object instagram is ours; envelopes say instagram");
    if (HT_ASSERT_EQ_INT(split_fixture("ig_text_real.json", &b), HL_OK)) {
        HT_ASSERT_EQ_STR(b.object, "instagram");
        if (HT_ASSERT_EQ_INT(b.n, 1))
            HT_ASSERT_CONTAINS(b.items[0].data, "\"object\":\"instagram\"");
        check_items_consistent(&b);
        hl_batch_cleanup(&b);
    }
    HT_CHECK_END();
}

static void check_malformed(void) {
    const char *mixed = "{\"object\":\"page\",\"entry\":[{\"id\":\"P\","
        "\"messaging\":[{\"sender\":{\"id\":\"U\"},\"recipient\":{\"id\":"
        "\"P\"},\"message\":{\"mid\":\"M1\"}},{},{\"timestamp\":5},"
        "{\"sender\":{\"id\":\"U\"},\"recipient\":{\"id\":\"P\"},"
        "\"message\":{\"mid\":\"M2\"}},7],\"standby\":[{\"x\":1}]}]}";
    struct hl_batch b;
    size_t i, good = 0;

    HT_CHECK_BEGIN("events that cannot be identified are counted malformed "
                   "and keep their JSON; the rest still go through");
    if (HT_ASSERT_EQ_INT(split_fixture("edge_empty_messaging_event_botman."
                                       "json", &b), HL_OK)) {
        if (HT_ASSERT_EQ_INT(b.n, 1)) {
            HT_ASSERT_EQ_INT(b.items[0].malformed, 1);
            HT_ASSERT_EQ_STR(b.items[0].data, "{}");
        }
        HT_ASSERT_EQ_INT(b.n_malformed, 1);
        hl_batch_cleanup(&b);
    }
    if (HT_ASSERT_EQ_INT(split_str(mixed, &b), HL_OK)) {
        HT_ASSERT_EQ_INT(b.n, 6);
        HT_ASSERT_EQ_INT(b.n_malformed, 4);
        for (i = 0; i < b.n; i++)
            good += !b.items[i].malformed;
        HT_ASSERT_EQ_INT(good, 2);
        HT_ASSERT_GE_INT(find_item(&b, "m:M1", 0), 0);
        HT_ASSERT_GE_INT(find_item(&b, "m:M2", 0), 0);
        for (i = 0; i < b.n; i++) {
            if (b.items[i].malformed &&
                strcmp(b.items[i].data, "{\"timestamp\":5}") != 0 &&
                strcmp(b.items[i].data, "{}") != 0 &&
                strcmp(b.items[i].data, "7") != 0 &&
                strcmp(b.items[i].data, "{\"x\":1}") != 0)
                HT_FAIL("malformed item %zu holds %s", i, b.items[i].data);
        }
        check_items_consistent(&b);
        hl_batch_cleanup(&b);
    }
    HT_CHECK_END();
}

static void check_empty(void) {
    struct hl_batch b;

    HT_CHECK_BEGIN("no entries / an entry without lists: HL_OK, zero "
                   "items");
    if (HT_ASSERT_EQ_INT(split_fixture("edge_no_entries_courier.json", &b),
                         HL_OK)) {
        HT_ASSERT_EQ_INT(b.n, 0);
        HT_ASSERT_EQ_INT(b.n_malformed, 0);
        hl_batch_cleanup(&b);
    }
    if (HT_ASSERT_EQ_INT(split_fixture("edge_entry_without_messaging_"
                                       "courier.json", &b), HL_OK)) {
        HT_ASSERT_EQ_INT(b.n, 0);
        hl_batch_cleanup(&b);
    }
    if (HT_ASSERT_EQ_INT(split_str("{\"object\":\"page\",\"entry\":[{\"id\":"
                                   "\"P\",\"messaging\":[],\"standby\":[]}]}",
                                   &b), HL_OK)) {
        HT_ASSERT_EQ_INT(b.n, 0);
        hl_batch_cleanup(&b);
    }
    HT_CHECK_END();
}

static void check_ignored(void) {
    static const char *const others[] = {
        "{\"object\":\"whatsapp_business_account\",\"entry\":[]}",
        "{\"object\":\"user\",\"entry\":[{\"id\":\"1\",\"changes\":[]}]}",
        "{\"object\":\"Page\",\"entry\":[]}",        /* case matters */
        "{\"object\":\"permissions\"}",               /* shape irrelevant */
    };
    struct hl_batch b;
    size_t i;

    HT_CHECK_BEGIN("another object is HL_IGNORED and the batch holds "
                   "nothing");
    memset(&b, 0x5a, sizeof(b));
    HT_ASSERT_EQ_INT(split_fixture("edge_object_not_page_courier.json", &b),
                     HL_IGNORED);
    HT_ASSERT_EQ_INT(b.n, 0);
    HT_ASSERT_TRUE(b.items == NULL);
    for (i = 0; i < HL_ARRAY_LEN(others); i++) {
        int rc = split_str(others[i], &b);
        if (rc != HL_IGNORED)
            HT_FAIL("%s: rc %d, want HL_IGNORED", others[i], rc);
        HT_ASSERT_TRUE(b.items == NULL && b.n == 0);
    }
    HT_CHECK_END();
}

static void check_shapes(void) {
    static const char *const bad[] = {
        "[]",
        "\"page\"",
        "42",
        "{}",                                              /* no object */
        "{\"object\":7,\"entry\":[]}",
        "{\"object\":null,\"entry\":[]}",
        "{\"object\":\"page\"}",                           /* no entry */
        "{\"object\":\"page\",\"entry\":{}}",
        "{\"object\":\"page\",\"entry\":\"x\"}",
        "{\"object\":\"page\",\"entry\":[5]}",
        "{\"object\":\"page\",\"entry\":[[]]}",
        "{\"object\":\"page\",\"entry\":[{\"id\":\"P\",\"messaging\":{}}]}",
        "{\"object\":\"page\",\"entry\":[{\"id\":\"P\",\"standby\":\"x\"}]}",
        "{\"object\":\"instagram\",\"entry\":[{\"id\":\"P\","
        "\"messaging\":7}]}",
        /* good events first, then a bad entry: nothing may be kept */
        "{\"object\":\"page\",\"entry\":[{\"id\":\"P\",\"messaging\":["
        "{\"sender\":{\"id\":\"U\"},\"recipient\":{\"id\":\"P\"},"
        "\"message\":{\"mid\":\"M\"}}]},null]}",
        "{\"object\":\"page\",\"entry\":[{\"id\":\"P\",\"messaging\":["
        "{\"sender\":{\"id\":\"U\"},\"recipient\":{\"id\":\"P\"},"
        "\"message\":{\"mid\":\"M\"}}],\"standby\":{}}]}",
    };
    struct hl_batch b;
    size_t i;

    HT_CHECK_BEGIN("wrong shapes are HL_EINVAL and leave nothing behind");
    for (i = 0; i < HL_ARRAY_LEN(bad); i++) {
        int rc;
        memset(&b, 0x5a, sizeof(b));
        rc = split_str(bad[i], &b);
        if (rc != HL_EINVAL)
            HT_FAIL("case %zu: rc %d, want HL_EINVAL: %s", i, rc, bad[i]);
        if (b.n != 0 || b.items != NULL)
            HT_FAIL("case %zu: batch not empty after failure", i);
        if (rc == HL_OK)
            hl_batch_cleanup(&b);
    }
    HT_CHECK_END();
}

static void check_many(void) {
    const size_t n = 1000;
    size_t cap = 64 + n * 128, len = 0, i;
    char *body = malloc(cap);
    struct hl_batch b;
    char id[32];

    HT_CHECK_BEGIN("1000 events in one entry: 1000 envelopes, in order");
    if (!HT_ASSERT_TRUE(body != NULL))
        goto done;
    len += (size_t)snprintf(body + len, cap - len, "{\"object\":\"page\","
                            "\"entry\":[{\"id\":\"P\",\"messaging\":[");
    for (i = 0; i < n; i++)
        len += (size_t)snprintf(body + len, cap - len,
                                "%s{\"sender\":{\"id\":\"U%zu\"},\"recipient\""
                                ":{\"id\":\"P\"},\"timestamp\":%zu,"
                                "\"message\":{\"mid\":\"M%zu\"}}",
                                i ? "," : "", i % 37, 1000000 + i, i);
    len += (size_t)snprintf(body + len, cap - len, "]}]}");
    if (HT_ASSERT_EQ_INT(split_text(body, len, &b), HL_OK)) {
        if (HT_ASSERT_EQ_INT(b.n, n)) {
            for (i = 0; i < n; i++) {
                snprintf(id, sizeof(id), "m:M%zu", i);
                if (strcmp(b.items[i].info.id, id) != 0) {
                    HT_FAIL("item %zu is %s, want %s", i,
                            b.items[i].info.id, id);
                    break;
                }
            }
            /* 1000000 + i is under 10^11: seconds */
            HT_ASSERT_EQ_INT(b.items[5].info.ts, 1000005000LL);
        }
        check_items_consistent(&b);
        hl_batch_cleanup(&b);
    }
done:
    free(body);
    HT_CHECK_END();
}

int main(void) {
    ht_init();
    check_single();
    check_multi_entry();
    check_same_mid();
    check_standby();
    check_instagram();
    check_malformed();
    check_empty();
    check_ignored();
    check_shapes();
    check_many();
    return ht_summary();
}
