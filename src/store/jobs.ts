import { createHash } from "node:crypto";
import type { JobSpec } from "../domain/job.js";
import type { LifecycleState } from "../domain/states.js";
import type { JobRow } from "./rows.js";
import type { Store } from "./store.js";

/** Job rows: what is recorded about a job, apart from its tasks' progress (see lifecycle/). */

export function getJob(store: Store, id: number): JobRow | undefined {
  return store.stmt("SELECT * FROM jobs WHERE id = ?").get(id) as JobRow | undefined;
}

export function jobExists(store: Store, id: number): boolean {
  return store.stmt("SELECT 1 FROM jobs WHERE id = ?").get(id) !== undefined;
}

export function jobName(store: Store, id: number): string | undefined {
  return store.stmt("SELECT name FROM jobs WHERE id = ?").pluck().get(id) as string | undefined;
}

export function jobLifecycleState(store: Store, id: number): LifecycleState | null {
  return (store.stmt("SELECT lifecycle_state FROM jobs WHERE id = ?").pluck().get(id) as LifecycleState | undefined) ?? null;
}

/** The worker tags a job's tasks need (a JSON array), or null when the job is gone. */
export function jobTags(store: Store, id: number): string[] | null {
  const text = store.stmt("SELECT tags FROM jobs WHERE id = ?").pluck().get(id) as string | undefined;
  return text === undefined ? null : (JSON.parse(text) as string[]);
}

/**
 * Inserts a job with its tasks and dependencies (inside the caller's transaction: lifecycle's recordJob, which
 * also settles what the new job waits for). Tasks start `initial`. Returns the new id.
 */
