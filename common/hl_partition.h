/* hl_partition.h - which queue partition a conversation lives in:
 * n = fnv1a64(page_id ":" user_id) % partitions (DESIGN.md). Pure. */
#ifndef HL_PARTITION_H
#define HL_PARTITION_H

#include <stdint.h>
#include <stddef.h>

/* FNV-1a 64 over `len` bytes, continuing from `h` (start with
 * HL_FNV_OFFSET). */
#define HL_FNV_OFFSET 14695981039346656037ULL
uint64_t hl_partition_fnv1a64(uint64_t h, const void *p, size_t len);

/* Partition of the conversation (page, user); partitions >= 1. */
long hl_partition_of(const char *page, const char *user, long partitions);

#endif
