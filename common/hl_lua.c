/* hl_lua.c - table of the embedded Lua scripts (bodies generated into
 * build/hl_lua_gen.c from common/lua/). */
#include "hl_lua.h"

#define SCRIPT(x) \
    extern const char hl_lua_##x[]; \
    extern const size_t hl_lua_##x##_len;
SCRIPT(enqueue)
SCRIPT(lease)
SCRIPT(pop)
SCRIPT(finish)
SCRIPT(handback)
#undef SCRIPT

const struct hl_script_def *hl_lua_script(enum hl_script id) {
    static struct hl_script_def defs[HL_SCRIPT_COUNT];

    /* filled on first use: the generated lengths are not constant
     * expressions in this translation unit */
    if (defs[0].body == NULL) {
        defs[HL_SCRIPT_ENQUEUE] = (struct hl_script_def){
            "enqueue", hl_lua_enqueue, hl_lua_enqueue_len };
        defs[HL_SCRIPT_LEASE] = (struct hl_script_def){
            "lease", hl_lua_lease, hl_lua_lease_len };
        defs[HL_SCRIPT_POP] = (struct hl_script_def){
            "pop", hl_lua_pop, hl_lua_pop_len };
        defs[HL_SCRIPT_FINISH] = (struct hl_script_def){
            "finish", hl_lua_finish, hl_lua_finish_len };
        defs[HL_SCRIPT_HANDBACK] = (struct hl_script_def){
            "handback", hl_lua_handback, hl_lua_handback_len };
    }
    return &defs[id];
}
