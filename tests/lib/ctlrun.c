/* ctlrun.c - run bin/hookctl to completion and capture its exit status
 * and output (and its JSON document) for the hookctl integration tests
 * (see ctlrun.h). */
#include "ctlrun.h"
#include "hl_test.h"
#include "proc.h"

#include <stdlib.h>
#include <string.h>

int ht_ctlrun(const char *const *args, const char *const *env,
              long timeout_ms, struct ht_ctlrun *r) {
    char path[512], err[HL_ERR_LEN];

    memset(r, 0, sizeof(*r));
    r->code = -1;
    if (ht_bin_path("hookctl", path, sizeof(path)) != HL_OK)
        return HT_FAIL("hookctl path too long");
    if (ht_proc_run(path, args, env, ht_budget_ms(timeout_ms), &r->code,
                    &r->out, &r->len, err) != HL_OK)
        return HT_FAIL("hookctl: %s", err);
    if (r->out == NULL)
        return HT_FAIL("hookctl gave no output buffer");
    return 1;
}

json_object *ht_ctlrun_json(const struct ht_ctlrun *r, int want_code) {
    json_object *o = NULL;
    const char *doc;

    if (!HT_ASSERT_EQ_INT(r->code, want_code))
        ht_note("output: %s", r->out);
    doc = r->out != NULL ? strpbrk(r->out, "[{") : NULL;
    if (doc != NULL)
        o = json_tokener_parse(doc);
    if (o == NULL)
        HT_FAIL("not JSON: %s", r->out ? r->out : "(none)");
    return o;
}

void ht_ctlrun_cleanup(struct ht_ctlrun *r) {
    HL_FREE(r->out);
}
