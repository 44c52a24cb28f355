import fs from "node:fs";
import path from "node:path";
import { RUN_FILES } from "../protocol/wrapper.js";
import type { Store } from "../store/store.js";
import type { RetryCause } from "../domain/job.js";
import type { AttemptUsage } from "../domain/usage.js";
import { formatDuration, formatMemory } from "../domain/resources.js";
import { lostAttemptsBefore } from "../store/attempts.js";
import { dependenciesOf, jobLifecycleState, jobName } from "../store/jobs.js";
import { settleQueueIsEmpty, takeSettleBatch, waitingJob } from "../store/settle-queue.js";
import { isTerminal } from "../domain/states.js";
import { ACTIVE_ATTEMPTS_SQL, WAITING_STATES_SQL, type AttemptRow, type JobRow, type TaskRow } from "../store/rows.js";
import { runDirFor } from "../protocol/run-dir.js";
import type { StartedMarker } from "../protocol/markers.js";

export interface Outcome {
  readonly state: "succeeded" | "failed" | "cancelled" | "lost";
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly reason: string | null;
  readonly endedAt: number;
  readonly startedAt?: number | null;
  readonly host?: string | null;
  /** What it used, where that is known as it ends (a usage marker); otherwise awaited (see usage_due). */
  readonly usage?: AttemptUsage | null;
}

/**
 * How long after its end an attempt's usage is still awaited: accounting can lag the end by seconds (Slurm's
 * slurmdbd) or more, and a usage marker is written just after the wrapper's `ended`. Past that, what is
 * missing stays unknown. CORRAL_USAGE_WAIT_S overrides it (tests).
 */
export function usageWaitS(): number {
  const v = Number(process.env.CORRAL_USAGE_WAIT_S);
  return Number.isFinite(v) && v >= 0 && process.env.CORRAL_USAGE_WAIT_S !== "" && process.env.CORRAL_USAGE_WAIT_S !== undefined ? v : 600;
}

/**
 * Records how an attempt ended and moves its task on: a failure with retries left puts the task back in
 * the queue (a new attempt follows, the failed one is kept); anything else is the task's final state.
 * Idempotent: an attempt that already ended is left alone, so two processes ingesting the same marker agree.
 * Must run inside a write transaction. Returns false when the attempt had already ended.
 */
export function finishAttempt(store: Store, attempt: AttemptRow, out: Outcome): boolean {
  // An attempt that ended without ever making a request (no requests folder) needs no last look for them.
  const noRequests = !fs.existsSync(path.join(attempt.run_dir, RUN_FILES.requests));
  // An attempt that ran has used something: recorded with its end if known, else awaited from its engine for a
  // while. (CORRAL_USAGE=off measures nothing and awaits nothing: what recording usage costs, for the bench.)
  // One statement, so the usage rollup's triggers (migration 8) count the ended attempt once, with its usage.
  const u = out.usage;
  const awaited = !u && (attempt.started_at !== null || out.startedAt) && process.env.CORRAL_USAGE !== "off";
  const res = store
    .stmt(
      `UPDATE attempts SET state = ?, exit_code = ?, signal = ?, reason = ?, ended_at = ?,
         started_at = coalesce(started_at, ?), host = coalesce(host, ?), requests_done = max(requests_done, ?),
         ${USAGE_SET_SQL}, usage_due = CASE WHEN ? THEN ? ELSE usage_due END
       WHERE id = ? AND state IN ${ACTIVE_ATTEMPTS_SQL}`,
    )
    .run(
      out.state,
      out.exitCode,
      out.signal,
      out.reason,
      out.endedAt / 1000,
      out.startedAt ? out.startedAt / 1000 : null,
      out.host ?? null,
      noRequests ? 1 : 0,
      ...usageParams(u),
      u || awaited ? 1 : 0,
      awaited ? out.endedAt / 1000 + usageWaitS() : null,
      attempt.id,
    );
  if (res.changes === 0) return false;
  const task = store.stmt("SELECT * FROM tasks WHERE job_id = ? AND idx = ?").get(attempt.job_id, attempt.idx) as TaskRow | undefined;
  if (!task) return true;
  // A task already settled while its attempt was still with a scheduler (cancelled because a parent failed)
  // keeps its state and reason; the attempt's own record is all that changes.
  if (task.state === "succeeded" || task.state === "failed" || task.state === "cancelled" || task.state === "lost") return true;
  const now = Date.now() / 1000;
  const cause = causeOf(out);
  if (cause !== null && task.retries_left > 0) {
    const job = store.stmt("SELECT retry_on, escalate, time_limit_s, mem_mb FROM jobs WHERE id = ?").get(task.job_id) as
      | Pick<JobRow, "retry_on" | "escalate" | "time_limit_s" | "mem_mb">
      | undefined;
    if (job && (JSON.parse(job.retry_on) as RetryCause[]).includes(cause)) {
      // The next attempt gets more of what ran out: time after a TIMEOUT, memory after an OOM.
      const factor = JSON.parse(job.escalate) as { time: number; mem: number };
      const time = task.time_limit_s ?? job.time_limit_s;
      const mem = task.mem_mb ?? job.mem_mb;
      const nextTime = cause === "timeout" && time !== null ? Math.ceil(time * factor.time) : task.time_limit_s;
      const nextMem = cause === "oom" && mem !== null ? Math.ceil(mem * factor.mem) : task.mem_mb;
      const grown =
        nextTime !== task.time_limit_s ? `, time ${formatDuration(nextTime!)}` : nextMem !== task.mem_mb ? `, memory ${formatMemory(nextMem!)}` : "";
      store
        .stmt(
          `UPDATE tasks SET state = 'queued', retries_left = retries_left - 1, exit_code = ?, signal = ?, reason = ?, updated_at = ?,
             time_limit_s = ?, mem_mb = ? WHERE job_id = ? AND idx = ?`,
        )
        .run(out.exitCode, out.signal, `retrying after attempt ${attempt.n}: ${out.reason ?? "failed"}${grown}`, now, nextTime, nextMem, task.job_id, task.idx);
      return true;
    }
  }
  store
    .stmt("UPDATE tasks SET state = ?, exit_code = ?, signal = ?, reason = ?, updated_at = ? WHERE job_id = ? AND idx = ?")
    .run(out.state, out.exitCode, out.signal, out.reason, now, task.job_id, task.idx);
  return true;
}

