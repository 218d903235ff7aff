/* test_event.c - unit tests of common/hl_event.c (kind, conversation,
 * timestamp and identity of one messaging event) together with
 * hl_partition_of and hl_envelope_build/parse, over EVERY file of
 * tests/fixtures/webhook/.
 *
 * The expected values in the table below were derived from DESIGN.md's
 * rules by an independent model (a short python3 program: kinds, "the
 * party that is not the page", ts in ms with the seconds and fallback
 * rules, the m:/p:/r:/d:/rd:/h: identities, FNV-1a 64 partition over 16
 * partitions), never by running the code under test. The directory is
 * listed, so a fixture added later fails the coverage check until it has
 * rows here. Fixture quirks (tests/fixtures/README.md) that the rows
 * encode: framework echoes whose "recipient" is the page (DESIGN: the
 * user of an echo is the recipient, so user == page there), deliveries
 * without timestamp (entry time), a string timestamp in seconds, a sender
 * with user_ref only, an optin with no sender (optin.user_ref), standby[]
 * next to messaging[], and an empty event {} (malformed_event).
 * Envelope parse failures are in test_envelope.c, batch shapes in
 * test_batch.c. */
#include "../lib/hl_test.h"
#include "hl.h"
#include "hl_envelope.h"
#include "hl_event.h"
#include "hl_json.h"
#include "hl_partition.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#define RX 1700000000123LL       /* receive time passed to every describe */
#define PARTITIONS 16
#define MAX_FILES 128

/* One messaging event of one fixture and what DESIGN.md says it is. */
struct row {
    const char *file;
    int entry;                /* index in entry[] */
    int standby;              /* 1: entry[].standby[], 0: messaging[] */
    int idx;                  /* index in that list */
    int malformed;            /* 1: describe must refuse it */
    const char *kind;
    const char *page;
    const char *user;
    const char *id;
    long long ts;
    long partition;           /* of 16 */
};

