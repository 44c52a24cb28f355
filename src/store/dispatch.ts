import { ACTIVE_ATTEMPTS_SQL, WAITING_STATES_SQL } from "./rows.js";
import type { Store } from "./store.js";

/** What a scheduler engine reads to decide what to hand its scheduler next. */

export interface ReadyTask {
  job_id: number;
  idx: number;
  state: "pending" | "queued";
  attempts: number;
  time_limit_s: number | null;
  mem_mb: number | null;
}

/**
 * Waiting tasks of an engine's jobs (not held) with no attempt under way, by job and index; or of one job.
 * Jobs are found through the partial indexes of queued and of waiting-but-not-held jobs per engine, so held
 * jobs and other engines' jobs cost nothing. CROSS JOIN keeps the jobs outermost: the planner would otherwise
 * walk every waiting task of every engine through the state index.
 */
export function tasksToDispatch(store: Store, engine: string, onlyJob: number | null): ReadyTask[] {
  const oneJob = onlyJob === null ? "" : "AND j.id = ?";
  const sql = `SELECT t.job_id, t.idx, t.state, t.attempts, t.time_limit_s, t.mem_mb
     FROM (SELECT j.id FROM jobs j INDEXED BY jobs_queued_by_engine WHERE j.engine = ? AND j.n_queued > 0 ${oneJob}
           UNION
           SELECT j.id FROM jobs j INDEXED BY jobs_waiting_by_engine WHERE j.engine = ? AND j.n_pending > 0 AND j.held = 0 ${oneJob}) w
       CROSS JOIN tasks t ON t.job_id = w.id
       LEFT JOIN attempts a ON a.job_id = t.job_id AND a.idx = t.idx AND a.n = t.attempts
     WHERE t.state IN ${WAITING_STATES_SQL} AND (a.id IS NULL OR a.state NOT IN ${ACTIVE_ATTEMPTS_SQL})
     ORDER BY t.job_id, t.idx`;
  return store.stmt(sql).all(...(onlyJob === null ? [engine, engine] : [engine, onlyJob, engine, onlyJob])) as ReadyTask[];
}

/** The unfinished tasks of a job with their latest attempt (a parent whose scheduler ids a dependent can wait on). */
export function unfinishedTasksWithAttempt(
  store: Store,
  jobId: number,
): { state: string; engine_id: string | null; run_dir: string | null; attempt_state: string | null }[] {
  return store
    .stmt(
      `SELECT t.state, a.engine_id, a.run_dir, a.state AS attempt_state FROM tasks t
         LEFT JOIN attempts a ON a.job_id = t.job_id AND a.idx = t.idx AND a.n = t.attempts
       WHERE t.job_id = ? AND t.state <> 'succeeded'`,
    )
    .all(jobId) as { state: string; engine_id: string | null; run_dir: string | null; attempt_state: string | null }[];
}
