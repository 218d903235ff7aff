/* fuzz_webhook.c - libFuzzer target for ingest's POST path, in the order
 * ingest/webhook.c runs it: the input is the raw body; it is signed with
 * the second of two rotation secrets, then checked with hl_hmac_verify()
 * over two chunks split at a point derived from the data, parsed with
 * hl_json_parse_chunks() (depth HL_JSON_DEPTH), split with
 * hl_batch_split() into envelopes and malformed_event dead letters, and
 * every piece is read back the way the worker and hookctl read it.
 *
 * Asserted beyond "no crash" (FZ_ASSERT aborts):
 * - the signature of the body verifies over any two-chunk split and in
 *   upper case; one changed hex digit, or a header made of the body's
 *   first bytes, never verifies (G6);
 * - parsing two chunks and the whole body agree: same status and, when
 *   both parse, the same value (UTF-8 and depth state carried across the
 *   split);
 * - a split body accounts for every event of every entry, messaging[]
 *   and standby[] alike (nothing lost); "object" other than page or
 *   instagram is HL_IGNORED;
 * - every envelope parses with hl_envelope_parse() and gives back the
 *   id, page, user, kind, ts, rx, standby and object it was built from;
 *   its event has the same kind, and describing that event again (entry
 *   id = page) gives the same id, page and user: the dedupe key is a
 *   function of the stored event;
 * - the partition is in range and is hl_partition_of(page, user); the
 *   seen, queue and conv keys fit with the longest prefix;
 * - every envelope can be dead-lettered by the worker and requeued by
 *   hookctl (hl_dlq_build, hl_dlq_parse, hl_dlq_envelope_text) back to an
 *   envelope with the same id; a malformed event or body becomes an
 *   ingest dead letter that hookctl reads back with its raw length.
 * Not covered: Redis, evhttp, the deadline timer (integration tests). */
#include "fuzz.h"
#include "hl.h"
#include "hl_batch.h"
#include "hl_dlq.h"
#include "hl_envelope.h"
#include "hl_event.h"
#include "hl_hmac.h"
#include "hl_json.h"
#include "hl_keys.h"
#include "hl_partition.h"
#include "hl_secret.h"

#include <string.h>
#include <strings.h>

#define RX_MS 1700000000000LL
#define OLD_SECRET "old-secret-0001"
#define NEW_SECRET "hookline-fixture-secret-3f9a"
#define HEADER_FROM_BODY 80       /* bytes of the body tried as a header */

/* 63 characters: the longest HOOKLINE_PREFIX (HL_PREFIX_MAX - 1). */
static const char long_prefix[] =
    "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp:";

static struct hl_secret secrets[2];

static void secrets_init(void) {
    static int done;

    if (done)
        return;
    FZ_ASSERT(hl_secret_set(&secrets[0], OLD_SECRET,
                            strlen(OLD_SECRET)) == HL_OK, "secret");
    FZ_ASSERT(hl_secret_set(&secrets[1], NEW_SECRET,
                            strlen(NEW_SECRET)) == HL_OK, "secret");
    done = 1;
}

/* A split point in [0, n] that moves with the data. */
static size_t split_point(const uint8_t *d, size_t n) {
    uint64_t h;

    if (n == 0)
        return 0;
    h = hl_partition_fnv1a64(HL_FNV_OFFSET, d, n < 16 ? n : 16);
    return (size_t)(h % (uint64_t)(n + 1));
}

/* ------------------------------------------------------------ signature */

static void check_signature(const uint8_t *d, size_t n,
                            const struct hl_chunk two[2]) {
    char sig[HL_SIG_LEN + 1];
    char bad[HL_SIG_LEN + 1];
    char head[HEADER_FROM_BODY + 1];
    size_t pos, i, k;
    int rc;

    FZ_ASSERT(hl_hmac_sign(NEW_SECRET, strlen(NEW_SECRET), d, n, sig)
              == HL_OK, "sign");
    rc = hl_hmac_verify(secrets, 2, sig, two, 2);
    FZ_ASSERT(rc == HL_OK, "rc %d, split %zu of %zu", rc, two[0].len, n);
    memcpy(bad, sig, sizeof(bad));
    for (i = sizeof(HL_SIG_PREFIX) - 1; i < HL_SIG_LEN; i++) {
        if (bad[i] >= 'a' && bad[i] <= 'f')
            bad[i] = (char)(bad[i] - 'a' + 'A');
    }
    rc = hl_hmac_verify(secrets, 2, bad, two, 2);
    FZ_ASSERT(rc == HL_OK, "upper-case hex refused: rc %d", rc);
    memcpy(bad, sig, sizeof(bad));
    pos = sizeof(HL_SIG_PREFIX) - 1 + (n ? d[0] : 0) % HL_SIG_HEX_LEN;
    bad[pos] = bad[pos] == '0' ? '1' : '0';
    rc = hl_hmac_verify(secrets, 2, bad, two, 2);
    FZ_ASSERT(rc == HL_EINVAL, "digit %zu changed, rc %d", pos, rc);
    rc = hl_hmac_verify(secrets, 1, sig, two, 2);
    FZ_ASSERT(rc == HL_EINVAL, "signed with a secret not in the list");
    /* the body's own first bytes as the header: never accepted */
    k = n < HEADER_FROM_BODY ? n : HEADER_FROM_BODY;
    memcpy(head, d, k);
    head[k] = '\0';
    rc = hl_hmac_verify(secrets, 2, head, two, 2);
    FZ_ASSERT(rc == HL_EINVAL || strcasecmp(head, sig) == 0,
              "header from the body accepted: rc %d", rc);
}

