/* hl_json.h - json-c helpers for bytes from the network: a depth-limited
 * parse of a byte range (possibly in several chunks), rejecting trailing
 * garbage. No I/O. */
#ifndef HL_JSON_H
#define HL_JSON_H

#include <json-c/json.h>
#include "hl.h"
#include "hl_hmac.h"

/* Parses exactly `len` bytes as one JSON value nested at most `depth`
 * deep. Returns HL_OK and sets *out (caller owns; json_object_put()), or
 * HL_EINVAL (not JSON, too deep, trailing bytes), HL_ENOMEM. */
int hl_json_parse(const char *p, size_t len, int depth, json_object **out);

/* The same over several chunks (an evbuffer's pieces, unjoined). */
int hl_json_parse_chunks(const struct hl_chunk *chunks, size_t n, int depth,
                         json_object **out);

#endif
