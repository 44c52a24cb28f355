#!/usr/bin/env bash
# Starts an OpenSSH server on 127.0.0.1 (port CORRAL_TEST_SSH_PORT, 2222) with a key pair of its own, so the tests
# of `corral workers launch` go through a real ssh to localhost. Installs openssh-server from Debian's packages
# if missing. Idempotent. The client side, for tests or a try:
#   CORRAL_SSH="$(cat /var/lib/corral-sshd/ssh-command)" corral workers launch localhost
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log() { echo "sshd-up: $*"; }
. "$here/daemons.sh"
dir=/var/lib/corral-sshd
port=${CORRAL_TEST_SSH_PORT:-2222}
pkgs=$(missing_packages openssh-server openssh-client)
if [ -n "$pkgs" ]; then log "installing$pkgs"; apt_install $pkgs; fi
mkdir -p "$dir" /run/sshd; chmod 700 "$dir"
[ -s "$dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key"
[ -s "$dir/client_key" ] || ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key"
cp "$dir/client_key.pub" "$dir/authorized_keys"; chmod 600 "$dir/authorized_keys"
cat > "$dir/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PidFile $dir/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
CONF
printf 'ssh -p %s -i %s -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR\n' "$port" "$dir/client_key" > "$dir/ssh-command"
if alive "$dir/sshd.pid" sshd; then log "sshd already running (port $port)"; exit 0; fi
/usr/sbin/sshd -f "$dir/sshd_config"
# shellcheck disable=SC2046
wait_for 20 "sshd on port $port" $(cat "$dir/ssh-command") localhost true
log "sshd running on 127.0.0.1:$port (client: $(cat "$dir/ssh-command"))"
