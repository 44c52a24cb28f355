import type { ConfigTable } from "../../config/project-config.js";
import type { JobSpec } from "../../domain/job.js";
import type { AttemptLaunch } from "../../lifecycle/attempt-files.js";
import type { AttemptRow, JobRow } from "../../store/rows.js";
import type { Store } from "../../store/store.js";
import type { DoctorLine, EngineCapabilities } from "../engine.js";

/** A job the scheduler still has (queued, held, running, completing), in its own words. */
export interface LiveJob {
  readonly state: string;
  /** Whether it is executing now (as opposed to waiting in the queue). */
  readonly running: boolean;
  /** The scheduler's reason for a waiting job (Resources, Dependency, ...), if it gives one. */
  readonly reason: string | null;
}

/** What corral makes of a scheduler's record of a job that left the queue. */
export interface AccountingVerdict {
  /**
   * "cancelled": stopped by someone (scancel, qdel); "failed": the scheduler killed it (TIMEOUT,
   * OUT_OF_MEMORY, NODE_FAIL, PREEMPTED...); "ended": it ended by itself, and the markers tell how; "lost": what
   * ran it is gone (a Redis worker stopped answering), so it may run again elsewhere.
   */
  readonly kind: "cancelled" | "failed" | "ended" | "lost";
  /** The scheduler's keyword, such as TIMEOUT or OUT_OF_MEMORY, or CANCELLED. */
  readonly keyword: string;
  /** The record as the scheduler printed it, to quote in the reason. */
  readonly detail: string;
}

/** One scheduler call that submits some tasks of one attempt generation of one job. */
export interface SubmissionRequest {
  readonly job: JobRow;
  readonly attemptN: number;
  /** corral task index = scheduler array index + offset. */
  readonly offset: number;
  /** The scheduler's array specification (relative indices), or null for a single task. */
  readonly range: string | null;
  /** The corral index of a single-task submission. */
  readonly singleIndex: number | null;
  /** The corral indices this call submits. */
  readonly indices: readonly number[];
  readonly cap: number | null;
  /** Scheduler job ids this one must wait for: after success, and after any end. */
  readonly afterOk: readonly string[];
  readonly afterAny: readonly string[];
  /** The project's folder (.corral) and tag. */
  readonly projectDir: string;
  readonly tag: string;
  /** Project tag, job and attempt, for the scheduler's comment, so the job can be found again. */
  readonly comment: string;
  /** Where the scheduler writes the script's own output (normally empty: the job's is in the run directory). */
  readonly logDir: string;
  /** `[slurm]` / `[sge]` settings and the job's --sched-arg values, passed untouched. */
  readonly passThrough: readonly string[];
  /** The scheduler's table in .corral/config.toml, for the keys corral interprets itself (Grid Engine's pe). */
  readonly settings: ConfigTable;
  /** What each task runs, for schedulers whose attempts run in a folder of their own elsewhere (remoteRunDirs). */
  readonly launches: ReadonlyMap<number, AttemptLaunch> | null;
}

/** A scheduler's answer: its live jobs by task id, and the corral comments it shows. */
export interface Listing {
  readonly live: Map<string, LiveJob>;
  readonly comments: Map<string, string>;
  /** Remote run directories: the attempts (`job.index.attempt`) the listing brought results for. */
  readonly touched?: ReadonlySet<string>;
}

/** What a listing is asked about. */
export interface ListContext {
  readonly store: Store;
  readonly tag: string;
  readonly projectDir: string;
  readonly runsDir: string;
  /** The attempts corral still watches on this scheduler. */
  readonly attempts: readonly AttemptRow[];
}

export interface ProbeResult {
  readonly usable: boolean;
  readonly lines: DoctorLine[];
  /** The largest array index the scheduler accepts (Slurm: MaxArraySize - 1), or null for no limit we know of. */
  readonly maxArrayIndex: number | null;
  readonly accounting: boolean;
}

/**
 * One batch scheduler, as the cluster engine drives it: one module per scheduler implements this, and
 * everything else (attempts, markers, dependencies, lost jobs, polling) is shared in ClusterEngine.
 */
export interface Scheduler {
  readonly name: string;
  readonly capabilities: EngineCapabilities;
  /** The smallest array index the scheduler accepts. */
  readonly minArrayIndex: number;
  /** Whether one call can carry only a single start-end:step range (Grid Engine's -t). */
  readonly singleRangeArrays: boolean;
  /**
   * Attempts run in a run directory of their own on another host (Redis workers), not in corral's: they get
   * their launch in the submission, and their markers and output arrive through listLive, which writes them
   * into corral's run directories before corral reads them.
   */
  readonly remoteRunDirs: boolean;
  /** How many times a task whose runner vanished ("worker lost") runs again before the loss counts. */
  lostRetries?(projectDir: string): number;
  /** How long an answer is reused by default (`[cluster] poll_min_age` overrides). */
  readonly pollMinAgeS: number;
  /** Checks binaries, daemons, accounting and limits in one cheap call; `thorough` (doctor) may ask more. */
  probe(projectDir: string, thorough: boolean): ProbeResult;
  /** Refuses resources this scheduler cannot express (with the flag and what to do). */
  checkResources(spec: JobSpec, projectDir: string): void;
  /** Arguments from the project's `[name]` table in .corral/config.toml. */
  configArgs(projectDir: string): string[];
  /** The submit script's directive lines (#SBATCH, #$). */
  directives(req: SubmissionRequest): string[];
  /** The variable holding the array index inside a running array task. */
  readonly arrayIndexVariable: string;
  /** The script's last lines: hand over to the wrapper at "$corral_dir/wrapper.sh". */
  readonly handOver: string;
  /** Submits a script; returns the scheduler's job id. Throws SchedulerRejected or SchedulerUnavailable. */
  submit(scriptPath: string, req: SubmissionRequest): string;
  /** The id of one task as status and accounting name it. */
  taskId(jobId: string, arrayIndex: number | null): string;
  /** The corral index a task id stands for, when the id itself tells (null: it does not); default: parsed as an array task. */
  indexOfTask?(taskId: string): number | null;
  /** The job id part of a task id (what dependencies name). */
  jobIdOf(taskId: string): string;
  /**
   * Every live job of this project and user, keyed by task id, in ONE call. `comments` maps the tasks
   * that carry a corral comment to it (schedulers that show comments in their listing).
   */
  listLive(ctx: ListContext): Listing;
  /** Why the given tasks left the queue, in at most one call per scheduler job (keyed by attempt id). */
  account(attempts: readonly AttemptRow[]): Map<number, AccountingVerdict>;
  /** Cancels tasks or jobs (ids as taskId gives them). */
  cancel(taskIds: readonly string[], projectDir: string): void;
}
