/* hl_http.c - evhttp helpers. */
#include "hl_http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/util.h>
#include <sys/queue.h>

const char *hl_http_reason(int code) {
    switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

int hl_http_reply(struct evhttp_request *req, int code, const char *ctype,
                  const void *body, size_t len) {
    struct evbuffer *b = evbuffer_new();
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    if (b == NULL || (len > 0 && evbuffer_add(b, body, len) != 0)) {
        evbuffer_free(b);
        evhttp_send_error(req, 500, NULL);
        return HL_ENOMEM;
    }
    evhttp_add_header(h, "Content-Type", ctype ? ctype : "text/plain");
    evhttp_send_reply(req, code, hl_http_reason(code), b);
    evbuffer_free(b);
    return HL_OK;
}

int hl_http_query_init(struct hl_http_query *qa, struct evhttp_request *req) {
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *q = uri ? evhttp_uri_get_query(uri) : NULL;

    TAILQ_INIT(&qa->q);
    qa->parsed = 0;
    if (q == NULL)
        return HL_OK;
    if (evhttp_parse_query_str(q, &qa->q) != 0)
        return HL_EINVAL;
    qa->parsed = 1;
    return HL_OK;
}

const char *hl_http_query_get(struct hl_http_query *qa, const char *key) {
    return evhttp_find_header(&qa->q, key);
}

void hl_http_query_cleanup(struct hl_http_query *qa) {
    evhttp_clear_headers(&qa->q);
    qa->parsed = 0;
}

int hl_http_path(struct evhttp_request *req, char *out, size_t size) {
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *p = uri ? evhttp_uri_get_path(uri) : NULL;
    size_t n;

    if (p == NULL || *p == '\0')
        p = "/";
    n = strlen(p);
    if (n >= size)
        return HL_ETOOBIG;
    memcpy(out, p, n + 1);
    return HL_OK;
}

int hl_http_bind(struct evhttp *http, const char *addr, int port,
                 struct evhttp_bound_socket **handle, int *bound_port,
                 char err[HL_ERR_LEN]) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    evutil_socket_t fd;

    *handle = evhttp_bind_socket_with_handle(http, addr, (ev_uint16_t)port);
    if (*handle == NULL) {
        snprintf(err, HL_ERR_LEN, "bind %s:%d: %s", addr, port,
                 strerror(errno));
        return HL_EIO;
    }
    fd = evhttp_bound_socket_get_fd(*handle);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        snprintf(err, HL_ERR_LEN, "getsockname: %s", strerror(errno));
        return HL_EIO;
    }
    if (ss.ss_family == AF_INET6)
        *bound_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    else
        *bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return HL_OK;
}
