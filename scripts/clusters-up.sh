#!/usr/bin/env bash
# Installs (from Debian's packages, if missing) and starts single-node Slurm 22.05 (with slurmdbd + MariaDB,
# so sacct works) and Son of Grid Engine 8.1.9 on this machine, for corral's integration tests or a try; "pbs"
# adds Slurm's Torque front end (scripts/torque-up.sh), which needs the Slurm started first.
# Needs root and apt. Idempotent: running daemons are left alone. One after the other: both take the dpkg lock.
#   bash scripts/clusters-up.sh          # both
#   bash scripts/clusters-up.sh slurm    # just one
#   bash scripts/clusters-up.sh slurm pbs
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
which=${*:-slurm sge pbs}
for c in $which; do
  case $c in
    slurm) bash "$here/slurm-up.sh" ;;
    sge) bash "$here/sge-up.sh" ;;
    pbs) bash "$here/torque-up.sh" ;;
    *) echo "clusters-up: unknown cluster '$c' (slurm, sge, pbs)" >&2; exit 2 ;;
  esac
done
