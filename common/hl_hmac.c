/* hl_hmac.c - X-Hub-Signature-256 check and signing (OpenSSL HMAC). */
#include "hl.h"
#include "hl_hmac.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#define DIGEST_LEN 32

static int hexval(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the header into 32 bytes. Returns HL_OK or HL_EINVAL. */
static int parse_header(const char *header, unsigned char out[DIGEST_LEN]) {
    const size_t plen = sizeof(HL_SIG_PREFIX) - 1;
    size_t i;

    if (header == NULL || strlen(header) != HL_SIG_LEN ||
        strncmp(header, HL_SIG_PREFIX, plen) != 0)
        return HL_EINVAL;
    for (i = 0; i < DIGEST_LEN; i++) {
        int hi = hexval((unsigned char)header[plen + 2 * i]);
        int lo = hexval((unsigned char)header[plen + 2 * i + 1]);
        if (hi < 0 || lo < 0)
            return HL_EINVAL;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return HL_OK;
}

/* The HMAC implementation, fetched once: EVP_MAC_fetch is a locked
 * lookup in OpenSSL 3 and showed up in ingest's profile. Process-wide and
 * never freed (it is reachable to the end; OpenSSL frees it at exit). */
static EVP_MAC *hmac_impl(void) {
    static EVP_MAC *mac;

    if (mac == NULL)
        mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    return mac;
}

/* EVP_MAC rather than HMAC_CTX: the latter is deprecated in OpenSSL 3. */
static int digest(const struct hl_secret *key, const struct hl_chunk *chunks,
                  size_t nchunks, unsigned char out[DIGEST_LEN]) {
    EVP_MAC *mac = hmac_impl();
    EVP_MAC_CTX *ctx = NULL;
    OSSL_PARAM params[2];
    size_t outlen = 0;
    int rc = HL_ERR;
    size_t i;

    params[0] = OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256",
                                                 0);
    params[1] = OSSL_PARAM_construct_end();
    if (mac == NULL)
        goto cleanup;
    ctx = EVP_MAC_CTX_new(mac);
    if (ctx == NULL) {
        rc = HL_ENOMEM;
        goto cleanup;
    }
    if (EVP_MAC_init(ctx, key->buf, key->len, params) != 1)
        goto cleanup;
    for (i = 0; i < nchunks; i++) {
        if (EVP_MAC_update(ctx, chunks[i].p, chunks[i].len) != 1)
            goto cleanup;
    }
    if (EVP_MAC_final(ctx, out, &outlen, DIGEST_LEN) != 1 ||
        outlen != DIGEST_LEN)
        goto cleanup;
    rc = HL_OK;
cleanup:
    EVP_MAC_CTX_free(ctx);
    return rc;
}

int hl_hmac_verify(const struct hl_secret *secrets, size_t n,
                   const char *header, const struct hl_chunk *chunks,
                   size_t nchunks) {
    unsigned char want[DIGEST_LEN];
    unsigned char got[DIGEST_LEN];
    int matched = 0;
    size_t i;

    if (parse_header(header, want) != HL_OK)
        return HL_EINVAL;
    for (i = 0; i < n; i++) {
        int rc = digest(&secrets[i], chunks, nchunks, got);
        if (rc != HL_OK)
            return rc;
        matched |= CRYPTO_memcmp(want, got, DIGEST_LEN) == 0;
    }
    return matched ? HL_OK : HL_EINVAL;
}

int hl_hmac_sign(const void *key, size_t keylen, const void *body,
                 size_t len, char out[HL_SIG_LEN + 1]) {
    static const char hex[] = "0123456789abcdef";
    unsigned char md[DIGEST_LEN];
    unsigned int mdlen = 0;
    size_t plen = sizeof(HL_SIG_PREFIX) - 1;
    size_t i;

    if (HMAC(EVP_sha256(), key, (int)keylen, body, len, md, &mdlen) == NULL ||
        mdlen != DIGEST_LEN)
        return HL_ERR;
    memcpy(out, HL_SIG_PREFIX, plen);
    for (i = 0; i < DIGEST_LEN; i++) {
        out[plen + 2 * i] = hex[md[i] >> 4];
        out[plen + 2 * i + 1] = hex[md[i] & 15];
    }
    out[HL_SIG_LEN] = '\0';
    return HL_OK;
}
