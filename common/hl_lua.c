/* hl_lua.c - table of the embedded Lua scripts (bodies generated into
 * build/hl_lua_gen.c from common/lua/). */
#include "hl_lua.h"

extern const char hl_lua_enqueue[];
extern const size_t hl_lua_enqueue_len;

const struct hl_script_def *hl_lua_script(enum hl_script id) {
    static struct hl_script_def defs[HL_SCRIPT_COUNT];

    /* filled on first use: the generated lengths are not constant
     * expressions in this translation unit */
    if (defs[HL_SCRIPT_ENQUEUE].body == NULL) {
        defs[HL_SCRIPT_ENQUEUE].name = "enqueue";
        defs[HL_SCRIPT_ENQUEUE].body = hl_lua_enqueue;
        defs[HL_SCRIPT_ENQUEUE].len = hl_lua_enqueue_len;
    }
    return &defs[id];
}
