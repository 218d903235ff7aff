/* hl_log.h - JSON-lines logging on stderr, one object per line:
 *   {"ts":"2026-11-24T05:45:39.123Z","level":"info","prog":"hookline-ingest",
 *    "msg":"listening","addr":"127.0.0.1","port":3000}
 * `msg` is a stable lower_snake event name; fields follow. The logger does
 * all JSON escaping, checks the level before formatting, and replaces any
 * registered secret that shows up inside a field with "(redacted)", so a
 * secret echoed back by a client or a library still never reaches a log.
 * Global state: the program name, the level and the secrets to scrub (a
 * logger is process-wide by nature, like redis serverLog). */
#ifndef HL_LOG_H
#define HL_LOG_H

#include <stddef.h>

enum hl_log_level {
    HL_LOG_DEBUG = 0,
    HL_LOG_INFO = 1,
    HL_LOG_WARN = 2,
    HL_LOG_ERROR = 3
};

enum hl_kv_type { HL_KV_STR, HL_KV_INT, HL_KV_BOOL };

struct hl_kv {
    const char *k;          /* borrowed field name */
    enum hl_kv_type t;
    const char *s;          /* HL_KV_STR: borrowed bytes (NULL prints null) */
    size_t n;               /* HL_KV_STR: length, or (size_t)-1 for strlen */
    long long i;            /* HL_KV_INT / HL_KV_BOOL */
};

#define HL_KV_S(key, v) ((struct hl_kv){ (key), HL_KV_STR, (v), (size_t)-1, 0 })
#define HL_KV_SN(key, v, len) \
    ((struct hl_kv){ (key), HL_KV_STR, (v), (len), 0 })
#define HL_KV_I(key, v) \
    ((struct hl_kv){ (key), HL_KV_INT, NULL, 0, (long long)(v) })
#define HL_KV_B(key, v) ((struct hl_kv){ (key), HL_KV_BOOL, NULL, 0, !!(v) })

/* hl_log(level, "event_name", HL_KV_S("k", v), HL_KV_I("n", 3)) */
#define hl_log(lvl, msg, ...)                                               \
    do {                                                                    \
        if (hl_log_enabled(lvl)) {                                          \
            const struct hl_kv hl_kv_[] = { HL_KV_I(NULL, 0), __VA_ARGS__ };\
            hl_log_write((lvl), (msg), hl_kv_ + 1,                          \
                         sizeof(hl_kv_) / sizeof(hl_kv_[0]) - 1);           \
        }                                                                   \
    } while (0)

/* Sets the program name (borrowed; a string literal) and the level. */
void hl_log_init(const char *prog, int level);

/* Parses "debug|info|warn|error". Returns HL_OK or HL_EINVAL. */
int hl_log_parse_level(const char *s, int *out);

int hl_log_enabled(int level);

/* 1 when the n-th failure in a row (n >= 1) of something retried for as
 * long as it lasts is worth a line: the first HL_LOG_REPEAT_FIRST, then
 * every HL_LOG_REPEAT_EVERY-th (about once a minute at a 1 s retry), so
 * an hour of outage is about 60 lines per connection, not 3,600. Pure. */
#define HL_LOG_REPEAT_FIRST 3
#define HL_LOG_REPEAT_EVERY 60
int hl_log_repeat(long n);

/* Registers bytes that must never appear in a log line (copied). Returns
 * HL_OK, HL_ENOMEM, or HL_ETOOBIG when the table is full. */
int hl_log_add_secret(const void *p, size_t len);

/* A copy of s[0..len) with every registered secret replaced by
 * "(redacted)", NUL-terminated, for text printed outside the logger (a
 * CLI echoing a server's error message). Returns it (caller owns; free())
 * with *outlen set, or NULL on ENOMEM. */
char *hl_log_redact(const char *s, size_t len, size_t *outlen);

/* Wipes and forgets every registered secret (at shutdown). */
void hl_log_clear_secrets(void);

/* Routes libevent's own messages into this logger. */
void hl_log_bridge_libevent(void);

/* Formats and writes one line. Use the hl_log() macro instead. */
void hl_log_write(int level, const char *msg, const struct hl_kv *kv,
                  size_t n);

#endif
