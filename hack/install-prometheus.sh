#!/usr/bin/env bash
# Installs Debian's `prometheus` package (prometheus and promtool) when either binary is missing.
# The observability e2e test starts its own Prometheus process and checks scrapes with promtool; the
# package's own service is not started (a policy-rc.d denies it for the duration of the install).
# Idempotent: does nothing when both binaries are on PATH. Needs root (or sudo) to install.
set -euo pipefail

log() { printf '[install-prometheus] %s\n' "$*" >&2; }

if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { log "prometheus or promtool missing and not root: install Debian's prometheus package"; exit 1; }
  sudo=(sudo)
fi

# Keep the package's service from starting: the tests run their own Prometheus on a free port.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 0755 "$policy"
  added_policy=1
fi
cleanup() { if [ "$added_policy" = 1 ]; then "${sudo[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT

log "installing Debian's prometheus package"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >/dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends prometheus >/dev/null

command -v prometheus >/dev/null && command -v promtool >/dev/null || { log "prometheus package installed no binaries"; exit 1; }
log "$(prometheus --version 2>&1 | head -n1)"
