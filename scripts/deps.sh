#!/usr/bin/env bash
# scripts/deps.sh: install the Debian 12 packages that hookline's build, tests,
# `make run` and `make bench` need, and nothing else.
#
# Idempotent and quiet: dpkg-query decides what is missing; only then does it
# run `apt-get update` and `apt-get install --no-install-recommends`.
# redis-server is wanted as a binary only: every test and script starts its own
# server on a free port, so the package's system service is kept from starting
# (policy-rc.d) and stopped if it got started anyway. python3 is for the
# e2e tests (free ports, reading YAML) and the fuzz seeds; clang and
# libclang-rt-14-dev (libFuzzer) build the fuzz targets. docker-compose
# (which brings python3-yaml) is best-effort, so `make run` works without
# it: only tests/e2e/test_compose.sh needs it, and fails without it.
# It does not touch anything outside apt and the redis-server service.
set -euo pipefail

REQUIRED=(
    gcc make libc6-dev pkg-config
    libevent-dev libhiredis-dev libcurl4-openssl-dev libjson-c-dev libssl-dev
    redis-server redis-tools openssl curl wrk valgrind python3
    clang libclang-rt-14-dev
)
OPTIONAL=(docker-compose)

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    SUDO=()
fi

log() { printf 'deps: %s\n' "$*" >&2; }

# Prints the packages of "$@" that dpkg does not report as installed.
missing() {
    local p st
    for p in "$@"; do
        st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        case "$st" in
            *" installed") ;;
            *) printf '%s\n' "$p" ;;
        esac
    done
}

# While apt runs, a policy-rc.d that answers 101 keeps maintainer scripts
# (invoke-rc.d, deb-systemd-invoke) from starting redis-server on 6379.
# An existing policy-rc.d (Docker images ship one) is left exactly as it is.
POLICY=/usr/sbin/policy-rc.d
POLICY_OURS=0
policy_on() {
    if [ ! -e "$POLICY" ]; then
        printf '#!/bin/sh\n# temporary, from hookline scripts/deps.sh\nexit 101\n' \
            | "${SUDO[@]}" tee "$POLICY" >/dev/null
        "${SUDO[@]}" chmod 755 "$POLICY"
        POLICY_OURS=1
    fi
}
policy_off() {
    if [ "$POLICY_OURS" = 1 ]; then
        "${SUDO[@]}" rm -f "$POLICY"
        POLICY_OURS=0
    fi
}
trap policy_off EXIT

# Runs "$@" up to 3 times, 5 s apart: a mirror hiccup should not fail CI.
retry() {
    local n
    for n in 1 2 3; do
        if "$@"; then
            return 0
        fi
        [ "$n" = 3 ] || { log "retrying: $*"; sleep 5; }
    done
    return 1
}

UPDATED=0
apt_install() {
    if [ "$UPDATED" = 0 ]; then
        log "apt-get update"
        retry "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get update -qq
        UPDATED=1
    fi
    log "installing: $*"
    retry "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        NEEDRESTART_SUSPEND=1 \
        apt-get install -y -qq --no-install-recommends "$@" </dev/null
}

# A system redis-server is never wanted; stop and disable one if present.
stop_system_redis() {
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        if systemctl is-active --quiet redis-server 2>/dev/null; then
            log "stopping the system redis-server service"
            "${SUDO[@]}" systemctl disable --now redis-server >/dev/null 2>&1 \
                || true
        fi
    elif [ -x /etc/init.d/redis-server ]; then
        if "${SUDO[@]}" /etc/init.d/redis-server status >/dev/null 2>&1; then
            log "stopping the system redis-server service"
            "${SUDO[@]}" /etc/init.d/redis-server stop >/dev/null 2>&1 || true
        fi
    fi
}

mapfile -t need < <(missing "${REQUIRED[@]}")
mapfile -t want < <(missing "${OPTIONAL[@]}")

if [ "${#need[@]}" -eq 0 ] && [ "${#want[@]}" -eq 0 ]; then
    exit 0
fi

policy_on
if [ "${#need[@]}" -gt 0 ]; then
    apt_install "${need[@]}"
fi
if [ "${#want[@]}" -gt 0 ]; then
    apt_install "${want[@]}" || log "optional packages not installed: ${want[*]}"
fi
policy_off
stop_system_redis

mapfile -t still < <(missing "${REQUIRED[@]}")
if [ "${#still[@]}" -gt 0 ]; then
    log "still missing: ${still[*]}"
    exit 1
fi
