/* hl_test.c - numbered checks, both-sides assertions, fixture files, clocks
 * and the child registry that keeps no process alive after a test binary.
 *
 * The check state is file-scope: a test binary is one single-threaded
 * sequence of checks, and the signal handler needs the child table. This
 * file deliberately knows nothing about Redis, HTTP or the programs under
 * test. */
#include "hl_test.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHILDREN 64
#define SHOW_MAX 200          /* bytes of a value shown in a failure */

/* ---- state ------------------------------------------------------------- */

static int n_checks;               /* checks begun so far */
static int n_failed;               /* checks that ended FAILED */
static const char *cur_name;       /* open check, or NULL */
static int cur_failed;             /* the open check has a failure */

/* Children to kill if the test ends early; read by the signal handler. */
static volatile sig_atomic_t children[MAX_CHILDREN];
static int atexit_done;

/* ---- children ---------------------------------------------------------- */

static void kill_children(void) {
    int i;

    for (i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] > 0)
            kill((pid_t)children[i], SIGKILL);
    }
}

/* SIGTERM/SIGINT/SIGHUP to the test (e.g. from `timeout`): kill what we
 * started, then die of the same signal. Only async-signal-safe calls. */
static void fatal_signal_handler(int sig) {
    static const char msg[] = "# test interrupted: killing children\n";
    ssize_t w;

    kill_children();
    w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)w;
    signal(sig, SIG_DFL);
    raise(sig);
}

static void atexit_kill_children(void) {
    kill_children();
}

int ht_child_register(int pid) {
    int i;

    if (!atexit_done) {
        atexit(atexit_kill_children);
        atexit_done = 1;
    }
    for (i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] == 0) {
            children[i] = pid;
            return HL_OK;
        }
    }
    return HL_ETOOBIG;
}

void ht_child_unregister(int pid) {
    int i;

    for (i = 0; i < MAX_CHILDREN; i++) {
        if (children[i] == pid)
            children[i] = 0;
    }
}

void ht_child_prepare(int parent_pid) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent_pid)
        _exit(127);
}

