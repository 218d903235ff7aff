/* hl_pages.h - the pages hookline answers for and their access tokens:
 * MESSENGER_PAGE_ID + MESSENGER_PAGE_ACCESS_TOKEN for one page, or
 * HOOKLINE_PAGES_FILE for many ({"pages":[{"id":..,"access_token":..}]}).
 * The worker sends with them; hookctl subscribes and checks them. Every
 * field name of the pages file is written in hl_pages.c and nowhere else.
 * Each token is registered with the logger so it can never be printed. */
#ifndef HL_PAGES_H
#define HL_PAGES_H
#include <stddef.h>
#include "hl.h"
#include "hl_cfg.h"
#include "hl_secret.h"

#define HL_PAGE_ANY "*"       /* id of a token configured without a page */

struct hl_page {
    char *id;                 /* owned; HL_PAGE_ANY when no page id set */
    struct hl_secret token;
};

/* Loads the configured pages into *pages (caller owns; free with
 * hl_pages_free()) and *n. With neither a token nor a pages file the list
 * is empty (HL_OK, *n == 0). Returns HL_OK, or HL_EINVAL / HL_ENOMEM with
 * `err` naming the variable and the problem (never a token). */
int hl_pages_load(const struct hl_cfg *cfg, struct hl_page **pages,
                  size_t *n, char err[HL_ERR_LEN]);

/* Frees `n` pages and the array; NULL is a no-op. */
void hl_pages_free(struct hl_page *pages, size_t n);

#endif
