/* cmd_subscribe.c - `hookctl subscribe [--fields F,F...] [--page ID]`:
 * subscribes the app to each configured page's webhook fields with
 * POST /{page}/subscribed_apps (subscribed_fields form-encoded, the page
 * token as a bearer header), then reads the same edge back and shows what
 * is subscribed. Also ctl_graph_do(), the one Graph request helper that
 * doctor uses too, and ctl_graph_app() (GET /app: whose app a token is).
 *
 * Without --fields it subscribes what the built-in rules answer plus the
 * events worth keeping: messages, messaging_postbacks, messaging_optins,
 * messaging_referrals, message_reactions. Deliveries, reads and echoes
 * are left out: the built-in rules ignore them and they multiply the
 * traffic; name them with --fields when your rules use them. A Graph
 * error is shown with its code, message and fbtrace_id; the token is
 * never in a URL or in the output. */
#include "ctl.h"
#include "checks.h"
#include "hl_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_FIELDS "messages,messaging_postbacks,messaging_optins," \
                       "messaging_referrals,message_reactions"
#define EDGE "subscribed_apps"
#define URL_MAX 4096
#define FORM_MAX 2048
#define LINE_MAX_BYTES 1024

/* One page to subscribe: its id and the token that may act for it. */
struct target {
    const char *id;                   /* borrowed */
    const struct hl_secret *token;    /* borrowed from c->pages */
};

int ctl_graph_do(const struct ctl *c, const char *method, const char *node,
                 const char *edge, const char *query,
                 const struct hl_secret *token, const char *form,
                 struct ctl_http_resp *resp) {
    static const char *const form_headers[] = {
        "Content-Type: application/x-www-form-urlencoded", NULL
    };
    char url[URL_MAX];
    int rc;

    memset(resp, 0, sizeof(*resp));
    rc = ctl_url_graph(c->cfg, node, edge, query, url, sizeof(url));
    if (rc != HL_OK) {
        snprintf(resp->err, sizeof(resp->err), rc == HL_EINVAL
                 ? "page id %.64s is not a Graph id" : "Graph URL too long",
                 node);
        return rc;
    }
    return ctl_http_do(method, url, (const char *)token->buf,
                       form != NULL ? form_headers : NULL, form,
                       form != NULL ? strlen(form) : 0, CTL_HTTP_TIMEOUT_MS,
                       resp);
}

void ctl_graph_app(const struct ctl *c, const struct hl_secret *token,
                   struct ctl_app *a) {
    struct ctl_http_resp r;

    memset(a, 0, sizeof(*a));
    if (ctl_graph_do(c, "GET", "app", NULL, NULL, token, NULL, &r)
            == HL_ENOMEM)
        snprintf(a->why, sizeof(a->why), "out of memory");
    else if (r.status == 0)
        snprintf(a->why, sizeof(a->why), "no answer: %s", r.err);
    else if (r.status != 200)
        ctl_graph_error_text(r.status, r.body, r.body_len, a->why,
                             sizeof(a->why));
    else if (ctl_me_parse(r.body, r.body_len, a->id, sizeof(a->id),
                          a->name, sizeof(a->name)) != HL_OK)
        snprintf(a->why, sizeof(a->why), "200 without an id");
    ctl_http_resp_cleanup(&r);
}

/* ------------------------------------------------------------ targets */

static int find_page(const struct ctl *c, const char *id) {
    size_t i;

    for (i = 0; i < c->npages; i++) {
        if (strcmp(c->pages[i].id, id) == 0)
            return (int)i;
    }
    return -1;
}

/* Fills t[] (at least c->npages slots) with the pages to subscribe.
 * Returns an exit code; on CTL_EXIT_OK *n is at least 1. */
static int pick_targets(struct ctl *c, const char *page, struct target *t,
                        size_t *n) {
    int k;
    size_t i;

    *n = 0;
    if (page != NULL) {
        k = find_page(c, page);
        if (k < 0 && c->npages == 1 &&
            strcmp(c->pages[0].id, HL_PAGE_ANY) == 0)
            k = 0;                     /* a token set without a page id */
        if (k < 0) {
            ctl_errorf(c, "page %s has no access token: set "
                       "MESSENGER_PAGE_ID and MESSENGER_PAGE_ACCESS_TOKEN "
                       "or add it to HOOKLINE_PAGES_FILE", page);
            return CTL_EXIT_USAGE;
        }
        t[0].id = page;
        t[0].token = &c->pages[k].token;
        *n = 1;
        return CTL_EXIT_OK;
    }
    for (i = 0; i < c->npages; i++) {
        if (strcmp(c->pages[i].id, HL_PAGE_ANY) == 0) {
            ctl_errorf(c, "MESSENGER_PAGE_ID is not set: which page does "
                       "MESSENGER_PAGE_ACCESS_TOKEN belong to? (or give "
                       "--page ID)");
            return CTL_EXIT_USAGE;
        }
        t[i].id = c->pages[i].id;
        t[i].token = &c->pages[i].token;
    }
    *n = c->npages;
    return CTL_EXIT_OK;
}

