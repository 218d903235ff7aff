/* routes.c - method/path dispatch for hookline-fakegraph: /healthz, the
 * /_fake/ control endpoints (control.c), and Graph paths (graph.c), which
 * also answer every other path with a Graph-style 404. The path parser is
 * pure; nothing here builds an answer body beyond /healthz. */
#include "fakegraph.h"
#include "hl_http.h"

#include <string.h>

#define PATH_MAX_BYTES 2048
#define FAKE_PREFIX "/_fake/"

/* "v25.0", "v3": 'v', digits, optionally '.' and digits. */
static int is_version(const char *s, size_t n) {
    size_t i = 1;

    if (n < 2 || s[0] != 'v')
        return 0;
    while (i < n && s[i] >= '0' && s[i] <= '9')
        i++;
    if (i == 1)
        return 0;
    if (i == n)
        return 1;
    if (s[i] != '.' || i + 1 == n)
        return 0;
    for (i++; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    return 1;
}

/* A page id (or "me"): letters, digits, '_', '.', '-'. */
static int is_node(const char *s, size_t n) {
    size_t i;

    if (n == 0 || n >= HL_ID_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return !is_version(s, n);
}

static enum fg_endpoint edge_of(const char *s, size_t n) {
    if (n == 8 && memcmp(s, "messages", 8) == 0)
        return FG_EP_MESSAGES;
    if (n == 15 && memcmp(s, "subscribed_apps", 15) == 0)
        return FG_EP_SUBSCRIBED_APPS;
    return FG_EP_NONE;
}

/* "me" and "app": nodes named by the token, not by an id. */
static enum fg_endpoint token_node(const char *s, size_t n) {
    if (n == 2 && memcmp(s, "me", 2) == 0)
        return FG_EP_ME;
    if (n == 3 && memcmp(s, "app", 3) == 0)
        return FG_EP_APP;
    return FG_EP_NONE;
}

int fg_route_parse(const char *path, struct fg_path *p) {
    const char *seg[4];
    size_t len[4];
    size_t n = 0, first = 0;
    const char *s = path;

    memset(p, 0, sizeof(*p));
    if (*s != '/')
        return HL_ENOTFOUND;
    while (*s == '/' && n < HL_ARRAY_LEN(seg)) {
        const char *end = strchr(s + 1, '/');
        seg[n] = s + 1;
        len[n] = end ? (size_t)(end - s - 1) : strlen(s + 1);
        n++;
        s = end ? end : s + 1 + len[n - 1];
    }
    if (*s != '\0' || n < 1 || n > 3)
        return HL_ENOTFOUND;
    /* "/me", "/app", "/{version}/me|app": the token's own node, its app */
    p->ep = token_node(seg[n - 1], len[n - 1]);
    if (p->ep != FG_EP_NONE) {
        if (n > 2 || (n == 2 && (!is_version(seg[0], len[0]) ||
                                 len[0] >= sizeof(p->version)))) {
            p->ep = FG_EP_NONE;
            return HL_ENOTFOUND;
        }
        if (n == 2)
            memcpy(p->version, seg[0], len[0]);
        memcpy(p->page, seg[n - 1], len[n - 1]);
        return HL_OK;
    }
    if (n < 2)
        return HL_ENOTFOUND;
    if (n == 3) {
        if (!is_version(seg[0], len[0]) || len[0] >= sizeof(p->version))
            return HL_ENOTFOUND;
        memcpy(p->version, seg[0], len[0]);
        first = 1;
    }
    if (!is_node(seg[first], len[first]))
        return HL_ENOTFOUND;
    p->ep = edge_of(seg[first + 1], len[first + 1]);
    if (p->ep == FG_EP_NONE)
        return HL_ENOTFOUND;
    memcpy(p->page, seg[first], len[first]);
    return HL_OK;
}

void fg_route_cb(struct evhttp_request *req, void *arg) {
    struct fg *fg = arg;
    char path[PATH_MAX_BYTES];
    struct fg_path gp;

    if (hl_http_path(req, path, sizeof(path)) != HL_OK)
        memcpy(path, "/", 2);
    if (strcmp(path, "/healthz") == 0) {
        hl_http_reply(req, 200, NULL, "ok", 2);
        return;
    }
    if (strncmp(path, FAKE_PREFIX, strlen(FAKE_PREFIX)) == 0) {
        fg_control_handle(fg, req, path);
        return;
    }
    /* anything else is a Graph request: unknown ones get Graph's 404 */
    if (fg_route_parse(path, &gp) != HL_OK)
        gp.ep = FG_EP_NONE;
    fg_graph_handle(fg, req, path, &gp);
}
