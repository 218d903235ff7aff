/* hl_lua.h - the Lua scripts hookline runs in Redis. Their bodies live in
 * common/lua/ (one .lua file each) and are embedded at build time
 * (scripts/embed-lua.sh writes build/hl_lua_gen.c), so programs need no
 * files at run time.
 * Every script receives each key it touches through KEYS[]. */
#ifndef HL_LUA_H
#define HL_LUA_H

#include <stddef.h>

enum hl_script {
    HL_SCRIPT_ENQUEUE = 0,    /* lua/enqueue.lua: dedupe + LPUSH (G2) */
    HL_SCRIPT_LEASE,          /* lua/lease.lua: acquire/renew/release */
    HL_SCRIPT_POP,            /* lua/pop.lua: q -> inflight, up to N */
    HL_SCRIPT_FINISH,         /* lua/finish.lua: conv update + ack */
    HL_SCRIPT_HANDBACK,       /* lua/handback.lua: inflight -> q */
    HL_SCRIPT_COUNT
};

struct hl_script_def {
    const char *name;
    const char *body;
    size_t len;
};

/* Returns the script's definition (static storage). */
const struct hl_script_def *hl_lua_script(enum hl_script id);

#endif