void ht_init(void) {
    struct sigaction sa;

    setvbuf(stdout, NULL, _IOLBF, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fatal_signal_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (!atexit_done) {
        atexit(atexit_kill_children);
        atexit_done = 1;
    }
}

/* ---- checks ------------------------------------------------------------ */

void ht_check_begin(const char *name) {
    if (cur_name != NULL)
        ht_check_end();
    n_checks++;
    cur_name = name;
    cur_failed = 0;
    fprintf(stderr, "# -- #%02d %s\n", n_checks, name);
}

void ht_check_end(void) {
    if (cur_name == NULL)
        return;
    fflush(stderr);
    printf("#%02d %s: %s\n", n_checks, cur_name,
           cur_failed ? "FAILED" : "PASSED");
    fflush(stdout);
    if (cur_failed)
        n_failed++;
    cur_name = NULL;
    cur_failed = 0;
}

int ht_check_failed(void) {
    return cur_failed;
}

int ht_summary(void) {
    if (cur_name != NULL)
        ht_check_end();
    printf("# %d checks, %d failed\n", n_checks, n_failed);
    fflush(stdout);
    if (n_checks == 0 || n_failed > 0)
        return 1;
    return 0;
}

static void vnote(const char *prefix, const char *fmt, va_list ap) {
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void ht_note(const char *fmt, ...) {
    va_list ap;

    va_start(ap, fmt);
    vnote("  # ", fmt, ap);
    va_end(ap);
}

/* Marks the open check failed; a failure outside any check still counts,
 * as a check of its own, so it cannot be lost. */
static void mark_failed(void) {
    if (cur_name == NULL) {
        ht_check_begin("assertion outside a check");
        cur_failed = 1;
        ht_check_end();
        return;
    }
    cur_failed = 1;
}

int ht_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;

    fprintf(stderr, "  %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    mark_failed();
    return 0;
}

/* ---- assertions -------------------------------------------------------- */

/* Prints `len` bytes of `p` quoted, with non-printables escaped, at most
 * SHOW_MAX of them. */
static void show_bytes(const void *p, size_t len) {
    const unsigned char *s = p;
    size_t i;
    size_t n = len < SHOW_MAX ? len : SHOW_MAX;

    if (p == NULL) {
        fputs("NULL", stderr);
        return;
    }
    fputc('"', stderr);
    for (i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            fprintf(stderr, "\\%c", s[i]);
        else if (s[i] >= 0x20 && s[i] < 0x7f)
            fputc(s[i], stderr);
        else
            fprintf(stderr, "\\x%02x", s[i]);
    }
    fputc('"', stderr);
    if (n < len)
        fprintf(stderr, "... (%zu bytes)", len);
}

static void show_str(const char *s) {
    show_bytes(s, s == NULL ? 0 : strlen(s));
}

int ht_assert_true(const char *file, int line, const char *expr, int ok) {
    if (ok)
        return 1;
    fprintf(stderr, "  %s:%d: ASSERT_TRUE(%s) failed\n", file, line, expr);
    mark_failed();
    return 0;
}

int ht_assert_int(const char *file, int line, const char *op,
                  const char *ea, const char *eb, long long a, long long b) {
    int ok = 0;

    if (strcmp(op, "EQ") == 0)
        ok = a == b;
    else if (strcmp(op, "NE") == 0)
        ok = a != b;
    else if (strcmp(op, "LT") == 0)
        ok = a < b;
    else if (strcmp(op, "LE") == 0)
        ok = a <= b;
    else if (strcmp(op, "GE") == 0)
        ok = a >= b;
    else if (strcmp(op, "GT") == 0)
        ok = a > b;
    if (ok)
        return 1;
    fprintf(stderr, "  %s:%d: ASSERT_%s_INT(%s, %s) failed\n"
            "    %s == %lld\n    %s == %lld\n",
            file, line, op, ea, eb, ea, a, eb, b);
    mark_failed();
    return 0;
}

int ht_assert_str(const char *file, int line, int want_equal,
                  const char *ea, const char *eb, const char *a,
                  const char *b) {
    int equal;

    if (a == NULL || b == NULL)
        equal = a == b;
    else
        equal = strcmp(a, b) == 0;
    if (equal == want_equal)
        return 1;
    fprintf(stderr, "  %s:%d: ASSERT_%s_STR(%s, %s) failed\n    %s == ",
            file, line, want_equal ? "EQ" : "NE", ea, eb, ea);
    show_str(a);
    fprintf(stderr, "\n    %s == ", eb);
    show_str(b);
    fputc('\n', stderr);
    mark_failed();
    return 0;
}

int ht_assert_mem(const char *file, int line, const char *ea,
                  const char *eb, const void *a, size_t alen,
                  const void *b, size_t blen) {
    if (a != NULL && b != NULL && alen == blen &&
        (alen == 0 || memcmp(a, b, alen) == 0))
        return 1;
    fprintf(stderr, "  %s:%d: ASSERT_EQ_MEM(%s, %s) failed\n"
            "    %s (%zu bytes) == ", file, line, ea, eb, ea, alen);
    show_bytes(a, alen);
    fprintf(stderr, "\n    %s (%zu bytes) == ", eb, blen);
    show_bytes(b, blen);
    fputc('\n', stderr);
    mark_failed();
    return 0;
}

int ht_assert_contains(const char *file, int line, int want,
                       const char *eh, const char *haystack,
                       const char *needle) {
    int found = haystack != NULL && needle != NULL &&
                strstr(haystack, needle) != NULL;

    if (found == want)
        return 1;
    fprintf(stderr, "  %s:%d: ASSERT_%sCONTAINS(%s, ",
            file, line, want ? "" : "NOT_", eh);
    show_str(needle);
    fprintf(stderr, ") failed\n    %s == ", eh);
    show_str(haystack);
    fputc('\n', stderr);
    mark_failed();
    return 0;
}

/* ---- fixtures and files -------------------------------------------------- */

const char *ht_fixtures_dir(void) {
    const char *d = getenv("HL_FIXTURES");

    if (d != NULL && d[0] != '\0')
        return d;
    return "tests/fixtures";
}

int ht_fixture_path(const char *rel, char *out, size_t outsz) {
    int n = snprintf(out, outsz, "%s/%s", ht_fixtures_dir(), rel);

    if (n < 0 || (size_t)n >= outsz)
        return HL_ETOOBIG;
    return HL_OK;
}

int ht_read_file(const char *path, char **buf, size_t *len) {
    FILE *f = NULL;
    char *p = NULL;
    long size;
    int rc = HL_EIO;

    *buf = NULL;
    *len = 0;
    f = fopen(path, "rb");
    if (f == NULL)
        goto cleanup;
    if (fseek(f, 0, SEEK_END) != 0)
        goto cleanup;
    size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto cleanup;
    p = malloc((size_t)size + 1);
    if (p == NULL) {
        rc = HL_ENOMEM;
        goto cleanup;
    }
    if (size > 0 && fread(p, 1, (size_t)size, f) != (size_t)size)
        goto cleanup;
    p[size] = '\0';
    *buf = p;
    *len = (size_t)size;
    p = NULL;
    rc = HL_OK;
cleanup:
    free(p);
    if (f != NULL)
        fclose(f);
    return rc;
}

int ht_read_fixture(const char *rel, char **buf, size_t *len) {
    char path[4096];

    *buf = NULL;
    *len = 0;
    if (ht_fixture_path(rel, path, sizeof(path)) != HL_OK)
        return HL_ETOOBIG;
    return ht_read_file(path, buf, len);
}

int ht_write_file(const char *path, const void *buf, size_t len) {
    const char *p = buf;
    int fd;
    int rc = HL_EIO;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return HL_EIO;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto cleanup;
        p += w;
        len -= (size_t)w;
    }
    rc = HL_OK;
cleanup:
    close(fd);
    return rc;
}

const char *ht_tmpdir(void) {
    const char *d = getenv("TMPDIR");

    if (d != NULL && d[0] != '\0')
        return d;
    return "/tmp";
}

/* ---- generated text ---------------------------------------------------- */

void ht_text_add(struct ht_text *t, const char *fmt, ...) {
    va_list ap;
    int n;

    if (t->failed)
        return;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = 1;
        return;
    }
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = t->cap == 0 ? 1024 : t->cap;
        char *np;

        while (cap < t->len + (size_t)n + 1)
            cap *= 2;
        np = realloc(t->p, cap);
        if (np == NULL) {
            t->failed = 1;
            return;
        }
        t->p = np;
        t->cap = cap;
    }
    va_start(ap, fmt);
    n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = 1;
        return;
    }
    t->len += (size_t)n;
}

