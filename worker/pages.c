/* pages.c - the pages this worker answers for (loaded by hl_pages) and
 * pausing a page that is rate limited, blocked or whose token stopped
 * working. */
#include "worker.h"
#include "hl_pages.h"
#include "hl_log.h"
#include "hl_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAUSE_RATE_BASE_MS 1000
#define PAUSE_RATE_CAP_MS 60000
#define PAUSE_BROKEN_MS 60000     /* token invalid / page blocked */

int worker_pages_load(struct hl_worker *w, char err[HL_ERR_LEN]) {
    struct hl_page *list = NULL;
    size_t n = 0, i;
    int rc;

    rc = hl_pages_load(w->cfg, &list, &n, err);
    if (rc != HL_OK)
        return rc;
    w->pages = calloc(n + 1, sizeof(*w->pages));
    if (w->pages == NULL) {
        hl_pages_free(list, n);
        return HL_ENOMEM;
    }
    /* The id and token move into the worker's pages (which add pause
     * state); only the list's array itself is freed here. */
    for (i = 0; i < n; i++) {
        w->pages[i].id = list[i].id;
        w->pages[i].token = list[i].token;
    }
    w->npages = n;
    free(list);
    if (n == 0)
        hl_log(HL_LOG_WARN, "no_page_token",
               HL_KV_S("effect", "replies dead-letter as token_invalid; set "
                       "MESSENGER_PAGE_ACCESS_TOKEN or HOOKLINE_PAGES_FILE"));
    return HL_OK;
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
            strcmp(w->pages[i].id, HL_PAGE_ANY) == 0)
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
