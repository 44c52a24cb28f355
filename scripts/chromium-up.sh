#!/usr/bin/env bash
# Installs Debian's Chromium (if missing) for the dashboard's end-to-end tests, which drive it headless through
# playwright-core: no browser is downloaded at test time, the machines have no internet then. Idempotent.
#   bash scripts/chromium-up.sh      # then: CORRAL_CHROMIUM=/usr/bin/chromium (the default)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log() { echo "chromium-up: $*"; }
. "$here/daemons.sh"
pkgs=$(missing_packages chromium)
if [ -n "$pkgs" ]; then log "installing$pkgs"; apt_install $pkgs; fi
bin=${CORRAL_CHROMIUM:-/usr/bin/chromium}
[ -x "$bin" ] || { log "ERROR: $bin is missing after the install"; exit 1; }
log "$("$bin" --version 2>/dev/null || echo "$bin")"
