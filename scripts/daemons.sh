# Helpers shared by the cluster scripts (sourced, not run). Daemons are found and stopped by pidfile plus
# /proc/PID/comm, never by pkill: a stale pidfile may name an unrelated process. Callers define log().

# missing_packages PKG... -> prints the ones dpkg does not have installed
missing_packages() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || printf ' %s' "$p"
  done
}

# apt_install PKG... -> installs without letting postinst scripts start daemons
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # keep postinst scripts from starting daemons via init.d (this image may already have
  # /usr/sbin/policy-rc.d = "exit 101"; add one only for the install if absent)
  local own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; own_policy=1
  fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  [ $own_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  return 0
}

# alive PIDFILE COMM -> true if the pid in PIDFILE is running and is COMM
alive() {
  local pf=$1 name=$2 pid
  [ -n "$pf" ] && [ -s "$pf" ] || return 1
  pid=$(cat "$pf" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat /proc/$pid/comm)" = "$name" ]
}

# stop_pid PIDFILE COMM -> SIGTERM the pid from PIDFILE, wait up to 30 s; a stale pidfile is removed
stop_pid() {
  local pf=$1 name=$2 pid i
  if ! alive "$pf" "$name"; then
    [ -n "$pf" ] && [ -e "$pf" ] && { log "$name: not running (stale pidfile removed)"; rm -f "$pf"; }
    return 0
  fi
  pid=$(cat "$pf")
  log "stopping $name (pid $pid)"
  kill "$pid" 2>/dev/null || true
  for i in $(seq 300); do kill -0 "$pid" 2>/dev/null || { rm -f "$pf"; return 0; }; sleep 0.1; done
  log "WARNING: $name pid $pid still alive after 30 s (kill -9 $pid if needed)"
}

# wait_for SECONDS DESCRIPTION CMD... -> retries CMD until it succeeds
wait_for() {
  local secs=$1 what=$2 end; shift 2
  end=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -ge "$end" ] && { log "ERROR: timed out waiting for $what"; return 1; }
    sleep 0.2
  done
}
