/* proc.c - spawn a program under test with a scrubbed environment and a
 * captured log, read its announced port, signal it, and wait for it with a
 * bound (see proc.h). */
#include "proc.h"
#include "hl_test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <json-c/json.h>

extern char **environ;

#define LISTEN_TRIES 100
#define LISTEN_INTERVAL_MS 50
#define EXIT_POLL_MS 20
#define MAX_ARGS 64
#define MAX_ENV 512
#define LOG_TAIL 4000
#define VG_STOP_MS 2000       /* SIGTERM to exit (x10 under valgrind) */
#define VG_REPORT_MAX 20000   /* bytes of a valgrind report shown */

/* Inherited variables that a hookline program reads: dropped. */
static const char *const scrub_prefixes[] = {
    "MESSENGER_", "HOOKLINE_", "GRAPH_API_", "REDIS_URL", "PORT="
};

static const char *const valgrind_args[] = {
    "valgrind", "-q", "--leak-check=full", "--error-exitcode=99",
    "--errors-for-leak-kinds=definite,indirect",
    "--show-leak-kinds=definite,indirect"
};

int ht_bin_path(const char *prog, char *out, size_t outsz) {
    const char *dir = getenv("HL_BIN");
    int n;

    if (dir == NULL || dir[0] == '\0')
        dir = "bin";
    n = snprintf(out, outsz, "%s/%s", dir, prog);
    if (n < 0 || (size_t)n >= outsz)
        return HL_ETOOBIG;
    return HL_OK;
}

int ht_proc_which(const char *prog, char *out, size_t outsz,
                  char err[HL_ERR_LEN]) {
    const char *p = getenv("PATH");
    const char *colon;
    int n;

    while (p != NULL && *p != '\0') {
        colon = strchr(p, ':');
        n = snprintf(out, outsz, "%.*s/%s",
                     (int)(colon ? (size_t)(colon - p) : strlen(p)), p,
                     prog);
        if (n > 0 && (size_t)n < outsz && access(out, X_OK) == 0)
            return HL_OK;
        p = colon ? colon + 1 : NULL;
    }
    snprintf(err, HL_ERR_LEN, "%s not found in PATH", prog);
    return HL_ENOTFOUND;
}

/* ---- environment and argv --------------------------------------------- */

static int scrubbed(const char *var) {
    size_t i;

    for (i = 0; i < HL_ARRAY_LEN(scrub_prefixes); i++) {
        const char *p = scrub_prefixes[i];
        if (strncmp(var, p, strlen(p)) == 0)
            return 1;
    }
    /* PORT_FILE and friends: "PORT" followed by '_' */
    return strncmp(var, "PORT_", 5) == 0;
}

/* 1 when `var` ("NAME=...") names a variable set in the first `k`
 * entries of `env` (NULL-terminated; may be NULL). */
static int set_before(const char *var, const char *const *env, size_t k) {
    const char *eq = strchr(var, '=');
    size_t n = eq == NULL ? strlen(var) : (size_t)(eq - var);
    size_t i;

    for (i = 0; i < k && env != NULL && env[i] != NULL; i++) {
        if (strncmp(env[i], var, n) == 0 && env[i][n] == '=')
            return 1;
    }
    return 0;
}

/* 1 when `var` names a variable set anywhere in `env`. */
static int overridden(const char *var, const char *const *env) {
    return set_before(var, env, (size_t)-1);
}

/* Fills `out` (MAX_ENV slots) with the child's environment. */
static int build_env(const char **out, const char *const *env) {
    size_t n = 0;
    size_t i;

    for (i = 0; environ[i] != NULL; i++) {
        if (scrubbed(environ[i]) || overridden(environ[i], env))
            continue;
        if (n + 1 >= MAX_ENV)
            return HL_ETOOBIG;
        out[n++] = environ[i];
    }
    /* of two same-named entries only the first goes on: getenv() sees
     * the first under glibc but the last under valgrind */
    for (i = 0; env != NULL && env[i] != NULL; i++) {
        if (set_before(env[i], env, i))
            continue;
        if (n + 1 >= MAX_ENV)
            return HL_ETOOBIG;
        out[n++] = env[i];
    }
    out[n] = NULL;
    return HL_OK;
}

