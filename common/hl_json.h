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

/* Adds `v` under `k` to object `o`. Takes ownership of `v` always (it is
 * released on failure). Returns HL_OK, or HL_ENOMEM (also when v is NULL,
 * i.e. its constructor failed). */
int hl_json_add(json_object *o, const char *k, json_object *v);

/* 1 when the bytes are strict UTF-8 (no overlongs, no surrogates, nothing
 * past U+10FFFF, no cut sequence at the end), else 0. */
int hl_json_utf8_valid(const void *p, size_t len);

#endif
