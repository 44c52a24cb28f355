import type { JobSpec } from "../domain/job.js";
import { activeAttemptsOfJob, activeAttemptsOfTask, runDirsOfTask } from "../store/attempts.js";
import { dependentsOf, insertJobRows, jobExists } from "../store/jobs.js";
import { WAITING_STATES_SQL, type AttemptRow } from "../store/rows.js";
import type { Store } from "../store/store.js";
import { UsageError } from "../domain/errors.js";
import { refreshJobLabel, settleDependencies } from "./transitions.js";

/**
 * What users do to jobs (submit, cancel, resubmit, release, mark, delete) as changes of the store, each in one
 * transaction that also moves dependencies on. Engines are told afterwards by the API.
 */

export interface TaskKey {
  readonly jobId: number;
  readonly index: number;
}

/** Unknown parents are a usage error, not a job that waits forever. Read-only. */
export function checkParentsExist(store: Store | null, spec: JobSpec): void {
  for (const id of [...spec.after, ...spec.afterAny, ...spec.afterGroup]) {
    if (!store || !jobExists(store, id)) throw new UsageError(`--after${spec.afterAny.includes(id) ? "-any" : ""} ${id}: there is no job ${id}`);
  }
}

/** Records a job with its tasks and dependencies in one transaction (a savepoint inside the caller's); returns its id. */
export function recordJob(store: Store, spec: JobSpec, command: string): number {
  return recordJobs(store, [{ spec, command }])[0]!;
}

/**
 * Records many jobs in one transaction: all of them or, if one names a parent that does not exist, none. A job
 * may wait for one recorded before it in the same call. Returns their ids in order.
 */
export function recordJobs(store: Store, jobs: readonly { spec: JobSpec; command: string }[]): number[] {
  return store.write(() => {
    let waits = false;
    const ids = jobs.map(({ spec, command }) => {
      checkParentsExist(store, spec);
      const waitsHere = spec.hold || spec.after.length > 0 || spec.afterAny.length > 0 || spec.afterGroup.length > 0;
      waits ||= waitsHere;
      return insertJobRows(store, spec, command, waitsHere ? "pending" : "queued");
    });
    if (waits) settleDependencies(store);
    return ids;
  });
}

/**
 * Cancels tasks that have not ended. A task with an attempt under way (running here, or waiting in a scheduler's
 * queue) is stopped through its engine, and ends when the engine confirms: its attempts are marked and returned
 * for the API to hand to their engines. One that never went anywhere is cancelled at once. Dependents follow.
 */
export function cancelTasks(store: Store, tasks: readonly TaskKey[]): AttemptRow[] {
  const now = Date.now() / 1000;
  return store.write(() => {
    const attempts: AttemptRow[] = [];
    const mark = store.stmt("UPDATE attempts SET kill_reason = 'cancel', kill_sent_at = NULL WHERE id = ?");
    for (const t of tasks) {
      const rows = activeAttemptsOfTask(store, t.jobId, t.index);
      for (const a of rows) {
        mark.run(a.id);
        attempts.push({ ...a, kill_reason: "cancel", kill_sent_at: null });
      }
      if (rows.length === 0) {
        store
          .stmt(
            `UPDATE tasks SET state = 'cancelled', reason = 'cancelled by user', updated_at = ? WHERE job_id = ? AND idx = ? AND state IN ${WAITING_STATES_SQL}`,
          )
          .run(now, t.jobId, t.index);
      }
    }
    settleDependencies(store);
    return attempts;
  });
}

/**
 * Puts ended tasks back to wait for a new attempt, with their retries renewed; earlier attempts stay in the
 * history. Jobs that were cancelled only because one of these failed come back to wait for it. With
 * `withRunDirs`, returns the earlier attempts' run directories (for `--clean`).
 */
export function resubmitTasks(store: Store, tasks: readonly TaskKey[], opts: { withRunDirs?: boolean } = {}): string[] {
  const now = Date.now() / 1000;
  return store.write(() => {
    const dirs: string[] = [];
    const jobs = new Set<number>();
    for (const t of tasks) {
      store
        .stmt(
          `UPDATE tasks SET state = 'pending', label = NULL, exit_code = NULL, signal = NULL, reason = 'resubmitted', updated_at = ?,
             retries_left = (SELECT retries FROM jobs WHERE id = ?) WHERE job_id = ? AND idx = ?`,
        )
        .run(now, t.jobId, t.jobId, t.index);
      jobs.add(t.jobId);
      if (opts.withRunDirs) dirs.push(...runDirsOfTask(store, t.jobId, t.index));
    }
    for (const id of jobs) refreshJobLabel(store, id);
    reviveDependents(store, [...jobs], now);
    settleDependencies(store);
    return dirs;
  });
}

/** Jobs cancelled because a parent failed get another chance when that parent is resubmitted (transitively). */
function reviveDependents(store: Store, parents: number[], now: number): void {
  const seen = new Set(parents);
  const queue = [...parents];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const child of dependentsOf(store, parent)) {
      const revived = store
        .stmt(
          "UPDATE tasks SET state = 'pending', reason = 'waiting for a resubmitted dependency', updated_at = ? WHERE job_id = ? AND state = 'cancelled' AND reason LIKE 'dependency %'",
        )
        .run(now, child).changes;
      if (revived > 0 && !seen.has(child)) {
        seen.add(child);
        queue.push(child);
      }
    }
  }
}

/** Takes jobs out of hold, letting them run once their dependencies allow. */
export function releaseJobs(store: Store, ids: readonly number[]): void {
  store.write(() => {
    const release = store.stmt("UPDATE jobs SET held = 0 WHERE id = ?");
    for (const id of ids) release.run(id);
    settleDependencies(store);
  });
}

/** Sets (or with null, clears) a user label on tasks, and the label their jobs show. Inside or outside a transaction. */
export function labelTasks(store: Store, tasks: readonly TaskKey[], label: string | null): void {
  store.write(() => {
    const set = store.stmt("UPDATE tasks SET label = ? WHERE job_id = ? AND idx = ?");
    for (const t of tasks) set.run(label, t.jobId, t.index);
    for (const id of new Set(tasks.map((t) => t.jobId))) refreshJobLabel(store, id);
  });
}

/**
 * Removes jobs; jobs that needed a deleted one to succeed are cancelled, not left waiting forever. Returns the
 * attempts still under way, for their engines to stop (nothing will watch them afterwards).
 */
export function deleteJobs(store: Store, ids: readonly number[]): AttemptRow[] {
  return store.write(() => {
    const attempts: AttemptRow[] = [];
    const now = Date.now() / 1000;
    for (const id of ids) {
      attempts.push(...activeAttemptsOfJob(store, id));
      store
        .stmt(
          `UPDATE tasks SET state = 'cancelled', reason = ?, updated_at = ?
           WHERE state = 'pending' AND job_id IN (SELECT job_id FROM dependencies WHERE parent_id = ? AND kind <> 'any')`,
        )
        .run(`dependency ${id} was deleted`, now, id);
      store.stmt("DELETE FROM jobs WHERE id = ?").run(id);
    }
    settleDependencies(store);
    return attempts;
  });
}

/** Takes back a job an engine refused right after it was recorded: nothing is left of it. */
export function takeBackJob(store: Store, id: number): void {
  store.write(() => store.stmt("DELETE FROM jobs WHERE id = ?").run(id));
}
