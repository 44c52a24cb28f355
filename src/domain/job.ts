import type { AttemptUsage } from "./usage.js";
import type { ArraySpec } from "./array-spec.js";
import type { Resources } from "./resources.js";
import type { LifecycleState } from "./states.js";
import type { Point } from "./params.js";

/** Everything needed to create a job; built and validated by the API before the store sees it. */
export interface JobSpec {
  readonly name: string;
  readonly batch: string | null;
  /** The command exactly as given after `--` (for a script job: the arguments after the script). */
  readonly argv: readonly string[];
  /** A script file's content, copied at submission (as sbatch does) so later edits do not change the job. */
  readonly script: { readonly path: string; readonly content: string } | null;
  readonly cwd: string;
  /** The submitting shell's environment (stored once per distinct environment). */
  readonly baseEnv: Readonly<Record<string, string>>;
  /** The job's own `--env` values, applied over baseEnv. */
  readonly env: Readonly<Record<string, string>>;
  readonly umask: number;
  readonly resources: Resources;
  readonly engine: string;
  /** Scheduler arguments passed through untouched. */
  readonly schedArgs: readonly string[];
  /** Worker tags the tasks need (Redis engine), sorted. */
  readonly tags: readonly string[];
  readonly array: ArraySpec | null;
  readonly after: readonly number[];
  readonly afterAny: readonly number[];
  readonly retries: number;
  readonly stderrFails: boolean;
  readonly hold: boolean;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** One task per point, or null. */
  readonly points: readonly Point[] | null;
  readonly afterGroup: readonly number[];
  readonly priority: number;
  readonly retryOn: readonly RetryCause[];
  readonly escalate: { readonly time: number; readonly mem: number };
  readonly defHash: string | null;
}

/** Kinds of failure a job may choose to retry. */
export type RetryCause = "failed" | "timeout" | "oom" | "lost";

export interface AttemptView {
  readonly n: number;
  readonly engine: string;
  readonly engineId: string | null;
  readonly state: string;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly reason: string | null;
  readonly host: string | null;
  readonly pid: number | null;
  readonly submittedAt: string;
  readonly startedAt: string | null;
  readonly endedAt: string | null;
  readonly runDir: string;
  readonly stdout: string;
  readonly stderr: string;
  /** What it used and was granted; each figure null until an engine or its accounting tells. */
  readonly usage: AttemptUsage;
}

export interface TaskView {
  readonly index: number;
  /** The label if one is set, otherwise the lifecycle state. */
  readonly state: string;
  readonly lifecycleState: LifecycleState;
  readonly label: string | null;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly reason: string | null;
  /** A sweep point's parameters. */
  readonly params: Point | null;
  readonly attempts: AttemptView[];
}

export interface JobSummary {
  readonly id: number;
  readonly name: string;
  readonly batch: string | null;
  readonly state: string;
  readonly lifecycleState: LifecycleState;
  readonly label: string | null;
  readonly exitCode: number | null;
  readonly engine: string;
  readonly command: string;
  readonly array: string | null;
  readonly createdAt: string;
  readonly tasks: { readonly total: number; readonly done: number } & Record<LifecycleState, number>;
}

/** A job with everything `corral show` prints above its tasks. */
export interface JobHeader extends JobSummary {
  /** The command exactly as submitted. */
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly script: string | null;
  /** The job's own variables (`--env`); the rest of its environment was inherited from the submitting shell. */
  readonly env: Readonly<Record<string, string>>;
  readonly inheritedEnvCount: number;
  readonly resources: Resources;
  readonly retries: number;
  readonly stderrFails: boolean;
  readonly held: boolean;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly dependencies: readonly { readonly id: number; readonly kind: "ok" | "any" | "group" }[];
}

export interface JobDetail extends JobHeader {
  readonly taskList: TaskView[];
}

/** One task a selection names, with its state now. */
export interface TaskRef {
  readonly jobId: number;
  readonly index: number;
  readonly state: LifecycleState;
  readonly label: string | null;
}
