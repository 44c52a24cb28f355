import { shQuote } from "./shell-quote.js";
import { fenceMarker } from "./markers.js";
import { RUN_FILES } from "./wrapper.js";

export interface GateParent {
  readonly jobId: number;
  /** Run directories of the parent's attempts that were still active when this job was submitted. */
  readonly runDirs: readonly string[];
}

/**
 * For schedulers whose dependencies only mean "after the parent ended" (Grid Engine's -hold_jid), the submit
 * script checks, before the attempt runs, that each `--after` parent's attempts ended with status 0. If not,
 * it claims the attempt and records it as cancelled with the reason, exactly as corral would have, so a
 * failed parent stops its dependents even when no corral process runs in between. Shell builtins only.
 * Expects `corral_dir` (the attempt's run directory) to be set.
 */
export function renderDependencyGate(parents: readonly GateParent[]): string {
  if (parents.length === 0) return "";
  const checks = parents
    .map((p) => {
      const files = p.runDirs.map((d) => shQuote(`${d}/${RUN_FILES.ended}`)).join(" ");
      return `corral_parent_succeeded ${files} || corral_refuse ${shQuote(`dependency ${p.jobId} did not succeed`)}`;
    })
    .join("\n");
  return `# --after parents must have succeeded: the scheduler only waited for them to end.
corral_parent_succeeded() {
  for corral_f in "$@"; do
    corral_good=n
    corral_zero=n
    if [ -r "$corral_f" ]; then
      # A marker counts only once complete (its last line is 'end').
      while IFS= read -r corral_l; do
        case $corral_l in
          status=0) corral_zero=y ;;
          status=*|signal=?*|error=?*|cancelled=?*) break ;;
          end) corral_good=$corral_zero; break ;;
        esac
      done < "$corral_f"
    fi
    [ "$corral_good" = y ] || return 1
  done
  return 0
}
corral_refuse() {
  mkdir -p "$corral_dir"
  # The claim is the exclusive creation of \`started\`; a fence there says the attempt never ran.
  if (set -C; { printf '%s' ${shQuote(fenceMarker("dependency gate"))} > "$corral_dir/${RUN_FILES.started}"; } 2>/dev/null); then
    printf 'status=0\\ncancelled=%s\\nend\\n' "$1" > "$corral_dir/${RUN_FILES.ended}"
  fi
  exit 0
}
${checks}
`;
}
