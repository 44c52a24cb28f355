import type { Point } from "../domain/params.js";
import type { Store } from "./store.js";

/** Task rows, apart from their state transitions (lifecycle/transitions.ts). */

/** A sweep point's parameters (null for tasks that are not sweep points). */
export function taskParams(store: Store, jobId: number, index: number): Point | null {
  const text = store.stmt("SELECT params FROM tasks WHERE job_id = ? AND idx = ?").pluck().get(jobId, index) as string | null | undefined;
  return text ? (JSON.parse(text) as Point) : null;
}

export function taskExists(store: Store, jobId: number, index: number): boolean {
  return store.stmt("SELECT 1 FROM tasks WHERE job_id = ? AND idx = ?").get(jobId, index) !== undefined;
}

/** The time limit a task's next attempt gets: its own (grown after a TIMEOUT), else its job's. */
export function taskTimeLimit(store: Store, jobId: number, index: number): number | null {
  return store
    .stmt("SELECT coalesce(t.time_limit_s, j.time_limit_s) FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE t.job_id = ? AND t.idx = ?")
    .pluck()
    .get(jobId, index) as number | null;
}