static const struct row rows[] = {
    { "account_linking_botman.json", 0, 0, 0, 0,
      "other", "111899832631525", "USER_ID",
      "h:a5bae2bfcd17fe22e086cbc713f5dead9a8f26dd66a08dddb00bc8c237c53734",
      1458668856463LL, 14 },
    { "batch_multi_entry_multi_event_composed.json", 0, 0, 0, 0,
      "message", "PAGE_ID", "USER_ID",
      "m:mid.1457764197618:41d102a3e1ae206a38",
      1458692752478LL, 5 },
    { "batch_multi_entry_multi_event_composed.json", 0, 0, 1, 0,
      "delivery", "PAGE_ID", "USER_ID",
      "d:USER_ID:1458668856253",
      1458692752478LL, 5 },
    { "batch_multi_entry_multi_event_composed.json", 1, 0, 0, 0,
      "read", "PAGE_ID", "USER_ID",
      "rd:USER_ID:1458668856253",
      1458668856463LL, 5 },
    { "batch_multi_entry_multi_event_composed.json", 1, 0, 1, 0,
      "other", "PAGE_ID", "USER_ID",
      "h:e288faf5dd236664bcd8818c31b4cea3d4e7b098c4987e28420249701ea2cb42",
      1234567890000LL, 5 },
    { "batch_two_entries_same_mid_courier.json", 0, 0, 0, 0,
      "message", "1234567890", "5678",
      "m:external_id",
      1459991487970LL, 14 },
    { "batch_two_entries_same_mid_courier.json", 1, 0, 0, 0,
      "message", "1234567890", "5678",
      "m:external_id",
      1459991487970LL, 14 },
    { "delivery_no_timestamp_botman.json", 0, 0, 0, 0,
      "delivery", "111899832631525", "USER_ID",
      "d:USER_ID:1458668856253",
      1480279487271LL, 14 },
    { "delivery_without_mids_m4j.json", 0, 0, 0, 0,
      "delivery", "PAGE_ID", "USER_ID",
      "d:USER_ID:1458668856253",
      1458692752478LL, 5 },
    { "echo_no_app_id_botman.json", 0, 0, 0, 0,
      "echo", "111899832631525", "111899832631525",
      "m:mid.1480279487147:4388d3b344",
      1480279487147LL, 13 },
    { "echo_template_receipt_m4j.json", 0, 0, 0, 0,
      "echo", "171999997131834678", "1256299999730577",
      "m:mid.1480199999925:83392d9f65",
      1480120402725LL, 1 },
    { "echo_text_app_id_m4j.json", 0, 0, 0, 0,
      "echo", "PAGE_ID", "USER_ID",
      "m:mid.1457764197618:41d102a3e1ae206a38",
      1480114700296LL, 5 },
    { "edge_empty_messaging_event_botman.json", 0, 0, 0, 1,
      NULL, NULL, NULL, NULL, 0, 0 },
    { "handover_pass_thread_control_botbuilder.json", 0, 0, 0, 0,
      "handover", "fakeId", "fakeId",
      "h:7fb4d5a23f31478a30f750cb02e5149d0d3342297c9226a5aac49d5c9c398ff9",
      1572630578783LL, 5 },
    { "handover_request_thread_control_botbuilder.json", 0, 0, 0, 0,
      "handover", "fakeId", "fakeId",
      "h:48aa58dc5477cc5d91c3362536f6d824c9ac2fd2d4bb7c6883464c5d466874bb",
      1572630401588LL, 5 },
    { "handover_take_thread_control_botbuilder.json", 0, 0, 0, 0,
      "handover", "fakeId", "fakeId",
      "h:f3d9c3d5ef92e911a01228368602837408ddff2ff947e158d3819f68aabd8586",
      1572630386105LL, 5 },
    { "ig_echo_courier.json", 0, 0, 0, 0,
      "echo", "1234567890", "1234567890",
      "m:qT7ywaK",
      1459991487970LL, 11 },
    { "ig_icebreaker_postback_courier.json", 0, 0, 0, 0,
      "postback", "1234567890", "5678",
      "p:5678:1459991487970:bb5a3429cf19edfb",
      1459991487970LL, 14 },
    { "ig_image_real.json", 0, 0, 0, 0,
      "message", "17841472110558136", "489760440872775",
      "m:aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDcyMTEwNTU4MTM2OjM0MDI4MjM"
      "2Njg0MTcxMDMwMTI0NDI3NjAyNTg0MzYzNjQ5MDY2MjozMjEwMDIzNjExNTg4MzI3NzM3OT"
      "I0MTg2MTg1NjYyNDY0MAZDZD",
      1740157286706LL, 11 },
    { "ig_reaction_dashboard_test_real.json", 0, 0, 0, 0,
      "reaction", "0", "12334",
      "r:random_mid:react:love:12334:233445667",
      233445667000LL, 6 },
    { "ig_story_mention_courier.json", 0, 0, 0, 0,
      "message", "1234567890", "5678",
      "m:external_id",
      1459991487970LL, 14 },
    { "ig_text_real.json", 0, 0, 0, 0,
      "message", "17841472110558136", "489760440872775",
      "m:aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDcyMTEwNTU4MTM2OjM0MDI4MjM"
      "2Njg0MTcxMDMwMTI0NDI3NjAyNTg0MzYzNjQ5MDY2MjozMjEwMDIzNDUyNDE5MjQ5ODg1Nj"
      "AzOTM5MjY5NzM4NDk2MAZDZD",
      1740157200421LL, 11 },
    { "ig_unsent_is_deleted_courier.json", 0, 0, 0, 0,
      "message", "1234567890", "5678",
      "m:external_id",
      1569262485349LL, 14 },
    { "message_attachment_audio_botman.json", 0, 0, 0, 0,
      "message", "PAGE_ID", "USER_ID",
      "m:mid.1472672934017:db566db5104b5b5c08",
      1472672934259LL, 5 },
    { "message_attachment_file_botman.json", 0, 0, 0, 0,
      "message", "PAGE_ID", "USER_ID",
      "m:mid.1472672934017:db566db5104b5b5c08",
      1472672934259LL, 5 },
    { "message_attachment_image_courier.json", 0, 0, 0, 0,
      "message", "1234567890", "5678",
      "m:external_id",
      1459991487970LL, 14 },
    { "message_attachment_location_botman.json", 0, 0, 0, 0,
      "message", "PAGE_ID", "USER_ID",
      "m:mid.1472672934017:db566db5104b5b5c08",
      1472672934259LL, 5 },
    { "message_attachment_video_botman.json", 0, 0, 0, 0,
      "message", "PAGE_ID", "USER_ID",
      "m:mid.1472672934017:db566db5104b5b5c08",
      1472672934259LL, 5 },
    { "message_attachments_mixed_m4j.json", 0, 0, 0, 0,
      "message", "PAGE_ID", "USER_ID",
      "m:mid.1458696618141:b4ef9d19ec21086067",
      1458692752478LL, 5 },
    { "message_edit_docs.json", 0, 0, 0, 0,
      "message_edit", "<PAGE_ID>", "<PSID>",
      "m:<MESSAGE_ID>:e1",
      1458668856463LL, 10 },
    { "message_fallback_courier.json", 0, 0, 0, 0,
      "message", "1234567890", "5678",
      "m:external_id",
      1459991487970LL, 14 },
    { "message_location_escaped_percent_composed.json", 0, 0, 0, 0,
      "message", "<PAGE_ID>", "<PSID>",
      "m:<MID>",
      1527069282000LL, 10 },
    { "message_nlp_botman.json", 0, 0, 0, 0,
      "message", "111899832631525", "1433960459967306",
      "m:mid.$cAABlxfDuVgpkzP8I5Fem7nAgTm_7",
      1505851195620LL, 4 },
    { "message_non_ascii_escaped_derived.json", 0, 0, 0, 0,
      "message", "111899832631525", "1433960459967306",
      "m:mid.1480279487147:4388d3b344",
      1480279487147LL, 4 },
    { "message_non_ascii_raw_utf8_derived.json", 0, 0, 0, 0,
      "message", "111899832631525", "1433960459967306",
      "m:mid.1480279487147:4388d3b344",
      1480279487147LL, 4 },
    { "message_quick_reply_botman.json", 0, 0, 0, 0,
      "message", "111899832631525", "1433960459967306",
      "m:mid.1480279487147:4388d3b344",
      1480279487147LL, 4 },
    { "message_quick_reply_docs.json", 0, 0, 0, 0,
      "message", "<PAGE_ID>", "1254459154682919",
      "m:m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwl"
      "qLP_5cgXIbu7I3rBN0P",
      1502905976377LL, 15 },
    { "message_reply_to_docs.json", 0, 0, 0, 0,
      "message", "<PAGE_ID>", "<PSID>",
      "m:m_1457764197618:41d102a3e1ae206a38",
      1458692752478LL, 10 },
    { "message_sticker_like_real.json", 0, 0, 0, 0,
      "message", "2061796340715698", "~~XXXXX~~",
      "m:mid.$cAAcJxRG2E_FmC_lRJlf2rP1kC830",
      1511202752806LL, 1 },
    { "message_text_botman.json", 0, 0, 0, 0,
      "message", "111899832631525", "1433960459967306",
      "m:mid.1480279487147:4388d3b344",
      1480279487147LL, 4 },
    { "message_text_crlf_botbuilder.json", 0, 0, 0, 0,
      "message", "123123123", "123123123",
      "m:Q3znCzp31iKkarGcToiQWSJGtmSVjUPs7GtwB7WEjVRcg9MxG8TT09Z0wimdrcCHxQCRp"
      "MSKZcHBthhqXsonoA",
      1570649960249LL, 13 },
    { "message_text_signed_m4j.json", 0, 0, 0, 0,
      "message", "1717527131834678", "1256217357730577",
      "m:mid.1475942721728:3b9e3646712f9bed52",
      1475942721741LL, 8 },
    { "message_text_tabs_botbuilder.json", 0, 0, 0, 0,
      "message", "0", "0",
      "m:AAAA-BBBB-CCCC",
      2222222000LL, 13 },
    { "optin_notification_messages_courier.json", 0, 0, 0, 0,
      "optin", "1234567890", "5678",
      "h:03e2640a6c811f9a7d47e26fa9d10c129641b6c6d78d02b26445a98013963d16",
      1459991487970LL, 14 },
    { "optin_user_ref_no_sender_botman.json", 0, 0, 0, 0,
      "optin", "111899832631525", "1234",
      "h:70ecd294e3cda358483c527c8335548e11df68e7dd94581240c2d319ed29b771",
      1480279487147LL, 1 },
    { "postback_get_started_courier.json", 0, 0, 0, 0,
      "postback", "1234567890", "5678",
      "p:5678:1459991487970:bb5a3429cf19edfb",
      1459991487970LL, 14 },
    { "postback_mid_user_ref_docs.json", 0, 0, 0, 0,
      "postback", "PAGE-ID", "USER-REF-ID",
      "p:m_MESSAGE-ID",
      1527459824000LL, 13 },
    { "postback_no_mid_botman.json", 0, 0, 0, 0,
      "postback", "111899832631525", "1433960459967306",
      "p:1433960459967306:1480279487147:856ea36e169407f9",
      1480279487147LL, 4 },
    { "postback_referral_m4j.json", 0, 0, 0, 0,
      "postback", "PAGE_ID", "<PSID>",
      "p:<PSID>:1458692752478:48f8c86d513b805e",
      1458692752478LL, 14 },
    { "reaction_react_docs.json", 0, 0, 0, 0,
      "reaction", "<PAGE_ID>", "<PSID>",
      "r:<MID_OF_ReactedTo_Message>:react:love:<PSID>:1458668856463",
      1458668856463LL, 10 },
    { "reaction_unreact_docs.json", 0, 0, 0, 0,
      "reaction", "<PAGE_ID>", "<PSID>",
      "r:<MID_OF_ReactedTo_Message>:unreact:love:<PSID>:1458668857463",
      1458668857463LL, 10 },
    { "read_botman.json", 0, 0, 0, 0,
      "read", "111899832631525", "USER_ID",
      "rd:USER_ID:1458668856253",
      1458668856463LL, 14 },
    { "referral_ads_m4j.json", 0, 0, 0, 0,
      "referral", "<PAGE_ID>", "<USER_ID>",
      "h:34cbc918d95ad06d7e440ba5b57eac0dda370b26c511bb528167c3891d575ced",
      1458692752478LL, 9 },
    { "referral_shortlink_botbuilder.json", 0, 0, 0, 0,
      "referral", "0", "0",
      "h:4ce4f04824a6a6d03d16351e51aa16ae199ca4a8ed6f2ee7482212abb7e8478b",
      2222222000LL, 13 },
    { "standby_echo_media_template_docs.json", 0, 1, 0, 0,
      "echo", "<PAGE_ID>", "<PSID>",
      "m:qT7ywaKpO9kkQR7Gv-nM8LIfLZDamVrALniheUYEDdHJXjDXEAyaS1xxONzb2Iv-DFzmT"
      "ihfWJV012P5pK0AhQ",
      1570053170673LL, 10 },
    { "standby_plus_messaging_botbuilder.json", 0, 0, 0, 0,
      "message", "page1", "0",
      "m:AAAA-BBBB-CCCC",
      2222222000LL, 7 },
    { "standby_plus_messaging_botbuilder.json", 0, 1, 0, 0,
      "other", "page1", "user1",
      "h:c2792c186a402f7858cb85460ab7b0c4b9d566aa9643b8aea4bdecab2696b8c1",
      1458692752478LL, 1 },
    { "standby_plus_messaging_botbuilder.json", 0, 1, 1, 0,
      "other", "page1", "user2",
      "h:e89d1f18e1762df47f7560dd7917748036810994fd5a8c1829b03d5a3cbfac4a",
      1458692752478LL, 8 },
    { "standby_postback_empty_real_tock.json", 0, 1, 0, 0,
      "postback", "1744550565845823", "1590192107678927",
      "p:1590192107678927:1574175285472:e3b0c44298fc1c14",
      1574175285472LL, 9 },
    { "unknown_event_botman.json", 0, 0, 0, 0,
      "other", "111899832631525", "USER_ID",
      "h:2b9029e34e4a089cfd5238b55ca0fbc79874e251c7d5ad01caa0bbc58f6a1efc",
      1458668856463LL, 14 },
};

