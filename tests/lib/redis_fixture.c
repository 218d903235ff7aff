/* redis_fixture.c - start, freeze, kill, restart and stop a redis-server of
 * our own on a free loopback port (STYLE rule 24), plus small blocking
 * hiredis helpers and readers of hookline's keyspace for assertions.
 *
 * Every wait is bounded: PING at most 50 x 100 ms, stop at most 2 s before
 * SIGKILL. Only the PID this file forked is ever signalled. With AOF on
 * (ht_redis_start_aof) the files live in the private directory, in the
 * "appendonlydir" Redis 7 makes there; cleanup removes both levels. */
#include "redis_fixture.h"
#include "hl_test.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define PING_TRIES 50
#define PING_INTERVAL_MS 100
#define PORT_TRIES 3
#define STOP_GRACE_MS 2000
#define LOG_TAIL 2000          /* bytes of the server log dumped on failure */
#define AOF_DIR "appendonlydir" /* where Redis 7 keeps its append-only files */
#define RM_MAX 64               /* files removed from one directory, at most */
#define ARGV_MAX 40             /* redis-server argv entries, with the NULL */

/* ---- helpers ------------------------------------------------------------ */

int ht_free_port(int *port, char err[HL_ERR_LEN]) {
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    int fd = -1;
    int rc = HL_EIO;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, HL_ERR_LEN, "socket: %s", strerror(errno));
        goto cleanup;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        snprintf(err, HL_ERR_LEN, "bind 127.0.0.1:0: %s", strerror(errno));
        goto cleanup;
    }
    if (getsockname(fd, (struct sockaddr *)&sa, &salen) != 0) {
        snprintf(err, HL_ERR_LEN, "getsockname: %s", strerror(errno));
        goto cleanup;
    }
    *port = ntohs(sa.sin_port);
    rc = HL_OK;
cleanup:
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Writes the last LOG_TAIL bytes of the server log to stderr. */
static void dump_log(const struct ht_redis *r) {
    char *buf = NULL;
    size_t len = 0;
    size_t off;

    if (ht_read_file(r->log_path, &buf, &len) != HL_OK) {
        fprintf(stderr, "  # (no redis-server log at %s)\n", r->log_path);
        return;
    }
    off = len > LOG_TAIL ? len - LOG_TAIL : 0;
    fprintf(stderr, "  # ---- redis-server log (%s) ----\n%s\n"
            "  # ---- end of redis-server log ----\n", r->log_path,
            buf + off);
    free(buf);
}

int ht_redis_log_port_busy(const char *log_path) {
    char *buf = NULL;
    size_t len = 0;
    int busy = 0;

    if (ht_read_file(log_path, &buf, &len) == HL_OK)
        busy = strstr(buf, "Address already in use") != NULL;
    free(buf);
    return busy;
}

/* Reaps the child if it has exited. Returns 1 when it is gone. */
static int reap_if_exited(struct ht_redis *r) {
    int status;
    pid_t w;

    if (r->pid <= 0)
        return 1;
    w = waitpid(r->pid, &status, WNOHANG);
    if (w == r->pid || (w < 0 && errno == ECHILD)) {
        ht_child_unregister(r->pid);
        r->pid = -1;
        r->paused = 0;
        return 1;
    }
    return 0;
}

int ht_redis_answers(int port, pid_t pid) {
    redisContext *c = ht_redis_connect_port(port, PING_INTERVAL_MS);
    redisReply *rep = NULL;
    char want[64];
    int ok = 0;

    if (c == NULL)
        goto cleanup;
    rep = redisCommand(c, "PING");
    if (rep == NULL || rep->type != REDIS_REPLY_STATUS ||
        strcmp(rep->str, "PONG") != 0)
        goto cleanup;
    freeReplyObject(rep);
    rep = redisCommand(c, "INFO server");
    if (rep == NULL || rep->type != REDIS_REPLY_STRING)
        goto cleanup;
    if (snprintf(want, sizeof(want), "process_id:%d\r", (int)pid) >=
        (int)sizeof(want))
        goto cleanup;
    ok = strstr(rep->str, want) != NULL;
cleanup:
    if (rep != NULL)
        freeReplyObject(rep);
    if (c != NULL)
        redisFree(c);
    return ok;
}

