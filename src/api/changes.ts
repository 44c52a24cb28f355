import type { TaskRef } from "../domain/job.js";
import { buildSelection } from "../domain/selection.js";
import type { Corral } from "./corral.js";

/**
 * A change a face asks for by the words the CLI takes (`12`, `5-9`, `12.4`, `state=failed name~'map*'`), so
 * a dashboard's button and `corral cancel 12.4` go through the same selection rules and the same refusals.
 */
export type Change =
  | { readonly verb: "cancel"; readonly targets: readonly string[] }
  | { readonly verb: "resubmit"; readonly targets: readonly string[]; readonly clean?: boolean }
  | { readonly verb: "release"; readonly targets: readonly string[] }
  | { readonly verb: "mark"; readonly targets: readonly string[]; readonly label: string | null }
  | { readonly verb: "delete"; readonly targets: readonly string[]; readonly keepLogs?: boolean };

export const CHANGE_VERBS = ["cancel", "resubmit", "release", "mark", "delete"] as const satisfies readonly Change["verb"][];

export interface ChangeResult {
  /** What the CLI prints for the same change, on one line. */
  readonly message: string;
  readonly tasks: readonly string[];
  readonly jobs: readonly number[];
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** `cancelled 3 tasks of 1 job: 12`, as `corral cancel` says it. */
export function describeTasks(verb: string, tasks: readonly TaskRef[]): string {
  const jobs = new Set(tasks.map((t) => t.jobId));
  return `${verb} ${plural(tasks.length, "task")} of ${plural(jobs.size, "job")}${jobs.size > 0 && jobs.size <= 20 ? `: ${[...jobs].join(" ")}` : ""}`;
}

/** `deleted 2 jobs: 3 4`, as `corral delete` says it. */
export function describeJobs(verb: string, ids: readonly number[]): string {
  return `${verb} ${plural(ids.length, "job")}${ids.length > 0 && ids.length <= 20 ? `: ${ids.join(" ")}` : ""}`;
}

/** Applies a change through the same Corral calls as the CLI's commands; bad input throws UsageError. */
export async function applyChange(corral: Corral, change: Change): Promise<ChangeResult> {
  const sel = buildSelection({ ids: change.targets });
  const ofTasks = (verb: string, tasks: readonly TaskRef[]): ChangeResult => ({
    message: describeTasks(verb, tasks),
    tasks: tasks.map((t) => `${t.jobId}.${t.index}`),
    jobs: [...new Set(tasks.map((t) => t.jobId))],
  });
  switch (change.verb) {
    case "cancel":
      return ofTasks("cancelled", corral.cancel(sel));
    case "resubmit":
      return ofTasks("resubmitted", corral.resubmit(sel, { clean: change.clean ?? false }));
    case "mark":
      return ofTasks(change.label ? `labelled '${change.label}'` : "cleared the label of", corral.mark(sel, change.label));
    case "release": {
      const jobs = corral.release(sel);
      return { message: describeJobs("released", jobs), tasks: [], jobs };
    }
    case "delete": {
      const jobs = await corral.delete(sel, { keepLogs: change.keepLogs ?? false });
      return { message: describeJobs("deleted", jobs), tasks: [], jobs };
    }
  }
}
