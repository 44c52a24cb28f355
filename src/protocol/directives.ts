import { parseArraySpec } from "../domain/array-spec.js";
import { UsageError } from "../domain/errors.js";

/**
 * How each batch scheduler spells a job's request in its script's directives (#SBATCH, #$, #PBS, #BSUB): the
 * one source that both `corral render` and the engines use, so a rendered script asks for exactly what a
 * submitted one does.
 */
export interface DirectiveJob {
  /** The job's name as the scheduler shows it. */
  readonly name: string;
  readonly cpus: number;
  readonly memMb: number | null;
  readonly timeS: number | null;
  readonly gpus: number;
  readonly queue: string | null;
  /** The scheduler's array range (`1-10:2`) and concurrency cap, or null for a single task. */
  readonly array: { readonly range: string; readonly cap: number | null } | null;
  /** Where the script's own output goes, before the scheduler's suffix (`.../slurm` gives `.../slurm-%j.out`). */
  readonly outputPrefix: string;
  /** corral's comment, so a project finds its own jobs in a listing (engines only). */
  readonly comment?: string;
  /** Ids (or shell variables holding them) of jobs this one waits for: after success, after any end. */
  readonly afterOk?: readonly string[];
  readonly afterAny?: readonly string[];
}

/** Slurm takes minutes or D-HH:MM:SS; it enforces whole minutes, rounding up. The exact form loses nothing. */
export function slurmTime(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const two = (x: number) => String(x).padStart(2, "0");
  return `${d}-${two(h)}:${two(m)}:${two(s)}`;
}

