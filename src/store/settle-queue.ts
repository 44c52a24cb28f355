import type { Store } from "./store.js";

/**
 * The jobs whose dependencies may have become settled (migration 6 keeps the list by triggers). Taking a
 * batch removes it from the queue in the caller's transaction: if the settle that follows is rolled back,
 * so is the removal.
 */
export function takeSettleBatch(store: Store, limit = 1000): number[] {
  const ids = store.stmt("SELECT job_id FROM settle_queue ORDER BY job_id LIMIT ?").pluck().all(limit) as number[];
  if (ids.length === 0) return ids;
  store.stmt("DELETE FROM settle_queue WHERE job_id <= ?").run(ids[ids.length - 1]);
  return ids;
}

/** What settling needs of a job: whether it is held and whether it still has waiting tasks. */
export function waitingJob(store: Store, id: number): { held: number; n_pending: number } | undefined {
  return store.stmt("SELECT held, n_pending FROM jobs WHERE id = ?").get(id) as { held: number; n_pending: number } | undefined;
}

/** Whether any job waits to be looked at (outside a settle, only after an upgrade or an interrupted write). */
export function settleQueueIsEmpty(store: Store): boolean {
  return store.stmt("SELECT 1 FROM settle_queue LIMIT 1").get() === undefined;
}