/* Fixtures with no event to describe, and why. */
static const char *const no_event_files[] = {
    "edge_entry_without_messaging_courier.json",  /* entry without lists */
    "edge_no_entries_courier.json",               /* entry: [] */
};
static const char *const ignored_files[] = {
    "edge_object_not_page_courier.json",          /* object "notpage" */
};

static int row_seen[HL_ARRAY_LEN(rows)];

/* ---- helpers ------------------------------------------------------------- */

static int in_list(const char *const *list, size_t n, const char *file) {
    size_t i;

    for (i = 0; i < n; i++) {
        if (strcmp(list[i], file) == 0)
            return 1;
    }
    return 0;
}

static size_t rows_of(const char *file) {
    size_t i, n = 0;

    for (i = 0; i < HL_ARRAY_LEN(rows); i++)
        n += strcmp(rows[i].file, file) == 0;
    return n;
}

static const struct row *find_row(const char *file, int entry, int standby,
                                  int idx) {
    size_t i;

    for (i = 0; i < HL_ARRAY_LEN(rows); i++) {
        const struct row *r = &rows[i];
        if (strcmp(r->file, file) == 0 && r->entry == entry &&
            r->standby == standby && r->idx == idx) {
            row_seen[i] = 1;
            return r;
        }
    }
    return NULL;
}

