import os from "node:os";
import { settleDependencies } from "../../lifecycle/transitions.js";
import { beatLease, dropLease, engineHasWork, readLease, writeLease, type LeaseRow } from "../../store/supervisor-lease.js";
import type { Store } from "../../store/store.js";
import { isSameProcessAlive, processStartTime } from "./processes.js";

export { readLease, type LeaseRow };

/** A lease held on another host cannot be checked by pid; it is trusted while its heartbeat is this fresh. */
const REMOTE_LEASE_TTL_S = 60;

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
    writeLease(store, { pid: process.pid, pid_start: processStartTime(process.pid) ?? "", host: os.hostname() }, Date.now() / 1000);
    return true;
  });
}

export function heartbeat(store: Store): void {
  store.write(() => beatLease(store, process.pid, Date.now() / 1000));
}

/** Whether the local engine has anything to run or watch: active local attempts or queued local tasks. */
export function hasLocalWork(store: Store): boolean {
  return engineHasWork(store, "local");
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
    dropLease(store, process.pid);
    return true;
  });
}
