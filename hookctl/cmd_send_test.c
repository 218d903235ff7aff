/* cmd_send_test.c - `hookctl send-test FILE | --text TEXT`: sign a
 * payload the way Meta does and POST it to ingest, then show ingest's
 * answer (exit 0 only on 200). With --text the payload is a Messenger
 * text message built by common/hl_event + hl_batch (json-c escapes the
 * text), from a made-up user unless --user names a real one: with the
 * real Graph API a reply to a made-up user fails (code 100), so the
 * worker dead-letters it; with the fake Graph it is answered.
 *
 * It never prints a secret: the signature is an HMAC, and the URL shown
 * is ingest's origin and path. */
#include "ctl.h"
#include "checks.h"
#include "hl_batch.h"
#include "hl_event.h"
#include "hl_hmac.h"
#include "hl_json.h"
#include "hl_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

#define DEFAULT_USER "hookctl-test-user"
#define MID_PREFIX "m_hookctl_"
#define MID_RANDOM_HEX 16
#define URL_MAX 4096
#define BODY_SHOWN_MAX 2000           /* answer bytes printed */

struct send_opts {
    const char *file;                 /* or NULL with --text */
    const char *text;
    const char *user;
    const char *page;
};

int ctl_random_hex(char *out, size_t sz) {
    static const char hex[] = "0123456789abcdef";
    unsigned char b[64];
    size_t n, i;

    if (sz == 0)
        return HL_ERR;
    n = (sz - 1 + 1) / 2;
    if (n > sizeof(b) || RAND_bytes(b, (int)n) != 1)
        return HL_ERR;
    for (i = 0; i + 1 < sz; i++)
        out[i] = hex[(b[i / 2] >> (i % 2 ? 0 : 4)) & 15];
    out[sz - 1] = '\0';
    return HL_OK;
}

int ctl_ingest_post(const struct ctl *c, const void *body, size_t len,
                    long timeout_ms, struct ctl_http_resp *resp) {
    char url[URL_MAX], sig[HL_SIG_LEN + 1];
    char sig_header[sizeof(sig) + 32];
    const char *headers[] = {
        "Content-Type: application/json", sig_header, NULL
    };
    int rc;

    memset(resp, 0, sizeof(*resp));
    if (ctl_url_ingest(c->cfg, url, sizeof(url)) != HL_OK) {
        snprintf(resp->err, sizeof(resp->err), "ingest URL too long");
        return HL_ETOOBIG;
    }
    rc = ctl_payload_sign(c, body, len, sig, sizeof(sig));
    if (rc != HL_OK) {
        snprintf(resp->err, sizeof(resp->err), rc == HL_ESTATE
                 ? "MESSENGER_APP_SECRET is not set" : "signing failed");
        return rc == HL_ESTATE ? HL_ESTATE : HL_ERR;
    }
    snprintf(sig_header, sizeof(sig_header), "X-Hub-Signature-256: %s",
             sig);
    return ctl_http_do("POST", url, NULL, headers, body, len, timeout_ms,
                       resp);
}

/* ------------------------------------------------------------ options */

static int parse_opts(struct ctl *c, int argc, char **argv,
                      struct send_opts *o) {
    int i;

    memset(o, 0, sizeof(*o));
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = strcmp(a, "--text") == 0 ? &o->text
                            : strcmp(a, "--user") == 0 ? &o->user
                            : strcmp(a, "--page") == 0 ? &o->page : NULL;
        if (slot != NULL) {
            if (i + 1 >= argc)
                return ctl_usage_error(c, "%s needs a value", a);
            *slot = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            return ctl_usage_error(c, "unknown option %s", a);
        } else if (o->file != NULL) {
            return ctl_usage_error(c, "one FILE only");
        } else {
            o->file = a;
        }
    }
    if ((o->file == NULL) == (o->text == NULL))
        return ctl_usage_error(c, "give a FILE or --text TEXT (not both)");
    if (o->file != NULL && (o->user != NULL || o->page != NULL))
        return ctl_usage_error(c, "--user and --page go with --text");
    if (o->user == NULL)
        o->user = DEFAULT_USER;
    if (o->user[0] == '\0')
        return ctl_usage_error(c, "--user needs a PSID");
    return CTL_EXIT_OK;
}

/* The page of a --text message: --page, else the first configured page
 * with an id, else MESSENGER_PAGE_ID. Returns an exit code. */
static int pick_page(struct ctl *c, struct send_opts *o) {
    char err[HL_ERR_LEN];
    size_t i;

    if (o->page != NULL) {
        if (!ctl_node_valid(o->page))
            return ctl_usage_error(c, "--page must be a page id");
        return CTL_EXIT_OK;
    }
    if (ctl_pages(c, err) != HL_OK) {
        ctl_errorf(c, "%s", err);
        return CTL_EXIT_USAGE;
    }
    for (i = 0; i < c->npages && o->page == NULL; i++) {
        if (strcmp(c->pages[i].id, HL_PAGE_ANY) != 0)
            o->page = c->pages[i].id;
    }
    if (o->page == NULL)
        o->page = c->cfg->page_id;
    if (o->page == NULL)
        return ctl_usage_error(c, "which page? set MESSENGER_PAGE_ID (or "
                               "HOOKLINE_PAGES_FILE) or give --page ID");
    return CTL_EXIT_OK;
}

