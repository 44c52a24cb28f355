/** Lifecycle states shared by every engine; user labels (`corral mark`) are shown on top of them, never instead of them in logic. */
export const LIFECYCLE_STATES = ["pending", "queued", "running", "succeeded", "failed", "cancelled", "lost"] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

export const TERMINAL_STATES: readonly LifecycleState[] = ["succeeded", "failed", "cancelled", "lost"];
/** What `resubmit` re-runs when no --state is given. */
export const RERUNNABLE_STATES: readonly LifecycleState[] = ["failed", "cancelled", "lost"];

/** Task states that wait for something before running (a dependency or a hold; then a slot). */
export const WAITING_STATES: readonly LifecycleState[] = ["pending", "queued"];

export function isTerminal(s: string): boolean {
  return (TERMINAL_STATES as readonly string[]).includes(s);
}

/** An attempt's states: the three active ones, then how it ended (a task's terminal states). */
export const ACTIVE_ATTEMPT_STATES = ["launching", "queued", "running"] as const;
export type AttemptState = (typeof ACTIVE_ATTEMPT_STATES)[number] | "succeeded" | "failed" | "cancelled" | "lost";

export function isActiveAttempt(s: string): boolean {
  return (ACTIVE_ATTEMPT_STATES as readonly string[]).includes(s);
}

export function isLifecycleState(s: string): s is LifecycleState {
  return (LIFECYCLE_STATES as readonly string[]).includes(s);
}

export type StateCounts = Record<LifecycleState, number>;

export function emptyCounts(): StateCounts {
  return { pending: 0, queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0, lost: 0 };
}

/**
 * A job's state from its tasks: active states win (the job is not over while a task still runs),
 * it is succeeded only when every task is, and otherwise the worst outcome among its tasks.
 */
export function deriveJobState(c: StateCounts): LifecycleState {
  if (c.running > 0) return "running";
  if (c.queued > 0) return "queued";
  if (c.pending > 0) return "pending";
  if (c.failed > 0) return "failed";
  if (c.lost > 0) return "lost";
  if (c.cancelled > 0) return "cancelled";
  return "succeeded";
}

const LABEL_RE = /^[a-z][a-z0-9_-]{0,31}$/;

/** User labels are lower-case words that cannot be mistaken for a lifecycle state. */
export function validateLabel(label: string): string | null {
  if (!LABEL_RE.test(label)) return `label '${label}' must be a lower-case word (a-z, 0-9, _ or -, at most 32 characters)`;
  if (isLifecycleState(label)) return `label '${label}' is a built-in state; pick another word (e.g. 'collected')`;
  return null;
}
