import type { AttemptLaunch } from "../../lifecycle/attempt-files.js";

/** The data of one BullMQ job: one attempt of one task, with everything a worker needs to run it. */
export interface TaskPayload {
  /** The project's tag: the worker sends results to that project's stream. */
  readonly project: string;
  readonly job: number;
  readonly index: number;
  readonly attempt: number;
  readonly name: string;
  /** The worker stops the attempt (TERM, then KILL) once it has run this long. */
  readonly timeLimitS: number | null;
  readonly launch: AttemptLaunch;
}