/* A text message payload, serialised (caller owns *out; free()). */
static int build_text(const struct send_opts *o, const char *mid,
                      char **out, size_t *len) {
    long long now = hl_time_now_ms();
    json_object *ev = NULL, *root = NULL;
    const char *s;
    size_t n = 0;
    int rc;

    rc = hl_event_build_message(o->page, o->user, now, mid, o->text, &ev);
    if (rc == HL_OK)
        rc = hl_batch_build("page", o->page, now, ev, &root);
    if (rc != HL_OK)
        return rc;
    s = json_object_to_json_string_length(
        root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    *out = s != NULL ? strndup(s, n) : NULL;
    *len = n;
    json_object_put(root);
    return *out != NULL ? HL_OK : HL_ENOMEM;
}

/* ------------------------------------------------------------ output */

static int print_json(const struct send_opts *o,
                      const char *mid, const char *where,
                      const struct ctl_http_resp *r, int ok) {
    json_object *j = json_object_new_object();
    int rc = HL_OK;

    if (j == NULL)
        return HL_ENOMEM;
    rc |= hl_json_add(j, "ok", json_object_new_boolean(ok));
    rc |= hl_json_add(j, "url", json_object_new_string(where));
    rc |= hl_json_add(j, "status", json_object_new_int64(r->status));
    if (r->status != 0)
        rc |= hl_json_add(j, "body", json_object_new_string_len(
            r->body ? r->body : "", (int)r->body_len));
    else
        rc |= hl_json_add(j, "error", json_object_new_string(r->err));
    if (mid != NULL) {
        rc |= hl_json_add(j, "mid", json_object_new_string(mid));
        rc |= hl_json_add(j, "page", json_object_new_string(o->page));
        rc |= hl_json_add(j, "user", json_object_new_string(o->user));
    }
    if (rc != HL_OK) {
        json_object_put(j);
        return HL_ENOMEM;
    }
    return ctl_print_json(j);
}

static void print_text(const struct send_opts *o, const char *mid,
                       const char *where, const struct ctl_http_resp *r,
                       int ok) {
    const char *fix;

    if (mid != NULL)
        printf("sent a text message from user %s to page %s (mid %s)\n",
               o->user, o->page, mid);
    if (r->status == 0) {
        printf("no answer from ingest at %s: %s\n", where, r->err);
    } else {
        printf("POST %s: HTTP %ld %.*s\n", where, r->status,
               (int)(r->body_len < BODY_SHOWN_MAX ? r->body_len
                                                  : BODY_SHOWN_MAX),
               r->body ? r->body : "");
    }
    fix = ok ? NULL : ctl_fix_post(ctl_answer_post(r->status, r->fail,
                                                   r->body, r->body_len));
    if (fix != NULL)
        printf("  fix: %s\n", fix);
    if (ok && mid != NULL)
        printf("with the built-in rules the worker now replies \"You said: "
               "%s\"\n", o->text);
}

int ctl_cmd_send_test(struct ctl *c, int argc, char **argv) {
    char err[HL_ERR_LEN], url[URL_MAX], where[URL_MAX];
    char mid[sizeof(MID_PREFIX) + MID_RANDOM_HEX];
    struct ctl_http_resp r;
    struct send_opts o;
    char *body = NULL;
    size_t len = 0;
    int rc, ok;

    memset(&r, 0, sizeof(r));
    rc = parse_opts(c, argc, argv, &o);
    if (rc == CTL_EXIT_OK && o.text != NULL)
        rc = pick_page(c, &o);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (c->cfg->n_app_secrets == 0) {
        ctl_errorf(c, "MESSENGER_APP_SECRET is not set (or "
                   "MESSENGER_APP_SECRET_FILE): ingest needs a signature");
        return CTL_EXIT_USAGE;
    }
    if (ctl_url_ingest(c->cfg, url, sizeof(url)) != HL_OK) {
        ctl_errorf(c, "HOOKLINE_INGEST_URL is too long");
        return CTL_EXIT_USAGE;
    }
    ctl_url_shown(url, where, sizeof(where));
    rc = CTL_EXIT_FAIL;
    memcpy(mid, MID_PREFIX, sizeof(MID_PREFIX) - 1);
    if (o.file != NULL) {
        if (ctl_payload_read(o.file, &body, &len, err) != HL_OK) {
            ctl_errorf(c, "%s", err);
            goto cleanup;
        }
    } else if (ctl_random_hex(mid + sizeof(MID_PREFIX) - 1,
                              MID_RANDOM_HEX + 1) != HL_OK ||
               build_text(&o, mid, &body, &len) != HL_OK) {
        ctl_errorf(c, "cannot build the message (out of memory?)");
        goto cleanup;
    }
    if (ctl_ingest_post(c, body, len, CTL_HTTP_TIMEOUT_MS, &r) == HL_ENOMEM) {
        ctl_errorf(c, "out of memory");
        goto cleanup;
    }
    ok = r.status == 200;
    if (c->json)
        print_json(&o, o.text ? mid : NULL, where, &r, ok);
    else
        print_text(&o, o.text ? mid : NULL, where, &r, ok);
    rc = ok ? CTL_EXIT_OK : CTL_EXIT_FAIL;
cleanup:
    ctl_http_resp_cleanup(&r);
    free(body);
    return rc;
}