/* 1 for hookline's own programs (hookline-*, hookctl): valgrind checks
 * those, never a tool a fixture runs (redis-cli's own leaks are not
 * ours). */
static int ours(const char *path) {
    const char *base = strrchr(path, '/');

    base = base != NULL ? base + 1 : path;
    return strncmp(base, "hookline-", 9) == 0 ||
           strcmp(base, "hookctl") == 0;
}

/* Fills `out` (MAX_ARGS slots) with the child's argv, valgrind first when
 * HL_VALGRIND=1 and the program is ours. */
static int build_argv(const char **out, const char *path,
                      const char *const *args) {
    size_t n = 0;
    size_t i;

    if (ht_valgrind() && ours(path)) {
        for (i = 0; i < HL_ARRAY_LEN(valgrind_args); i++)
            out[n++] = valgrind_args[i];
    }
    out[n++] = path;
    for (i = 0; args != NULL && args[i] != NULL; i++) {
        if (n + 1 >= MAX_ARGS)
            return HL_ETOOBIG;
        out[n++] = args[i];
    }
    out[n] = NULL;
    return HL_OK;
}

static void set_name(struct ht_proc *p, const char *path) {
    const char *slash = strrchr(path, '/');
    const char *base = slash == NULL ? path : slash + 1;

    snprintf(p->name, sizeof(p->name), "%s", base);
}

/* ---- start --------------------------------------------------------------- */

int ht_proc_start(struct ht_proc *p, const char *path,
                  const char *const *args, const char *const *env,
                  char err[HL_ERR_LEN]) {
    const char *argv[MAX_ARGS];
    const char *envp[MAX_ENV];
    pid_t parent = getpid();
    pid_t pid;
    int fd = -1;
    int n;
    int rc = HL_ERR;

    memset(p, 0, sizeof(*p));
    p->pid = -1;
    p->port = -1;
    err[0] = '\0';
    set_name(p, path);
    if (build_argv(argv, path, args) != HL_OK ||
        build_env(envp, env) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "too many arguments or variables");
        return HL_ETOOBIG;
    }
    n = snprintf(p->log_path, sizeof(p->log_path), "%s/hl-%s-XXXXXX",
                 ht_tmpdir(), p->name);
    if (n < 0 || (size_t)n >= sizeof(p->log_path)) {
        snprintf(err, HL_ERR_LEN, "TMPDIR too long");
        p->log_path[0] = '\0';
        return HL_ETOOBIG;
    }
    fd = mkostemp(p->log_path, O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, HL_ERR_LEN, "mkostemp %.150s: %s", p->log_path,
                 strerror(errno));
        p->log_path[0] = '\0';
        return HL_EIO;
    }
    if (access(path, X_OK) != 0) {
        snprintf(err, HL_ERR_LEN, "%s: %s", path, strerror(errno));
        rc = HL_EIO;
        goto cleanup;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(err, HL_ERR_LEN, "fork: %s", strerror(errno));
        rc = HL_EIO;
        goto cleanup;
    }
    if (pid == 0) {
        ht_child_prepare(parent);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close_range(3, ~0U, 0);
        execvpe(argv[0], (char *const *)argv, (char *const *)envp);
        _exit(127);
    }
    p->pid = pid;
    if (ht_child_register(pid) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "too many children");
        rc = HL_ETOOBIG;
        goto cleanup;
    }
    rc = HL_OK;
cleanup:
    close(fd);
    return rc;
}

/* Looks for the "listening" line in the log. Returns HL_OK with *port,
 * or HL_ENOTFOUND. */
