/* subs.c - /{version}/{page}/subscribed_apps: which webhook fields each
 * app is subscribed to on each page, as hookctl subscribe and doctor see
 * it. Graph requests act for the fake's own app (FG_APP_ID, the app every
 * accepted token belongs to); other apps' subscriptions come only from
 * the control endpoint POST /_fake/subscriptions (fg_subs_set), so tests
 * can show a page that another app is subscribed to.
 *   GET    -> {"data":[{"id":APP,"name":NAME,"subscribed_fields":[...]},
 *             ...]}: every app subscribed to the page, or {"data":[]}
 *   POST   subscribed_fields=a,b -> {"success":true}; replaces our app's
 *             fields (unknown field names are Graph's 400 code 100)
 *   DELETE -> {"success":true}; unsubscribes our app from the page
 * Bounded: FG_SUB_PAGES_MAX subscriptions (page, app), FG_SUB_FIELDS_MAX
 * fields each. Tokens and faults are graph.c's business; no I/O here. */
#include "fakegraph.h"

#include <stdio.h>
#include <string.h>

#define FIELD_MAX_BYTES 64

/* Messenger and Instagram page webhook fields Graph accepts. */
static const char *const known_fields[] = {
    "messages", "messaging_postbacks", "messaging_optins",
    "messaging_optouts", "message_deliveries", "message_reads",
    "messaging_payments", "messaging_pre_checkouts",
    "messaging_checkout_updates", "messaging_account_linking",
    "messaging_referrals", "message_echoes", "message_edits",
    "message_reactions", "messaging_game_plays", "standby",
    "messaging_handovers", "messaging_policy_enforcement",
    "messaging_appointments", "messaging_customer_information",
    "messaging_feedback", "messaging_integrity",
    "messaging_in_thread_lead_form_submit", "messaging_seen",
    "response_feedback", "inbox_labels", "send_cart", "feed", "mention",
    "calls", "group_feed", "leadgen",
};

static int known(const char *s, size_t n) {
    size_t i;

    for (i = 0; i < HL_ARRAY_LEN(known_fields); i++) {
        if (strlen(known_fields[i]) == n &&
            memcmp(known_fields[i], s, n) == 0)
            return 1;
    }
    return 0;
}

static void sub_free(struct fg_sub *s) {
    size_t i;

    if (s == NULL)
        return;
    for (i = 0; i < s->n; i++)
        free(s->fields[i]);
    free(s);
}

void fg_subs_cleanup(struct fg_subs *s) {
    size_t i;

    for (i = 0; i < s->n; i++) {
        sub_free(s->pages[i]);
        s->pages[i] = NULL;
    }
    s->n = 0;
}

static size_t find(const struct fg_subs *s, const char *page,
                   const char *app) {
    size_t i;

    for (i = 0; i < s->n; i++) {
        if (strcmp(s->pages[i]->page, page) == 0 &&
            strcmp(s->pages[i]->app, app) == 0)
            return i;
    }
    return s->n;
}

static int has_field(const struct fg_sub *s, const char *f, size_t n) {
    size_t i;

    for (i = 0; i < s->n; i++) {
        if (strlen(s->fields[i]) == n && memcmp(s->fields[i], f, n) == 0)
            return 1;
    }
    return 0;
}

/* Splits "a, b,a" into a new subscription (duplicates once). Returns
 * HL_OK and sets *out (caller owns), HL_EINVAL with `bad` set to the
 * offending name (or "" for an empty list), or HL_ENOMEM. */
static int parse_fields(const char *page, const char *list,
                        struct fg_sub **out, char bad[FIELD_MAX_BYTES]) {
    struct fg_sub *s = calloc(1, sizeof(*s));
    const char *p = list;
    int rc = HL_EINVAL;

    bad[0] = '\0';
    if (s == NULL)
        return HL_ENOMEM;
    memcpy(s->page, page, strlen(page) + 1);        /* < HL_ID_MAX */
    while (*p != '\0') {
        size_t n;

        while (*p == ' ' || *p == ',')
            p++;
        n = strcspn(p, ", ");
        if (n == 0)
            break;
        if (!known(p, n) || n >= FIELD_MAX_BYTES) {
            snprintf(bad, FIELD_MAX_BYTES, "%.*s", (int)n, p);
            goto cleanup;
        }
        if (!has_field(s, p, n)) {
            if (s->n == FG_SUB_FIELDS_MAX)
                goto cleanup;
            s->fields[s->n] = strndup(p, n);
            if (s->fields[s->n] == NULL) {
                rc = HL_ENOMEM;
                goto cleanup;
            }
            s->n++;
        }
        p += n;
    }
    if (s->n == 0)
        goto cleanup;
    *out = s;
    s = NULL;
    rc = HL_OK;
cleanup:
    sub_free(s);
    return rc;
}

