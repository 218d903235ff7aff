/* hl_membership.h - the one rule for which workers are live, shared by
 * the worker (its share of the partitions) and hookctl (stats, doctor).
 * A worker's heartbeat is its score in <prefix>:workers (hl_keys_workers,
 * wall ms); it is live while that heartbeat is younger than one lease
 * time (HOOKLINE_LEASE_MS), i.e. while its score is at least
 * hl_membership_live_since(now, lease_ms). Pure: no Redis here. */
#ifndef HL_MEMBERSHIP_H
#define HL_MEMBERSHIP_H

/* The oldest heartbeat (wall ms) that still counts as live at `now`: the
 * lower bound of a ZCOUNT of live workers. */
long long hl_membership_live_since(long long now, long long lease_ms);

/* 1 when a heartbeat at `heartbeat_ms` is live at `now`, else 0. */
int hl_membership_live(long long heartbeat_ms, long long now,
                       long long lease_ms);

#endif
