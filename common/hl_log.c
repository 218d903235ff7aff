/* hl_log.c - the JSON-lines logger (see hl_log.h). Writes each line with a
 * single write(2) so lines from one process never interleave. */
#include "hl.h"
#include "hl_log.h"
#include "hl_secret.h"

#include <string.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>

#define LINE_MAX_BYTES 8192   /* a longer line is cut and says so */
#define FIELD_MAX_BYTES 2048  /* longest string field before cutting */
#define MAX_SECRETS 4096          /* a pages file of many pages */

static const char *log_prog = "hookline";
static int log_level = HL_LOG_INFO;
static struct hl_secret *log_secrets;    /* grows as secrets register */
static size_t log_nsecrets, log_capsecrets;
static unsigned char log_first[256];     /* a secret starts with byte b */

static const char *level_names[] = { "debug", "info", "warn", "error" };

struct line {
    char buf[LINE_MAX_BYTES];
    size_t len;
    int full;                 /* a put() did not fit: roll the field back */
    int cut;                  /* a field was shortened or left out */
};

void hl_log_init(const char *prog, int level) {
    log_prog = prog;
    log_level = level;
}

int hl_log_parse_level(const char *s, int *out) {
    size_t i;

    for (i = 0; i < HL_ARRAY_LEN(level_names); i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (int)i;
            return HL_OK;
        }
    }
    return HL_EINVAL;
}

int hl_log_enabled(int level) {
    return level >= log_level;
}

int hl_log_repeat(long n) {
    return n >= 1 && (n <= HL_LOG_REPEAT_FIRST || n % HL_LOG_REPEAT_EVERY == 0);
}

int hl_log_add_secret(const void *p, size_t len) {
    if (len == 0)
        return HL_OK;
    if (log_nsecrets == MAX_SECRETS)
        return HL_ETOOBIG;
    if (log_nsecrets == log_capsecrets) {
        size_t cap = log_capsecrets ? log_capsecrets * 2 : 8;
        struct hl_secret *a = realloc(log_secrets, cap * sizeof(*a));
        if (a == NULL)
            return HL_ENOMEM;
        log_secrets = a;
        log_capsecrets = cap;
    }
    memset(&log_secrets[log_nsecrets], 0, sizeof(*log_secrets));
    if (hl_secret_set(&log_secrets[log_nsecrets], p, len) != HL_OK)
        return HL_ENOMEM;
    log_first[((const unsigned char *)p)[0]] = 1;
    log_nsecrets++;
    return HL_OK;
}

void hl_log_clear_secrets(void) {
    size_t i;

    for (i = 0; i < log_nsecrets; i++)
        hl_secret_cleanup(&log_secrets[i]);
    HL_FREE(log_secrets);
    log_nsecrets = log_capsecrets = 0;
    memset(log_first, 0, sizeof(log_first));
}

/* Keeps 16 bytes spare so the closing of the line always fits. */
static void put(struct line *l, const char *p, size_t n) {
    if (l->full || l->len + n > sizeof(l->buf) - 16) {
        l->full = 1;
        return;
    }
    memcpy(l->buf + l->len, p, n);
    l->len += n;
}

static void puts_lit(struct line *l, const char *s) {
    put(l, s, strlen(s));
}

/* Length of a registered secret starting at p, or 0. */
static size_t secret_at(const char *p, size_t avail) {
    size_t i;

    if (!log_first[(unsigned char)p[0]])
        return 0;        /* no secret starts with this byte */
    for (i = 0; i < log_nsecrets; i++) {
        const struct hl_secret *s = &log_secrets[i];
        if (s->len <= avail && memcmp(p, s->buf, s->len) == 0)
            return s->len;
    }
    return 0;
}

char *hl_log_redact(const char *s, size_t len, size_t *outlen) {
    static const char mark[] = "(redacted)";
    size_t i, n = 0, cap = len + 1;
    char *out;

    /* first pass sizes the copy: a secret shorter than the mark grows it */
    for (i = 0; i < len;) {
        size_t sl = secret_at(s + i, len - i);
        if (sl > 0) {
            cap += sizeof(mark) - 1;
            i += sl;
        } else {
            i++;
        }
    }
    out = malloc(cap);
    if (out == NULL)
        return NULL;
    for (i = 0; i < len;) {
        size_t sl = secret_at(s + i, len - i);
        if (sl > 0) {
            memcpy(out + n, mark, sizeof(mark) - 1);
            n += sizeof(mark) - 1;
            i += sl;
        } else {
            out[n++] = s[i++];
        }
    }
    out[n] = '\0';
    *outlen = n;
    return out;
}

