/* hl_json.h - json-c helpers for bytes from the network: a depth-limited
 * parse of a byte range (possibly in several chunks), rejecting trailing
 * garbage. No I/O. */
#ifndef HL_JSON_H
#define HL_JSON_H

#include <json-c/json.h>
#include "hl.h"
#include "hl_hmac.h"

/* Parses exactly `len` bytes as one JSON value nested at most `depth`
 * deep (a scalar is depth 0, [1] is depth 1). Returns HL_OK and sets *out
 * (caller owns; json_object_put(); NULL for the value null), or HL_EINVAL
 * (not JSON, not UTF-8, too deep, trailing bytes), HL_ENOMEM. */
int hl_json_parse(const char *p, size_t len, int depth, json_object **out);

/* The same over several chunks (an evbuffer's pieces, unjoined). */
int hl_json_parse_chunks(const struct hl_chunk *chunks, size_t n, int depth,
                         json_object **out);

/* The checks hl_json_parse() makes beyond json-c's strict mode, alone:
 * strict UTF-8, nesting at most `depth`, the number grammar (json-c takes
 * "00" and "00.5" and writes the latter back out as it came), no raw
 * control characters in strings, no NaN, Infinity or single quotes.
 * Passing does not mean the bytes are JSON; json-c decides the rest.
 * Returns HL_OK, or HL_EINVAL with *at the offset of the byte at fault
 * (len when the input ends too soon) and *why a static description. */
int hl_json_scan(const char *p, size_t len, int depth, size_t *at,
                 const char **why);

/* Adds `v` under `k` to object `o`. Takes ownership of `v` always (it is
 * released on failure). Returns HL_OK, or HL_ENOMEM (also when v is NULL,
 * i.e. its constructor failed). */
int hl_json_add(json_object *o, const char *k, json_object *v);

/* 1 when the bytes are strict UTF-8 (no overlongs, no surrogates, nothing
 * past U+10FFFF, no cut sequence at the end), else 0. */
int hl_json_utf8_valid(const void *p, size_t len);

#endif