/* ----------------------------------------------------------------- parse */

static int same_json(json_object *a, json_object *b) {
    const int f = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;

    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(json_object_to_json_string_ext(a, f),
                  json_object_to_json_string_ext(b, f)) == 0;
}

/* Parses the two chunks and the whole; returns the chunked result (caller
 * owns) and sets *ok. */
static json_object *check_parse(const uint8_t *d, size_t n,
                                const struct hl_chunk two[2], int *ok) {
    json_object *a = NULL, *b = NULL;
    int ra, rb;

    ra = hl_json_parse_chunks(two, 2, HL_JSON_DEPTH, &a);
    rb = hl_json_parse((const char *)d, n, HL_JSON_DEPTH, &b);
    FZ_ASSERT(ra == rb, "chunks %d, whole %d (split %zu of %zu)", ra, rb,
              two[0].len, n);
    FZ_ASSERT(ra == HL_OK || ra == HL_EINVAL, "rc %d", ra);
    FZ_ASSERT(ra != HL_OK || same_json(a, b), "values differ");
    json_object_put(b);
    *ok = ra == HL_OK;
    return a;
}

/* ----------------------------------------------------------------- split */

static json_object *get(json_object *o, const char *k) {
    json_object *v = NULL;

    if (o == NULL || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, k, &v))
        return NULL;
    return v;
}

static size_t list_len(json_object *entry, const char *k) {
    json_object *l = get(entry, k);

    return json_object_is_type(l, json_type_array)
               ? json_object_array_length(l) : 0;
}

/* Events in the body, counted apart from hl_batch_split(). */
static size_t count_events(json_object *root) {
    json_object *entries = get(root, "entry");
    size_t i, n, total = 0;

    n = json_object_is_type(entries, json_type_array)
            ? json_object_array_length(entries) : 0;
    for (i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(entries, i);
        total += list_len(e, "messaging") + list_len(e, "standby");
    }
    return total;
}

/* The worker dead-letters the envelope; hookctl reads the entry and
 * requeues its envelope. */
static void check_dead_letter(const char *env, size_t len, const char *id) {
    struct hl_dlq_error gerr = { 400, 100, 2018001, "x", "t" };
    struct hl_dlq_entry e;
    struct hl_dlq_view v;
    struct hl_envelope back;
    char *out = NULL, *text = NULL;
    size_t outlen = 0, tlen = 0;
    int rc;

    memset(&e, 0, sizeof(e));
    e.reason = HL_DLQ_SEND_PERMANENT;
    e.worker_stage = 1;
    e.error = &gerr;
    e.attempts = 1;
    e.envelope = env;
    e.envelope_len = len;
    rc = hl_dlq_build(&e, &out, &outlen);
    FZ_ASSERT(rc == HL_OK, "envelope %s not dead-lettered: rc %d", id, rc);
    rc = hl_dlq_parse(out, outlen, &v);
    FZ_ASSERT(rc == HL_OK, "dead letter of %s unreadable", id);
    FZ_ASSERT(hl_dlq_envelope_text(&v, &text, &tlen) == HL_OK, "requeue");
    rc = hl_envelope_parse(text, tlen, &back);
    FZ_ASSERT(rc == HL_OK, "requeued envelope of %s does not parse", id);
    FZ_ASSERT(strcmp(back.id, id) == 0, "requeued id %s, not %s", back.id,
              id);
    hl_envelope_cleanup(&back);
    hl_dlq_view_cleanup(&v);
    free(text);
    free(out);
}

static void check_ingest_dead_letter(const void *raw, size_t len) {
    struct hl_dlq_entry e;
    struct hl_dlq_view v;
    char *out = NULL;
    size_t outlen = 0;

    memset(&e, 0, sizeof(e));
    e.reason = HL_DLQ_MALFORMED_EVENT;
    e.raw = raw;
    e.raw_len = len;
    FZ_ASSERT(hl_dlq_build(&e, &out, &outlen) == HL_OK, "raw %zu", len);
    FZ_ASSERT(hl_dlq_parse(out, outlen, &v) == HL_OK, "unreadable");
    FZ_ASSERT(v.raw_len == (long long)len, "raw_len %lld, not %zu",
              v.raw_len, len);
    FZ_ASSERT(v.envelope == NULL, "an ingest entry has no envelope");
    hl_dlq_view_cleanup(&v);
    free(out);
}

