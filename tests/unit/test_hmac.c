/* test_hmac.c - unit tests of common/hl_hmac.c (X-Hub-Signature-256 check
 * and signing) and common/hl_secret.c (secret holder, constant-time
 * equality).
 *
 * The known answers are the files of tests/fixtures/signature/: every file
 * there is read (the directory is listed, so a new fixture is covered
 * without editing this file), its "secret" split on commas into a rotation
 * list, its body taken from "body" or "body_file" (exact bytes), and the
 * outcome compared with "expect". hl_hmac_verify only ever sees the
 * X-Hub-Signature-256 value: a fixture whose header is the legacy
 * X-Hub-Signature (sha1) therefore means "no sha256 header" (NULL) and
 * must be invalid, while its "sha256_header_computed" must be valid.
 * Not tested here: that all secrets are tried in constant time (timing is
 * not observable reliably in a unit test). */
#include "../lib/hl_test.h"
#include "hl.h"
#include "hl_hmac.h"
#include "hl_secret.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

#define MAX_FIXTURES 64
#define EXPECTED_SIG_FIXTURES 11   /* files in tests/fixtures/signature */

struct sig_fixture {
    char name[256];
    char *secret_text;             /* owned */
    struct hl_secret secrets[8];
    size_t nsecrets;
    char *body;                    /* owned */
    size_t body_len;
    char *header_name;             /* owned */
    char *header;                  /* owned */
    char *sha256_computed;         /* owned, or NULL */
    char *legacy_sha1;             /* owned, or NULL */
    int expect_valid;
};

static struct sig_fixture fixtures[MAX_FIXTURES];
static size_t n_fixtures;

/* ---- fixture loading ----------------------------------------------------- */

