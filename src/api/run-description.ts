import { isTerminal, RERUNNABLE_STATES } from "../domain/states.js";
import type { Plan } from "../workflow/description.js";
import type { Corral } from "./corral.js";

export interface RunEntry {
  readonly name: string;
  readonly id: number;
  readonly note: string;
}

/** What `corral run` did with each job of the file. */
export interface RunReport {
  readonly batch: string;
  readonly created: RunEntry[];
  readonly kept: RunEntry[];
  readonly rerun: RunEntry[];
  /** Jobs whose definition changed since the last run: re-run only with `force`. */
  readonly changed: RunEntry[];
}

const selectJob = (id: number) => ({ ids: [{ kind: "job" as const, id }], states: [], name: null, batch: null, all: false });

/**
 * Submits a description file's plan, or continues it: a job of the batch that was submitted before with the
 * same definition is kept (and its failed, cancelled or lost tasks are re-run, like a rescue DAG); a job
 * whose definition changed is reported, and replaced only with `force`; a new job is submitted. Running it
 * twice submits nothing the second time.
 */
export function runPlan(corral: Corral, plan: Plan, opts: { force?: boolean; cwd?: string } = {}): RunReport {
  const report: RunReport = { batch: plan.batch, created: [], kept: [], rerun: [], changed: [] };
  const ids = new Map<string, number>();
  const waiting = new Set<string>(); // changed and not forced: nothing new may be built on them
  // Every job this run may create is checked before any is submitted, so a refusal (resources an engine cannot
  // give, an engine that is down, tags outside the redis engine) leaves the project as it was.
  for (const job of plan.jobs) {
    const existing = corral.latestDefinedJob(plan.batch, job.name);
    if (!existing || existing.def_hash !== job.hash) corral.check(job.input, opts.cwd);
  }
  for (const job of plan.jobs) {
    const parents = [...job.after, ...job.afterAny, ...job.afterGroup];
    const existing = corral.latestDefinedJob(plan.batch, job.name);
    if (existing && existing.def_hash === job.hash) {
      ids.set(job.name, existing.id);
      if (RERUNNABLE_STATES.includes(existing.lifecycle_state)) {
        const tasks = corral.resubmit(selectJob(existing.id));
        report.rerun.push({ name: job.name, id: existing.id, note: `${tasks.length} task${tasks.length === 1 ? "" : "s"} again` });
      } else report.kept.push({ name: job.name, id: existing.id, note: existing.lifecycle_state });
      continue;
    }
    if ((existing || parents.some((p) => waiting.has(p))) && !opts.force) {
      waiting.add(job.name);
      if (existing) ids.set(job.name, existing.id);
      report.changed.push({ name: job.name, id: existing?.id ?? 0, note: existing ? "definition changed" : "waits for a changed job" });
      continue;
    }
    if (existing && !isTerminal(existing.lifecycle_state)) corral.cancel(selectJob(existing.id));
    const idsOf = (names: readonly string[]) => names.map((n) => ids.get(n)!);
    const id = corral.submit(
      { ...job.input, after: idsOf(job.after), afterAny: idsOf(job.afterAny), afterGroup: idsOf(job.afterGroup), defHash: job.hash },
      opts.cwd,
    );
    ids.set(job.name, id);
    report.created.push({ name: job.name, id, note: existing ? `replaces job ${existing.id}` : "" });
  }
  return report;
}
