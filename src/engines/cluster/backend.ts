import type { ConfigTable } from "../../config/project-config.js";
import type { JobSpec } from "../../domain/job.js";
import type { AttemptUsage } from "../../domain/usage.js";
import type { AttemptLaunch } from "../../lifecycle/attempt-files.js";
import type { AttemptRow, JobRow } from "../../store/rows.js";
import type { DoctorLine, EngineCapabilities } from "../engine.js";

/**
 * The contracts of the engines that hand attempts to something else to run: a batch scheduler (Slurm, Grid
 * Engine) or a pool of workers (Redis). Each such backend is one module implementing one of the two interfaces
 * below; everything else (attempts, markers, dependencies, lost jobs, the polling discipline) is shared in
 * TrackedEngine, which never parses a backend's ids itself.
 */

/** A job the backend still has (queued, held, running, completing), in its own words. */
export interface LiveJob {
  readonly state: string;
  /** Whether it is executing now (as opposed to waiting in the queue). */
  readonly running: boolean;
  /** The backend's reason for a waiting job (Resources, Dependency, ...), if it gives one. */
  readonly reason: string | null;
}

/** What corral makes of a backend's record of a job that left the queue. */
export interface AccountingVerdict {
  /**
   * "cancelled": stopped by someone (scancel, qdel); "failed": the scheduler killed it (TIMEOUT,
   * OUT_OF_MEMORY, NODE_FAIL, PREEMPTED...); "ended": it ended by itself, and the markers tell how; "lost": what
   * ran it is gone (a worker stopped answering), so it may run again elsewhere.
   */
  readonly kind: "cancelled" | "failed" | "ended" | "lost";
  /** The backend's keyword, such as TIMEOUT or OUT_OF_MEMORY, or CANCELLED. */
  readonly keyword: string;
  /** The record as the backend printed it, to quote in the reason. */
  readonly detail: string;
  /**
   * What the attempt used and was granted, as the record tells (a figure it lacks is null, never 0). Given
   * only once the record is complete (the job finished in accounting, its batch step written): until then it
   * is left out, and the attempt is asked about again on later refreshes while its usage is awaited
   * (attempts.usage_due), since accounting may lag the end.
   */
  readonly usage?: AttemptUsage;
}

/** One call that submits some tasks of one attempt generation of one job. */
export interface SubmissionRequest {
  readonly job: JobRow;
  readonly attemptN: number;
  /** corral task index = backend array index + offset. */
  readonly offset: number;
  /** The backend's array specification (relative indices), or null for a single task. */
  readonly range: string | null;
  /** The corral index of a single-task submission. */
  readonly singleIndex: number | null;
  /** The corral indices this call submits. */
  readonly indices: readonly number[];
  readonly cap: number | null;
  /** Backend job ids this one must wait for: after success, and after any end. */
  readonly afterOk: readonly string[];
  readonly afterAny: readonly string[];
  /** The project's folder (.corral) and tag. */
  readonly projectDir: string;
  readonly tag: string;
  /** Project tag, job, attempt and offset, for the backend's comment, so the job can be found again. */
  readonly comment: string;
  /** Where the scheduler writes the script's own output (normally empty: the job's is in the run directory). */
  readonly logDir: string;
  /** The backend's table in .corral/config.toml, for the keys corral interprets itself (Grid Engine's pe). */
  readonly settings: ConfigTable;
  /** Which variant of the scheduler answered the probe (PBS Professional or Torque), or null. */
  readonly dialect: string | null;
}

/** What a backend tells about the project's attempts in ONE call (a listing, or the new part of an event log). */
export interface Observation {
  /** Jobs it still has, by task id. */
  readonly live: Map<string, LiveJob>;
  /** Tasks that carry a corral comment, to adopt a launch interrupted before its id was recorded. */
  readonly comments: Map<string, string>;
  /**
   * Fates the observation itself tells, by task id, so no accounting call is needed: an event log's
   * terminated, aborted and held events; a pool's attempts whose worker stopped answering ("lost").
   */
  readonly fates: Map<string, AccountingVerdict>;
  /** Remote run directories: the attempts (`job.index.attempt`) this observation brought results for. */
  readonly touched?: ReadonlySet<string>;
  /** Event logs: where reading stopped, kept in the store and handed back next time. Undefined: unchanged. */
  readonly cursor?: string | null;
}

/** What an observation is asked about. */
export interface ObserveContext {
  readonly tag: string;
  readonly projectDir: string;
  readonly runsDir: string;
  /** The attempts corral still watches on this backend. */
  readonly attempts: readonly AttemptRow[];
  /** Where the backend's event log was read up to (see Observation.cursor), or null. */
  readonly cursor: string | null;
  /** Which variant of the scheduler answered the probe (see ProbeResult.dialect), or null. */
  readonly dialect: string | null;
  /** The worker tags a job's tasks need. */
  jobTags(jobId: number): readonly string[];
}

