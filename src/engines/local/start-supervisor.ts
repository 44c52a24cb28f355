import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Store } from "../../store/store.js";
import { hasLocalWork, leaseIsLive, readLease } from "./lease.js";

/**
 * Makes sure a supervisor runs while the local engine has work: wakes the live one (SIGUSR2), or starts
 * one, detached, with its output in `.corral/supervisor.log`, by running `entry` (a script that calls
 * runSupervisor) with `supervisor --db PATH`. Several callers racing here may start several;
 * the lease lets exactly one run and the others exit at once.
 */
export function ensureSupervisor(store: Store, entry: string): void {
  if (!hasLocalWork(store)) return;
  const lease = readLease(store);
  if (lease && leaseIsLive(lease)) {
    if (lease.host === os.hostname()) {
      try {
        process.kill(lease.pid, "SIGUSR2");
      } catch {
        /* it just exited; the next command starts another */
      }
    }
    return;
  }
  const log = fs.openSync(path.join(store.dir, "supervisor.log"), "a", 0o600);
  try {
    const child = spawn(process.execPath, [entry, "supervisor", "--db", store.path], {
      detached: true,
      stdio: ["ignore", log, log],
      cwd: store.dir,
      env: process.env,
    });
    child.unref();
  } finally {
    fs.closeSync(log);
  }
}