/* Fills `argv` (room for ARGV_MAX) with the redis-server command line for
 * r: port, loopback, no RDB, the AOF mode, the directory, then r->extra. */
static int build_argv(const struct ht_redis *r, const char *port,
                      const char **argv, char err[HL_ERR_LEN]) {
    static const char *aof_on[] = { "--appendonly", "yes",
                                    "--appendfsync", "always", NULL };
    static const char *aof_off[] = { "--appendonly", "no", NULL };
    const char *const *mode = r->aof ? aof_on : aof_off;
    int n = 0;
    int i;

    argv[n++] = "redis-server";
    argv[n++] = "--port";
    argv[n++] = port;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    argv[n++] = "--save";
    argv[n++] = "";
    for (i = 0; mode[i] != NULL; i++)
        argv[n++] = mode[i];
    argv[n++] = "--dir";
    argv[n++] = r->dir;
    for (i = 0; r->extra != NULL && r->extra[i] != NULL; i++) {
        if (n == ARGV_MAX - 1) {
            snprintf(err, HL_ERR_LEN, "more than %d redis-server "
                     "arguments", ARGV_MAX - 1);
            return HL_ETOOBIG;
        }
        argv[n++] = r->extra[i];
    }
    argv[n] = NULL;
    return HL_OK;
}

/* Forks and execs redis-server on r->port, output to r->log_path. */
static int spawn(struct ht_redis *r, char err[HL_ERR_LEN]) {
    const char *argv[ARGV_MAX];
    char port[16];
    pid_t parent = getpid();
    pid_t pid;
    int fd;
    int rc;

    snprintf(port, sizeof(port), "%d", r->port);
    rc = build_argv(r, port, argv, err);
    if (rc != HL_OK)
        return rc;
    fd = open(r->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, HL_ERR_LEN, "open %.150s: %s", r->log_path,
                 strerror(errno));
        return HL_EIO;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(err, HL_ERR_LEN, "fork: %s", strerror(errno));
        close(fd);
        return HL_EIO;
    }
    if (pid == 0) {
        ht_child_prepare(parent);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close_range(3, ~0U, 0);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fd);
    r->pid = pid;
    r->paused = 0;
    if (ht_child_register(pid) != HL_OK) {
        snprintf(err, HL_ERR_LEN, "too many children");
        return HL_ETOOBIG;
    }
    return HL_OK;
}

/* Starts a server on r->port and waits for it. Returns HL_OK, HL_EAGAIN
 * when the port was busy (nothing left running), or HL_EIO with `err`. */
static int start_on_port(struct ht_redis *r, char err[HL_ERR_LEN]) {
    int i;
    int rc;

    rc = spawn(r, err);
    if (rc != HL_OK)
        return rc;
    for (i = 0; i < PING_TRIES; i++) {
        if (reap_if_exited(r)) {
            if (ht_redis_log_port_busy(r->log_path))
                return HL_EAGAIN;
            dump_log(r);
            snprintf(err, HL_ERR_LEN, "redis-server on port %d exited "
                     "before answering PING (log above)", r->port);
            return HL_EIO;
        }
        if (ht_redis_answers(r->port, r->pid)) {
            snprintf(r->url, sizeof(r->url), "redis://127.0.0.1:%d/0",
                     r->port);
            return HL_OK;
        }
        ht_sleep_ms(PING_INTERVAL_MS);
    }
    dump_log(r);
    ht_redis_kill(r);
    snprintf(err, HL_ERR_LEN, "redis-server on port %d did not answer "
             "PING within %d x %d ms (log above)", r->port, PING_TRIES,
             PING_INTERVAL_MS);
    return HL_ETIMEDOUT;
}

/* ---- lifecycle ---------------------------------------------------------- */

