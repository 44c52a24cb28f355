import { createHash } from "node:crypto";
import type { AttemptLaunch } from "../../lifecycle/attempt-files.js";

/**
 * An attempt's launch as it travels: its environment split in two. What the job inherited from the shell that
 * submitted it, the same for every task of every job submitted from there, is stored once in Redis under
 * `sharedEnv` (SHARED_ENV_PREFIX + a hash of it); the task carries only what differs (corral's variables, the
 * job's --env). A task was 1.8 KB with a typical environment inside it, for each of a 1,000,000-task sweep.
 * A worker that predates this finds no `env` and fails the attempt, rather than run it without its variables.
 */
export interface ShippedLaunch extends Omit<AttemptLaunch, "env"> {
  readonly ownEnv: Readonly<Record<string, string>>;
  readonly sharedEnv: string;
}

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
  readonly launch: ShippedLaunch;
}

export const SHARED_ENV_PREFIX = "corral:env:";
/** How long a shared environment stays in Redis after the last submission that used it. */
export const SHARED_ENV_TTL_S = 30 * 24 * 3600;

/** The Redis key and text of an inherited environment. */
export function sharedEnvironment(inherited: Readonly<Record<string, string>>): { key: string; text: string } {
  const text = JSON.stringify(inherited);
  return { key: SHARED_ENV_PREFIX + createHash("sha256").update(text).digest("hex").slice(0, 32), text };
}

/** A launch for the queue: only the variables whose value is not the inherited one travel with it. */
export function shipLaunch(launch: AttemptLaunch, inherited: Readonly<Record<string, string>>, sharedEnv: string): ShippedLaunch {
  const { env, ...rest } = launch;
  const ownEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (inherited[k] !== v) ownEnv[k] = v;
  // Landing puts every inherited variable back: one the launch had dropped (none does today, each starts from
  // the inherited ones) would come back with it, so such a launch is refused here rather than run wrong.
  for (const k of Object.keys(inherited)) if (!(k in env)) throw new Error(`internal: launch lacks inherited variable ${k}`);
  return { ...rest, ownEnv, sharedEnv };
}

/** The launch whole again: the shared variables, then its own (which win). */
export function landLaunch(launch: ShippedLaunch, shared: Readonly<Record<string, string>>): AttemptLaunch {
  const { ownEnv, sharedEnv: _key, ...rest } = launch;
  return { ...rest, env: { ...shared, ...ownEnv } };
}

/** The launch of a task an older corral queued, which carries its whole environment; null for one of today's. */
export function wholeLaunch(task: TaskPayload): AttemptLaunch | null {
  return "env" in task.launch ? (task.launch as unknown as AttemptLaunch) : null;
}
