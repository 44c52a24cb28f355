import type { AttemptRow } from "./rows.js";
import type { Store } from "./store.js";

/**
 * Requests jobs write into their run directories are applied exactly once: each file's id is recorded in the
 * same transaction that applies it. An attempt's requests are looked for while it runs and once more after it
 * ended (requests_done = 1 then).
 */

/**
 * Attempts whose requests may still hold something new. One not known to have started yet has made no request
 * worth a look (thousands may sit in a queue); one that did is looked at from the refresh that sees it start.
 */
export function attemptsWithOpenRequests(store: Store): AttemptRow[] {
  return store
    .stmt(
      `SELECT * FROM attempts INDEXED BY attempts_requests_pending
        WHERE requests_done = 0 AND (started_at IS NOT NULL OR state NOT IN ('launching', 'queued'))`,
    )
    .all() as AttemptRow[];
}

export function requestApplied(store: Store, id: string): boolean {
  return store.stmt("SELECT 1 FROM applied_requests WHERE id = ?").get(id) !== undefined;
}

export function recordRequestApplied(store: Store, id: string): void {
  store.stmt("INSERT INTO applied_requests (id, applied_at) VALUES (?, ?)").run(id, Date.now() / 1000);
}

/** An ended attempt has no more requests to make: its dependents need not wait for them any more. */
export function markRequestsDone(store: Store, attemptId: number): void {
  store.stmt("UPDATE attempts SET requests_done = 1 WHERE id = ?").run(attemptId);
}
