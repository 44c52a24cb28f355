import fs from "node:fs";
import { attemptLaunch, type AttemptLaunch } from "../../lifecycle/attempt-files.js";
import type { GateParent } from "../../protocol/dependency-gate.js";
import { environmentOf } from "../../store/environments.js";
import type { AttemptRow } from "../../store/rows.js";
import type { Store } from "../../store/store.js";
import type { SubmissionRequest, WorkerPool } from "./backend.js";
import { TrackedEngine } from "./tracked-engine.js";

/**
 * A pool of workers as a corral engine: attempts travel whole to the pool and run in a folder of each worker's
 * own; their markers and output come back with observations and are written into corral's run directories
 * before corral reads them. A task whose worker vanished runs again elsewhere, up to the pool's budget.
 */
export class PoolEngine extends TrackedEngine<WorkerPool> {
  protected submitChunk(store: Store, req: SubmissionRequest, _attempts: ReadonlyMap<number, AttemptRow>, _gate: GateParent[]): string {
    // The job's folder is the sign it still exists when results arrive; each run directory is made on its first
    // result (thousands of mkdirs off the submission's path).
    fs.mkdirSync(req.logDir, { recursive: true, mode: 0o700 });
    const launches = new Map<number, AttemptLaunch>();
    for (const idx of req.indices) launches.set(idx, attemptLaunch(store, req.job, idx, req.attemptN));
    return this.backend.enqueue(req, launches, environmentOf(store, req.job.env_id));
  }

  protected override lostRetries(projectDir: string): number {
    return this.backend.lostRetries(projectDir);
  }
}
