/* hl_membership.c - which workers are live (see hl_membership.h). */
#include "hl_membership.h"

long long hl_membership_live_since(long long now, long long lease_ms) {
    return now - lease_ms;
}

int hl_membership_live(long long heartbeat_ms, long long now,
                       long long lease_ms) {
    return heartbeat_ms >= hl_membership_live_since(now, lease_ms);
}
