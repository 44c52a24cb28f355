#!/bin/sh
# The README's first command: run real jobs on the embedded default (local engine + SQLite) in a fresh folder.
set -e
here=$(cd "$(dirname "$0")/.." && pwd)
corral() { "$here/bin/corral" "$@"; }
demo=$(mktemp -d "${TMPDIR:-/tmp}/corral-demo-XXXXXX")
cd "$demo"
echo "== a project folder: $demo"
echo "== corral submit -n hello -- sh -c 'echo hello from \$(hostname)'"
corral submit -n hello -- sh -c 'echo hello from $(hostname)'
echo "== corral submit -n squares -a 1-5 -- sh -c 'echo \$((CORRAL_TASK_ID * CORRAL_TASK_ID))'"
corral submit -n squares -a 1-5 -- sh -c 'echo $((CORRAL_TASK_ID * CORRAL_TASK_ID))'
echo "== corral submit -n oops --after 1 -- sh -c 'echo something went wrong >&2; exit 3'"
corral submit -n oops --after 1 -- sh -c 'echo something went wrong >&2; exit 3'
echo "== corral wait   (exit 1: one job failed, on purpose)"
corral wait || true
echo "== corral ls"
corral ls
echo "== corral logs 2"
corral logs 2
echo "== corral show 3"
corral show 3
echo
echo "Try more in that folder: cd $demo && $here/bin/corral status"