int ht_redis_start_args(struct ht_redis *r, int aof,
                        const char *const *extra, char err[HL_ERR_LEN]) {
    int n;
    int i;
    int rc = HL_ERR;

    memset(r, 0, sizeof(*r));
    r->pid = -1;
    r->aof = aof;
    r->extra = extra;
    err[0] = '\0';
    n = snprintf(r->dir, sizeof(r->dir), "%s/hl-redis-XXXXXX", ht_tmpdir());
    if (n < 0 || (size_t)n >= sizeof(r->dir)) {
        snprintf(err, HL_ERR_LEN, "TMPDIR too long");
        r->dir[0] = '\0';
        return HL_ETOOBIG;
    }
    if (mkdtemp(r->dir) == NULL) {
        snprintf(err, HL_ERR_LEN, "mkdtemp %.150s: %s", r->dir,
                 strerror(errno));
        r->dir[0] = '\0';
        return HL_EIO;
    }
    n = snprintf(r->log_path, sizeof(r->log_path), "%s/redis.log", r->dir);
    if (n < 0 || (size_t)n >= sizeof(r->log_path))
        return HL_ETOOBIG;
    for (i = 0; i < PORT_TRIES; i++) {
        rc = ht_free_port(&r->port, err);
        if (rc != HL_OK)
            return rc;
        rc = start_on_port(r, err);
        if (rc != HL_EAGAIN)
            return rc;
        fprintf(stderr, "  # port %d busy, picking another\n", r->port);
    }
    snprintf(err, HL_ERR_LEN, "no free port after %d tries", PORT_TRIES);
    return HL_EIO;
}

int ht_redis_start(struct ht_redis *r, char err[HL_ERR_LEN]) {
    return ht_redis_start_args(r, 0, NULL, err);
}

int ht_redis_start_aof(struct ht_redis *r, char err[HL_ERR_LEN]) {
    return ht_redis_start_args(r, 1, NULL, err);
}

int ht_redis_restart(struct ht_redis *r, char err[HL_ERR_LEN]) {
    int i;
    int rc = HL_ERR;

    err[0] = '\0';
    if (r->pid > 0) {
        snprintf(err, HL_ERR_LEN, "redis-server is still running");
        return HL_ESTATE;
    }
    for (i = 0; i < PORT_TRIES; i++) {
        rc = start_on_port(r, err);
        if (rc != HL_EAGAIN)
            return rc;
        ht_sleep_ms(300);
    }
    snprintf(err, HL_ERR_LEN, "port %d still busy after %d tries", r->port,
             PORT_TRIES);
    return HL_EIO;
}

int ht_redis_stop(struct ht_redis *r) {
    int waited = 0;

    if (r->pid <= 0)
        return HL_OK;
    kill(r->pid, SIGTERM);
    if (r->paused)
        kill(r->pid, SIGCONT);
    while (waited < STOP_GRACE_MS) {
        if (reap_if_exited(r))
            return HL_OK;
        ht_sleep_ms(20);
        waited += 20;
    }
    return ht_redis_kill(r);
}

int ht_redis_kill(struct ht_redis *r) {
    int status;

    if (r->pid <= 0)
        return HL_ESTATE;
    kill(r->pid, SIGKILL);
    while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR)
        continue;
    ht_child_unregister(r->pid);
    r->pid = -1;
    r->paused = 0;
    return HL_OK;
}

int ht_redis_pause(struct ht_redis *r) {
    if (r->pid <= 0)
        return HL_ESTATE;
    if (kill(r->pid, SIGSTOP) != 0)
        return HL_EIO;
    r->paused = 1;
    return HL_OK;
}

int ht_redis_resume(struct ht_redis *r) {
    if (r->pid <= 0)
        return HL_ESTATE;
    if (kill(r->pid, SIGCONT) != 0)
        return HL_EIO;
    r->paused = 0;
    return HL_OK;
}

void ht_redis_remove_dir(const char *dir) {
    char path[1024];
    struct dirent *e;
    DIR *d = opendir(dir);
    int n = 0;

    if (d == NULL)
        return;
    for (e = readdir(d); e != NULL && n < RM_MAX; e = readdir(d)) {
        struct stat st;
        int k = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (k < 0 || (size_t)k >= sizeof(path))
            continue;
        if (lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            unlink(path);
            n++;
        }
    }
    closedir(d);
    rmdir(dir);
}