/* ------------------------------------------------------------ one page */

/* Adds the error of a failed Graph answer (or transport) to `j` and
 * prints it; `what` is "subscribing" or "reading the subscription". */
static int report_error(const struct ctl *c, const char *page,
                        const char *what, const struct ctl_http_resp *r,
                        json_object *j) {
    struct ctl_graph_err e;
    char line[LINE_MAX_BYTES];
    const char *fix = NULL;
    json_object *o;
    int rc = HL_OK;

    if (r->status == 0) {
        snprintf(line, sizeof(line), "no answer from the Graph API "
                 "(GRAPH_API_BASE): %s", r->err);
        fix = "check GRAPH_API_BASE and the network path to it";
    } else {
        ctl_graph_error_text(r->status, r->body, r->body_len, line,
                             sizeof(line));
        if (ctl_graph_error_parse(r->body, r->body_len, &e) == HL_OK)
            fix = ctl_fix_graph(e.code, e.subcode);
    }
    if (!c->json) {
        printf("✗ page %s: %s failed: %s\n", page, what, line);
        if (fix != NULL)
            printf("  fix: %s\n", fix);
        return HL_OK;
    }
    o = json_object_new_object();
    if (o == NULL)
        return HL_ENOMEM;
    rc |= hl_json_add(o, "step", json_object_new_string(what));
    rc |= hl_json_add(o, "status", json_object_new_int64(r->status));
    rc |= hl_json_add(o, "message", json_object_new_string(line));
    if (ctl_graph_error_parse(r->body, r->body_len, &e) == HL_OK) {
        rc |= hl_json_add(o, "code", json_object_new_int64(e.code));
        if (e.subcode >= 0)
            rc |= hl_json_add(o, "subcode", json_object_new_int64(e.subcode));
        if (e.trace[0] != '\0')
            rc |= hl_json_add(o, "fbtrace_id", json_object_new_string(e.trace));
    }
    if (fix != NULL)
        rc |= hl_json_add(o, "fix", json_object_new_string(fix));
    rc |= hl_json_add(j, "error", o);
    return rc == HL_OK ? HL_OK : HL_ENOMEM;
}

/* Prints the apps of a subscribed_apps answer, or adds them to `j`. */
static int report_subs(const struct ctl *c, const char *page,
                       json_object *data, json_object *j) {
    char fields[LINE_MAX_BYTES];
    size_t i, n = json_object_array_length(data);

    if (c->json)
        return hl_json_add(j, "subscribed", json_object_get(data));
    if (n == 0)
        printf("✗ page %s: no app is subscribed\n", page);
    for (i = 0; i < n; i++) {
        json_object *app = json_object_array_get_idx(data, i);
        const char *name, *id;
        ctl_subs_app_names(app, &name, &id);
        ctl_subs_fields(app, fields, sizeof(fields));
        printf("✓ page %s: app %s (%s) gets %s\n", page, name, id,
               fields);
    }
    return HL_OK;
}

/* Subscribes one page and reads the edge back. *ok is 1 when both
 * worked and the page has a subscribed app. Returns HL_OK or HL_ENOMEM. */
static int subscribe_one(const struct ctl *c, const struct target *t,
                         const char *form, json_object *j, int *ok) {
    struct ctl_http_resp r;
    json_object *root = NULL, *data = NULL;
    int rc;

    *ok = 0;
    rc = ctl_graph_do(c, "POST", t->id, EDGE, NULL, t->token, form, &r);
    if (rc == HL_ENOMEM)
        goto cleanup;
    if (r.status != 200 || !ctl_graph_success(r.body, r.body_len)) {
        rc = report_error(c, t->id, "subscribing", &r, j);
        goto cleanup;
    }
    ctl_http_resp_cleanup(&r);
    rc = ctl_graph_do(c, "GET", t->id, EDGE, NULL, t->token, NULL, &r);
    if (rc == HL_ENOMEM)
        goto cleanup;
    if (r.status != 200 ||
        ctl_subs_parse(r.body, r.body_len, &root, &data) != HL_OK) {
        rc = report_error(c, t->id, "reading the subscription", &r, j);
        goto cleanup;
    }
    rc = report_subs(c, t->id, data, j);
    *ok = json_object_array_length(data) > 0;
cleanup:
    json_object_put(root);
    ctl_http_resp_cleanup(&r);
    return rc;
}

/* ------------------------------------------------------------ command */

