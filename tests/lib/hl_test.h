/* hl_test.h - numbered checks and assertions for hookline's test binaries.
 *
 * A test binary is a main() that runs a sequence of checks. Each check is
 * bracketed by HT_CHECK_BEGIN("what it proves") and HT_CHECK_END(); the end
 * prints one numbered line, "#07 duplicate POST enqueues once: PASSED" or
 * "...: FAILED", which tests/run.sh counts. A failed assertion prints
 * "file:line: ASSERT_EQ_INT(a, b) failed" with both values (libuv
 * ASSERT_EQ style) and marks the current check failed.
 *
 * Assertions do not jump: they evaluate to 1 (held) or 0 (failed), so a
 * check keeps releasing what it acquired and can skip dependent steps with
 * `if (!HT_ASSERT_EQ_INT(r.status, 200)) goto cleanup;`. Every string
 * assertion is NULL-safe.
 *
 * Also here: fixture lookup (tests/fixtures, or $HL_FIXTURES), whole-file
 * reads, a growable text for generated bodies, NULL-safe JSON field
 * getters, monotonic/wall clocks and sleeps for bounded wait loops, and
 * HL_VALGRIND awareness for time budgets. This file does not start
 * processes (proc.h, redis_fixture.h) or speak HTTP (httpc.h). */
#ifndef HL_TEST_H
#define HL_TEST_H

#include <stddef.h>
#include <json-c/json.h>
#include "hl.h"

/* ---- checks ---------------------------------------------------------- */

/* Call first in main(): makes stdout line-buffered (so check lines and
 * sanitizer reports interleave in order when piped) and installs the
 * SIGINT/SIGTERM/SIGHUP handler that kills every child the test library
 * started (tests/run.sh's `timeout` sends SIGTERM). */
void ht_init(void);

/* Starts check number N+1 named `name` (borrowed; must stay valid until
 * HT_CHECK_END). A check still open is ended first. */
#define HT_CHECK_BEGIN(name) ht_check_begin(name)

/* Ends the current check and prints its numbered PASSED/FAILED line. */
#define HT_CHECK_END() ht_check_end()

void ht_check_begin(const char *name);
void ht_check_end(void);

/* Marks the current check failed with a free-form reason (printf-style),
 * printed with the file and line. Returns 0 so it can end a condition. */
#define HT_FAIL(...) ht_fail(__FILE__, __LINE__, __VA_ARGS__)
int ht_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prints a diagnostic line ("  # ...") under the current check. */
void ht_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Returns 1 when the current check has failed so far, else 0. */
int ht_check_failed(void);

/* Ends any open check, prints "# <N> checks, <F> failed" and returns the
 * exit status for main(): 0 when nothing failed (and at least one check
 * ran), 1 otherwise. */
int ht_summary(void);

/* ---- assertions (each evaluates to 1 if it held, 0 if it failed) ----- */

