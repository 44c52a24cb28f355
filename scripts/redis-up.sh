#!/usr/bin/env bash
# Installs (from Debian's packages, if missing) and starts a Redis 7 server for corral's Redis engine tests or a
# try: bound to loopback only, with a password, the append-only file written before every reply and fsynced every
# second (a Redis restart or crash loses nothing acknowledged; only a power loss may lose the last second), and no
# eviction (BullMQ needs every key it wrote). Idempotent: a running one is kept.
#   bash scripts/redis-up.sh      # then: export CORRAL_REDIS_URL=$(cat /var/lib/corral-redis/url)
# Port and password: CORRAL_TEST_REDIS_PORT (6391), CORRAL_TEST_REDIS_PASSWORD (generated once, kept in the
# data folder). The URL, password included, is written to $dir/url, readable only by root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log() { echo "redis-up: $*"; }
. "$here/daemons.sh"
dir=${CORRAL_REDIS_DIR:-/var/lib/corral-redis}
port=${CORRAL_TEST_REDIS_PORT:-6391}
pkgs=$(missing_packages redis-server)
if [ -n "$pkgs" ]; then log "installing$pkgs"; apt_install $pkgs; fi
mkdir -p "$dir"; chmod 700 "$dir"
if [ ! -s "$dir/password" ]; then
  pw=${CORRAL_TEST_REDIS_PASSWORD:-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')}
  (umask 077; printf '%s\n' "$pw" > "$dir/password")
fi
pw=$(cat "$dir/password")
(umask 077; printf 'redis://:%s@127.0.0.1:%s\n' "$pw" "$port" > "$dir/url")
if alive "$dir/redis.pid" redis-server; then log "redis-server already running (port $port)"; exit 0; fi
# The password goes in a config file (mode 600), not on the command line where ps would show it.
(umask 077; cat > "$dir/redis.conf" <<CONF
bind 127.0.0.1
port $port
requirepass $pw
dir $dir
pidfile $dir/redis.pid
logfile $dir/redis.log
daemonize yes
appendonly yes
appendfsync everysec
maxmemory-policy noeviction
CONF
)
redis-server "$dir/redis.conf"
wait_for 20 "redis-server on port $port" redis-cli -p "$port" --no-auth-warning -a "$pw" ping
log "redis-server running on 127.0.0.1:$port (URL in $dir/url)"
