#!/usr/bin/env bash
# Stops the sshd that scripts/sshd-up.sh started.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log() { echo "sshd-down: $*"; }
. "$here/daemons.sh"
stop_pid /var/lib/corral-sshd/sshd.pid sshd