#define HT_ASSERT_TRUE(x) \
    ht_assert_true(__FILE__, __LINE__, #x, (x) ? 1 : 0)
#define HT_ASSERT_EQ_INT(a, b) \
    ht_assert_int(__FILE__, __LINE__, "EQ", #a, #b, \
                  (long long)(a), (long long)(b))
#define HT_ASSERT_NE_INT(a, b) \
    ht_assert_int(__FILE__, __LINE__, "NE", #a, #b, \
                  (long long)(a), (long long)(b))
#define HT_ASSERT_LT_INT(a, b) \
    ht_assert_int(__FILE__, __LINE__, "LT", #a, #b, \
                  (long long)(a), (long long)(b))
#define HT_ASSERT_LE_INT(a, b) \
    ht_assert_int(__FILE__, __LINE__, "LE", #a, #b, \
                  (long long)(a), (long long)(b))
#define HT_ASSERT_GE_INT(a, b) \
    ht_assert_int(__FILE__, __LINE__, "GE", #a, #b, \
                  (long long)(a), (long long)(b))
#define HT_ASSERT_GT_INT(a, b) \
    ht_assert_int(__FILE__, __LINE__, "GT", #a, #b, \
                  (long long)(a), (long long)(b))
/* NUL-terminated strings; NULL equals only NULL. */
#define HT_ASSERT_EQ_STR(a, b) \
    ht_assert_str(__FILE__, __LINE__, 1, #a, #b, (a), (b))
#define HT_ASSERT_NE_STR(a, b) \
    ht_assert_str(__FILE__, __LINE__, 0, #a, #b, (a), (b))
/* Byte ranges (may hold NULs; printed escaped and shortened). */
#define HT_ASSERT_EQ_MEM(a, alen, b, blen) \
    ht_assert_mem(__FILE__, __LINE__, #a, #b, (a), (alen), (b), (blen))
/* `haystack` (NUL-terminated) contains / does not contain `needle`. */
#define HT_ASSERT_CONTAINS(haystack, needle) \
    ht_assert_contains(__FILE__, __LINE__, 1, #haystack, (haystack), \
                       (needle))
#define HT_ASSERT_NOT_CONTAINS(haystack, needle) \
    ht_assert_contains(__FILE__, __LINE__, 0, #haystack, (haystack), \
                       (needle))

int ht_assert_true(const char *file, int line, const char *expr, int ok);
int ht_assert_int(const char *file, int line, const char *op,
                  const char *ea, const char *eb, long long a, long long b);
int ht_assert_str(const char *file, int line, int want_equal,
                  const char *ea, const char *eb, const char *a,
                  const char *b);
int ht_assert_mem(const char *file, int line, const char *ea,
                  const char *eb, const void *a, size_t alen,
                  const void *b, size_t blen);
int ht_assert_contains(const char *file, int line, int want,
                       const char *eh, const char *haystack,
                       const char *needle);

/* ---- fixtures and files ---------------------------------------------- */

/* Directory of the fixtures: $HL_FIXTURES if set, else "tests/fixtures"
 * (make runs tests from the repository root). Borrowed; static. */
const char *ht_fixtures_dir(void);

/* Writes "<fixtures dir>/<rel>" into `out`. Returns HL_OK or HL_ETOOBIG. */
int ht_fixture_path(const char *rel, char *out, size_t outsz);

/* Reads the whole file at `path`. On HL_OK sets *buf (NUL-terminated for
 * convenience; caller owns; free with free()) and *len (without the NUL).
 * Returns HL_EIO when it cannot be opened or read, HL_ENOMEM. */
int ht_read_file(const char *path, char **buf, size_t *len);

/* ht_read_file() of ht_fixture_path(rel). Same ownership. */
int ht_read_fixture(const char *rel, char **buf, size_t *len);

/* Writes `len` bytes to `path` (created 0600, truncated). HL_OK/HL_EIO. */
int ht_write_file(const char *path, const void *buf, size_t len);

/* Directory for temporary files: $TMPDIR, else "/tmp". Borrowed. */
const char *ht_tmpdir(void);

/* ---- generated text ---------------------------------------------------- */

/* A growable NUL-terminated text. Zero-initialise; free `p` with free().
 * After an allocation failure `failed` is set and appends do nothing. */
struct ht_text {
    char *p;                  /* owned; NULL until the first append */
    size_t len;               /* without the NUL */
    size_t cap;
    int failed;
};

/* Appends printf-style text. Check t->failed once at the end. */
void ht_text_add(struct ht_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- JSON fields (NULL-safe: `o` may be NULL) ---------------------------- */

/* String field `name` of object `o`; NULL when absent or not a string.
 * Borrowed from `o`. */
const char *ht_json_str(json_object *o, const char *name);

/* Integer field; -1 when absent or not an integer. */
long long ht_json_int(json_object *o, const char *name);

/* Boolean field: 1 or 0; -1 when absent or not a boolean. */
int ht_json_bool(json_object *o, const char *name);

/* First object of array `arr` whose string field `field` equals `value`;
 * NULL if none. Borrowed from `arr`. */
json_object *ht_json_find(json_object *arr, const char *field,
                          const char *value);

/* How many objects of `arr` have string field `field` equal to `value`. */
int ht_json_count(json_object *arr, const char *field, const char *value);

/* ---- time -------------------------------------------------------------- */

long long ht_mono_ms(void);       /* CLOCK_MONOTONIC in ms */
long long ht_wall_ms(void);       /* CLOCK_REALTIME in ms since the epoch */
void ht_sleep_ms(long ms);

/* A bounded readiness wait over `n` members (the nodes of a fixture):
 * each round asks ready_cb(arg, i, why) for i = 0..n-1 in order and
 * stops at the first that is not ready; up to `tries` rounds,
 * `interval_ms` apart. Returns -1 once a round finds every member ready,
 * else the member that was not ready in the last round, with `why` as it
 * left it. */
int ht_wait_all(int n, int tries, long interval_ms,
                int (*ready_cb)(void *arg, int i, char why[HL_ERR_LEN]),
                void *arg, char why[HL_ERR_LEN]);

/* 1 when HL_VALGRIND=1 (programs under test run under valgrind). */
int ht_valgrind(void);

/* Scales a time budget for the current mode: `ms` normally, `ms` times 10
 * under valgrind (programs run 10-50x slower there). */
long ht_budget_ms(long ms);

/* ---- children (shared by proc.c and redis_fixture.c) ------------------- */

/* Registers `pid` as ours: killed with SIGKILL at exit, on SIGTERM/SIGINT
 * to the test, and (via PR_SET_PDEATHSIG, set by the child itself) if the
 * test dies any other way. Returns HL_OK or HL_ETOOBIG (table full). */
int ht_child_register(int pid);

/* Forgets `pid` (it has been reaped). */
void ht_child_unregister(int pid);

/* To be called in a freshly forked child before exec: asks the kernel to
 * SIGKILL it when the test process dies, and exits 127 if the parent is
 * already gone. Async-signal-safe. */
void ht_child_prepare(int parent_pid);

#endif
