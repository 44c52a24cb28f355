#!/usr/bin/env bash
# Installs Slurm's Torque front end (Debian's slurm-wlm-torque: qsub/qstat/qdel written in Perl that drive
# Slurm) into a folder of corral's own, for the PBS engine's tests in its Torque dialect against the real Slurm
# that slurm-up.sh starts. The package conflicts with Grid Engine's client (both ship qsub), so it is not
# installed: its scripts are unpacked into $dir, beside an sbatch link (they run "$FindBin::Bin/sbatch"), and
# the PBS tests put $dir first on PATH for themselves only. Needs root and apt; idempotent.
#   bash scripts/torque-up.sh     # then: PATH=/opt/corral-torque/bin:$PATH qstat -f
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log() { echo "torque-up: $*"; }
. "$here/daemons.sh"
dir=${CORRAL_TORQUE_DIR:-/opt/corral-torque/bin}
pkgs=$(missing_packages libslurm-perl libslurmdb-perl libswitch-perl)
if [ -n "$pkgs" ]; then log "installing$pkgs"; apt_install $pkgs; fi
if [ -x "$dir/qsub" ] && [ -x "$dir/qstat" ] && [ -L "$dir/sbatch" ]; then log "front end already in $dir"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq slurm-wlm-torque 2>/dev/null || { apt-get update -qq && apt-get download -qq slurm-wlm-torque; })
dpkg-deb -x "$work"/slurm-wlm-torque_*.deb "$work/x"
mkdir -p "$dir"
for cmd in qsub qstat qdel qhold qrls; do install -m 0755 "$work/x/usr/bin/$cmd" "$dir/$cmd"; done
ln -sf "$(command -v sbatch)" "$dir/sbatch"
PATH="$dir:$PATH" qstat -Q >/dev/null
log "Slurm's Torque front end in $dir (qsub, qstat, qdel, qhold, qrls)"
