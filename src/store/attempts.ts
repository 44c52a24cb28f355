import { ACTIVE_ATTEMPTS_SQL, type AttemptRow } from "./rows.js";
import type { Store } from "./store.js";

/**
 * Attempt rows, apart from their state transitions (lifecycle/transitions.ts): what engines read about
 * attempts and the bookkeeping they keep on them (scheduler ids, kills delivered, missing since).
 */

export function attemptById(store: Store, id: number): AttemptRow | undefined {
  return store.stmt("SELECT * FROM attempts WHERE id = ?").get(id) as AttemptRow | undefined;
}

/** Attempts not yet ended, oldest first; only these are ever looked at again. */
export function activeAttempts(store: Store, engine?: string): AttemptRow[] {
  const sql = `SELECT * FROM attempts WHERE state IN ${ACTIVE_ATTEMPTS_SQL}${engine ? " AND engine = ?" : ""} ORDER BY id`;
  return (engine ? store.stmt(sql).all(engine) : store.stmt(sql).all()) as AttemptRow[];
}

/** Whether any attempt of the engine is not yet ended (read from the state index alone). */
export function hasActiveAttempts(store: Store, engine: string): boolean {
  return store.stmt(`SELECT EXISTS (SELECT 1 FROM attempts WHERE state IN ${ACTIVE_ATTEMPTS_SQL} AND engine = ?)`).pluck().get(engine) === 1;
}

export function activeAttemptsOfTask(store: Store, jobId: number, index: number): AttemptRow[] {
  return store.stmt(`SELECT * FROM attempts WHERE job_id = ? AND idx = ? AND state IN ${ACTIVE_ATTEMPTS_SQL}`).all(jobId, index) as AttemptRow[];
}

export function activeAttemptsOfJob(store: Store, jobId: number): AttemptRow[] {
  return store.stmt(`SELECT * FROM attempts WHERE job_id = ? AND state IN ${ACTIVE_ATTEMPTS_SQL}`).all(jobId) as AttemptRow[];
}

/** The state of one attempt of a task (null when there is no such attempt). */
export function attemptState(store: Store, jobId: number, index: number, n: number): string | null {
  return (store.stmt("SELECT state FROM attempts WHERE job_id = ? AND idx = ? AND n = ?").pluck().get(jobId, index, n) as string | undefined) ?? null;
}

/** Every run directory a task's attempts had. */
export function runDirsOfTask(store: Store, jobId: number, index: number): string[] {
  return store.stmt("SELECT run_dir FROM attempts WHERE job_id = ? AND idx = ?").pluck().all(jobId, index) as string[];
}

/** How many earlier attempts of a task were lost (a worker pool re-runs a lost task up to a budget). */
export function lostAttemptsBefore(store: Store, attempt: AttemptRow): number {
  return store
    .stmt("SELECT count(*) FROM attempts WHERE job_id = ? AND idx = ? AND id <> ? AND state = 'lost'")
    .pluck()
    .get(attempt.job_id, attempt.idx, attempt.id) as number;
}

/** Active attempts of an engine that corral decided to kill and whose kill the engine has not been sent yet. */
export function killsToDeliver(store: Store, engine: string): AttemptRow[] {
  return store
    .stmt(
      `SELECT * FROM attempts WHERE state IN ${ACTIVE_ATTEMPTS_SQL} AND engine = ? AND kill_reason IS NOT NULL AND kill_sent_at IS NULL AND engine_id IS NOT NULL`,
    )
    .all(engine) as AttemptRow[];
}

/** Records that the kill of these attempts was delivered (the first delivery counts). */
export function markKillSent(store: Store, ids: readonly number[], at: number): void {
  const stmt = store.stmt("UPDATE attempts SET kill_sent_at = ? WHERE id = ? AND kill_sent_at IS NULL");
  for (const id of ids) stmt.run(at, id);
}

/** Corral kills an attempt itself (a time limit it enforces, a cancel it delivers): why, and when the signal went. */
export function markKilling(store: Store, id: number, reason: NonNullable<AttemptRow["kill_reason"]>, sentAt: number | null): void {
  store.stmt("UPDATE attempts SET kill_reason = ?, kill_sent_at = ? WHERE id = ?").run(reason, sentAt, id);
}

/** When a scheduler was first seen not to know an attempt that left no end marker (null: it knows it again). */
export function setMissingSince(store: Store, id: number, since: number | null): void {
  store.stmt("UPDATE attempts SET missing_since = ? WHERE id = ?").run(since, id);
}

/** Ended attempts of an engine whose usage is still awaited (a usage marker, or accounting that lags), oldest first. */
export function attemptsAwaitingUsage(store: Store, engine: string, limit = 5000): AttemptRow[] {
  return store
    .stmt("SELECT * FROM attempts INDEXED BY attempts_awaiting_usage WHERE engine = ? AND usage_due IS NOT NULL ORDER BY usage_due LIMIT ?")
    .all(engine, limit) as AttemptRow[];
}
