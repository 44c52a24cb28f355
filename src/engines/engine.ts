import type { JobSpec } from "../domain/job.js";
import type { Store } from "../store/store.js";
import type { AttemptRow } from "../store/rows.js";

/**
 * What corral needs from a place that runs jobs. Every engine runs attempts through the same wrapper and
 * reports through the same markers (docs/run-protocol.md); an engine only starts, watches and stops them.
 */
export interface Engine {
  readonly name: string;
  /** Refuses, before anything is recorded, a job this engine could never run. */
  validate(spec: JobSpec, projectDir: string): void;
  /** Makes queued work progress (the local engine: a supervisor runs or is woken). */
  kick(store: Store): void;
  /** Delivers cancellation to attempts already marked `kill_reason = 'cancel'` in the store. */
  cancel(store: Store, attempts: readonly AttemptRow[]): void;
  /** Stops attempts whose records are about to be deleted: nothing will watch them afterwards. */
  abandon(attempts: readonly AttemptRow[]): Promise<void>;
}