/** Which kind of failure an outcome is, for `retries` with `on`: TIMEOUT and OUT_OF_MEMORY reasons come from engines. */
export function causeOf(out: Outcome): RetryCause | null {
  if (out.state === "lost") return "lost";
  if (out.state !== "failed") return null;
  if (out.reason?.startsWith("TIMEOUT")) return "timeout";
  if (out.reason?.startsWith("OUT_OF_MEMORY")) return "oom";
  return "failed";
}

/** An attempt that provably never ran its command (fenced before the wrapper claimed it): the task simply goes back to the queue. */
export function abandonUnstartedAttempt(store: Store, attempt: AttemptRow, reason: string): void {
  const res = store
    .stmt(`UPDATE attempts SET state = 'lost', reason = ?, ended_at = ? WHERE id = ? AND state IN ${ACTIVE_ATTEMPTS_SQL}`)
    .run(reason, Date.now() / 1000, attempt.id);
  if (res.changes === 0) return;
  store
    .stmt("UPDATE tasks SET state = 'queued', reason = ?, updated_at = ? WHERE job_id = ? AND idx = ? AND state = 'running'")
    .run(`re-queued: ${reason}`, Date.now() / 1000, attempt.job_id, attempt.idx);
}

/**
 * An attempt whose runner vanished (a pool worker killed mid-task): kept in the history as lost, and its task
 * runs again elsewhere, as a new attempt, while fewer than `budget` earlier attempts of the task were lost this
 * way (BullMQ's stalled-job count); beyond it, the loss is the attempt's outcome, and the job's own retries
 * (--retry-on lost) decide.
 */
export function loseAttempt(store: Store, a: AttemptRow, base: Omit<Outcome, "state" | "reason">, why: string, budget: number): void {
  if (lostAttemptsBefore(store, a) >= budget || a.kill_reason !== null) return void finishAttempt(store, a, { ...base, state: "lost", reason: why });
  const res = store
    .stmt(
      `UPDATE attempts SET state = 'lost', reason = ?, ended_at = ?, started_at = coalesce(started_at, ?), host = coalesce(host, ?)
       WHERE id = ? AND state IN ${ACTIVE_ATTEMPTS_SQL}`,
    )
    .run(why, base.endedAt / 1000, base.startedAt ? base.startedAt / 1000 : null, base.host ?? null, a.id);
  if (res.changes === 0) return;
  store
    .stmt("UPDATE tasks SET state = 'queued', reason = ?, updated_at = ? WHERE job_id = ? AND idx = ? AND state IN ('queued', 'running')")
    .run(`re-queued after attempt ${a.n}: ${why}`, Date.now() / 1000, a.job_id, a.idx);
}

/**
 * An attempt that waited in the engine's own queue and was taken back before it started (the local launcher's
 * lanes): it never ran and leaves no trace; its task waits as before, for the attempt of the same number.
 */