void ht_redis_cleanup(struct ht_redis *r) {
    char aof_dir[600];
    int n;

    ht_redis_stop(r);
    if (r->dir[0] != '\0') {
        n = snprintf(aof_dir, sizeof(aof_dir), "%s/" AOF_DIR, r->dir);
        if (n > 0 && (size_t)n < sizeof(aof_dir))
            ht_redis_remove_dir(aof_dir);
        ht_redis_remove_dir(r->dir);
        r->dir[0] = '\0';
    }
}

/* ---- blocking client helpers ------------------------------------------- */

redisContext *ht_redis_connect(const struct ht_redis *r, long timeout_ms) {
    return ht_redis_connect_port(r->port, timeout_ms);
}

redisContext *ht_redis_connect_port(int port, long timeout_ms) {
    return ht_redis_connect_host("127.0.0.1", port, timeout_ms);
}

redisContext *ht_redis_connect_host(const char *host, int port,
                                    long timeout_ms) {
    struct timeval tv;
    redisContext *c;

    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    c = redisConnectWithTimeout(host, port, tv);
    if (c == NULL)
        return NULL;
    if (c->err || redisSetTimeout(c, tv) != REDIS_OK) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* Runs argv; returns the reply or NULL (connection error or error reply,
 * which is freed and reported on stderr). */
static redisReply *run(redisContext *c, int argc, const char **argv) {
    redisReply *rep;

    if (c == NULL)
        return NULL;
    rep = redisCommandArgv(c, argc, argv, NULL);
    if (rep == NULL) {
        fprintf(stderr, "  # redis %s: %s\n", argv[0], c->errstr);
        return NULL;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "  # redis %s: %s\n", argv[0], rep->str);
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

int ht_redis_int(redisContext *c, long long *out, int argc,
                 const char **argv) {
    redisReply *rep = run(c, argc, argv);
    int rc = HL_EINVAL;

    *out = -1;
    if (rep == NULL)
        return HL_EIO;
    if (rep->type == REDIS_REPLY_INTEGER) {
        *out = rep->integer;
        rc = HL_OK;
    }
    freeReplyObject(rep);
    return rc;
}

int ht_redis_int2(redisContext *c, long long *out, const char *cmd,
                  const char *arg) {
    const char *argv[2] = { cmd, arg };

    return ht_redis_int(c, out, arg == NULL ? 1 : 2, argv);
}

int ht_redis_str2(redisContext *c, char **out, size_t *len,
                  const char *cmd, const char *arg) {
    const char *argv[2] = { cmd, arg };
    redisReply *rep = run(c, arg == NULL ? 1 : 2, argv);
    int rc = HL_EINVAL;

    *out = NULL;
    *len = 0;
    if (rep == NULL)
        return HL_EIO;
    if (rep->type == REDIS_REPLY_NIL) {
        rc = HL_OK;
    } else if (rep->type == REDIS_REPLY_STRING ||
               rep->type == REDIS_REPLY_STATUS) {
        *out = malloc(rep->len + 1);
        if (*out == NULL) {
            rc = HL_ENOMEM;
        } else {
            memcpy(*out, rep->str, rep->len);
            (*out)[rep->len] = '\0';
            *len = rep->len;
            rc = HL_OK;
        }
    }
    freeReplyObject(rep);
    return rc;
}

int ht_redis_array(redisContext *c, redisReply **reply, int argc,
                   const char **argv) {
    redisReply *rep = run(c, argc, argv);

    *reply = NULL;
    if (rep == NULL)
        return HL_EIO;
    if (rep->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(rep);
        return HL_EINVAL;
    }
    *reply = rep;
    return HL_OK;
}

int ht_redis_flushall(redisContext *c) {
    const char *argv[1] = { "FLUSHALL" };
    redisReply *rep = run(c, 1, argv);

    if (rep == NULL)
        return HL_EIO;
    freeReplyObject(rep);
    return HL_OK;
}

/* ---- hookline's keyspace ------------------------------------------------ */

/* FNV-1a 64 over `len` bytes from `h` (prime 1099511628211). */
static uint64_t fnv1a64(uint64_t h, const char *p, size_t len) {
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

long ht_redis_partition(const char *page, const char *user,
                        long partitions) {
    uint64_t h = 14695981039346656037ULL;

    h = fnv1a64(h, page, strlen(page));
    h = fnv1a64(h, ":", 1);
    h = fnv1a64(h, user, strlen(user));
    return (long)(h % (uint64_t)partitions);
}

long long ht_redis_llen(redisContext *c, const char *key) {
    long long n = -1;

    if (ht_redis_int2(c, &n, "LLEN", key) != HL_OK)
        return -1;
    return n;
}

long long ht_redis_queue_len(redisContext *c, const char *prefix, long n) {
    char key[HL_KEY_MAX];

    snprintf(key, sizeof(key), "%s:{%ld}:q", prefix, n);
    return ht_redis_llen(c, key);
}

long long ht_redis_queued_total(redisContext *c, const char *prefix,
                                long partitions) {
    long long total = 0;
    long n;

    for (n = 0; n < partitions; n++) {
        long long l = ht_redis_queue_len(c, prefix, n);
        if (l < 0)
            return -1;
        total += l;
    }
    return total;
}

long long ht_redis_key_count(redisContext *c, const char *prefix) {
    char pattern[HL_KEY_MAX];
    const char *argv[2] = { "KEYS", pattern };
    redisReply *rep = NULL;
    long long n = -1;

    snprintf(pattern, sizeof(pattern), "%s*", prefix);
    if (ht_redis_array(c, &rep, 2, argv) == HL_OK)
        n = (long long)rep->elements;
    if (rep != NULL)
        freeReplyObject(rep);
    return n;
}

long long ht_redis_dlq_len(redisContext *c, const char *prefix) {
    char key[HL_KEY_MAX];

    snprintf(key, sizeof(key), "%s:dlq", prefix);
    return ht_redis_llen(c, key);
}

json_object *ht_redis_list_json(redisContext *c, const char *key,
                                long idx) {
    char index[32];
    const char *argv[3] = { "LINDEX", key, index };
    redisReply *rep;
    json_object *o = NULL;

    snprintf(index, sizeof(index), "%ld", idx);
    rep = run(c, 3, argv);
    if (rep != NULL && rep->type == REDIS_REPLY_STRING)
        o = json_tokener_parse(rep->str);
    if (rep != NULL)
        freeReplyObject(rep);
    return o;
}

json_object *ht_redis_dlq_entry(redisContext *c, const char *prefix,
                                long idx) {
    char key[HL_KEY_MAX];

    snprintf(key, sizeof(key), "%s:dlq", prefix);
    return ht_redis_list_json(c, key, idx);
}

json_object *ht_redis_queue_items(redisContext *c, const char *prefix,
                                  long n) {
    char key[HL_KEY_MAX];
    const char *argv[4] = { "LRANGE", key, "0", "-1" };
    redisReply *rep = NULL;
    json_object *arr = NULL;
    size_t i;

    snprintf(key, sizeof(key), "%s:{%ld}:q", prefix, n);
    if (ht_redis_array(c, &rep, 4, argv) != HL_OK)
        return NULL;
    arr = json_object_new_array();
    /* LPUSH in, so the last element is the oldest */
    for (i = rep->elements; arr != NULL && i > 0; i--) {
        const char *item = rep->element[i - 1]->str;
        json_object *o = item == NULL ? NULL : json_tokener_parse(item);
        if (o == NULL) {
            HT_FAIL("item of %s is not JSON: %.200s", key,
                    item == NULL ? "(not a string)" : item);
            json_object_put(arr);
            arr = NULL;
            break;
        }
        json_object_array_add(arr, o);
    }
    freeReplyObject(rep);
    return arr;
}

json_object *ht_redis_all_items(redisContext *c, const char *prefix,
                                long partitions) {
    json_object *all = json_object_new_array();
    long n;

    for (n = 0; all != NULL && n < partitions; n++) {
        json_object *part = ht_redis_queue_items(c, prefix, n);
        size_t i;

        if (part == NULL) {
            json_object_put(all);
            return NULL;
        }
        for (i = 0; i < json_object_array_length(part); i++)
            json_object_array_add(all, json_object_get(
                json_object_array_get_idx(part, i)));
        json_object_put(part);
    }
    return all;
}
