import { parseArraySpec } from "../domain/array-spec.js";
import { parseDuration, parseMemory } from "../domain/resources.js";
import { shQuote } from "../protocol/shell-quote.js";
import type { Plan, PlannedJob } from "../workflow/description.js";
import { fillPlaceholders } from "../protocol/command-template.js";

/** A job of a plan as every native form needs it: resources, tasks, and what each task runs. */
export interface NativeJob {
  readonly name: string;
  /** `batch.name`, unique across batches (LSF dependencies and HTCondor node names use it). */
  readonly qualified: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  readonly cpus: number;
  readonly memMb: number | null;
  readonly timeS: number | null;
  readonly gpus: number;
  readonly queue: string | null;
  /** Task indices for arrays and sweeps (null for a single task), with an optional concurrency cap. */
  readonly indices: readonly number[] | null;
  readonly arrayText: string | null;
  readonly cap: number | null;
  /** What a task runs: one argv for all tasks, or one per index for sweeps. */
  readonly argv: readonly string[] | null;
  readonly perTask: ReadonlyMap<number, readonly string[]> | null;
  readonly retries: number;
  readonly after: readonly string[];
  readonly afterAny: readonly string[];
}

export function nativeJobs(plan: Plan): NativeJob[] {
  return plan.jobs.map((j) => nativeJob(plan, j));
}

function nativeJob(plan: Plan, j: PlannedJob): NativeJob {
  const i = j.input;
  const baseArgv = [...(i.script ? [i.script] : []), ...(i.command ?? [])];
  const points = i.points ?? null;
  const array = points ? null : i.array ? parseArraySpec(i.array) : null;
  return {
    name: j.name,
    qualified: `${plan.batch}.${j.name}`,
    cwd: i.cwd ?? ".",
    env: (i.env ?? {}) as Record<string, string>,
    cpus: Number(i.cpus ?? 1),
    memMb: i.mem === undefined ? null : typeof i.mem === "number" ? i.mem : parseMemory(String(i.mem)),
    timeS: i.time === undefined ? null : typeof i.time === "number" ? i.time : parseDuration(String(i.time)),
    gpus: Number(i.gpus ?? 0),
    queue: i.queue ?? null,
    indices: points ? points.map((_, k) => k + 1) : array ? array.indices : null,
    arrayText: points ? `1-${points.length}` : (array?.text.replace(/%\d+$/, "") ?? null),
    cap: array?.cap ?? null,
    argv: points ? null : baseArgv,
    perTask: points ? new Map(points.map((p, k) => [k + 1, fillPlaceholders(baseArgv, p)])) : null,
    retries: Number(i.retries ?? 0),
    // A priority group waits for the group before it to succeed: natively, the same as after.
    after: [...j.after, ...j.afterGroup],
    afterAny: [...j.afterAny],
  };
}

/**
 * The body every native script shares: enter the working directory, export the job's variables, pick the
 * task's command (a sweep point's own arguments) from its index, and run it. `indexExpr` is how the
 * scheduler names the array index (`$SLURM_ARRAY_TASK_ID`, `$SGE_TASK_ID`...).
 */
export function scriptBody(job: NativeJob, indexExpr: string): string {
  const lines = [`cd ${shQuote(job.cwd)} || exit 1`];
  for (const [k, v] of Object.entries(job.env)) lines.push(`export ${k}=${shQuote(v)}`);
  if (job.indices) lines.push(`CORRAL_TASK_ID=${indexExpr}`, "export CORRAL_TASK_ID");
  if (job.perTask) {
    lines.push("case $CORRAL_TASK_ID in");
    for (const [idx, argv] of job.perTask) lines.push(`  ${idx}) set -- ${argv.map(shQuote).join(" ")} ;;`);
    lines.push(`  *) echo "no task $CORRAL_TASK_ID" >&2; exit 2 ;;`, "esac");
  } else lines.push(`set -- ${job.argv!.map(shQuote).join(" ")}`);
  lines.push('exec "$@"');
  return lines.join("\n");
}
