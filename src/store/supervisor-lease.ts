import { ACTIVE_ATTEMPTS_SQL } from "./rows.js";
import type { Store } from "./store.js";

/** The local engine's supervisor lease: one row, the lock that lets one supervisor run per database. */
export interface LeaseRow {
  pid: number;
  pid_start: string;
  host: string;
  started_at: number;
  heartbeat_at: number;
}

export function readLease(store: Store): LeaseRow | null {
  return (store.stmt("SELECT * FROM supervisor WHERE id = 1").get() as LeaseRow | undefined) ?? null;
}

/** Takes the lease for this process (inside the caller's transaction, after it checked the holder is gone). */
export function writeLease(store: Store, holder: Omit<LeaseRow, "started_at" | "heartbeat_at">, now: number): void {
  store
    .stmt("INSERT OR REPLACE INTO supervisor (id, pid, pid_start, host, started_at, heartbeat_at) VALUES (1, ?, ?, ?, ?, ?)")
    .run(holder.pid, holder.pid_start, holder.host, now, now);
}

export function beatLease(store: Store, pid: number, now: number): void {
  store.stmt("UPDATE supervisor SET heartbeat_at = ? WHERE id = 1 AND pid = ?").run(now, pid);
}

export function dropLease(store: Store, pid: number): void {
  store.stmt("DELETE FROM supervisor WHERE id = 1 AND pid = ?").run(pid);
}

/** Whether an engine has anything to run or watch: active attempts, or queued tasks of its jobs. */
export function engineHasWork(store: Store, engine: string): boolean {
  const row = store
    .stmt(
      `SELECT EXISTS (SELECT 1 FROM attempts WHERE state IN ${ACTIVE_ATTEMPTS_SQL} AND engine = ?)
           OR EXISTS (SELECT 1 FROM jobs j INDEXED BY jobs_queued_by_engine WHERE j.engine = ? AND j.n_queued > 0) AS busy`,
    )
    .get(engine, engine) as { busy: number };
  return row.busy === 1;
}