static json_object *sub_to_json(const struct fg_sub *s) {
    json_object *o = json_object_new_object();
    json_object *a = json_object_new_array();
    size_t i;
    int rc = HL_OK;

    for (i = 0; a != NULL && i < s->n && rc == HL_OK; i++) {
        json_object *f = json_object_new_string(s->fields[i]);
        if (f == NULL || json_object_array_add(a, f) != 0) {
            json_object_put(f);
            rc = HL_ENOMEM;
        }
    }
    if (o == NULL || a == NULL || rc != HL_OK) {
        json_object_put(a);
        json_object_put(o);
        return NULL;
    }
    rc |= fg_json_add_str(o, "id", s->app);
    rc |= fg_json_add_str(o, "name", s->name);
    rc |= fg_json_add(o, "subscribed_fields", a);
    if (rc != HL_OK) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static int answer_get(struct fg *fg, const char *page,
                      struct fg_answer *ans) {
    json_object *o = json_object_new_object();
    json_object *data = json_object_new_array();
    size_t i;
    int rc = HL_ENOMEM;

    if (o == NULL || data == NULL)
        goto cleanup;
    for (i = 0; i < fg->subs.n; i++) {
        json_object *app;
        if (strcmp(fg->subs.pages[i]->page, page) != 0)
            continue;
        app = sub_to_json(fg->subs.pages[i]);
        if (app == NULL || json_object_array_add(data, app) != 0) {
            json_object_put(app);
            goto cleanup;
        }
    }
    rc = fg_json_add(o, "data", data);
    data = NULL;
    if (rc == HL_OK)
        rc = fg_answer_json(ans, 200, o);
cleanup:
    json_object_put(data);
    json_object_put(o);
    return rc;
}

static int answer_success(struct fg_answer *ans) {
    static const char ok[] = "{\"success\":true}";

    fg_answer_cleanup(ans);
    ans->status = 200;
    ans->body = strdup(ok);
    ans->len = sizeof(ok) - 1;
    return ans->body != NULL ? HL_OK : HL_ENOMEM;
}

/* Puts `sub` (taken always) in place of its app's subscription to its
 * page, or adds it. HL_OK, or HL_ETOOBIG when FG_SUB_PAGES_MAX are
 * kept. */
static int put(struct fg_subs *subs, struct fg_sub *sub) {
    size_t i = find(subs, sub->page, sub->app);

    if (i == subs->n && subs->n == FG_SUB_PAGES_MAX) {
        sub_free(sub);
        return HL_ETOOBIG;
    }
    if (i < subs->n)
        sub_free(subs->pages[i]);
    else
        subs->n++;
    subs->pages[i] = sub;
    return HL_OK;
}

/* A new subscription of `app` (named `name`) to `page`; see
 * parse_fields() for the returns. */
static int sub_new(const char *page, const char *app, const char *name,
                   const char *fields, struct fg_sub **out,
                   char bad[FIELD_MAX_BYTES]) {
    int rc = parse_fields(page, fields, out, bad);

    if (rc == HL_OK) {
        snprintf((*out)->app, sizeof((*out)->app), "%s", app);
        snprintf((*out)->name, sizeof((*out)->name), "%s", name);
    }
    return rc;
}

int fg_subs_set(struct fg_subs *subs, const char *page, const char *app,
                const char *name, const char *fields, char err[HL_ERR_LEN]) {
    struct fg_sub *s = NULL;
    char bad[FIELD_MAX_BYTES];
    int rc;

    if (strlen(page) >= HL_ID_MAX || strlen(app) >= HL_ID_MAX ||
        strlen(name) >= FG_APP_NAME_MAX) {
        snprintf(err, HL_ERR_LEN, "page, app_id or name is too long");
        return HL_EINVAL;
    }
    rc = sub_new(page, app, name, fields, &s, bad);
    if (rc == HL_EINVAL)
        snprintf(err, HL_ERR_LEN, "fields must name known webhook fields "
                 "separated by commas; got \"%s\"", bad);
    if (rc != HL_OK)
        return rc;
    rc = put(subs, s);
    if (rc == HL_ETOOBIG)
        snprintf(err, HL_ERR_LEN, "too many subscriptions (%d)",
                 FG_SUB_PAGES_MAX);
    return rc;
}

static int answer_post(struct fg *fg, const char *page, const char *fields,
                       struct fg_answer *ans) {
    struct fg_sub *s = NULL;
    char bad[FIELD_MAX_BYTES];
    char msg[160];
    int rc;

    if (fields == NULL)
        return fg_graph_error(fg, 400, 100, -1, "(#100) The parameter "
                              "subscribed_fields is required", ans);
    rc = sub_new(page, FG_APP_ID, FG_APP_NAME, fields, &s, bad);
    if (rc == HL_EINVAL) {
        snprintf(msg, sizeof(msg), "(#100) Param subscribed_fields must "
                 "name known webhook fields; got \"%s\"", bad);
        return fg_graph_error(fg, 400, 100, -1, msg, ans);
    }
    if (rc != HL_OK)
        return rc;
    if (put(&fg->subs, s) != HL_OK)
        return fg_graph_error(fg, 400, 100, -1, "(#100) fakegraph: too "
                              "many subscribed pages", ans);
    return answer_success(ans);
}

static int answer_delete(struct fg *fg, const char *page,
                         struct fg_answer *ans) {
    size_t i = find(&fg->subs, page, FG_APP_ID);

    if (i < fg->subs.n) {
        sub_free(fg->subs.pages[i]);
        fg->subs.pages[i] = fg->subs.pages[fg->subs.n - 1];
        fg->subs.pages[fg->subs.n - 1] = NULL;
        fg->subs.n--;
    }
    return answer_success(ans);
}

int fg_subs_answer(struct fg *fg, enum evhttp_cmd_type method,
                   const char *page, const char *fields,
                   struct fg_answer *ans) {
    switch (method) {
    case EVHTTP_REQ_GET:
        return answer_get(fg, page, ans);
    case EVHTTP_REQ_POST:
        return answer_post(fg, page, fields, ans);
    case EVHTTP_REQ_DELETE:
        return answer_delete(fg, page, ans);
    default:
        return fg_graph_error(fg, 404, 100, -1, "Unsupported request.",
                              ans);
    }
}