/* Describes the stored event again, as if its entry had id = page. */
static void check_identity(const struct hl_event_info *info,
                           const struct hl_envelope *env) {
    struct hl_event_info again;
    json_object *entry = json_object_new_object();
    int rc;

    FZ_ASSERT(entry != NULL, "oom");
    FZ_ASSERT(hl_json_add(entry, "id", json_object_new_string(info->page))
              == HL_OK, "oom");
    rc = hl_event_describe(entry, env->event, env->standby, RX_MS, &again);
    FZ_ASSERT(rc == HL_OK, "stored event of %s not describable: %d",
              info->id, rc);
    FZ_ASSERT(strcmp(again.id, info->id) == 0, "id %s, stored %s",
              again.id, info->id);
    FZ_ASSERT(strcmp(again.page, info->page) == 0, "page");
    FZ_ASSERT(strcmp(again.user, info->user) == 0, "user");
    FZ_ASSERT(again.kind == info->kind, "kind");
    json_object_put(entry);
}

static void check_keys(const struct hl_batch_item *it) {
    char key[HL_KEY_MAX];

    FZ_ASSERT(hl_keys_seen(long_prefix, it->partition, it->info.id, key)
              == HL_OK, "seen key of %s", it->info.id);
    FZ_ASSERT(hl_keys_queue(long_prefix, it->partition, key) == HL_OK,
              "queue key");
    FZ_ASSERT(hl_keys_conv(long_prefix, it->partition, it->info.page,
                           it->info.user, key) == HL_OK, "conv key");
}

static void check_item(const struct hl_batch *b,
                       const struct hl_batch_item *it, long parts) {
    const struct hl_event_info *info = &it->info;
    struct hl_envelope env;
    int rc;

    FZ_ASSERT(it->data != NULL && strlen(it->data) == it->len, "data");
    if (it->malformed) {
        check_ingest_dead_letter(it->data, it->len);
        return;
    }
    FZ_ASSERT(info->id[0] != '\0' && info->page[0] != '\0', "empty id");
    FZ_ASSERT(it->partition >= 0 && it->partition < parts, "partition %ld",
              it->partition);
    FZ_ASSERT(it->partition == hl_partition_of(info->page, info->user,
                                               parts), "partition");
    check_keys(it);
    rc = hl_envelope_parse(it->data, it->len, &env);
    FZ_ASSERT(rc == HL_OK, "envelope of %s does not parse: %.*s", info->id,
              (int)(it->len > 400 ? 400 : it->len), it->data);
    FZ_ASSERT(strcmp(env.id, info->id) == 0, "id %s vs %s", env.id,
              info->id);
    FZ_ASSERT(strcmp(env.page, info->page) == 0, "page");
    FZ_ASSERT(strcmp(env.user, info->user) == 0, "user");
    FZ_ASSERT(strcmp(env.object, b->object) == 0, "object");
    FZ_ASSERT(env.kind == info->kind, "kind %d vs %d", env.kind,
              info->kind);
    FZ_ASSERT(env.ts == info->ts && env.rx == RX_MS, "ts/rx");
    FZ_ASSERT(env.standby == info->standby, "standby");
    FZ_ASSERT(hl_event_kind(env.event) == info->kind, "stored kind");
    check_identity(info, &env);
    hl_envelope_cleanup(&env);
    check_dead_letter(it->data, it->len, info->id);
}

static void check_split(json_object *root, long parts, const uint8_t *d,
                        size_t n) {
    json_object *obj = get(root, "object");
    struct hl_batch b;
    size_t i, bad = 0;
    int rc, ours;

    ours = json_object_is_type(obj, json_type_string) &&
           (strcmp(json_object_get_string(obj), "page") == 0 ||
            strcmp(json_object_get_string(obj), "instagram") == 0);
    rc = hl_batch_split(root, parts, RX_MS, &b);
    FZ_ASSERT(rc == HL_OK || rc == HL_IGNORED || rc == HL_EINVAL,
              "rc %d", rc);
    if (rc != HL_OK) {
        FZ_ASSERT(b.n == 0 && b.items == NULL, "kept items on %d", rc);
        FZ_ASSERT((rc == HL_IGNORED) ==
                  (json_object_is_type(obj, json_type_string) && !ours),
                  "HL_IGNORED for object %s", json_object_get_string(obj));
        if (rc == HL_EINVAL)
            check_ingest_dead_letter(d, n);
        return;
    }
    FZ_ASSERT(ours, "split a body of object %s",
              json_object_get_string(obj));
    FZ_ASSERT(b.n == count_events(root), "%zu items for %zu events", b.n,
              count_events(root));
    for (i = 0; i < b.n; i++) {
        check_item(&b, &b.items[i], parts);
        bad += b.items[i].malformed != 0;
    }
    FZ_ASSERT(bad == b.n_malformed, "malformed count");
    hl_batch_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct hl_chunk two[2];
    size_t cut = split_point(data, size);
    long parts = 1 + (size ? data[size - 1] : 0) % 64;
    json_object *root;
    int ok;

    secrets_init();
    two[0].p = data;
    two[0].len = cut;
    two[1].p = data + cut;
    two[1].len = size - cut;
    check_signature(data, size, two);
    root = check_parse(data, size, two, &ok);
    if (ok)
        check_split(root, parts, data, size);
    else
        check_ingest_dead_letter(data, size);
    json_object_put(root);
    return 0;
}
