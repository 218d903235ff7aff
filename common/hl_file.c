/* hl_file.c - bounded whole-file reads (see hl_file.h). */
#include "hl_file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int hl_file_read(const char *what, const char *path, size_t max, char **out,
                 size_t *len, char err[HL_ERR_LEN]) {
    FILE *f = NULL;
    char *buf = NULL;
    size_t n = 0;
    int rc = HL_EINVAL;

    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, HL_ERR_LEN, "%s: cannot open %s: %s", what, path,
                 strerror(errno));
        goto cleanup;
    }
    buf = malloc(max + 1);
    if (buf == NULL) {
        rc = HL_ENOMEM;
        goto cleanup;
    }
    n = fread(buf, 1, max + 1, f);
    if (ferror(f) || n > max) {
        snprintf(err, HL_ERR_LEN, "%s: %s is unreadable or over %zu bytes",
                 what, path, max);
        goto cleanup;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
    rc = HL_OK;
cleanup:
    if (buf != NULL) {
        /* it may have held a secret */
        memset(buf, 0, n < max ? n : max);
        free(buf);
    }
    if (f != NULL)
        fclose(f);
    return rc;
}