/* ---- JSON fields ------------------------------------------------------- */

/* Field `name` of `o` if it has type `type`, else NULL. */
static json_object *field(json_object *o, const char *name,
                          enum json_type type) {
    json_object *v = NULL;

    if (o == NULL || !json_object_object_get_ex(o, name, &v) ||
        !json_object_is_type(v, type))
        return NULL;
    return v;
}

const char *ht_json_str(json_object *o, const char *name) {
    json_object *v = field(o, name, json_type_string);

    return v == NULL ? NULL : json_object_get_string(v);
}

long long ht_json_int(json_object *o, const char *name) {
    json_object *v = field(o, name, json_type_int);

    return v == NULL ? -1 : (long long)json_object_get_int64(v);
}

int ht_json_bool(json_object *o, const char *name) {
    json_object *v = field(o, name, json_type_boolean);

    return v == NULL ? -1 : json_object_get_boolean(v);
}

json_object *ht_json_find(json_object *arr, const char *name,
                          const char *value) {
    size_t i;

    if (arr == NULL || !json_object_is_type(arr, json_type_array))
        return NULL;
    for (i = 0; i < json_object_array_length(arr); i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        const char *s = ht_json_str(o, name);
        if (s != NULL && strcmp(s, value) == 0)
            return o;
    }
    return NULL;
}

int ht_json_count(json_object *arr, const char *name, const char *value) {
    size_t i;
    int n = 0;

    if (arr == NULL || !json_object_is_type(arr, json_type_array))
        return 0;
    for (i = 0; i < json_object_array_length(arr); i++) {
        const char *s = ht_json_str(json_object_array_get_idx(arr, i), name);
        if (s != NULL && strcmp(s, value) == 0)
            n++;
    }
    return n;
}

/* ---- time -------------------------------------------------------------- */

static long long clock_ms(clockid_t id) {
    struct timespec ts;

    clock_gettime(id, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long ht_mono_ms(void) {
    return clock_ms(CLOCK_MONOTONIC);
}

long long ht_wall_ms(void) {
    return clock_ms(CLOCK_REALTIME);
}

void ht_sleep_ms(long ms) {
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        continue;
}

int ht_wait_all(int n, int tries, long interval_ms,
                int (*ready_cb)(void *arg, int i, char why[HL_ERR_LEN]),
                void *arg, char why[HL_ERR_LEN]) {
    int try;
    int i = 0;

    why[0] = '\0';
    for (try = 0; try < tries; try++) {
        for (i = 0; i < n; i++) {
            if (!ready_cb(arg, i, why))
                break;
        }
        if (i == n)
            return -1;
        ht_sleep_ms(interval_ms);
    }
    return i;
}

int ht_valgrind(void) {
    const char *v = getenv("HL_VALGRIND");

    return v != NULL && strcmp(v, "1") == 0;
}

long ht_budget_ms(long ms) {
    if (ht_valgrind())
        return ms * 10;
    return ms;
}