export interface ProbeResult {
  readonly usable: boolean;
  readonly lines: DoctorLine[];
  /** The largest array index the backend accepts (Slurm: MaxArraySize - 1), or null for no limit we know of. */
  readonly maxArrayIndex: number | null;
  readonly accounting: boolean;
  /**
   * Which variant of the scheduler this is, for a backend that speaks several (PBS: "pro" or "torque"), as
   * detected or as set in its config table; kept with the probe so watching needs no extra call to find out.
   */
  readonly dialect?: string | null;
  /** False when the scheduler cannot cap how many array tasks run at once (an old PBS Professional). */
  readonly arrayCaps?: boolean;
}

/** What every backend does. */
export interface Backend {
  readonly name: string;
  readonly capabilities: EngineCapabilities;
  /** The smallest array index the backend accepts. */
  readonly minArrayIndex: number;
  /** Whether one call can carry only a single start-end:step range (Grid Engine's -t). */
  readonly singleRangeArrays: boolean;
  /** Whether its probe tells which of several dialects it speaks (PBS: Professional or Torque; see ProbeResult.dialect). */
  readonly speaksDialects?: boolean;
  /** Whether one call carries only consecutive indices counted from minArrayIndex (HTCondor's `queue N`). */
  readonly arraysFromZero?: boolean;
  /**
   * Whether what attempts used comes with observations (an event log's terminate events: HTCondor) rather
   * than from `account`: attempts whose usage is awaited are then handed to `observe` too, and the usage its
   * `fates` carry is recorded.
   */
  readonly usageInObservation?: boolean;
  /** How long an answer is reused by default (`[cluster] poll_min_age` overrides). */
  readonly pollMinAgeS: number;
  /** Checks binaries, daemons, accounting and limits in one cheap call; `thorough` (doctor) may ask more. */
  probe(projectDir: string, thorough: boolean): ProbeResult;
  /** Refuses resources this backend cannot express (with the flag and what to do), given what the probe found. */
  checkResources(spec: JobSpec, projectDir: string, probe?: ProbeResult): void;
  /** The id of one task as observations and accounting name it. */
  taskId(jobId: string, arrayIndex: number | null): string;
  /** The corral index a task id stands for, given the submission's offset; null when the id does not tell. */
  indexOfTask(taskId: string, offset: number): number | null;
  /** The job id part of a task id (what dependencies name). */
  jobIdOf(taskId: string): string;
  /** Every live job of this project and user, in ONE call (see Observation). */
  observe(ctx: ObserveContext): Observation;
  /**
   * Why the given tasks left the queue, and what they used, in ONE call for all of them where the scheduler
   * allows (keyed by attempt id). Asked about attempts that left without a clean end (for the reason) and about
   * ended ones whose usage is still awaited (for `usage`, with kind "ended" when the record shows a clean end).
   */
  account?(attempts: readonly AttemptRow[], dialect: string | null): Map<number, AccountingVerdict>;
  /** Cancels tasks or jobs (ids as taskId gives them). */
  cancel(taskIds: readonly string[], projectDir: string): void;
  /** Releases tasks the scheduler holds (ids as taskId gives them); tasks not held are left as they are. */
  release?(taskIds: readonly string[], projectDir: string): void;
}

/**
 * A batch scheduler: corral writes each attempt's run directory on a shared filesystem and submits a script
 * whose directives ask for the job's resources, and which hands over to the attempt's wrapper.
 */
export interface BatchScheduler extends Backend {
  /** Arguments from the project's `[name]` table in .corral/config.toml, passed untouched. */
  configArgs(projectDir: string): string[];
  /** The submit script's directive lines (#SBATCH, #$), from the one source `corral render` shares. */
  directives(req: SubmissionRequest): string[];
  /**
   * The variable holding the array index inside a running array task: a name, or a parameter expansion
   * without its `$` (`{A:-$B}`) where the variable depends on the scheduler's dialect.
   */
  readonly arrayIndexVariable: string;
  /** The script's last lines: hand over to the wrapper at "$corral_dir/wrapper.sh". */
  readonly handOver: string;
  /** Submits a script with pass-through arguments; returns the scheduler's job id. Throws SchedulerRejected or SchedulerUnavailable. */
  submit(scriptPath: string, passThrough: readonly string[], req: SubmissionRequest): string;
}

/**
 * A pool of workers on other hosts: each attempt travels whole (command, environment, what `corral job info`
 * says) to a worker that runs it in a folder of its own, and its markers and output come back with observations.
 */
export interface WorkerPool extends Backend {
  /**
   * Queues the attempts; returns one id for the call (taskId turns it into each task's). `inherited` is the
   * environment the job took from the shell that submitted it, which every launch starts from: shared by all
   * the jobs submitted from there, so a pool can keep it once rather than with each task.
   */
  enqueue(req: SubmissionRequest, launches: ReadonlyMap<number, AttemptLaunch>, inherited: Readonly<Record<string, string>>): string;
  /** How many times a task whose worker vanished runs again before the loss counts. */
  lostRetries(projectDir: string): number;
}