/* Length of the valid UTF-8 sequence at p (at most avail bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t avail) {
    size_t need, k;
    unsigned cp;

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        need = 1;
        cp = p[0] & 0x1f;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        need = 2;
        cp = p[0] & 0x0f;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        need = 3;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (need >= avail)
        return 0;
    for (k = 1; k <= need; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[k] & 0x3f);
    }
    if ((need == 1 && cp < 0x80) ||
        (need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return need + 1;
}

/* A JSON string of s[0..n): escaped, valid UTF-8 (a bad byte becomes
 * U+FFFD), cut at FIELD_MAX_BYTES on a character boundary, registered
 * secrets replaced. */
static void put_escaped(struct line *l, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    size_t limit = n;
    size_t i = 0;

    put(l, "\"", 1);
    if (limit > FIELD_MAX_BYTES) {
        limit = FIELD_MAX_BYTES;
        l->cut = 1;
    }
    while (i < limit) {
        unsigned char c = (unsigned char)s[i];
        /* matched against the whole field: a secret that straddles the
         * cut must not leak its first bytes */
        size_t sl = secret_at(s + i, n - i);
        char esc[6] = { '\\', 'u', '0', '0', 0, 0 };

        if (sl > 0) {
            puts_lit(l, "(redacted)");
            i += sl;
            continue;
        }
        if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };
            put(l, e, 2);
        } else if (c == '\n') {
            put(l, "\\n", 2);
        } else if (c < 0x20 || c == 0x7f) {
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            put(l, esc, 6);
        } else if (c >= 0x80) {
            size_t k = utf8_len((const unsigned char *)s + i, limit - i);
            if (k == 0) {
                put(l, "\\ufffd", 6);
                i++;
            } else {
                put(l, s + i, k);
                i += k;
            }
            continue;
        } else {
            put(l, (const char *)&s[i], 1);
        }
        i++;
    }
    put(l, "\"", 1);
}

static void put_int(struct line *l, long long v) {
    char num[32];
    int n = snprintf(num, sizeof(num), "%lld", v);

    if (n > 0 && (size_t)n < sizeof(num))
        put(l, num, (size_t)n);
}

static void put_ts(struct line *l) {
    struct timespec ts;
    struct tm tm;
    char b[40];
    size_t n;
    int m;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
    m = snprintf(b + n, sizeof(b) - n, ".%03ldZ", ts.tv_nsec / 1000000L);
    if (m > 0 && (size_t)m < sizeof(b) - n)
        n += (size_t)m;
    put(l, "\"", 1);
    put(l, b, n);
    put(l, "\"", 1);
}

void hl_log_write(int level, const char *msg, const struct hl_kv *kv,
                  size_t n) {
    struct line l;
    size_t i;

    if (level < HL_LOG_DEBUG || level > HL_LOG_ERROR)
        level = HL_LOG_ERROR;
    l.len = 0;
    l.full = 0;
    l.cut = 0;
    puts_lit(&l, "{\"ts\":");
    put_ts(&l);
    puts_lit(&l, ",\"level\":\"");
    puts_lit(&l, level_names[level]);
    puts_lit(&l, "\",\"prog\":");
    put_escaped(&l, log_prog, strlen(log_prog));
    puts_lit(&l, ",\"msg\":");
    put_escaped(&l, msg, strlen(msg));
    for (i = 0; i < n && !l.full; i++) {
        size_t mark = l.len;
        put(&l, ",", 1);
        put_escaped(&l, kv[i].k, strlen(kv[i].k));
        put(&l, ":", 1);
        if (kv[i].t == HL_KV_INT) {
            put_int(&l, kv[i].i);
        } else if (kv[i].t == HL_KV_BOOL) {
            puts_lit(&l, kv[i].i ? "true" : "false");
        } else if (kv[i].s == NULL) {
            puts_lit(&l, "null");
        } else {
            size_t sn = kv[i].n == (size_t)-1 ? strlen(kv[i].s) : kv[i].n;
            put_escaped(&l, kv[i].s, sn);
        }
        if (l.full) {
            /* this field did not fit: leave it (and the rest) out whole */
            l.len = mark;
            l.cut = 1;
        }
    }
    if (l.cut) {
        /* the reserve kept by put() guarantees this fits */
        memcpy(l.buf + l.len, ",\"cut\":true", 11);
        l.len += 11;
    }
    l.buf[l.len++] = '}';
    l.buf[l.len++] = '\n';
    if (write(STDERR_FILENO, l.buf, l.len) < 0) {
        /* nowhere left to report a failing stderr */
    }
}

/* Must not call into libevent (libevent's rule for log callbacks). */
static void libevent_log_cb(int severity, const char *msg) {
    int level = HL_LOG_DEBUG;

    if (severity == EVENT_LOG_MSG)
        level = HL_LOG_INFO;
    else if (severity == EVENT_LOG_WARN)
        level = HL_LOG_WARN;
    else if (severity == EVENT_LOG_ERR)
        level = HL_LOG_ERROR;
    hl_log(level, "libevent", HL_KV_S("detail", msg));
}

void hl_log_bridge_libevent(void) {
    event_set_log_callback(libevent_log_cb);
}