export function insertJobRows(store: Store, spec: JobSpec, command: string, initial: "pending" | "queued"): number {
  const envId = environmentId(store, spec.baseEnv);
  const now = Date.now() / 1000;
  const r = spec.resources;
  const res = store
    .stmt(
      `INSERT INTO jobs (name, batch, argv, script, script_path, cwd, env_id, extra_env, umask, cpus, mem_mb, time_limit_s, gpus, queue,
                         engine, array_spec, array_cap, retries, stderr_fails, held, metadata, created_at, command, sched_args,
                         priority, retry_on, escalate, def_hash, tags)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      spec.name,
      spec.batch,
      JSON.stringify(spec.argv),
      spec.script?.content ?? null,
      spec.script?.path ?? null,
      spec.cwd,
      envId,
      JSON.stringify(spec.env),
      spec.umask,
      r.cpus,
      r.memMb,
      r.timeLimitS,
      r.gpus,
      r.queue,
      spec.engine,
      spec.array?.text ?? null,
      spec.array?.cap ?? null,
      spec.retries,
      spec.stderrFails ? 1 : 0,
      spec.hold ? 1 : 0,
      JSON.stringify(spec.metadata),
      now,
      command,
      JSON.stringify(spec.schedArgs),
      spec.priority,
      JSON.stringify(spec.retryOn),
      JSON.stringify(spec.escalate),
      spec.defHash,
      JSON.stringify(spec.tags),
    );
  const jobId = Number(res.lastInsertRowid);
  const insertTask = store.stmt("INSERT INTO tasks (job_id, idx, state, retries_left, updated_at, params) VALUES (?, ?, ?, ?, ?, ?)");
  if (spec.points) for (const [i, point] of spec.points.entries()) insertTask.run(jobId, i + 1, initial, spec.retries, now, JSON.stringify(point));
  else for (const idx of spec.array?.indices ?? [1]) insertTask.run(jobId, idx, initial, spec.retries, now, null);
  for (const p of spec.after) addDependency(store, jobId, p, "ok");
  for (const p of spec.afterAny) addDependency(store, jobId, p, "any");
  for (const p of spec.afterGroup) addDependency(store, jobId, p, "group");
  return jobId;
}

/** Environments already stored through this connection, by the captured object (many jobs share one capture). */
const storedEnvironments = new WeakMap<Store, WeakMap<object, number>>();

function environmentId(store: Store, vars: Readonly<Record<string, string>>): number {
  let known = storedEnvironments.get(store);
  if (!known) {
    known = new WeakMap();
    storedEnvironments.set(store, known);
  }
  const hit = known.get(vars);
  // The row is checked, not trusted: a rolled-back transaction may have taken it away again.
  if (hit !== undefined && store.stmt("SELECT 1 FROM environments WHERE id = ?").get(hit)) return hit;
  const envJson = JSON.stringify(vars);
  const envHash = createHash("sha256").update(envJson).digest("hex");
  store.stmt("INSERT OR IGNORE INTO environments (hash, vars) VALUES (?, ?)").run(envHash, envJson);
  const id = store.stmt("SELECT id FROM environments WHERE hash = ?").pluck().get(envHash) as number;
  known.set(vars, id);
  return id;
}

export type DependencyKind = "ok" | "any" | "group";

export function addDependency(store: Store, jobId: number, parentId: number, kind: DependencyKind): void {
  store.stmt("INSERT OR IGNORE INTO dependencies (job_id, parent_id, kind) VALUES (?, ?, ?)").run(jobId, parentId, kind);
}

/** The jobs a job waits for, in id order. */
export function dependenciesOf(store: Store, jobId: number): { parent_id: number; kind: DependencyKind }[] {
  return store.stmt("SELECT parent_id, kind FROM dependencies WHERE job_id = ? ORDER BY parent_id").all(jobId) as { parent_id: number; kind: DependencyKind }[];
}

/** The jobs that wait for a job. */
export function dependentsOf(store: Store, parentId: number): number[] {
  return store.stmt("SELECT job_id FROM dependencies WHERE parent_id = ?").pluck().all(parentId) as number[];
}

export function setJobMetadata(store: Store, jobId: number, metadata: Readonly<Record<string, unknown>>): void {
  store.stmt("UPDATE jobs SET metadata = ? WHERE id = ?").run(JSON.stringify(metadata), jobId);
}

/** The latest job of a batch with this name that a description file submitted (corral run), if any. */
export function latestDefinedJob(store: Store, batch: string, name: string): { id: number; def_hash: string; lifecycle_state: LifecycleState } | undefined {
  return store
    .stmt("SELECT id, def_hash, lifecycle_state FROM jobs WHERE batch = ? AND name = ? AND def_hash IS NOT NULL ORDER BY id DESC LIMIT 1")
    .get(batch, name) as { id: number; def_hash: string; lifecycle_state: LifecycleState } | undefined;
}

/** The newest job submitted from a drop folder with this token (its metadata says so). */
export function jobWithToken(store: Store, batch: string, name: string, token: string): number | undefined {
  return store
    .stmt("SELECT id FROM jobs WHERE batch = ? AND name = ? AND json_extract(metadata, '$.token') = ? ORDER BY id DESC LIMIT 1")
    .pluck()
    .get(batch, name, token) as number | undefined;
}

/** The newest job of a batch with this name that still has waiting tasks (a spawn's --before target). */
export function waitingJobNamed(store: Store, batch: string | null, name: string, exceptId: number): number | undefined {
  return store
    .stmt("SELECT id FROM jobs WHERE batch IS ? AND name = ? AND id <> ? AND n_pending > 0 ORDER BY id DESC LIMIT 1")
    .pluck()
    .get(batch, name, exceptId) as number | undefined;
}

/** The parent fields a scheduler needs to decide whether a dependency can be handed to it natively. */
export function parentForDispatch(store: Store, id: number): Pick<JobRow, "id" | "engine" | "retries" | "lifecycle_state"> | undefined {
  return store.stmt("SELECT id, engine, retries, lifecycle_state FROM jobs WHERE id = ?").get(id) as
    | Pick<JobRow, "id" | "engine" | "retries" | "lifecycle_state">
    | undefined;
}

/** Whether a job counts output on stderr as failure (--stderr-fails). */
export function jobStderrFails(store: Store, id: number): boolean {
  return store.stmt("SELECT stderr_fails FROM jobs WHERE id = ?").pluck().get(id) === 1;
}
