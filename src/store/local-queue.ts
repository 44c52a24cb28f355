import type { AttemptRow } from "./rows.js";

/** A local attempt holds its share of the machine from the moment it is launched: it never waits in a queue. */
const STARTED_SQL = "('launching', 'running')";
import type { Store } from "./store.js";

/** What the local engine's supervisor reads to share out the machine and to enforce limits. */

/** Cpus, memory and GPU devices held by an engine's launching and running attempts. */
export function resourcesInUse(store: Store, engine: string): { cpus: number; mem: number; devices: string[] } {
  const used = store
    .stmt(
      `SELECT coalesce(sum(j.cpus), 0) AS cpus, coalesce(sum(coalesce(j.mem_mb, 0)), 0) AS mem,
              coalesce(group_concat(a.devices), '') AS devices
       FROM attempts a JOIN jobs j ON j.id = a.job_id
       WHERE a.state IN ${STARTED_SQL} AND a.engine = ?`,
    )
    .get(engine) as { cpus: number; mem: number; devices: string };
  return { cpus: used.cpus, mem: used.mem, devices: used.devices.split(",").filter(Boolean) };
}

/**
 * Jobs of an engine with queued tasks, in id order, with their priorities: found by skipping through the
 * (state, job_id) index one job at a time, since a plain DISTINCT would visit every queued task of a large array.
 */
export function jobsWithQueuedTasks(store: Store, engine: string): { id: number; priority: number }[] {
  const next = store.stmt("SELECT job_id FROM tasks WHERE state = 'queued' AND job_id > ? ORDER BY job_id LIMIT 1").pluck();
  const jobOf = store.stmt("SELECT engine, priority FROM jobs WHERE id = ?");
  const out: { id: number; priority: number }[] = [];
  for (let id = next.get(0) as number | undefined; id !== undefined; id = next.get(id) as number | undefined) {
    const job = jobOf.get(id) as { engine: string; priority: number } | undefined;
    if (job?.engine === engine) out.push({ id, priority: job.priority });
  }
  return out;
}

export function runningTaskCount(store: Store, jobId: number): number {
  return store.stmt("SELECT count(*) FROM tasks WHERE job_id = ? AND state = 'running'").pluck().get(jobId) as number;
}

/** The first `limit` queued tasks of a job, in index order, but those already waiting in the launcher's queue. */
export function queuedTasks(store: Store, jobId: number, limit: number): { idx: number; attempts: number }[] {
  return store
    .stmt(
      `SELECT idx, attempts FROM tasks t INDEXED BY tasks_by_state WHERE state = 'queued' AND job_id = ?
         AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.job_id = t.job_id AND a.idx = t.idx AND a.n = t.attempts AND a.state = 'queued')
       ORDER BY idx LIMIT ?`,
    )
    .all(jobId, limit) as { idx: number; attempts: number }[];
}

/** The state, stop request and run directory of each of these attempts; those deleted meanwhile are missing. */
export function attemptStates(store: Store, ids: readonly number[]): Map<number, { state: string; killReason: string | null; runDir: string }> {
  const rows = store.stmt("SELECT id, state, kill_reason, run_dir FROM attempts WHERE id IN (SELECT value FROM json_each(?))").all(JSON.stringify(ids)) as {
    id: number;
    state: string;
    kill_reason: string | null;
    run_dir: string;
  }[];
  return new Map(rows.map((r) => [r.id, { state: r.state, killReason: r.kill_reason, runDir: r.run_dir }]));
}

/** Started attempts of an engine that corral must stop: asked to (kill_reason), or past their time limit at `now`. */
export function attemptsToStop(store: Store, engine: string, now: number): (AttemptRow & { time_limit_s: number | null })[] {
  return store
    .stmt(
      `SELECT a.*, coalesce(t.time_limit_s, j.time_limit_s) AS time_limit_s FROM attempts a JOIN jobs j ON j.id = a.job_id
         JOIN tasks t ON t.job_id = a.job_id AND t.idx = a.idx
       WHERE a.state IN ${STARTED_SQL} AND a.engine = ? AND a.pid IS NOT NULL
         AND (a.kill_reason IS NOT NULL OR (coalesce(t.time_limit_s, j.time_limit_s) IS NOT NULL AND a.started_at + coalesce(t.time_limit_s, j.time_limit_s) < ?))`,
    )
    .all(engine, now) as (AttemptRow & { time_limit_s: number | null })[];
}