export function withdrawQueuedAttempt(store: Store, attempt: AttemptRow): void {
  const res = store.stmt("DELETE FROM attempts WHERE id = ? AND state = 'queued' AND started_at IS NULL").run(attempt.id);
  if (res.changes === 0) return;
  store
    .stmt(`UPDATE tasks SET attempts = ? WHERE job_id = ? AND idx = ? AND attempts = ? AND state IN ${WAITING_STATES_SQL}`)
    .run(attempt.n - 1, attempt.job_id, attempt.idx, attempt.n);
}

/** An attempt's `started` marker arrived: it runs, on that host, with that pid. */
export function markStarted(store: Store, attempt: AttemptRow, started: StartedMarker): void {
  store
    .stmt(
      `UPDATE attempts SET state = 'running', started_at = ?, host = ?, pid = coalesce(pid, ?), pid_start = coalesce(pid_start, ?)
       WHERE id = ? AND state IN ${ACTIVE_ATTEMPTS_SQL}`,
    )
    .run(started.time / 1000, started.host, started.pid, started.pidStart, attempt.id);
  taskRunning(store, attempt.job_id, attempt.idx, Date.now() / 1000);
}

function taskRunning(store: Store, jobId: number, idx: number, now: number): void {
  store
    .stmt(`UPDATE tasks SET state = 'running', reason = NULL, updated_at = ? WHERE job_id = ? AND idx = ? AND state IN ${WAITING_STATES_SQL}`)
    .run(now, jobId, idx);
}

/** A scheduler lists a queued attempt as executing (its `started` marker may not be visible here yet). */
export function markExecuting(store: Store, attempt: AttemptRow, now: number): void {
  const res = store.stmt("UPDATE attempts SET state = 'running' WHERE id = ? AND state = 'queued'").run(attempt.id);
  if (res.changes > 0) taskRunning(store, attempt.job_id, attempt.idx, now);
}

/** Why a task still waits, in its scheduler's words (Resources, Priority, DependencyNeverSatisfied...). */
export function noteWaitingReason(store: Store, attempt: AttemptRow, reason: string): void {
  store
    .stmt(`UPDATE tasks SET reason = ? WHERE job_id = ? AND idx = ? AND state IN ${WAITING_STATES_SQL} AND reason IS NOT ?`)
    .run(reason, attempt.job_id, attempt.idx, reason);
}

/**
 * Records new attempts `n` of some tasks of a job as `launching`, before anything is handed to an engine
 * (write-ahead: a crash can never hide a started job). Only tasks still waiting at attempt n-1 with nothing
 * under way are taken: another process may have dispatched some meanwhile. `running`: the task runs from now
 * (the local engine starts it at once); otherwise it waits in the scheduler's queue. Inside a transaction.
 * Returns the new attempts by task index.
 */
export function recordLaunches(
  store: Store,
  launch: {
    jobId: number;
    n: number;
    engine: string;
    indices: readonly number[];
    running: boolean;
    devices?: (idx: number) => string | null;
    /** The engine is the caller, and takes these in its own queue at once: recorded `queued`, not `launching`. */
    accepted?: boolean;
  },
): Map<number, AttemptRow> {
  const now = Date.now() / 1000;
  const out = new Map<number, AttemptRow>();
  const stillWaiting = store.stmt(STILL_WAITING_SQL);
  const state = launch.accepted ? "queued" : "launching";
  const insert = store.stmt(INSERT_ATTEMPT_SQL);
  const task = store.stmt(launch.running ? TASK_RUNNING_SQL : TASK_DISPATCHED_SQL);
  for (const idx of launch.indices) {
    // The local supervisor reads the queue in the same transaction, so the check only matters to engines that
    // dispatch from more than one process at once; it is cheap next to the insert.
    if (!launch.running && !stillWaiting.get(launch.jobId, idx, launch.n - 1)) continue;
    const runDir = runDirFor(store.runsDir, launch.jobId, idx, launch.n);
    const devices = launch.devices?.(idx) ?? null;
    const id = Number(insert.run(launch.jobId, idx, launch.n, launch.engine, state, runDir, now, devices).lastInsertRowid);
    task.run(launch.n, now, launch.jobId, idx);
    // The row as just inserted, without reading it back (a 100,000-task array is 100,000 reads saved).
    out.set(idx, {
      ...NEW_ATTEMPT,
      id,
      job_id: launch.jobId,
      idx,
      n: launch.n,
      engine: launch.engine,
      run_dir: runDir,
      submitted_at: now,
      devices,
      state,
    });
  }
  return out;
}