static int find_port(const struct ht_proc *p, int *port) {
    char *buf = NULL;
    char *line;
    size_t len = 0;
    int rc = HL_ENOTFOUND;

    if (ht_read_file(p->log_path, &buf, &len) != HL_OK)
        return HL_ENOTFOUND;
    line = buf;
    while (line != NULL && *line != '\0' && rc != HL_OK) {
        char *nl = strchr(line, '\n');
        struct json_object *o = NULL;
        struct json_object *v = NULL;

        if (nl == NULL)
            break;          /* a partial last line: wait for the rest */
        *nl = '\0';
        if (strstr(line, "\"listening\"") != NULL)
            o = json_tokener_parse(line);
        if (o != NULL && json_object_object_get_ex(o, "msg", &v) &&
            strcmp(json_object_get_string(v), "listening") == 0 &&
            json_object_object_get_ex(o, "port", &v) &&
            json_object_is_type(v, json_type_int) &&
            json_object_get_int(v) > 0) {
            *port = json_object_get_int(v);
            rc = HL_OK;
        }
        json_object_put(o);
        line = nl + 1;
    }
    free(buf);
    return rc;
}

int ht_proc_wait_listening(struct ht_proc *p, char err[HL_ERR_LEN]) {
    long tries = ht_valgrind() ? LISTEN_TRIES * 10 : LISTEN_TRIES;
    long i;

    err[0] = '\0';
    for (i = 0; i < tries; i++) {
        if (find_port(p, &p->port) == HL_OK)
            return HL_OK;
        if (!ht_proc_alive(p)) {
            ht_proc_dump_log(p, LOG_TAIL);
            snprintf(err, HL_ERR_LEN, "%s exited with %d before "
                     "announcing its port (log above)", p->name,
                     p->exit_code);
            return HL_EIO;
        }
        ht_sleep_ms(LISTEN_INTERVAL_MS);
    }
    ht_proc_dump_log(p, LOG_TAIL);
    snprintf(err, HL_ERR_LEN, "%s logged no \"listening\" line with a port "
             "within %ld x %d ms (log above)", p->name, tries,
             LISTEN_INTERVAL_MS);
    return HL_ETIMEDOUT;
}

int ht_proc_start_server(struct ht_proc *p, const char *path,
                         const char *const *args, const char *const *env,
                         char err[HL_ERR_LEN]) {
    int rc = ht_proc_start(p, path, args, env, err);

    if (rc != HL_OK)
        return rc;
    return ht_proc_wait_listening(p, err);
}

/* ---- signals and exit ---------------------------------------------------- */

static void record_exit(struct ht_proc *p, int status) {
    if (WIFEXITED(status))
        p->exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        p->exit_code = 128 + WTERMSIG(status);
    else
        p->exit_code = -1;
    ht_child_unregister(p->pid);
    p->pid = -1;
    p->exited = 1;
}

int ht_proc_alive(struct ht_proc *p) {
    int status;
    pid_t w;

    if (p->pid <= 0)
        return 0;
    w = waitpid(p->pid, &status, WNOHANG);
    if (w == p->pid) {
        record_exit(p, status);
        return 0;
    }
    return 1;
}

int ht_proc_signal(struct ht_proc *p, int sig) {
    if (p->pid <= 0)
        return HL_ESTATE;
    if (kill(p->pid, sig) != 0)
        return HL_EIO;
    return HL_OK;
}

int ht_proc_wait_exit(struct ht_proc *p, long timeout_ms, int *exit_code) {
    long waited = 0;

    for (;;) {
        if (!ht_proc_alive(p)) {
            *exit_code = p->exit_code;
            return p->exited ? HL_OK : HL_ESTATE;
        }
        if (waited >= timeout_ms)
            break;
        ht_sleep_ms(EXIT_POLL_MS);
        waited += EXIT_POLL_MS;
    }
    *exit_code = -1;
    return HL_ETIMEDOUT;
}

/* ---- logs and cleanup ---------------------------------------------------- */

int ht_proc_read_log(const struct ht_proc *p, char **buf, size_t *len) {
    return ht_read_file(p->log_path, buf, len);
}

