import os from "node:os";
import { settleDependencies } from "../../lifecycle/transitions.js";
import type { Store } from "../../store/store.js";
import { isSameProcessAlive, processStartTime } from "./processes.js";

export interface LeaseRow {
  pid: number;
  pid_start: string;
  host: string;
  started_at: number;
  heartbeat_at: number;
}

/** A lease held on another host cannot be checked by pid; it is trusted while its heartbeat is this fresh. */
const REMOTE_LEASE_TTL_S = 60;

export function readLease(store: Store): LeaseRow | null {
  return (store.stmt("SELECT * FROM supervisor WHERE id = 1").get() as LeaseRow | undefined) ?? null;
}

export function leaseIsLive(lease: LeaseRow | null): boolean {
  if (!lease) return false;
  if (lease.host !== os.hostname()) return Date.now() / 1000 - lease.heartbeat_at < REMOTE_LEASE_TTL_S;
  return isSameProcessAlive(lease.pid, lease.pid_start);
}

/** Takes the supervisor lease unless a live supervisor holds it. The lease is the lock: one supervisor per database. */
export function acquireLease(store: Store): boolean {
  return store.write(() => {
    const current = readLease(store);
    if (current && current.pid !== process.pid && leaseIsLive(current)) return false;
    const now = Date.now() / 1000;
    store
      .stmt("INSERT OR REPLACE INTO supervisor (id, pid, pid_start, host, started_at, heartbeat_at) VALUES (1, ?, ?, ?, ?, ?)")
      .run(process.pid, processStartTime(process.pid) ?? "", os.hostname(), now, now);
    return true;
  });
}

export function heartbeat(store: Store): void {
  store.write(() => store.stmt("UPDATE supervisor SET heartbeat_at = ? WHERE id = 1 AND pid = ?").run(Date.now() / 1000, process.pid));
}

/** Whether the local engine has anything to run or watch: active local attempts or queued local tasks. */
export function hasLocalWork(store: Store): boolean {
  const row = store
    .stmt(
      `SELECT EXISTS (SELECT 1 FROM attempts WHERE state IN ('launching', 'queued', 'running') AND engine = 'local')
           OR EXISTS (SELECT 1 FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE t.state = 'queued' AND j.engine = 'local') AS busy`,
    )
    .get() as { busy: number };
  return row.busy === 1;
}

/**
 * Gives the lease up only if there is still no work, in the same transaction: a submitter that commits a job
 * first is seen here; one that commits after finds no lease and starts a new supervisor. No job is stranded.
 */
export function releaseLeaseIfIdle(store: Store, force = false): boolean {
  return store.write(() => {
    if (!force) {
      settleDependencies(store); // a dependency that became ready is work too
      if (hasLocalWork(store)) return false;
    }
    store.stmt("DELETE FROM supervisor WHERE id = 1 AND pid = ?").run(process.pid);
    return true;
  });
}
