#!/usr/bin/env bash
# Stops the daemons scripts/clusters-up.sh started, by pid (state and accounting are kept).
here=$(cd "$(dirname "$0")" && pwd)
bash "$here/sge-down.sh"
bash "$here/slurm-down.sh"
