import { ACTIVE_ATTEMPT_STATES, TERMINAL_STATES, WAITING_STATES, type AttemptState, type LifecycleState } from "../domain/states.js";

/** Rows as SQLite returns them (snake_case, JSON as text, booleans as 0/1). */
export interface JobRow {
  id: number;
  name: string;
  batch: string | null;
  argv: string;
  script: string | null;
  script_path: string | null;
  cwd: string;
  env_id: number;
  extra_env: string;
  umask: number;
  cpus: number;
  mem_mb: number | null;
  time_limit_s: number | null;
  gpus: number;
  queue: string | null;
  engine: string;
  array_spec: string | null;
  array_cap: number | null;
  retries: number;
  stderr_fails: number;
  held: number;
  metadata: string;
  /** JSON array of scheduler arguments passed through untouched (--sched-arg). */
  sched_args: string;
  /** JSON array of the worker tags the tasks need (Redis engine). */
  tags: string;
  priority: number;
  /** JSON list of the failures that are retried: failed, timeout, oom, lost. */
  retry_on: string;
  /** JSON {time, mem}: factors applied to the next attempt after a TIMEOUT or an OOM. */
  escalate: string;
  def_hash: string | null;
  created_at: number;
  command: string;
  n_tasks: number;
  n_pending: number;
  n_queued: number;
  n_running: number;
  n_succeeded: number;
  n_failed: number;
  n_cancelled: number;
  n_lost: number;
  n_labelled: number;
  label: string | null;
  exit_code: number | null;
  lifecycle_state: LifecycleState;
}

export interface TaskRow {
  job_id: number;
  idx: number;
  state: LifecycleState;
  label: string | null;
  attempts: number;
  retries_left: number;
  exit_code: number | null;
  signal: string | null;
  reason: string | null;
  updated_at: number;
  /** JSON object of a sweep point's parameters. */
  params: string | null;
  time_limit_s: number | null;
  mem_mb: number | null;
}

export type { AttemptState };

/** The domain's state sets as SQL lists, for queries: one source for each set. */
const sqlList = (states: readonly string[]) => `(${states.map((s) => `'${s}'`).join(", ")})`;
export const ACTIVE_ATTEMPTS_SQL = sqlList(ACTIVE_ATTEMPT_STATES);
export const TERMINAL_STATES_SQL = sqlList(TERMINAL_STATES);
export const WAITING_STATES_SQL = sqlList(WAITING_STATES);

export interface AttemptRow {
  id: number;
  job_id: number;
  idx: number;
  n: number;
  engine: string;
  engine_id: string | null;
  state: AttemptState;
  run_dir: string;
  submitted_at: number;
  started_at: number | null;
  ended_at: number | null;
  host: string | null;
  pid: number | null;
  pid_start: string | null;
  exit_code: number | null;
  signal: string | null;
  reason: string | null;
  /**
   * Why corral itself is killing the attempt, so its end is not mistaken for a failure: 'cancel' (the user),
   * 'timeout' (the local engine's time limit), 'dependency' (a parent it needed failed).
   */
  kill_reason: "cancel" | "timeout" | "dependency" | null;
  kill_sent_at: number | null;
  /** GPU device ids handed to the attempt by the local engine (comma-separated). */
  devices: string | null;
  /** When the scheduler was first seen not to know the attempt, which had left no end marker (epoch s). */
  missing_since: number | null;
  /** What it used and was granted (migration 7); null until an engine or its accounting tells. */
  cpu_s: number | null;
  max_rss_mb: number | null;
  alloc_cpus: number | null;
  alloc_mem_mb: number | null;
  alloc_time_s: number | null;
  usage_source: string | null;
  /** Until when (epoch s) its usage is still awaited after it ended; null once recorded or given up. */
  usage_due: number | null;
}