void ht_proc_dump_log(const struct ht_proc *p, size_t max) {
    char *buf = NULL;
    size_t len = 0;
    size_t off;

    if (ht_proc_read_log(p, &buf, &len) != HL_OK) {
        fprintf(stderr, "  # (no log for %s)\n", p->name);
        return;
    }
    off = len > max ? len - max : 0;
    fprintf(stderr, "  # ---- %s log (%s%s) ----\n%s\n  # ---- end of %s "
            "log ----\n", p->name, off > 0 ? "tail of " : "", p->log_path,
            buf + off, p->name);
    free(buf);
}

/* Prints the valgrind lines ("==PID== ...") of the captured output. */
static void dump_valgrind(const struct ht_proc *p) {
    char *buf = NULL;
    size_t len = 0, shown = 0;
    char *line, *end;

    if (ht_proc_read_log(p, &buf, &len) != HL_OK)
        return;
    fprintf(stderr, "  # ---- valgrind report of %s ----\n", p->name);
    for (line = buf; line < buf + len && shown < VG_REPORT_MAX;
         line = end + 1) {
        end = memchr(line, '\n', (size_t)(buf + len - line));
        if (end == NULL)
            end = buf + len;
        if (strncmp(line, "==", 2) == 0) {
            fprintf(stderr, "%.*s\n", (int)(end - line), line);
            shown += (size_t)(end - line) + 1;
        }
    }
    free(buf);
}

void ht_proc_cleanup(struct ht_proc *p) {
    const char *keep = getenv("HL_KEEP_LOGS");
    int status, code;

    /* under valgrind a program still running is stopped as in production
     * (SIGTERM, then its drain), so memcheck sees its exit and checks for
     * leaks; SIGKILL would end it before the leak check */
    if (p->pid > 0 && ht_valgrind() && kill(p->pid, SIGTERM) == 0 &&
        ht_proc_wait_exit(p, ht_budget_ms(VG_STOP_MS), &code) != HL_OK)
        ht_note("%s still ran %ld ms after SIGTERM: killed, no leak check",
                p->name, ht_budget_ms(VG_STOP_MS));
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
            continue;
        record_exit(p, status);
    }
    /* the log is still there on the first cleanup only: report once */
    if (ht_valgrind() && p->log_path[0] != '\0' && p->exited &&
        p->exit_code == HT_VALGRIND_EXIT) {
        dump_valgrind(p);
        HT_FAIL("%s: valgrind found errors or leaks (exit %d, report "
                "above)", p->name, HT_VALGRIND_EXIT);
    }
    if (p->log_path[0] != '\0' && (keep == NULL || strcmp(keep, "1") != 0))
        unlink(p->log_path);
    p->log_path[0] = '\0';
}

int ht_proc_run(const char *path, const char *const *args,
                const char *const *env, long timeout_ms, int *exit_code,
                char **output, size_t *outlen, char err[HL_ERR_LEN]) {
    struct ht_proc p;
    int rc;

    *exit_code = -1;
    if (output != NULL) {
        *output = NULL;
        *outlen = 0;
    }
    rc = ht_proc_start(&p, path, args, env, err);
    if (rc != HL_OK)
        goto cleanup;
    rc = ht_proc_wait_exit(&p, ht_budget_ms(timeout_ms), exit_code);
    if (rc != HL_OK) {
        snprintf(err, HL_ERR_LEN, "%s still running after %ld ms; killed",
                 p.name, ht_budget_ms(timeout_ms));
        ht_proc_dump_log(&p, LOG_TAIL);
        goto cleanup;
    }
    if (output != NULL)
        rc = ht_proc_read_log(&p, output, outlen);
cleanup:
    ht_proc_cleanup(&p);
    return rc;
}

long long ht_proc_rss_kb(pid_t pid) {
    char path[64], line[256];
    long long kb = -1;
    FILE *f;

    if (pid <= 0)
        return -1;
    /* a /proc file has no size: read it line by line */
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtoll(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}