static json_object *get(json_object *o, const char *k) {
    json_object *v = NULL;

    if (o == NULL || !json_object_object_get_ex(o, k, &v))
        return NULL;
    return v;
}

static const char *get_str(json_object *o, const char *k) {
    json_object *v = get(o, k);

    if (v == NULL || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static long long get_int(json_object *o, const char *k) {
    json_object *v = get(o, k);

    if (v == NULL || !json_object_is_type(v, json_type_int))
        return -1;
    return (long long)json_object_get_int64(v);
}

/* Parses JSON text for the test itself (plain json-c, no hl_json). */
static json_object *parse_text(const char *s) {
    return json_tokener_parse(s);
}

/* ---- per-event assertions ------------------------------------------------ */

/* The envelope of `ev`, read back both with plain json-c (independent of
 * hl_envelope_parse) and with hl_envelope_parse. */
static void check_envelope(const struct row *r, const char *object,
                           const struct hl_event_info *info,
                           json_object *ev) {
    char *txt = NULL;
    size_t n = 0;
    json_object *o = NULL;
    struct hl_envelope env;
    int rc;

    rc = hl_envelope_build(info, object, RX, ev, &txt, &n);
    if (!HT_ASSERT_EQ_INT(rc, HL_OK))
        goto cleanup;
    HT_ASSERT_EQ_INT(strlen(txt), n);
    HT_ASSERT_TRUE(strncmp(txt, "{\"v\":1,", 7) == 0);
    HT_ASSERT_TRUE(memchr(txt, '\n', n) == NULL);   /* one queue item */
    o = parse_text(txt);
    if (!HT_ASSERT_TRUE(o != NULL))
        goto cleanup;
    HT_ASSERT_EQ_INT(get_int(o, "v"), 1);
    HT_ASSERT_EQ_STR(get_str(o, "id"), r->id);
    HT_ASSERT_EQ_STR(get_str(o, "object"), object);
    HT_ASSERT_EQ_STR(get_str(o, "page"), r->page);
    HT_ASSERT_EQ_STR(get_str(o, "user"), r->user);
    HT_ASSERT_EQ_INT(get_int(o, "ts"), r->ts);
    HT_ASSERT_EQ_INT(get_int(o, "rx"), RX);
    HT_ASSERT_EQ_STR(get_str(o, "kind"), r->kind);
    HT_ASSERT_TRUE(get(o, "standby") != NULL &&
                   json_object_is_type(get(o, "standby"),
                                       json_type_boolean) &&
                   json_object_get_boolean(get(o, "standby")) ==
                       r->standby);
    HT_ASSERT_TRUE(json_object_equal(get(o, "event"), ev));

    rc = hl_envelope_parse(txt, n, &env);
    if (!HT_ASSERT_EQ_INT(rc, HL_OK))
        goto cleanup;
    HT_ASSERT_EQ_STR(env.id, r->id);
    HT_ASSERT_EQ_STR(env.object, object);
    HT_ASSERT_EQ_STR(env.page, r->page);
    HT_ASSERT_EQ_STR(env.user, r->user);
    HT_ASSERT_EQ_STR(env.kind_name, r->kind);
    HT_ASSERT_EQ_STR(hl_kind_name(env.kind), r->kind);
    HT_ASSERT_EQ_INT(env.ts, r->ts);
    HT_ASSERT_EQ_INT(env.rx, RX);
    HT_ASSERT_EQ_INT(env.standby, r->standby);
    HT_ASSERT_TRUE(json_object_equal(env.event, ev));
    hl_envelope_cleanup(&env);
cleanup:
    json_object_put(o);
    free(txt);
}

static void check_event(const char *file, const char *object,
                        json_object *entry, int ei, int standby, int i,
                        json_object *ev) {
    const struct row *r = find_row(file, ei, standby, i);
    struct hl_event_info info;
    int rc;

    if (r == NULL) {
        HT_FAIL("%s entry %d %s[%d]: no expected row", file, ei,
                standby ? "standby" : "messaging", i);
        return;
    }
    rc = hl_event_describe(entry, ev, standby, RX, &info);
    if (r->malformed) {
        HT_ASSERT_EQ_INT(rc, HL_EINVAL);
        return;
    }
    if (!HT_ASSERT_EQ_INT(rc, HL_OK))
        return;
    HT_ASSERT_EQ_STR(hl_kind_name(info.kind), r->kind);
    HT_ASSERT_EQ_STR(hl_kind_name(hl_event_kind(ev)), r->kind);
    HT_ASSERT_EQ_STR(info.page, r->page);
    HT_ASSERT_EQ_STR(info.user, r->user);
    HT_ASSERT_EQ_STR(info.id, r->id);
    HT_ASSERT_EQ_INT(info.ts, r->ts);
    HT_ASSERT_EQ_INT(info.standby, r->standby);
    HT_ASSERT_EQ_INT(hl_partition_of(info.page, info.user, PARTITIONS),
                     r->partition);
    check_envelope(r, object, &info, ev);
}

/* Walks entry[].messaging[] and entry[].standby[] of one body. Returns the
 * number of events seen. */
static size_t walk(const char *file, json_object *root) {
    const char *object = get_str(root, "object");
    json_object *entries = get(root, "entry");
    size_t seen = 0, ei, i;
    int standby;

    if (!HT_ASSERT_TRUE(object != NULL && entries != NULL &&
                        json_object_is_type(entries, json_type_array)))
        return 0;
    for (ei = 0; ei < json_object_array_length(entries); ei++) {
        json_object *entry = json_object_array_get_idx(entries, ei);
        for (standby = 0; standby <= 1; standby++) {
            json_object *list = get(entry, standby ? "standby"
                                                   : "messaging");
            if (list == NULL)
                continue;
            for (i = 0; i < json_object_array_length(list); i++) {
                check_event(file, object, entry, (int)ei, standby, (int)i,
                            json_object_array_get_idx(list, i));
                seen++;
            }
        }
    }
    return seen;
}

/* ---- fixture checks ------------------------------------------------------ */

static char *files[MAX_FILES];
static size_t n_files;

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list_fixtures(void) {
    char dir[4096];
    DIR *d = NULL;
    struct dirent *de;
    size_t i;

    HT_CHECK_BEGIN("every tests/fixtures/webhook/*.json has expectations");
    if (!HT_ASSERT_EQ_INT(ht_fixture_path("webhook", dir, sizeof(dir)),
                          HL_OK))
        goto cleanup;
    d = opendir(dir);
    if (!HT_ASSERT_TRUE(d != NULL))
        goto cleanup;
    for (de = readdir(d); de != NULL && n_files < MAX_FILES;
         de = readdir(d)) {
        size_t n = strlen(de->d_name);
        if (n > 5 && strcmp(de->d_name + n - 5, ".json") == 0)
            files[n_files++] = strdup(de->d_name);
    }
    qsort(files, n_files, sizeof(files[0]), cmp_str);
    for (i = 0; i < n_files; i++) {
        if (files[i] == NULL) {
            HT_FAIL("out of memory");
            continue;
        }
        if (rows_of(files[i]) == 0 &&
            !in_list(no_event_files, HL_ARRAY_LEN(no_event_files),
                     files[i]) &&
            !in_list(ignored_files, HL_ARRAY_LEN(ignored_files), files[i]))
            HT_FAIL("webhook/%s has no expected rows", files[i]);
    }
    /* 57 files at the time of writing; fewer means one went missing */
    HT_ASSERT_GE_INT(n_files, 57);
cleanup:
    if (d != NULL)
        closedir(d);
    HT_CHECK_END();
}

static void check_fixture(const char *file) {
    static char names[MAX_FILES][300];
    static size_t n_names;
    char *name = names[n_names < MAX_FILES ? n_names++ : 0];
    char rel[512];
    char *body = NULL;
    size_t len = 0;
    json_object *root = NULL;
    size_t seen;

    snprintf(name, sizeof(names[0]), "webhook/%s: kind, page/user, id, "
             "ts, partition, envelope", file);
    HT_CHECK_BEGIN(name);
    snprintf(rel, sizeof(rel), "webhook/%s", file);
    if (!HT_ASSERT_EQ_INT(ht_read_fixture(rel, &body, &len), HL_OK))
        goto cleanup;
    if (!HT_ASSERT_EQ_INT(hl_json_parse(body, len, HL_JSON_DEPTH, &root),
                          HL_OK))
        goto cleanup;
    if (in_list(ignored_files, HL_ARRAY_LEN(ignored_files), file)) {
        const char *obj = get_str(root, "object");
        /* not ours: hl_batch_split answers HL_IGNORED (test_batch.c) */
        HT_ASSERT_TRUE(obj != NULL && strcmp(obj, "page") != 0 &&
                       strcmp(obj, "instagram") != 0);
        goto cleanup;
    }
    seen = walk(file, root);
    HT_ASSERT_EQ_INT(seen, rows_of(file));
    if (in_list(no_event_files, HL_ARRAY_LEN(no_event_files), file))
        HT_ASSERT_EQ_INT(seen, 0);
cleanup:
    json_object_put(root);
    free(body);
    HT_CHECK_END();
}

static void check_all_rows_seen(void) {
    size_t i;

    HT_CHECK_BEGIN("every expected row matched an event of its fixture");
    for (i = 0; i < HL_ARRAY_LEN(rows); i++) {
        if (!row_seen[i])
            HT_FAIL("row %zu (%s entry %d idx %d) never seen", i,
                    rows[i].file, rows[i].entry, rows[i].idx);
    }
    HT_CHECK_END();
}

/* ---- synthetic events ---------------------------------------------------- */

/* Describes `ev_json` in an entry {"id":page,"time":entry_time?}. */
static int describe(const char *entry_json, const char *ev_json,
                    struct hl_event_info *info) {
    json_object *entry = parse_text(entry_json);
    json_object *ev = parse_text(ev_json);
    int rc = HL_ERR;

    if (entry == NULL || ev == NULL) {
        HT_FAIL("test JSON does not parse: %s / %s", entry_json, ev_json);
        goto cleanup;
    }
    rc = hl_event_describe(entry, ev, 0, RX, info);
cleanup:
    json_object_put(entry);
    json_object_put(ev);
    return rc;
}

#define EV_PARTIES "\"sender\":{\"id\":\"U\"},\"recipient\":{\"id\":\"P\"}"

static void check_ts_reader(void) {
    struct ts_case {
        const char *json;
        int rc;
        long long ms;
    } cases[] = {
        { "1458668856463", HL_OK, 1458668856463LL },   /* ms */
        { "1527459824", HL_OK, 1527459824000LL },      /* seconds */
        { "\"1527459824\"", HL_OK, 1527459824000LL },  /* digit string, s */
        { "\"1458668856463\"", HL_OK, 1458668856463LL },
        { "99999999999", HL_OK, 99999999999000LL },    /* 10^11 - 1: s */
        { "100000000000", HL_OK, 100000000000LL },     /* 10^11: ms */
        { "233445667", HL_OK, 233445667000LL },        /* IG dashboard */
        { "1458668856463.0", HL_OK, 1458668856463LL }, /* a double */
        { "null", HL_EINVAL, 0 },
        { "\"abc\"", HL_EINVAL, 0 },
        { "\"\"", HL_EINVAL, 0 },
        { "\"12a\"", HL_EINVAL, 0 },
        { "\"99999999999999999999\"", HL_EINVAL, 0 },  /* overflows */
        { "true", HL_EINVAL, 0 },
        { "{}", HL_EINVAL, 0 },
        { "[1]", HL_EINVAL, 0 },
        { "0", HL_EINVAL, 0 },
        { "-5", HL_EINVAL, 0 },
        { "\"-5\"", HL_EINVAL, 0 },
    };
    size_t i;

    HT_CHECK_BEGIN("hl_event_ts: numbers and digit strings, seconds below "
                   "10^11, unusable values refused");
    for (i = 0; i < HL_ARRAY_LEN(cases); i++) {
        json_object *v = parse_text(cases[i].json);
        long long ms = -1;
        int rc;

        if (v == NULL && strcmp(cases[i].json, "null") != 0) {
            HT_FAIL("case %s does not parse", cases[i].json);
            continue;
        }
        rc = hl_event_ts(v, &ms);
        if (rc != cases[i].rc)
            HT_FAIL("hl_event_ts(%s) = %d, want %d", cases[i].json, rc,
                    cases[i].rc);
        else if (rc == HL_OK && ms != cases[i].ms)
            HT_FAIL("hl_event_ts(%s) = %lld ms, want %lld", cases[i].json,
                    ms, cases[i].ms);
        json_object_put(v);
    }
    HT_ASSERT_EQ_INT(hl_event_ts(NULL, &(long long){0}), HL_EINVAL);
    HT_CHECK_END();
}

static void check_ts_fallback(void) {
    struct hl_event_info info;

    HT_CHECK_BEGIN("ts falls back: event timestamp -> entry time (same "
                   "rules) -> rx");
    HT_ASSERT_EQ_INT(describe("{\"id\":\"P\",\"time\":1458692752478}",
                              "{" EV_PARTIES ",\"timestamp\":null,"
                              "\"message\":{\"mid\":\"M\"}}", &info), HL_OK);
    HT_ASSERT_EQ_INT(info.ts, 1458692752478LL);
    /* unusable timestamp, entry time a digit string in seconds */
    HT_ASSERT_EQ_INT(describe("{\"id\":\"P\",\"time\":\"1458692752\"}",
                              "{" EV_PARTIES ",\"timestamp\":\"abc\","
                              "\"message\":{\"mid\":\"M\"}}", &info), HL_OK);
    HT_ASSERT_EQ_INT(info.ts, 1458692752000LL);
    /* neither: the receive time */
    HT_ASSERT_EQ_INT(describe("{\"id\":\"P\"}",
                              "{" EV_PARTIES ",\"message\":{\"mid\":\"M\"}}",
                              &info), HL_OK);
    HT_ASSERT_EQ_INT(info.ts, RX);
    HT_ASSERT_EQ_INT(describe("{\"id\":\"P\",\"time\":null}",
                              "{" EV_PARTIES ",\"timestamp\":-1,"
                              "\"message\":{\"mid\":\"M\"}}", &info), HL_OK);
    HT_ASSERT_EQ_INT(info.ts, RX);
    /* a usable event timestamp wins over the entry time */
    HT_ASSERT_EQ_INT(describe("{\"id\":\"P\",\"time\":1458692752478}",
                              "{" EV_PARTIES ",\"timestamp\":\"1527459824\","
                              "\"message\":{\"mid\":\"M\"}}", &info), HL_OK);
    HT_ASSERT_EQ_INT(info.ts, 1527459824000LL);
    HT_CHECK_END();
}

struct id_case {
    const char *ev;
    const char *kind;
    const char *user;
    const char *id;
};

static void check_synthetic_ids(void) {
    static const struct id_case cases[] = {
        /* quick_reply is a message */
        { "{" EV_PARTIES ",\"timestamp\":1,\"message\":{\"mid\":\"M1\","
          "\"text\":\"Red\",\"quick_reply\":{\"payload\":\"RED\"}}}",
          "message", "U", "m:M1" },
        /* is_echo false is a message; true is an echo of the recipient */
        { "{" EV_PARTIES ",\"message\":{\"mid\":\"M2\",\"is_echo\":false}}",
          "message", "U", "m:M2" },
        { "{\"sender\":{\"id\":\"P\"},\"recipient\":{\"id\":\"U9\"},"
          "\"message\":{\"mid\":\"M3\",\"is_echo\":true}}",
          "echo", "U9", "m:M3" },
        { "{" EV_PARTIES ",\"message_edit\":{\"mid\":\"M4\",\"text\":\"x\","
          "\"num_edit\":2}}", "message_edit", "U", "m:M4:e2" },
        /* Instagram read: read.mid, no watermark */
        { "{" EV_PARTIES ",\"timestamp\":5,\"read\":{\"mid\":\"IGM\"}}",
          "read", "U", "rd:U::IGM" },
        { "{" EV_PARTIES ",\"read\":{\"watermark\":123,\"mid\":\"IGM\"}}",
          "read", "U", "rd:U:123:IGM" },
        { "{" EV_PARTIES ",\"delivery\":{\"watermark\":77,"
          "\"mids\":[\"a\",\"b\"]}}", "delivery", "U", "d:U:77" },
        /* postback without mid: p:sender:raw timestamp text:16 hex of
         * sha256(payload); sha256("BUY_1") = a9876e2fa391b244... */
        { "{" EV_PARTIES ",\"timestamp\":\"1527459824\","
          "\"postback\":{\"payload\":\"BUY_1\"}}", "postback", "U",
          "p:U:1527459824:a9876e2fa391b244" },
        { "{" EV_PARTIES ",\"timestamp\":9,\"postback\":{\"mid\":\"PM\","
          "\"payload\":\"X\"}}", "postback", "U", "p:PM" },
        { "{" EV_PARTIES ",\"timestamp\":9,\"reaction\":{\"mid\":\"RM\","
          "\"action\":\"unreact\",\"reaction\":\"smile\"}}", "reaction",
          "U", "r:RM:unreact:smile:U:9" },
        /* a sender known only by user_ref */
        { "{\"sender\":{\"user_ref\":\"REF7\"},\"recipient\":{\"id\":\"P\"},"
          "\"message\":{\"mid\":\"M5\"}}", "message", "REF7", "m:M5" },
        /* ids given as numbers */
        { "{\"sender\":{\"id\":12345},\"recipient\":{\"id\":\"P\"},"
          "\"message\":{\"mid\":\"M6\"}}", "message", "12345", "m:M6" },
    };
    struct hl_event_info info;
    size_t i;

    HT_CHECK_BEGIN("identity rules on synthetic events (quick reply, echo, "
                   "edit, IG read, postback, reaction, user_ref)");
    for (i = 0; i < HL_ARRAY_LEN(cases); i++) {
        const struct id_case *c = &cases[i];
        if (!HT_ASSERT_EQ_INT(describe("{\"id\":\"P\",\"time\":1}", c->ev,
                                       &info), HL_OK)) {
            ht_note("event: %s", c->ev);
            continue;
        }
        HT_ASSERT_EQ_STR(hl_kind_name(info.kind), c->kind);
        HT_ASSERT_EQ_STR(info.page, "P");
        HT_ASSERT_EQ_STR(info.user, c->user);
        HT_ASSERT_EQ_STR(info.id, c->id);
    }
    HT_CHECK_END();
}

static void check_handover_kinds(void) {
    static const char *const keys[] = {
        "pass_thread_control", "take_thread_control",
        "request_thread_control"
    };
    char ev[256];
    struct hl_event_info info;
    size_t i;

    HT_CHECK_BEGIN("pass/take/request_thread_control are handover; an "
                   "unknown key is other");
    for (i = 0; i < HL_ARRAY_LEN(keys); i++) {
        snprintf(ev, sizeof(ev), "{" EV_PARTIES ",\"%s\":{\"metadata\":"
                 "\"x\"}}", keys[i]);
        if (HT_ASSERT_EQ_INT(describe("{\"id\":\"P\"}", ev, &info), HL_OK))
            HT_ASSERT_EQ_STR(hl_kind_name(info.kind), "handover");
    }
    HT_ASSERT_EQ_INT(describe("{\"id\":\"P\"}", "{" EV_PARTIES
                              ",\"brand_new_field\":{}}", &info), HL_OK);
    HT_ASSERT_EQ_STR(hl_kind_name(info.kind), "other");
    HT_ASSERT_TRUE(strncmp(info.id, "h:", 2) == 0 && strlen(info.id) == 66);
    HT_CHECK_END();
}

/* h: ids are over the decoded value (json-c re-serialisation with
 * unescaped slashes), so "\/" vs "/" and "\u00e9" vs raw UTF-8 give the
 * same id; the page id is part of the hash. Expected values: python3
 * sha256 over page + json.dumps(ev, separators=(",",":"),
 * ensure_ascii=False). */
static void check_hash_ids(void) {
    const char *escaped = "{\"sender\":{\"id\":\"U1\"},\"recipient\":{\"id\":"
        "\"P1\"},\"timestamp\":1458668856463,\"foo\":{\"url\":\"http:\\/\\/x"
        "\\/y\",\"t\":\"\\u00e9\"}}";
    const char *raw = "{\"sender\":{\"id\":\"U1\"},\"recipient\":{\"id\":"
        "\"P1\"},\"timestamp\":1458668856463,\"foo\":{\"url\":\"http://x/y\","
        "\"t\":\"\xc3\xa9\"}}";
    const char *quoted = "{\"sender\":{\"id\":\"U1\"},\"recipient\":{\"id\":"
        "\"P1\"},\"timestamp\":1458668856463,\"foo\":{\"q\":\"a\\\"b\\\\c"
        "\\n\"}}";
    const char *want_p1 = "h:1948a6cb5e4e2c8539c44ee711539bae803d4083724f201c"
                          "a56af4db993a677b";
    const char *want_p2 = "h:e63b88f6d4a5874d949383d03825b5698d62ebaca6b5398d"
                          "46e5e29c0be7f2d5";
    const char *want_q = "h:eb7984b9ac069ff057b678c975dd0432ae340304b67095ab"
                         "33d732b368760b9e";
    struct hl_event_info info;

    HT_CHECK_BEGIN("h: = sha256(page id + json-c plain, no slash escape); "
                   "escaping of the input does not matter");
    if (HT_ASSERT_EQ_INT(describe("{\"id\":\"P1\"}", escaped, &info), HL_OK))
        HT_ASSERT_EQ_STR(info.id, want_p1);
    if (HT_ASSERT_EQ_INT(describe("{\"id\":\"P1\"}", raw, &info), HL_OK))
        HT_ASSERT_EQ_STR(info.id, want_p1);
    if (HT_ASSERT_EQ_INT(describe("{\"id\":\"P2\"}", raw, &info), HL_OK))
        HT_ASSERT_EQ_STR(info.id, want_p2);
    if (HT_ASSERT_EQ_INT(describe("{\"id\":\"P1\"}", quoted, &info), HL_OK))
        HT_ASSERT_EQ_STR(info.id, want_q);
    HT_CHECK_END();
}

static void check_long_ids(void) {
    char mid_a[400], mid_b[400], ev[600];
    struct hl_event_info a, b, a2;

    HT_CHECK_BEGIN("a mid too long for a key still gives a bounded, "
                   "deterministic, distinct id");
    memset(mid_a, 'a', 300);
    mid_a[300] = '\0';
    memcpy(mid_b, mid_a, sizeof(mid_a));
    mid_b[299] = 'b';
    snprintf(ev, sizeof(ev), "{" EV_PARTIES ",\"message\":{\"mid\":\"%s\"}}",
             mid_a);
    HT_ASSERT_EQ_INT(describe("{\"id\":\"P\"}", ev, &a), HL_OK);
    HT_ASSERT_EQ_INT(describe("{\"id\":\"P\"}", ev, &a2), HL_OK);
    snprintf(ev, sizeof(ev), "{" EV_PARTIES ",\"message\":{\"mid\":\"%s\"}}",
             mid_b);
    HT_ASSERT_EQ_INT(describe("{\"id\":\"P\"}", ev, &b), HL_OK);
    HT_ASSERT_LT_INT(strlen(a.id), HL_ID_MAX);
    HT_ASSERT_GT_INT(strlen(a.id), 2);
    HT_ASSERT_TRUE(strncmp(a.id, "m", 1) == 0);
    HT_ASSERT_EQ_STR(a.id, a2.id);
    HT_ASSERT_NE_STR(a.id, b.id);
    HT_CHECK_END();
}

/* JSON strings may hold NUL ("\u0000"); an id kept as a C string would
 * stop there, and two different events would share one dedupe key (the
 * second dropped as a duplicate). Whatever the id looks like, two mids
 * (or senders) that differ after a NUL must not collide. */
static void check_nul_in_ids(void) {
    struct hl_event_info a, b;
    int ra, rb;

    HT_CHECK_BEGIN("mids or senders differing only after a \\u0000 get "
                   "different ids");
    ra = describe("{\"id\":\"P\"}", "{" EV_PARTIES ",\"message\":{\"mid\":"
                  "\"mid.1\\u0000AAA\"}}", &a);
    rb = describe("{\"id\":\"P\"}", "{" EV_PARTIES ",\"message\":{\"mid\":"
                  "\"mid.1\\u0000BBB\"}}", &b);
    /* refusing both (malformed) is also safe; same id is not */
    if (ra == HL_OK && rb == HL_OK)
        HT_ASSERT_NE_STR(a.id, b.id);
    ra = describe("{\"id\":\"P\"}", "{\"sender\":{\"id\":\"U\\u0000x\"},"
                  "\"recipient\":{\"id\":\"P\"},\"timestamp\":7,\"read\":"
                  "{\"watermark\":1}}", &a);
    rb = describe("{\"id\":\"P\"}", "{\"sender\":{\"id\":\"U\\u0000y\"},"
                  "\"recipient\":{\"id\":\"P\"},\"timestamp\":7,\"read\":"
                  "{\"watermark\":1}}", &b);
    if (ra == HL_OK && rb == HL_OK)
        HT_ASSERT_NE_STR(a.id, b.id);
    HT_CHECK_END();
}

static void check_unidentifiable(void) {
    char page[400], entry[500];
    struct hl_event_info info;

    HT_CHECK_BEGIN("unidentifiable events are HL_EINVAL (malformed_event), "
                   "never a crash");
    HT_ASSERT_EQ_INT(describe("{\"id\":\"P\"}", "{}", &info), HL_EINVAL);
    HT_ASSERT_EQ_INT(describe("{\"id\":\"P\"}", "[1,2]", &info), HL_EINVAL);
    HT_ASSERT_EQ_INT(describe("{\"id\":\"P\"}", "\"message\"", &info),
                     HL_EINVAL);
    HT_ASSERT_EQ_INT(describe("{\"id\":\"P\"}", "{\"timestamp\":1,"
                              "\"message\":{\"mid\":\"M\"}}", &info),
                     HL_EINVAL);
    /* no page id anywhere */
    HT_ASSERT_EQ_INT(describe("{}", "{\"sender\":{\"id\":\"U\"},"
                              "\"message\":{\"mid\":\"M\"}}", &info),
                     HL_EINVAL);
    /* a page id longer than any id we keep */
    memset(page, '7', 300);
    page[300] = '\0';
    snprintf(entry, sizeof(entry), "{\"id\":\"%s\"}", page);
    HT_ASSERT_EQ_INT(describe(entry, "{" EV_PARTIES ",\"message\":{\"mid\":"
                              "\"M\"}}", &info), HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_event_describe(NULL, NULL, 0, RX, &info), HL_EINVAL);
    HT_CHECK_END();
}

static void check_kind_names(void) {
    static const char *const names[] = {
        "message", "echo", "message_edit", "postback", "reaction",
        "delivery", "read", "referral", "optin", "handover", "other"
    };
    enum hl_kind k;
    size_t i;

    HT_CHECK_BEGIN("kind names are DESIGN.md's and parse back; unknown "
                   "names refused");
    HT_ASSERT_EQ_INT(HL_KIND_COUNT, HL_ARRAY_LEN(names));
    for (i = 0; i < HL_ARRAY_LEN(names); i++) {
        int found = 0;
        int j;
        for (j = 0; j < HL_KIND_COUNT; j++)
            found += strcmp(hl_kind_name((enum hl_kind)j), names[i]) == 0;
        if (found != 1)
            HT_FAIL("kind \"%s\" named %d times", names[i], found);
        if (HT_ASSERT_EQ_INT(hl_kind_parse(names[i], &k), HL_OK))
            HT_ASSERT_EQ_STR(hl_kind_name(k), names[i]);
    }
    HT_ASSERT_EQ_INT(hl_kind_parse("quick_reply", &k), HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_kind_parse("Message", &k), HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_kind_parse("", &k), HL_EINVAL);
    HT_ASSERT_EQ_STR(hl_kind_name(HL_KIND_COUNT), "other");
    HT_CHECK_END();
}

int main(void) {
    size_t i;
    int rc;

    ht_init();
    list_fixtures();
    for (i = 0; i < n_files; i++) {
        if (files[i] != NULL)
            check_fixture(files[i]);
    }
    check_all_rows_seen();
    check_ts_reader();
    check_ts_fallback();
    check_synthetic_ids();
    check_handover_kinds();
    check_hash_ids();
    check_long_ids();
    check_nul_in_ids();
    check_unidentifiable();
    check_kind_names();
    rc = ht_summary();
    for (i = 0; i < n_files; i++)
        free(files[i]);
    return rc;
}
