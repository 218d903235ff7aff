/* cmd_sign.c - `hookctl sign FILE`: the X-Hub-Signature-256 value Meta
 * would send with these exact bytes, under the first MESSENGER_APP_SECRET
 * (the one ingest tries first during a rotation). Also the two pieces
 * send-test and doctor share: reading a payload whole and signing it.
 *
 * The bytes are signed as read: no newline is added or stripped, nothing
 * is parsed or re-serialised (a signature is over the raw body). The
 * secret is never printed, only the HMAC. */
#include "ctl.h"
#include "hl_hmac.h"
#include "hl_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK 65536
#define SIG_HEADER "X-Hub-Signature-256"

/* Reads `f` to its end into a buffer that grows up to one byte past
 * CTL_PAYLOAD_MAX (so "too big" is seen without reading further). */
static int read_stream(FILE *f, char **buf, size_t *len) {
    size_t cap = 0, n = 0, got, ncap;
    char *b = NULL, *nb;

    for (;;) {
        if (n + 1 >= cap) {
            ncap = cap ? cap * 2 : READ_CHUNK;
            if (ncap > (size_t)CTL_PAYLOAD_MAX + 2)
                ncap = (size_t)CTL_PAYLOAD_MAX + 2;
            nb = realloc(b, ncap);
            if (nb == NULL) {
                free(b);
                return HL_ENOMEM;
            }
            b = nb;
            cap = ncap;
        }
        got = fread(b + n, 1, cap - n - 1, f);
        n += got;
        if (n > CTL_PAYLOAD_MAX) {
            free(b);
            return HL_ETOOBIG;
        }
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(b);
        return HL_EIO;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return HL_OK;
}

int ctl_payload_read(const char *path, char **buf, size_t *len,
                     char err[HL_ERR_LEN]) {
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    int rc;

    *buf = NULL;
    *len = 0;
    if (f == NULL) {
        snprintf(err, HL_ERR_LEN, "cannot open %.200s: %s", path,
                 strerror(errno));
        return HL_EIO;
    }
    rc = read_stream(f, buf, len);
    if (rc == HL_ETOOBIG)
        snprintf(err, HL_ERR_LEN, "%.200s is over %d bytes",
                 is_stdin ? "standard input" : path, CTL_PAYLOAD_MAX);
    else if (rc != HL_OK)
        snprintf(err, HL_ERR_LEN, "cannot read %.200s: %s",
                 is_stdin ? "standard input" : path,
                 rc == HL_ENOMEM ? "out of memory" : strerror(errno));
    if (!is_stdin)
        fclose(f);
    return rc;
}

int ctl_payload_sign(const struct ctl *c, const void *body, size_t len,
                     char *out, size_t sz) {
    const struct hl_secret *s = &c->cfg->app_secrets[0];
    char sig[HL_SIG_LEN + 1];

    if (c->cfg->n_app_secrets == 0 || s->len == 0)
        return HL_ESTATE;
    if (sz < sizeof(sig) ||
        hl_hmac_sign(s->buf, s->len, body, len, sig) != HL_OK)
        return HL_ERR;
    memcpy(out, sig, sizeof(sig));
    return HL_OK;
}

static int print_sig(const struct ctl *c, const char *sig) {
    json_object *o;

    if (!c->json)
        return printf("%s\n", sig) < 0 ? HL_EIO : HL_OK;
    o = json_object_new_object();
    if (o == NULL ||
        hl_json_add(o, "header", json_object_new_string(SIG_HEADER))
            != HL_OK ||
        hl_json_add(o, "value", json_object_new_string(sig)) != HL_OK) {
        json_object_put(o);
        return HL_ENOMEM;
    }
    return ctl_print_json(o);
}

int ctl_cmd_sign(struct ctl *c, int argc, char **argv) {
    char err[HL_ERR_LEN], sig[HL_SIG_LEN + 1];
    char *body = NULL;
    size_t len = 0;
    int rc = CTL_EXIT_FAIL;

    if (argc != 2 || (argv[1][0] == '-' && argv[1][1] != '\0'))
        return ctl_usage_error(c, argc < 2 ? "which file? (- for standard "
                               "input)" : "expected exactly one FILE");
    if (c->cfg->n_app_secrets == 0) {
        ctl_errorf(c, "MESSENGER_APP_SECRET is not set (or "
                   "MESSENGER_APP_SECRET_FILE): nothing to sign with");
        return CTL_EXIT_USAGE;
    }
    if (ctl_payload_read(argv[1], &body, &len, err) != HL_OK) {
        ctl_errorf(c, "%s", err);
        goto cleanup;
    }
    if (ctl_payload_sign(c, body, len, sig, sizeof(sig)) != HL_OK) {
        ctl_errorf(c, "signing failed (OpenSSL)");
        goto cleanup;
    }
    if (print_sig(c, sig) != HL_OK) {
        ctl_errorf(c, "cannot write the signature");
        goto cleanup;
    }
    rc = CTL_EXIT_OK;
cleanup:
    free(body);
    return rc;
}
