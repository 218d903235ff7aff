/* hl_json.c - depth-limited json-c parsing of network bytes. Feeding the
 * tokener chunk by chunk means a body never has to be made contiguous. */
#include "hl_json.h"

#include <string.h>

static int only_space(const char *p, size_t len) {
    size_t i;

    for (i = 0; i < len; i++) {
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
            return 0;
    }
    return 1;
}

int hl_json_parse_chunks(const struct hl_chunk *chunks, size_t n, int depth,
                         json_object **out) {
    struct json_tokener *tok = NULL;
    json_object *obj = NULL;
    enum json_tokener_error jerr = json_tokener_continue;
    int rc = HL_EINVAL;
    size_t i;

    *out = NULL;
    tok = json_tokener_new_ex(depth);
    if (tok == NULL)
        return HL_ENOMEM;
    /* strict: no comments, no single quotes, no trailing commas */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    for (i = 0; i < n; i++) {
        const char *p = chunks[i].p;
        size_t len = chunks[i].len;

        if (obj != NULL) {
            if (!only_space(p, len))
                goto cleanup;
            continue;
        }
        if (len > (size_t)INT32_MAX)
            goto cleanup;
        obj = json_tokener_parse_ex(tok, p, (int)len);
        jerr = json_tokener_get_error(tok);
        if (obj == NULL && jerr != json_tokener_continue)
            goto cleanup;
        if (obj != NULL) {
            size_t used = json_tokener_get_parse_end(tok);
            if (!only_space(p + used, len - used))
                goto cleanup;
        }
    }
    if (obj == NULL) {
        /* a bare number at the very end needs a final push */
        obj = json_tokener_parse_ex(tok, "", 1);
        if (obj == NULL)
            goto cleanup;
    }
    *out = obj;
    obj = NULL;
    rc = HL_OK;
cleanup:
    json_object_put(obj);
    json_tokener_free(tok);
    return rc;
}

int hl_json_parse(const char *p, size_t len, int depth, json_object **out) {
    struct hl_chunk c = { p, len };

    return hl_json_parse_chunks(&c, 1, depth, out);
}
