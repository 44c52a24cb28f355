import type { EngineCapabilities } from "../domain/engine-catalog.js";
import type { JobSpec } from "../domain/job.js";
import type { Store } from "../store/store.js";
import type { AttemptRow } from "../store/rows.js";

export type { EngineCapabilities };

/** One line of `corral doctor`: whether an engine is usable here, and if not, what to do. */
export interface DoctorLine {
  readonly engine: string;
  readonly usable: boolean;
  readonly text: string;
}

export interface RefreshOptions {
  /** Ask the scheduler even if another process asked it a moment ago (`corral refresh`). */
  readonly force?: boolean;
  /** Reuse a scheduler answer younger than this (default: `[cluster] poll_min_age`, 5 s); Infinity: markers only. */
  readonly minAgeS?: number;
}

/**
 * What corral needs from a place that runs jobs. Every engine runs attempts through the same wrapper and
 * reports through the same markers (docs/run-protocol.md); an engine only starts, watches and stops them.
 */
export interface Engine {
  readonly name: string;
  readonly capabilities: EngineCapabilities;
  /** Refuses, before anything is recorded, a job this engine could never run (or cannot reach now). */
  validate(spec: JobSpec, projectDir: string, store: Store | null): void;
  /** Makes queued work progress: the local engine starts or wakes its supervisor, a scheduler gets what is ready. */
  kick(store: Store): void;
  /**
   * Submits a job recorded a moment ago right away, so a scheduler's refusal (unknown partition) reaches the
   * user as an error and the job can be taken back. Engines without this start jobs through kick().
   */
  submitJob?(store: Store, jobId: number): void;
  /** Folds in what happened to this engine's attempts: markers, then (rate-limited) the scheduler's view. */
  refresh(store: Store, opts?: RefreshOptions): void;
  /**
   * Delivers cancellation to attempts already marked with a `kill_reason` in the store. A scheduler's engine
   * then asks it once what it took out of its queue, so those are recorded cancelled by the same command.
   */
  cancel(store: Store, attempts: readonly AttemptRow[]): void;
  /** Releases what the scheduler itself holds of these jobs (a user hold, HTCondor's holds): qrls, condor_release. */
  releaseHeld?(store: Store, jobIds: readonly number[]): void;
  /** Stops attempts whose records are about to be deleted: nothing will watch them afterwards. */
  abandon(attempts: readonly AttemptRow[]): Promise<void>;
  /** Whether the engine is usable here, one line each for what was checked. */
  doctor(projectDir: string): DoctorLine[];
}
