/* hl_partition.c - FNV-1a 64 partitioning of conversations. */
#include "hl_partition.h"

#include <string.h>

#define FNV_PRIME 1099511628211ULL

uint64_t hl_partition_fnv1a64(uint64_t h, const void *p, size_t len) {
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= b[i];
        h *= FNV_PRIME;
    }
    return h;
}

long hl_partition_of(const char *page, const char *user, long partitions) {
    uint64_t h = HL_FNV_OFFSET;

    h = hl_partition_fnv1a64(h, page, strlen(page));
    h = hl_partition_fnv1a64(h, ":", 1);
    h = hl_partition_fnv1a64(h, user, strlen(user));
    return (long)(h % (uint64_t)partitions);
}
