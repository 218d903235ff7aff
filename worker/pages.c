/* pages.c - the pages this worker answers for and their access tokens
 * (MESSENGER_PAGE_ID + MESSENGER_PAGE_ACCESS_TOKEN, or HOOKLINE_PAGES_FILE
 * for many: {"pages":[{"id":"...","access_token":"..."}]}), and pausing a
 * page that is rate limited, blocked or whose token stopped working.
 * Tokens are registered with the logger so they can never be printed. */
#include "worker.h"
#include "hl_file.h"
#include "hl_json.h"
#include "hl_log.h"
#include "hl_time.h"

#include <stdio.h>
#include <string.h>

#define PAGES_FILE_MAX (1024 * 1024)
#define PAUSE_RATE_BASE_MS 1000
#define PAUSE_RATE_CAP_MS 60000
#define PAUSE_BROKEN_MS 60000     /* token invalid / page blocked */
#define ANY_PAGE "*"              /* a token without a page id */

static int add_page(struct hl_worker *w, const char *id, const char *token,
                    size_t tlen, char err[HL_ERR_LEN]) {
    struct worker_page *pg = &w->pages[w->npages];

    pg->id = strdup(id);
    if (pg->id == NULL || hl_secret_set(&pg->token, token, tlen) != HL_OK ||
        hl_log_add_secret(token, tlen) != HL_OK) {
        HL_FREE(pg->id);
        hl_secret_cleanup(&pg->token);
        snprintf(err, HL_ERR_LEN, "pages: cannot keep page %s's token "
                 "(out of memory or too many pages)", id);
        return HL_ENOMEM;
    }
    w->npages++;
    return HL_OK;
}

static int load_file(struct hl_worker *w, const char *path,
                     char err[HL_ERR_LEN]) {
    char *buf = NULL;
    json_object *root = NULL, *list = NULL;
    size_t flen = 0, n, i;
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
    w->pages = calloc(n + 1, sizeof(*w->pages));
    if (w->pages == NULL) {
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
            goto cleanup;
        }
        rc = add_page(w, json_object_get_string(id),
                      json_object_get_string(tok),
                      (size_t)json_object_get_string_len(tok), err);
        if (rc != HL_OK)
            goto cleanup;
        rc = HL_EINVAL;
    }
    rc = HL_OK;
cleanup:
    json_object_put(root);
    memset(buf, 0, flen);          /* it holds access tokens */
    free(buf);
    return rc;
}

int worker_pages_load(struct hl_worker *w, char err[HL_ERR_LEN]) {
    const struct hl_cfg *cfg = w->cfg;

    if (cfg->pages_file != NULL)
        return load_file(w, cfg->pages_file, err);
    w->pages = calloc(1, sizeof(*w->pages));
    if (w->pages == NULL)
        return HL_ENOMEM;
    if (cfg->page_token.len == 0) {
        hl_log(HL_LOG_WARN, "no_page_token",
               HL_KV_S("effect", "replies dead-letter as token_invalid; set "
                       "MESSENGER_PAGE_ACCESS_TOKEN or HOOKLINE_PAGES_FILE"));
        return HL_OK;
    }
    return add_page(w, cfg->page_id ? cfg->page_id : ANY_PAGE,
                    (const char *)cfg->page_token.buf, cfg->page_token.len,
                    err);
}

void worker_pages_cleanup(struct hl_worker *w) {
    size_t i;

    for (i = 0; i < w->npages; i++) {
        free(w->pages[i].id);
        hl_secret_cleanup(&w->pages[i].token);
    }
    HL_FREE(w->pages);
    w->npages = 0;
}

struct worker_page *worker_page_find(struct hl_worker *w, const char *id) {
    size_t i;

    for (i = 0; i < w->npages; i++) {
        if (strcmp(w->pages[i].id, id) == 0 ||
            strcmp(w->pages[i].id, ANY_PAGE) == 0)
            return &w->pages[i];
    }
    return NULL;
}

void worker_page_pause(struct hl_worker *w, struct worker_page *pg,
                       enum worker_outcome why) {
    long long ms;

    (void)w;
    if (why == WO_RATE_LIMITED) {
        pg->pause_level++;
        ms = hl_time_backoff_ms(pg->pause_level, PAUSE_RATE_BASE_MS,
                                PAUSE_RATE_CAP_MS, (uint32_t)random());
    } else {
        ms = PAUSE_BROKEN_MS;
    }
    pg->paused_until_ms = hl_time_mono_ms() + ms;
    hl_log(why == WO_RATE_LIMITED ? HL_LOG_WARN : HL_LOG_ERROR,
           "page_paused", HL_KV_S("page", pg->id),
           HL_KV_S("why", worker_outcome_name(why)), HL_KV_I("pause_ms", ms));
}