/** HH:MM:SS, as PBS's walltime takes it. */
export function hms(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

/** `afterok:a:b,afterany:c`, the dependency list Slurm's --dependency and PBS's -W depend= share; null for none. */
export function okAnyDependency(afterOk: readonly string[], afterAny: readonly string[]): string | null {
  const parts = [...(afterOk.length ? [`afterok:${afterOk.join(":")}`] : []), ...(afterAny.length ? [`afterany:${afterAny.join(":")}`] : [])];
  return parts.length > 0 ? parts.join(",") : null;
}

/** Slurm: `#SBATCH` lines. */
export function slurmDirectives(j: DirectiveJob): string[] {
  const d = [`--job-name=${j.name}`, ...(j.comment ? [`--comment=${j.comment}`] : []), `--cpus-per-task=${j.cpus}`];
  if (j.array) d.push(`--array=${j.array.range}${j.array.cap ? `%${j.array.cap}` : ""}`, `--output=${j.outputPrefix}-%A_%a.out`);
  else d.push(`--output=${j.outputPrefix}-%j.out`);
  if (j.memMb !== null) d.push(`--mem=${j.memMb}M`);
  if (j.timeS !== null) d.push(`--time=${slurmTime(j.timeS)}`);
  if (j.gpus > 0) d.push(`--gres=gpu:${j.gpus}`);
  if (j.queue !== null) d.push(`--partition=${j.queue}`);
  const dep = okAnyDependency(j.afterOk ?? [], j.afterAny ?? []);
  if (dep) d.push(`--dependency=${dep}`);
  return d.map((x) => `#SBATCH ${x}`);
}

/** The `[sge]` keys that say how this site asks for slots and GPUs. */
export interface SgeSite {
  /** The parallel environment for more than one slot (`-pe smp 4`): its name differs from site to site. */
  readonly pe?: unknown;
  /** The consumable that counts GPUs (`-l gpu=1`). */
  readonly gpu_resource?: unknown;
}

/** Refuses what Grid Engine cannot be asked for without the site's names; null when the request can be spelled. */
export function sgeSiteProblem(site: SgeSite, cpus: number, gpus: number): string | null {
  if (cpus > 1 && typeof site.pe !== "string") {
    return `--cpus ${cpus}: Grid Engine needs a parallel environment for more than one slot; set pe = "smp" (your site's name) under [sge] in .corral/config.toml`;
  }
  if (gpus > 0 && typeof site.gpu_resource !== "string")
    return `--gpus ${gpus}: set gpu_resource = "gpu" (your site's consumable) under [sge] in .corral/config.toml`;
  return null;
}

/** Grid Engine: `#$` lines. `cwd`: start in the submission folder (a rendered script; corral's wrapper changes folder itself). */
export function sgeDirectives(j: DirectiveJob, site: SgeSite, opts: { cwd?: boolean } = {}): string[] {
  const problem = sgeSiteProblem(site, j.cpus, j.gpus);
  if (problem) throw new UsageError(problem);
  const d = [`-N ${j.name}`, "-S /bin/sh", ...(opts.cwd ? ["-cwd"] : []), "-j y", ...(j.comment ? [`-ac corral=${j.comment.replace(/:/g, "/")}`] : [])];
  if (j.array) d.push(`-t ${j.array.range}`, ...(j.array.cap ? [`-tc ${j.array.cap}`] : []), `-o ${j.outputPrefix}-$JOB_ID.$TASK_ID.out`);
  else d.push(`-o ${j.outputPrefix}-$JOB_ID.out`);
  if (j.cpus > 1) d.push(`-pe ${site.pe as string} ${j.cpus}`);
  if (j.gpus > 0) d.push(`-l ${site.gpu_resource as string}=${j.gpus}`);
  if (j.timeS !== null) d.push(`-l h_rt=${j.timeS}`);
  // h_vmem is per slot.
  if (j.memMb !== null) d.push(`-l h_vmem=${Math.ceil(j.memMb / Math.max(1, j.cpus))}M`);
  if (j.queue !== null) d.push(`-q ${j.queue}`);
  const hold = [...(j.afterOk ?? []), ...(j.afterAny ?? [])];
  if (hold.length > 0) d.push(`-hold_jid ${hold.join(",")}`);
  return d.map((x) => `#$ ${x}`);
}

/** The two PBS dialects users meet: PBS Professional / OpenPBS, and Torque. */
export type PbsDialect = "pro" | "torque";

/** `[pbs] dialect`, checked: null when unset (the probe detects it), else "pro" or "torque". */
export function configuredPbsDialect(site: { readonly dialect?: unknown }): PbsDialect | null {
  const d = site.dialect;
  if (d === undefined) return null;
  if (d === "pro" || d === "torque") return d;
  throw new UsageError(`[pbs] dialect: expected "pro" (PBS Professional, OpenPBS) or "torque", not ${JSON.stringify(d)}`);
}

/** Torque's -t takes no step: `1-7:2` becomes `1,3,5,7`, consecutive runs kept as `a-b`. */
export function torqueArrayList(range: string): string {
  const runs: string[] = [];
  const indices = parseArraySpec(range).indices;
  for (let i = 0; i < indices.length; ) {
    let j = i;
    while (j + 1 < indices.length && indices[j + 1] === indices[j]! + 1) j++;
    runs.push(j === i ? String(indices[i]) : `${indices[i]}-${indices[j]}`);
    i = j + 1;
  }
  return runs.join(",");
}

/** PBS Professional's -J: a one-index range is refused (Y must exceed X), so `5` is spelled `5-6:2`. */
export function proArrayRange(range: string): string {
  return /^\d+$/.test(range) ? `${range}-${Number(range) + 1}:2` : range;
}

/**
 * The -W depend= list. Torque waits for a whole array with its own afterokarray/afteranyarray (an id such as
 * `12[].server`); PBS Professional's afterok takes an array's id as it takes any job's.
 */
export function pbsDependency(afterOk: readonly string[], afterAny: readonly string[], dialect: PbsDialect): string | null {
  if (dialect === "pro") return okAnyDependency(afterOk, afterAny);
  const isArray = (id: string) => id.includes("[]");
  const part = (kind: string, ids: readonly string[]) => (ids.length ? [`${kind}:${ids.join(":")}`] : []);
  const parts = [
    ...part(
      "afterok",
      afterOk.filter((x) => !isArray(x)),
    ),
    ...part("afterokarray", afterOk.filter(isArray)),
    ...part(
      "afterany",
      afterAny.filter((x) => !isArray(x)),
    ),
    ...part("afteranyarray", afterAny.filter(isArray)),
  ];
  return parts.length > 0 ? parts.join(",") : null;
}

/**
 * PBS: `#PBS` lines. PBS Professional asks for a chunk (`select=1:ncpus=N:mem=M`) and takes arrays as
 * `-J 1-100:2%8`; Torque asks for `nodes=1:ppn=N,mem=M` and takes arrays as `-t 1,3,5%8`.
 */
export function pbsDirectives(j: DirectiveJob, dialect: PbsDialect = "pro"): string[] {
  // PBS job names are at most 236 characters.
  const d = [`-N ${j.name.slice(0, 236)}`];
  if (dialect === "pro") {
    d.push(`-l ${[`select=1:ncpus=${j.cpus}`, ...(j.memMb !== null ? [`mem=${j.memMb}mb`] : []), ...(j.gpus > 0 ? [`ngpus=${j.gpus}`] : [])].join(":")}`);
  } else {
    d.push(`-l nodes=1:ppn=${j.cpus}${j.gpus > 0 ? `:gpus=${j.gpus}` : ""}${j.memMb !== null ? `,mem=${j.memMb}mb` : ""}`);
  }
  d.push("-j oe");
  if (j.timeS !== null) d.push(`-l walltime=${hms(j.timeS)}`);
  const cap = j.array?.cap ? `%${j.array.cap}` : "";
  if (j.array) d.push(dialect === "pro" ? `-J ${proArrayRange(j.array.range)}${cap}` : `-t ${torqueArrayList(j.array.range)}${cap}`);
  if (j.queue !== null) d.push(`-q ${j.queue}`);
  const dep = pbsDependency(j.afterOk ?? [], j.afterAny ?? [], dialect);
  if (dep) d.push(`-W depend=${dep}`);
  return d.map((x) => `#PBS ${x}`);
}

/** LSF: `#BSUB` lines; arrays as NAME[range]%cap; `waitFor` is a -w condition such as done(a) && ended(b). */
export function lsfDirectives(j: DirectiveJob, waitFor: string | null = null): string[] {
  const name = j.array ? `${j.name}[${j.array.range}]${j.array.cap ? `%${j.array.cap}` : ""}` : j.name;
  // corral's comment goes in the job description (-Jd), which bjobs -o job_description lists.
  const d = [`-J "${name}"`, ...(j.comment ? [`-Jd "${j.comment}"`] : []), `-n ${j.cpus}`, `-o ${j.outputPrefix}.%J.%I.out`];
  if (j.memMb !== null) d.push(`-M ${j.memMb}MB`, `-R "rusage[mem=${j.memMb}MB]"`);
  // -W takes minutes.
  if (j.timeS !== null) d.push(`-W ${Math.ceil(j.timeS / 60)}`);
  if (j.gpus > 0) d.push(`-gpu "num=${j.gpus}"`);
  if (j.queue !== null) d.push(`-q ${j.queue}`);
  if (waitFor) d.push(`-w "${waitFor}"`);
  return d.map((x) => `#BSUB ${x}`);
}

/** HTCondor's hold code for a job over its memory request (CONDOR_HOLD_CODE JobOutOfResources). */
export const HTCONDOR_MEMORY_HOLD = 34;

/**
 * HTCondor: the submit-description commands that ask for a job's resources. HTCondor has no wall-clock limit,
 * so the time limit is a periodic_remove of a job running longer; `removeHeldForMemory` (corral's submissions)
 * also removes a job held for exceeding its memory, so the attempt ends OUT_OF_MEMORY and may retry with more.
 */
export function htcondorRequestLines(j: DirectiveJob, opts: { removeHeldForMemory?: boolean } = {}): string[] {
  const d = [`request_cpus = ${j.cpus}`];
  if (j.memMb !== null) d.push(`request_memory = ${j.memMb}`);
  if (j.gpus > 0) d.push(`request_gpus = ${j.gpus}`);
  const remove = [
    ...(j.timeS !== null ? [`(JobStatus == 2) && (time() - EnteredCurrentStatus > ${j.timeS})`] : []),
    ...(opts.removeHeldForMemory ? [`(JobStatus == 5) && (HoldReasonCode == ${HTCONDOR_MEMORY_HOLD})`] : []),
  ];
  if (remove.length === 1) d.push(`periodic_remove = ${remove[0]}`);
  else if (remove.length > 1) d.push(`periodic_remove = ${remove.map((r) => `(${r})`).join(" || ")}`);
  return d;
}

/** LSF's -w condition for a job's parents: done() waits for success, ended() for any end (an array's id: all its elements). */
export function lsfWaitCondition(afterOk: readonly string[], afterAny: readonly string[]): string | null {
  const parts = [...afterOk.map((id) => `done(${id})`), ...afterAny.map((id) => `ended(${id})`)];
  return parts.length > 0 ? parts.join(" && ") : null;
}