const STILL_WAITING_SQL = `SELECT 1 FROM tasks t WHERE t.job_id = ? AND t.idx = ? AND t.state IN ${WAITING_STATES_SQL} AND t.attempts = ?
  AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.job_id = t.job_id AND a.idx = t.idx AND a.n = t.attempts AND a.state IN ${ACTIVE_ATTEMPTS_SQL})`;
const INSERT_ATTEMPT_SQL = `INSERT INTO attempts (job_id, idx, n, engine, state, run_dir, submitted_at, devices) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`;
const TASK_RUNNING_SQL = "UPDATE tasks SET state = 'running', attempts = ?, reason = NULL, updated_at = ? WHERE job_id = ? AND idx = ?";
const TASK_DISPATCHED_SQL = "UPDATE tasks SET attempts = ?, reason = NULL, updated_at = ? WHERE job_id = ? AND idx = ?";
/** The columns of a just-recorded attempt that the insert leaves at their defaults. */
const NEW_ATTEMPT: Omit<AttemptRow, "id" | "job_id" | "idx" | "n" | "engine" | "run_dir" | "submitted_at" | "devices" | "state"> = {
  engine_id: null,
  started_at: null,
  ended_at: null,
  host: null,
  pid: null,
  pid_start: null,
  exit_code: null,
  signal: null,
  reason: null,
  kill_reason: null,
  kill_sent_at: null,
  missing_since: null,
  cpu_s: null,
  max_rss_mb: null,
  alloc_cpus: null,
  alloc_mem_mb: null,
  alloc_time_s: null,
  usage_source: null,
  usage_due: null,
};

/** The engine accepted a launching attempt under this id: it waits in its queue. */
export function recordSubmitted(store: Store, attemptId: number, engineId: string): void {
  store.stmt("UPDATE attempts SET engine_id = ?, state = 'queued' WHERE id = ? AND state = 'launching'").run(engineId, attemptId);
}

/** A launch interrupted before its id was recorded turned out to have reached the engine: adopt that job. */
export function adoptSubmitted(store: Store, attemptId: number, engineId: string): void {
  store.stmt("UPDATE attempts SET engine_id = ?, state = 'queued' WHERE id = ? AND engine_id IS NULL").run(engineId, attemptId);
}

/**
 * The local engine started an attempt's wrapper: its process, which is also its engine id. One that waited in
 * the launcher's queue had left its task queued: the task runs from now. False when there was nothing to record
 * (a refresh marked it started first, or its job was deleted).
 */
export function recordProcessStart(store: Store, s: { id: number; pid: number; pidStart: string | null; at: number; host: string }): boolean {
  const res = store
    .stmt(
      "UPDATE attempts SET state = 'running', pid = ?, pid_start = ?, started_at = ?, host = ?, engine_id = ? WHERE id = ? AND state IN ('launching', 'queued')",
    )
    .run(s.pid, s.pidStart, s.at, s.host, String(s.pid), s.id);
  if (res.changes > 0) {
    store
      .stmt(
        `UPDATE tasks SET state = 'running', reason = NULL, updated_at = ?
         WHERE job_id = (SELECT job_id FROM attempts WHERE id = ?) AND idx = (SELECT idx FROM attempts WHERE id = ?) AND state IN ${WAITING_STATES_SQL}`,
      )
      .run(s.at, s.id, s.id);
  }
  return res.changes > 0;
}

/** A job's label is the one all its tasks share, if they share one; call after changing task labels. */
export function refreshJobLabel(store: Store, jobId: number): void {
  store
    .stmt(
      `UPDATE jobs SET label = (SELECT CASE WHEN count(*) = count(label) AND min(label) = max(label) THEN min(label) END
                                FROM tasks WHERE job_id = jobs.id) WHERE id = ?`,
    )
    .run(jobId);
}

/**
 * Whether an ended attempt of the job left requests corral has not applied yet (corral job spawn --before):
 * its dependents wait for them, so a job it spawned "before" them is in place first.
 */
function hasUnappliedRequests(store: Store, jobId: number): boolean {
  return (
    store
      .stmt(
        `SELECT 1 FROM attempts INDEXED BY attempts_requests_pending WHERE requests_done = 0 AND job_id = ? AND state NOT IN ${ACTIVE_ATTEMPTS_SQL} LIMIT 1`,
      )
      .get(jobId) !== undefined
  );
}

