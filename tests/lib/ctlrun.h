/* ctlrun.h - run bin/hookctl once, as an operator would, and keep what
 * it said: the one runner the hookctl integration tests share (each
 * builds its own environment and passes it in).
 *
 * The program is "$HL_BIN/hookctl" (proc.h's ht_bin_path()); it runs
 * through ht_proc_run(), so it gets a clean hookline environment plus
 * the test's, every wait is bounded, and only its own PID is signalled. */
#ifndef HT_CTLRUN_H
#define HT_CTLRUN_H

#include <stddef.h>
#include <json-c/json.h>
#include "hl.h"

/* One finished hookctl run. */
struct ht_ctlrun {
    int code;                 /* exit status; -1 until it ran */
    char *out;                /* stdout + stderr, NUL-terminated; owned */
    size_t len;
};

/* Runs bin/hookctl `args` (NULL-terminated) with the extra environment
 * `env` ("NAME=value", NULL-terminated), killed after `timeout_ms`
 * (scaled by ht_budget_ms()). Borrows everything. Returns 1 when it ran
 * to completion (any exit code): r->out is set (caller owns; free with
 * ht_ctlrun_cleanup()). Returns 0 with the current check failed (and
 * r->out NULL) when it could not be run. */
int ht_ctlrun(const char *const *args, const char *const *env,
              long timeout_ms, struct ht_ctlrun *r);

/* The JSON document of a `hookctl --json ...` run: asserts that it
 * exited `want_code` (its output noted when not), then parses from the
 * first '[' or '{' of r->out (stderr lines, if any, come before the
 * document). Caller owns the result; free with json_object_put(). NULL
 * (check failed) when there is no JSON document. Borrows `r`. */
json_object *ht_ctlrun_json(const struct ht_ctlrun *r, int want_code);

/* Frees r->out. Safe on a zeroed or failed run; idempotent. */
void ht_ctlrun_cleanup(struct ht_ctlrun *r);

#endif
