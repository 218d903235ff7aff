/* hl_pages.c - pages and tokens from the environment or the pages file
 * (see hl_pages.h). */
#include "hl_pages.h"
#include "hl_file.h"
#include "hl_json.h"
#include "hl_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGES_FILE_MAX (1024 * 1024)

static int add_page(struct hl_page *pg, const char *id, const char *token,
                    size_t tlen, char err[HL_ERR_LEN]) {
    pg->id = strdup(id);
    if (pg->id == NULL || hl_secret_set(&pg->token, token, tlen) != HL_OK ||
        hl_log_add_secret(token, tlen) != HL_OK) {
        HL_FREE(pg->id);
        hl_secret_cleanup(&pg->token);
        snprintf(err, HL_ERR_LEN, "pages: cannot keep page %s's token "
                 "(out of memory or too many pages)", id);
        return HL_ENOMEM;
    }
    return HL_OK;
}

static int load_file(const char *path, struct hl_page **pages, size_t *np,
                     char err[HL_ERR_LEN]) {
    char *buf = NULL;
    json_object *root = NULL, *list = NULL;
    struct hl_page *pg = NULL;
    size_t flen = 0, n = 0, i, got = 0;
    int rc;

    rc = hl_file_read("HOOKLINE_PAGES_FILE", path, PAGES_FILE_MAX, &buf,
                      &flen, err);
    if (rc != HL_OK)
        return rc;
    rc = HL_EINVAL;
    if (hl_json_parse(buf, flen, HL_JSON_DEPTH, &root) != HL_OK ||
        !json_object_object_get_ex(root, "pages", &list) ||
        !json_object_is_type(list, json_type_array)) {
        snprintf(err, HL_ERR_LEN, "HOOKLINE_PAGES_FILE: %s must be JSON "
                 "{\"pages\":[{\"id\":..,\"access_token\":..}]}", path);
        goto cleanup;
    }
    n = json_object_array_length(list);
    pg = calloc(n + 1, sizeof(*pg));
    if (pg == NULL) {
        rc = HL_ENOMEM;
        goto cleanup;
    }
    for (i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(list, i), *id, *tok;
        if (!json_object_object_get_ex(p, "id", &id) ||
            !(json_object_is_type(id, json_type_string) ||
              json_object_is_type(id, json_type_int)) ||
            json_object_get_string_len(id) == 0 ||
            !json_object_object_get_ex(p, "access_token", &tok) ||
            !json_object_is_type(tok, json_type_string) ||
            json_object_get_string_len(tok) == 0) {
            snprintf(err, HL_ERR_LEN, "HOOKLINE_PAGES_FILE: page %zu needs "
                     "an \"id\" (string or number) and a string "
                     "\"access_token\"", i);
            rc = HL_EINVAL;
            goto cleanup;
        }
        rc = add_page(&pg[got], json_object_get_string(id),
                      json_object_get_string(tok),
                      (size_t)json_object_get_string_len(tok), err);
        if (rc != HL_OK)
            goto cleanup;
        got++;
    }
    *pages = pg;
    *np = got;
    pg = NULL;
    rc = HL_OK;
cleanup:
    hl_pages_free(pg, got);
    json_object_put(root);
    memset(buf, 0, flen);          /* it holds access tokens */
    free(buf);
    return rc;
}

int hl_pages_load(const struct hl_cfg *cfg, struct hl_page **pages,
                  size_t *n, char err[HL_ERR_LEN]) {
    struct hl_page *pg;
    int rc;

    *pages = NULL;
    *n = 0;
    if (cfg->pages_file != NULL)
        return load_file(cfg->pages_file, pages, n, err);
    pg = calloc(1, sizeof(*pg));
    if (pg == NULL)
        return HL_ENOMEM;
    if (cfg->page_token.len == 0) {
        *pages = pg;
        return HL_OK;
    }
    rc = add_page(pg, cfg->page_id ? cfg->page_id : HL_PAGE_ANY,
                  (const char *)cfg->page_token.buf, cfg->page_token.len,
                  err);
    if (rc != HL_OK) {
        free(pg);
        return rc;
    }
    *pages = pg;
    *n = 1;
    return HL_OK;
}

void hl_pages_free(struct hl_page *pages, size_t n) {
    size_t i;

    if (pages == NULL)
        return;
    for (i = 0; i < n; i++) {
        free(pages[i].id);
        hl_secret_cleanup(&pages[i].token);
    }
    free(pages);
}
