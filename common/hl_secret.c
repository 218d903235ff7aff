/* hl_secret.c - secret bytes: copy, wipe, constant-time compare. */
#include "hl.h"
#include "hl_secret.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

int hl_secret_set(struct hl_secret *s, const void *p, size_t len) {
    unsigned char *b = malloc(len + 1);

    if (b == NULL)
        return HL_ENOMEM;
    memcpy(b, p, len);
    b[len] = '\0';
    hl_secret_cleanup(s);
    s->buf = b;
    s->len = len;
    return HL_OK;
}

void hl_secret_cleanup(struct hl_secret *s) {
    if (s->buf != NULL) {
        OPENSSL_cleanse(s->buf, s->len);
        HL_FREE(s->buf);
    }
    s->len = 0;
}

/* Both sides are hashed first so CRYPTO_memcmp compares equal-length
 * digests: the time depends on neither the content nor the length. */
int hl_secret_equals(const struct hl_secret *s, const void *p, size_t len) {
    unsigned char a[SHA256_DIGEST_LENGTH];
    unsigned char b[SHA256_DIGEST_LENGTH];
    int eq;

    if (s->buf == NULL)
        return 0;
    if (EVP_Digest(s->buf, s->len, a, NULL, EVP_sha256(), NULL) != 1 ||
        EVP_Digest(p, len, b, NULL, EVP_sha256(), NULL) != 1)
        return 0;
    eq = CRYPTO_memcmp(a, b, sizeof(a)) == 0;
    return eq && s->len == len;
}