static int parse_opts(struct ctl *c, int argc, char **argv,
                      const char **fields, const char **page) {
    int i;

    *fields = DEFAULT_FIELDS;
    *page = NULL;
    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fields") == 0 && i + 1 < argc)
            *fields = argv[++i];
        else if (strcmp(argv[i], "--page") == 0 && i + 1 < argc)
            *page = argv[++i];
        else
            return ctl_usage_error(c, "unexpected %s", argv[i]);
    }
    if (!ctl_fields_valid(*fields))
        return ctl_usage_error(c, "--fields takes webhook field names "
                               "separated by commas, e.g. %s",
                               DEFAULT_FIELDS);
    if (*page != NULL && !ctl_node_valid(*page))
        return ctl_usage_error(c, "--page must be a page id");
    return CTL_EXIT_OK;
}

/* "subscribed_fields=a%2Cb": the commas escaped as a form wants. */
static int form_body(const char *fields, char *out, size_t sz) {
    size_t used = 0;
    int n = snprintf(out, sz, "subscribed_fields=");

    if (n < 0 || (size_t)n >= sz)
        return HL_ETOOBIG;
    used = (size_t)n;
    for (; *fields != '\0'; fields++) {
        const char *piece = *fields == ',' ? "%2C" : NULL;
        size_t k = piece ? 3 : 1;
        if (used + k >= sz)
            return HL_ETOOBIG;
        memcpy(out + used, piece ? piece : fields, k);
        used += k;
    }
    out[used] = '\0';
    return HL_OK;
}

/* Runs every target; *all_ok when each one worked. */
static int run_all(struct ctl *c, const struct target *t, size_t n,
                   const char *form, json_object *list, int *all_ok) {
    size_t i;
    int ok, rc = HL_OK;

    *all_ok = 1;
    for (i = 0; i < n && rc == HL_OK; i++) {
        json_object *j = c->json ? json_object_new_object() : NULL;
        if (c->json && (j == NULL ||
                        json_object_array_add(list, j) != 0)) {
            json_object_put(j);
            return HL_ENOMEM;
        }
        if (j != NULL &&
            hl_json_add(j, "page", json_object_new_string(t[i].id)) != HL_OK)
            return HL_ENOMEM;
        rc = subscribe_one(c, &t[i], form, j, &ok);
        if (j != NULL && rc == HL_OK)
            rc = hl_json_add(j, "ok", json_object_new_boolean(ok));
        *all_ok &= ok;
    }
    return rc;
}

int ctl_cmd_subscribe(struct ctl *c, int argc, char **argv) {
    const char *fields, *page;
    char err[HL_ERR_LEN], form[FORM_MAX];
    struct target *t = NULL;
    json_object *out = NULL, *list = NULL;
    size_t n = 0;
    int rc, all_ok = 0, added, printed;

    rc = parse_opts(c, argc, argv, &fields, &page);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (form_body(fields, form, sizeof(form)) != HL_OK)
        return ctl_usage_error(c, "--fields is too long");
    if (ctl_pages(c, err) != HL_OK) {
        ctl_errorf(c, "%s", err);
        return CTL_EXIT_USAGE;
    }
    if (c->npages == 0) {
        ctl_errorf(c, "no page access token: set MESSENGER_PAGE_ID and "
                   "MESSENGER_PAGE_ACCESS_TOKEN, or HOOKLINE_PAGES_FILE");
        return CTL_EXIT_USAGE;
    }
    t = calloc(c->npages, sizeof(*t));
    if (t == NULL)
        return CTL_EXIT_FAIL;
    rc = pick_targets(c, page, t, &n);
    if (rc != CTL_EXIT_OK)
        goto cleanup;
    rc = CTL_EXIT_FAIL;
    if (c->json) {
        out = json_object_new_object();
        list = json_object_new_array();
        if (out == NULL || list == NULL)
            goto cleanup;
    }
    if (run_all(c, t, n, form, list, &all_ok) != HL_OK) {
        ctl_errorf(c, "out of memory");
        goto cleanup;
    }
    if (c->json) {
        if (hl_json_add(out, "ok", json_object_new_boolean(all_ok)) != HL_OK)
            goto cleanup;
        /* hl_json_add takes `list` always; ctl_print_json takes `out` */
        added = hl_json_add(out, "pages", list) == HL_OK;
        list = NULL;
        if (!added) {
            ctl_errorf(c, "out of memory");
            goto cleanup;
        }
        printed = ctl_print_json(out) == HL_OK;
        out = NULL;
        if (!printed)
            goto cleanup;
    }
    rc = all_ok ? CTL_EXIT_OK : CTL_EXIT_FAIL;
cleanup:
    json_object_put(list);
    json_object_put(out);
    free(t);
    return rc;
}
