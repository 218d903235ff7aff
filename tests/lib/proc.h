/* proc.h - run a hookline program under test as a child process.
 *
 * The child gets the test's environment minus every variable a hookline
 * program reads (MESSENGER_*, HOOKLINE_*, GRAPH_API_*, REDIS_URL*, PORT*),
 * plus the "NAME=value" strings the test passes, so an operator's shell
 * cannot change a test's outcome. Its stdout and stderr go to one temp
 * file the test can read (e.g. to prove a secret never appears in the
 * logs). Servers run with PORT=0 and announce their port in the JSON log
 * line with "msg":"listening"; ht_proc_wait_listening() reads it from
 * there (STYLE rule 24: no port race, no fixed ports).
 *
 * With HL_VALGRIND=1 each of our programs (hookline-*, hookctl; not the
 * tools fixtures run, such as redis-cli) runs under valgrind memcheck
 * (--leak-check=full, definite and indirect leaks are errors, exit code 99
 * on any error), every wait here gets 10x its budget, and a program is
 * stopped with SIGTERM at cleanup: any exit 99 fails the test.
 *
 * Every wait is bounded. Only the PID this file forked is signalled; it is
 * registered with hl_test's child table so it dies with the test. This
 * file does not speak HTTP or Redis. */
#ifndef HT_PROC_H
#define HT_PROC_H

#include <sys/types.h>
#include "hl.h"

#define HT_VALGRIND_EXIT 99   /* exit status valgrind uses for errors */

struct ht_proc {
    pid_t pid;                /* running child, or -1 */
    int port;                 /* announced port, or -1 */
    int exited;               /* 1 once reaped */
    int exit_code;            /* exit status, or 128 + signal number */
    char name[64];            /* program base name, for messages */
    char log_path[600];       /* captured stdout + stderr */
};

/* Writes "$HL_BIN/<prog>" (HL_BIN defaults to "bin") into `out`.
 * Returns HL_OK or HL_ETOOBIG. */
int ht_bin_path(const char *prog, char *out, size_t outsz);

/* Finds the executable `prog` in $PATH and writes its path into `out`
 * (for a tool a fixture runs, e.g. redis-cli, since ht_proc_start() and
 * ht_proc_run() want a path they can check). HL_OK, or HL_ENOTFOUND with
 * `err` set. */
int ht_proc_which(const char *prog, char *out, size_t outsz,
                  char err[HL_ERR_LEN]);

/* Starts `path` with the extra arguments `args` (NULL-terminated; may be
 * NULL) and the extra environment `env` ("NAME=value", NULL-terminated;
 * may be NULL; these win over inherited values, the first of two with
 * one name wins). Borrows everything.
 * On HL_OK the child runs; release with ht_proc_cleanup(). On failure
 * `err` says why; ht_proc_cleanup() is still safe. */
int ht_proc_start(struct ht_proc *p, const char *path,
                  const char *const *args, const char *const *env,
                  char err[HL_ERR_LEN]);

/* Waits (100 x 50 ms, 10x under valgrind) for the log line with
 * "msg":"listening" and stores its integer "port" in p->port. Returns
 * HL_OK, HL_ETIMEDOUT, or HL_EIO when the child exited first; on failure
 * the log is dumped to stderr and `err` says why. */
int ht_proc_wait_listening(struct ht_proc *p, char err[HL_ERR_LEN]);

/* ht_proc_start() then ht_proc_wait_listening(). */
int ht_proc_start_server(struct ht_proc *p, const char *path,
                         const char *const *args, const char *const *env,
                         char err[HL_ERR_LEN]);

/* Sends `sig` to the child. HL_OK, or HL_ESTATE when it is not running. */
int ht_proc_signal(struct ht_proc *p, int sig);

/* 1 while the child runs (reaps it if it has exited), else 0. */
int ht_proc_alive(struct ht_proc *p);

/* Waits up to `timeout_ms` (polling every 20 ms) for the child to exit and
 * sets *exit_code (exit status, or 128 + signal). Returns HL_OK, or
 * HL_ETIMEDOUT with the child still running. Also HL_OK when it had
 * already exited. */
int ht_proc_wait_exit(struct ht_proc *p, long timeout_ms, int *exit_code);

/* Reads the captured output so far. On HL_OK *buf is NUL-terminated
 * (caller owns; free with free()). */
int ht_proc_read_log(const struct ht_proc *p, char **buf, size_t *len);

/* Writes the last `max` bytes of the captured output to stderr. */
void ht_proc_dump_log(const struct ht_proc *p, size_t max);

/* VmRSS of process `pid` in KiB (from /proc/<pid>/status), -1 when it
 * cannot be read (no such process, pid <= 0). */
long long ht_proc_rss_kb(pid_t pid);

/* SIGKILLs the child if it still runs, reaps it and removes the log file
 * (kept when HL_KEEP_LOGS=1). Safe on a zeroed or failed struct;
 * idempotent. Under valgrind a running child gets SIGTERM first (up to
 * 20 s to exit, so memcheck checks for leaks), and a child that exited
 * with HT_VALGRIND_EXIT fails the current check (or a check of its own)
 * with the valgrind lines of its log. */
void ht_proc_cleanup(struct ht_proc *p);

/* Runs `path` to completion (bounded by `timeout_ms`, 10x under valgrind;
 * killed when over) and sets *exit_code and, when `output` is not NULL,
 * *output and *outlen to its stdout+stderr (caller owns; free with free()).
 * Returns HL_OK, HL_ETIMEDOUT (it was killed), or a start error with
 * `err` set. For config-error tests: exit 2 and a message naming the
 * variable. */
int ht_proc_run(const char *path, const char *const *args,
                const char *const *env, long timeout_ms, int *exit_code,
                char **output, size_t *outlen, char err[HL_ERR_LEN]);

#endif
