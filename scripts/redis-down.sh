#!/usr/bin/env bash
# Stops the Redis server scripts/redis-up.sh started (its data folder is kept).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log() { echo "redis-down: $*"; }
. "$here/daemons.sh"
dir=${CORRAL_REDIS_DIR:-/var/lib/corral-redis}
stop_pid "$dir/redis.pid" redis-server