static char *dup_field(json_object *o, const char *k) {
    json_object *v = NULL;

    if (!json_object_object_get_ex(o, k, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return strdup(json_object_get_string(v));
}

/* Splits a comma-separated rotation list as MESSENGER_APP_SECRET does. */
static int split_secrets(struct sig_fixture *f) {
    const char *s = f->secret_text;
    size_t start = 0, i, len = strlen(s);

    for (i = 0; i <= len; i++) {
        if (i < len && s[i] != ',')
            continue;
        if (f->nsecrets == HL_ARRAY_LEN(f->secrets))
            return HL_ETOOBIG;
        if (hl_secret_set(&f->secrets[f->nsecrets], s + start, i - start)
            != HL_OK)
            return HL_ENOMEM;
        f->nsecrets++;
        start = i + 1;
    }
    return HL_OK;
}

static int load_one(const char *file, struct sig_fixture *f) {
    char rel[512];
    char *text = NULL;
    size_t len = 0;
    json_object *o = NULL;
    char *body_file = NULL;
    char *expect = NULL;
    int rc = HL_EINVAL;

    snprintf(f->name, sizeof(f->name), "signature/%s", file);
    snprintf(rel, sizeof(rel), "signature/%s", file);
    if (ht_read_fixture(rel, &text, &len) != HL_OK)
        goto cleanup;
    o = json_tokener_parse(text);
    if (o == NULL)
        goto cleanup;
    f->secret_text = dup_field(o, "secret");
    f->header_name = dup_field(o, "header_name");
    f->header = dup_field(o, "header");
    f->sha256_computed = dup_field(o, "sha256_header_computed");
    f->legacy_sha1 = dup_field(o, "legacy_sha1_header");
    expect = dup_field(o, "expect");
    body_file = dup_field(o, "body_file");
    if (f->secret_text == NULL || f->header_name == NULL ||
        f->header == NULL || expect == NULL)
        goto cleanup;
    f->expect_valid = strcmp(expect, "valid") == 0;
    if (!f->expect_valid && strcmp(expect, "invalid") != 0)
        goto cleanup;
    if (body_file != NULL) {
        snprintf(rel, sizeof(rel), "signature/%s", body_file);
        if (ht_read_fixture(rel, &f->body, &f->body_len) != HL_OK)
            goto cleanup;
    } else {
        f->body = dup_field(o, "body");
        if (f->body == NULL)
            goto cleanup;
        f->body_len = strlen(f->body);
    }
    rc = split_secrets(f);
cleanup:
    free(expect);
    free(body_file);
    json_object_put(o);
    free(text);
    return rc;
}

static void free_fixture(struct sig_fixture *f) {
    size_t i;

    for (i = 0; i < f->nsecrets; i++)
        hl_secret_cleanup(&f->secrets[i]);
    free(f->secret_text);
    free(f->body);
    free(f->header_name);
    free(f->header);
    free(f->sha256_computed);
    free(f->legacy_sha1);
    memset(f, 0, sizeof(*f));
}

static int by_name(const void *a, const void *b) {
    return strcmp(((const struct sig_fixture *)a)->name,
                  ((const struct sig_fixture *)b)->name);
}

static void check_load_fixtures(void) {
    char dir[4096];
    DIR *d = NULL;
    struct dirent *de;

    HT_CHECK_BEGIN("every tests/fixtures/signature/*.json loads");
    if (!HT_ASSERT_EQ_INT(ht_fixture_path("signature", dir, sizeof(dir)),
                          HL_OK))
        goto cleanup;
    d = opendir(dir);
    if (!HT_ASSERT_TRUE(d != NULL))
        goto cleanup;
    for (de = readdir(d); de != NULL; de = readdir(d)) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
            continue;
        if (n_fixtures == MAX_FIXTURES) {
            HT_FAIL("more than %d signature fixtures", MAX_FIXTURES);
            break;
        }
        if (load_one(de->d_name, &fixtures[n_fixtures]) != HL_OK) {
            HT_FAIL("cannot load signature/%s", de->d_name);
            free_fixture(&fixtures[n_fixtures]);
            continue;
        }
        n_fixtures++;
    }
    qsort(fixtures, n_fixtures, sizeof(fixtures[0]), by_name);
    HT_ASSERT_EQ_INT(n_fixtures, EXPECTED_SIG_FIXTURES);
cleanup:
    if (d != NULL)
        closedir(d);
    HT_CHECK_END();
}

/* ---- helpers ------------------------------------------------------------- */

static int verify1(const struct sig_fixture *f, const char *header) {
    struct hl_chunk c = { f->body, f->body_len };

    return hl_hmac_verify(f->secrets, f->nsecrets, header, &c, 1);
}

/* Same body in three uneven chunks (an evbuffer's pieces). */
static int verify3(const struct sig_fixture *f, const char *header) {
    size_t a = f->body_len / 3, b = f->body_len / 2 + 1;
    struct hl_chunk c[3];

    if (b > f->body_len)
        b = f->body_len;
    c[0].p = f->body;
    c[0].len = a;
    c[1].p = f->body + a;
    c[1].len = b - a;
    c[2].p = f->body + b;
    c[2].len = f->body_len - b;
    return hl_hmac_verify(f->secrets, f->nsecrets, header, c, 3);
}

/* ---- checks -------------------------------------------------------------- */

static void check_fixture_kats(void) {
    size_t i;

    for (i = 0; i < n_fixtures; i++) {
        const struct sig_fixture *f = &fixtures[i];
        int want = f->expect_valid ? HL_OK : HL_EINVAL;
        int is_legacy = strcmp(f->header_name, "X-Hub-Signature") == 0;

        HT_CHECK_BEGIN(f->name);
        ht_note("secrets=%zu header_name=%s expect=%s", f->nsecrets,
                f->header_name, f->expect_valid ? "valid" : "invalid");
        if (is_legacy) {
            /* only the sha1 header was sent: there is no sha256 header */
            HT_ASSERT_EQ_INT(verify1(f, NULL), HL_EINVAL);
            /* the sha1 value is no sha256 value either */
            HT_ASSERT_EQ_INT(verify1(f, f->header), HL_EINVAL);
            if (HT_ASSERT_TRUE(f->sha256_computed != NULL)) {
                HT_ASSERT_EQ_INT(verify1(f, f->sha256_computed), HL_OK);
                HT_ASSERT_EQ_INT(verify3(f, f->sha256_computed), HL_OK);
            }
            HT_ASSERT_EQ_INT(want, HL_EINVAL);
        } else {
            HT_ASSERT_EQ_STR(f->header_name, "X-Hub-Signature-256");
            HT_ASSERT_EQ_INT(verify1(f, f->header), want);
            HT_ASSERT_EQ_INT(verify3(f, f->header), want);
        }
        if (f->legacy_sha1 != NULL)
            HT_ASSERT_EQ_INT(verify1(f, f->legacy_sha1), HL_EINVAL);
        HT_CHECK_END();
    }
}

/* For every valid fixture, signing the body with one of its secrets gives
 * exactly the header; a one-byte change to the body breaks it. */
static void check_sign_round_trip(void) {
    size_t i, k;

    HT_CHECK_BEGIN("hl_hmac_sign reproduces every valid fixture header; a "
                   "changed byte is refused");
    for (i = 0; i < n_fixtures; i++) {
        const struct sig_fixture *f = &fixtures[i];
        const char *want = f->sha256_computed ? f->sha256_computed
                                              : f->header;
        int found = 0;
        char sig[HL_SIG_LEN + 1];
        char *copy;

        if (!f->expect_valid && f->sha256_computed == NULL)
            continue;
        for (k = 0; k < f->nsecrets; k++) {
            if (hl_hmac_sign(f->secrets[k].buf, f->secrets[k].len, f->body,
                             f->body_len, sig) != HL_OK) {
                HT_FAIL("%s: hl_hmac_sign failed", f->name);
                continue;
            }
            HT_ASSERT_EQ_INT(strlen(sig), HL_SIG_LEN);
            if (strcmp(sig, want) == 0)
                found = 1;
            /* what we sign, we accept */
            {
                struct hl_chunk c = { f->body, f->body_len };
                HT_ASSERT_EQ_INT(hl_hmac_verify(&f->secrets[k], 1, sig, &c,
                                                1), HL_OK);
            }
        }
        if (!found)
            HT_FAIL("%s: no secret signs to %s", f->name, want);
        copy = malloc(f->body_len);
        if (copy != NULL && f->body_len > 0) {
            struct hl_chunk c = { copy, f->body_len };
            memcpy(copy, f->body, f->body_len);
            copy[f->body_len / 2] ^= 0x01;
            HT_ASSERT_EQ_INT(hl_hmac_verify(f->secrets, f->nsecrets, want,
                                            &c, 1), HL_EINVAL);
        }
        free(copy);
    }
    HT_CHECK_END();
}

/* The fixture signature/<file>, or NULL. */
static const struct sig_fixture *find(const char *file) {
    size_t i, pl = strlen("signature/");

    for (i = 0; i < n_fixtures; i++) {
        if (strcmp(fixtures[i].name + pl, file) == 0)
            return &fixtures[i];
    }
    return NULL;
}

static void check_rotation(void) {
    const struct sig_fixture *f = find("rotation_second_secret.json");
    struct hl_chunk c;

    HT_CHECK_BEGIN("rotation: \"a,b\" is two secrets; only the second "
                   "matches; each alone decides");
    if (!HT_ASSERT_TRUE(f != NULL))
        goto done;
    HT_ASSERT_EQ_INT(f->nsecrets, 2);
    HT_ASSERT_EQ_MEM(f->secrets[0].buf, f->secrets[0].len,
                     "old-secret-0001", strlen("old-secret-0001"));
    HT_ASSERT_EQ_MEM(f->secrets[1].buf, f->secrets[1].len,
                     "hookline-fixture-secret-3f9a",
                     strlen("hookline-fixture-secret-3f9a"));
    c.p = f->body;
    c.len = f->body_len;
    HT_ASSERT_EQ_INT(hl_hmac_verify(f->secrets, 2, f->header, &c, 1), HL_OK);
    HT_ASSERT_EQ_INT(hl_hmac_verify(&f->secrets[0], 1, f->header, &c, 1),
                     HL_EINVAL);
    HT_ASSERT_EQ_INT(hl_hmac_verify(&f->secrets[1], 1, f->header, &c, 1),
                     HL_OK);
    /* the reverse order matches too: no early exit on the first miss */
    {
        struct hl_secret rev[2];
        rev[0] = f->secrets[1];
        rev[1] = f->secrets[0];
        HT_ASSERT_EQ_INT(hl_hmac_verify(rev, 2, f->header, &c, 1), HL_OK);
    }
    /* no secrets at all: nothing can match */
    HT_ASSERT_EQ_INT(hl_hmac_verify(f->secrets, 0, f->header, &c, 1),
                     HL_EINVAL);
done:
    HT_CHECK_END();
}

/* The negative fixtures fail for their stated reason only: restore that
 * one thing and the same header passes. */
static void check_negatives_isolated(void) {
    const struct sig_fixture *f;
    char sig[HL_SIG_LEN + 1];
    char h[128];
    const char *other = "not-the-app-secret";

    HT_CHECK_BEGIN("negative fixtures fail only for their stated reason");
    f = find("negative_missing_prefix.json");
    if (HT_ASSERT_TRUE(f != NULL)) {
        snprintf(h, sizeof(h), "sha256=%s", f->header);
        HT_ASSERT_EQ_INT(verify1(f, h), HL_OK);
    }
    f = find("negative_wrong_secret.json");
    if (HT_ASSERT_TRUE(f != NULL)) {
        HT_ASSERT_EQ_INT(hl_hmac_sign(other, strlen(other), f->body,
                                      f->body_len, sig), HL_OK);
        HT_ASSERT_EQ_STR(sig, f->header);
    }
    f = find("negative_escaped_sig_on_raw_body.json");
    if (HT_ASSERT_TRUE(f != NULL)) {
        const struct sig_fixture *esc = find("computed_non_ascii_escaped.json");
        if (HT_ASSERT_TRUE(esc != NULL)) {
            HT_ASSERT_EQ_STR(f->header, esc->header);
            HT_ASSERT_EQ_INT(verify1(esc, f->header), HL_OK);
        }
    }
    HT_CHECK_END();
}

static void check_header_shapes(void) {
    const struct sig_fixture *f = find("public_github_docs_vector.json");
    char h[128];
    size_t i;

    HT_CHECK_BEGIN("upper-case hex accepted; wrong length, missing prefix, "
                   "non-hex refused");
    if (!HT_ASSERT_TRUE(f != NULL))
        goto done;
    /* the GitHub published vector itself */
    HT_ASSERT_EQ_STR(f->header, "sha256=757107ea0eb2509fc211221cce984b8a3757"
                     "0b6d7586c22c46f4379c8b043e17");
    HT_ASSERT_EQ_INT(verify1(f, f->header), HL_OK);
    /* upper-case hex digits (prefix kept lower-case, as the header says) */
    snprintf(h, sizeof(h), "%s", f->header);
    for (i = 7; h[i] != '\0'; i++)
        h[i] = (char)toupper((unsigned char)h[i]);
    HT_ASSERT_EQ_INT(verify1(f, h), HL_OK);
    /* one hex digit short, one too many */
    snprintf(h, sizeof(h), "%.*s", (int)HL_SIG_LEN - 1, f->header);
    HT_ASSERT_EQ_INT(verify1(f, h), HL_EINVAL);
    snprintf(h, sizeof(h), "%s0", f->header);
    HT_ASSERT_EQ_INT(verify1(f, h), HL_EINVAL);
    /* a trailing newline (a header pasted from a file) */
    snprintf(h, sizeof(h), "%s\n", f->header);
    HT_ASSERT_EQ_INT(verify1(f, h), HL_EINVAL);
    /* the bare hex digest, no prefix */
    HT_ASSERT_EQ_INT(verify1(f, f->header + 7), HL_EINVAL);
    /* another 7-byte prefix with the right digest */
    snprintf(h, sizeof(h), "sha512=%s", f->header + 7);
    HT_ASSERT_EQ_INT(verify1(f, h), HL_EINVAL);
    snprintf(h, sizeof(h), "sha256:%s", f->header + 7);
    HT_ASSERT_EQ_INT(verify1(f, h), HL_EINVAL);
    /* sha1= with a 64-hex value */
    snprintf(h, sizeof(h), "sha1=%s", f->header + 7);
    HT_ASSERT_EQ_INT(verify1(f, h), HL_EINVAL);
    /* a non-hex character at the right length */
    snprintf(h, sizeof(h), "%s", f->header);
    h[20] = 'g';
    HT_ASSERT_EQ_INT(verify1(f, h), HL_EINVAL);
    HT_ASSERT_EQ_INT(verify1(f, ""), HL_EINVAL);
    HT_ASSERT_EQ_INT(verify1(f, "sha256="), HL_EINVAL);
    HT_ASSERT_EQ_INT(verify1(f, NULL), HL_EINVAL);
done:
    HT_CHECK_END();
}

static void check_sign_known(void) {
    char sig[HL_SIG_LEN + 1];
    const char *key = "It's a Secret to Everybody";
    struct hl_secret s = { NULL, 0 };
    struct hl_chunk c = { "", 0 };

    HT_CHECK_BEGIN("hl_hmac_sign: published vector, empty body, key with "
                   "NUL byte");
    HT_ASSERT_EQ_INT(hl_hmac_sign(key, strlen(key), "Hello, World!", 13, sig),
                     HL_OK);
    HT_ASSERT_EQ_STR(sig, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7"
                     "586c22c46f4379c8b043e17");
    /* computed with python3 hmac: key "key", empty message */
    HT_ASSERT_EQ_INT(hl_hmac_sign("key", 3, "", 0, sig), HL_OK);
    HT_ASSERT_EQ_STR(sig, "sha256=5d5d139563c95b5967b9bd9a8c9b233a9dedb4507"
                     "2794cd232dc1b74832607d0");
    if (HT_ASSERT_EQ_INT(hl_secret_set(&s, "key", 3), HL_OK))
        HT_ASSERT_EQ_INT(hl_hmac_verify(&s, 1, sig, &c, 0), HL_OK);
    /* bytes after a NUL in the key count (python3: key b"a\0b", "x") */
    HT_ASSERT_EQ_INT(hl_hmac_sign("a\0b", 3, "x", 1, sig), HL_OK);
    HT_ASSERT_EQ_STR(sig, "sha256=758acf85d010dbd67262388f811fe5ac923b76ed1"
                     "301265a66fce397586291b4");
    hl_secret_cleanup(&s);
    HT_CHECK_END();
}

static void check_secret_equals(void) {
    struct hl_secret s = { NULL, 0 };

    HT_CHECK_BEGIN("hl_secret_equals: equal, different, prefix, longer, "
                   "empty holder; cleanup wipes");
    HT_ASSERT_EQ_INT(hl_secret_equals(&s, "x", 1), 0);
    if (!HT_ASSERT_EQ_INT(hl_secret_set(&s, "verify-me", 9), HL_OK))
        goto done;
    HT_ASSERT_EQ_INT(s.len, 9);
    HT_ASSERT_EQ_INT(hl_secret_equals(&s, "verify-me", 9), 1);
    HT_ASSERT_EQ_INT(hl_secret_equals(&s, "verify-mE", 9), 0);
    HT_ASSERT_EQ_INT(hl_secret_equals(&s, "verify-m", 8), 0);
    HT_ASSERT_EQ_INT(hl_secret_equals(&s, "verify-me!", 10), 0);
    HT_ASSERT_EQ_INT(hl_secret_equals(&s, "", 0), 0);
    /* set again replaces the bytes */
    HT_ASSERT_EQ_INT(hl_secret_set(&s, "other", 5), HL_OK);
    HT_ASSERT_EQ_INT(hl_secret_equals(&s, "verify-me", 9), 0);
    HT_ASSERT_EQ_INT(hl_secret_equals(&s, "other", 5), 1);
    hl_secret_cleanup(&s);
    HT_ASSERT_TRUE(s.buf == NULL);
    HT_ASSERT_EQ_INT(s.len, 0);
    hl_secret_cleanup(&s);   /* twice is harmless */
done:
    hl_secret_cleanup(&s);
    HT_CHECK_END();
}

int main(void) {
    size_t i;

    ht_init();
    check_load_fixtures();
    check_fixture_kats();
    check_sign_round_trip();
    check_rotation();
    check_negatives_isolated();
    check_header_shapes();
    check_sign_known();
    check_secret_equals();
    for (i = 0; i < n_fixtures; i++)
        free_fixture(&fixtures[i]);
    return ht_summary();
}