/**
 * Moves waiting jobs on once their dependencies are settled: `after` (ok) parents must all have succeeded,
 * `after-any` parents must have ended in any way. A job whose `after` parent failed, was cancelled or was
 * lost can never run and is cancelled with the reason, which may in turn cancel its own dependents.
 * Held jobs stay pending. Only the jobs the settle queue names are looked at (a parent ended, a job started
 * waiting, was released or got a dependency, a parent's requests were applied): the cost is what changed,
 * not how many jobs wait. Must run inside a write transaction. Returns how many tasks changed.
 */
export function settleDependencies(store: Store): number {
  let changed = 0;
  // Cancelling or queueing a job may end it and so queue its dependents: take batches until none is left.
  for (let batch = takeSettleBatch(store); batch.length > 0; batch = takeSettleBatch(store)) {
    for (const jobId of batch) changed += settleJob(store, jobId);
  }
  return changed;
}

/**
 * Settles whatever the queue still names, in a transaction of its own, and costs one read when it names
 * nothing (the usual case: every change settles in its own transaction). A database upgraded to the settle
 * queue starts with its waiting jobs queued, and this is where they are first looked at.
 */
export function settleLeftovers(store: Store): number {
  if (settleQueueIsEmpty(store)) return 0;
  return store.write(() => settleDependencies(store));
}

function settleJob(store: Store, jobId: number): number {
  const job = waitingJob(store, jobId);
  if (!job || job.n_pending === 0) return 0;
  let ready = true;
  let blocker: string | null = null;
  for (const dep of dependenciesOf(store, jobId)) {
    const parentState = jobLifecycleState(store, dep.parent_id);
    if (parentState === null) {
      blocker = `dependency ${dep.parent_id} was deleted`;
      break;
    }
    if (!isTerminal(parentState) || hasUnappliedRequests(store, dep.parent_id)) ready = false;
    else if (dep.kind !== "any" && parentState !== "succeeded") {
      blocker =
        dep.kind === "group"
          ? `the priority group before it did not succeed: job ${dep.parent_id} (${jobName(store, dep.parent_id) ?? "?"}) ${parentState}`
          : `dependency ${dep.parent_id} ${parentState}`;
      break;
    }
  }
  const now = Date.now() / 1000;
  if (blocker !== null) {
    const n = store
      .stmt("UPDATE tasks SET state = 'cancelled', reason = ?, updated_at = ? WHERE job_id = ? AND state = 'pending'")
      .run(blocker, now, jobId).changes;
    // Tasks already handed to a scheduler with a native dependency: their engine withdraws them.
    store.stmt(`UPDATE attempts SET kill_reason = 'dependency' WHERE job_id = ? AND state IN ${ACTIVE_ATTEMPTS_SQL} AND kill_reason IS NULL`).run(jobId);
    return n;
  }
  if (ready && job.held === 0) {
    return store.stmt("UPDATE tasks SET state = 'queued', reason = NULL, updated_at = ? WHERE job_id = ? AND state = 'pending'").run(now, jobId).changes;
  }
  return 0;
}

/**
 * Records what an attempt used. Figures already known are kept, so a late accounting record fills in only
 * what was missing, and a figure that is unknown stays unknown (null), never 0. `settled`: nothing more is
 * awaited for it (the record was complete), so later refreshes stop asking.
 */
export function recordUsage(store: Store, attemptId: number, usage: AttemptUsage, settled: boolean): void {
  store
    .stmt(`UPDATE attempts SET ${USAGE_SET_SQL}, usage_due = CASE WHEN ? THEN NULL ELSE usage_due END WHERE id = ?`)
    .run(...usageParams(usage), settled ? 1 : 0, attemptId);
}

/** Usage fills in only what is not known yet: a late record never overwrites an earlier one. */
const USAGE_SET_SQL = `cpu_s = coalesce(cpu_s, ?), max_rss_mb = coalesce(max_rss_mb, ?), alloc_cpus = coalesce(alloc_cpus, ?),
  alloc_mem_mb = coalesce(alloc_mem_mb, ?), alloc_time_s = coalesce(alloc_time_s, ?), usage_source = coalesce(usage_source, ?)`;

function usageParams(u: AttemptUsage | null | undefined): (number | string | null)[] {
  return [u?.cpuS ?? null, u?.maxRssMb ?? null, u?.allocCpus ?? null, u?.allocMemMb ?? null, u?.allocTimeS ?? null, u?.source ?? null];
}

/** Stops awaiting the usage of an engine's attempts whose wait is over: what is missing stays unknown. */
export function giveUpAwaitedUsage(store: Store, engine: string, now: number): void {
  store
    .stmt("UPDATE attempts INDEXED BY attempts_awaiting_usage SET usage_due = NULL WHERE engine = ? AND usage_due IS NOT NULL AND usage_due < ?")
    .run(engine, now);
}
