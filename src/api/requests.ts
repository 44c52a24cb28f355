import fs from "node:fs";
import path from "node:path";
import { UsageError } from "../domain/errors.js";
import { validateLabel } from "../domain/states.js";
import { refreshJobLabel, settleDependencies } from "../lifecycle/transitions.js";
import { RUN_FILES } from "../protocol/wrapper.js";
import type { Store } from "../store/store.js";
import type { AttemptRow, JobRow } from "../store/rows.js";
import { ACTIVE_ATTEMPT_STATES } from "../store/rows.js";
import { environmentOf } from "../lifecycle/attempt-files.js";
import { getEngine } from "../engines/registry.js";
import { buildJobSpec, insertJob, type SubmitInput } from "./submit.js";

/**
 * Requests a running job makes of corral without opening the database (docs/run-protocol.md): it writes
 * one JSON file per request into `$CORRAL_RUN_DIR/requests/`, under a dot-name first and then renamed to
 * `NAME.json`, so a reader sees it whole or not at all. corral applies each file once (its id is recorded in
 * the same transaction), so a request is never applied twice, whoever reads it and whenever they crash.
 */
export type JobRequest =
  | { op: "set"; key: string; value: unknown }
  | { op: "mark"; label: string | null }
  | { op: "spawn"; command: string[]; name?: string; array?: string; env?: Record<string, string>; cpus?: number | string; mem?: number | string; time?: number | string; gpus?: number | string; queue?: string; engine?: string; retries?: number | string; after?: number[]; before?: string };

/** Checks a request's shape; returns the reason it is refused, or null. */
export function requestProblem(r: unknown): string | null {
  if (!r || typeof r !== "object") return "not a JSON object";
  const q = r as Record<string, unknown>;
  if (q.op === "set") return typeof q.key === "string" && q.key !== "" ? null : "set needs a non-empty string 'key'";
  if (q.op === "mark") return q.label === null || typeof q.label === "string" ? null : "mark needs a string 'label' (or null to clear)";
  if (q.op === "spawn") {
    if (!Array.isArray(q.command) || q.command.length === 0 || !q.command.every((a) => typeof a === "string")) return "spawn needs 'command': a non-empty list of strings";
    if (q.after !== undefined && (!Array.isArray(q.after) || !q.after.every((x) => Number.isInteger(x)))) return "spawn 'after' must be a list of job ids";
    if (q.before !== undefined && typeof q.before !== "string") return "spawn 'before' must be a job name";
    return null;
  }
  return `unknown op ${JSON.stringify(q.op)} (set, mark, spawn)`;
}

interface Pending {
  readonly attempt: AttemptRow;
  readonly files: { id: string; file: string; request: unknown }[];
}

function readRequests(attempt: AttemptRow): Pending["files"] {
  const dir = path.join(attempt.run_dir, RUN_FILES.requests);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const out: Pending["files"] = [];
  for (const name of names.filter((n) => n.endsWith(".json") && !n.startsWith(".")).sort()) {
    const file = path.join(dir, name);
    let request: unknown;
    try {
      request = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (err) {
      request = { invalid: (err as Error).message };
    }
    out.push({ id: `${attempt.id}/${name}`, file, request });
  }
  return out;
}

/**
 * Applies the requests of running attempts and of attempts that ended since the last look. Files are read
 * before the write transaction; each request is applied and recorded in it. Returns how many were applied.
 */
export function applyJobRequests(store: Store): number {
  const attempts = store
    // An attempt not known to have started yet has made no request worth a look (thousands may sit in a queue);
    // one that did is looked at from the refresh that sees it start.
    .stmt(
      `SELECT * FROM attempts INDEXED BY attempts_requests_pending
        WHERE requests_done = 0 AND (started_at IS NOT NULL OR state NOT IN ('launching', 'queued'))`,
    )
    .all() as AttemptRow[];
  if (attempts.length === 0) return 0;
  const pending: Pending[] = attempts.map((attempt) => ({ attempt, files: readRequests(attempt) }));
  const ended = attempts.filter((a) => !ACTIVE_ATTEMPT_STATES.includes(`'${a.state}'`));
  if (pending.every((p) => p.files.length === 0) && ended.length === 0) return 0;
  return store.write(() => {
    let applied = 0;
    for (const { attempt, files } of pending) {
      for (const f of files) {
        if (store.stmt("SELECT 1 FROM applied_requests WHERE id = ?").get(f.id)) continue;
        const problem = requestProblem(f.request) ?? (f.request as { invalid?: string }).invalid ?? null;
        let error = problem;
        if (!problem) {
          try {
            // A savepoint: a request refused halfway (a spawn whose --before names no job) leaves nothing.
            store.write(() => apply(store, attempt, f.request as JobRequest));
            applied++;
          } catch (err) {
            if (!(err instanceof UsageError)) throw err;
            error = err.message;
          }
        }
        // A refused request says why next to itself; it is not tried again.
        if (error) fs.writeFileSync(`${f.file}.error`, `${error}\n`);
        store.stmt("INSERT INTO applied_requests (id, applied_at) VALUES (?, ?)").run(f.id, Date.now() / 1000);
      }
    }
    // An attempt that has ended has no more requests to make; its dependents may now go.
    for (const a of ended) store.stmt("UPDATE attempts SET requests_done = 1 WHERE id = ?").run(a.id);
    if (ended.length > 0 || applied > 0) settleDependencies(store);
    return applied;
  });
}

function apply(store: Store, attempt: AttemptRow, r: JobRequest): void {
  const job = store.stmt("SELECT * FROM jobs WHERE id = ?").get(attempt.job_id) as JobRow | undefined;
  if (!job) return;
  if (r.op === "set") {
    const metadata = { ...(JSON.parse(job.metadata) as Record<string, unknown>), [r.key]: r.value };
    store.stmt("UPDATE jobs SET metadata = ? WHERE id = ?").run(JSON.stringify(metadata), job.id);
  } else if (r.op === "mark") {
    if (r.label !== null) {
      const bad = validateLabel(r.label);
      if (bad) throw new UsageError(bad);
    }
    store.stmt("UPDATE tasks SET label = ? WHERE job_id = ? AND idx = ?").run(r.label, job.id, attempt.idx);
    refreshJobLabel(store, job.id);
  } else {
    spawn(store, job, r);
  }
}

/** A new job in the spawning job's batch, with its environment and working directory unless told otherwise. */
function spawn(store: Store, parent: JobRow, r: Extract<JobRequest, { op: "spawn" }>): void {
  const input: SubmitInput = {
    command: r.command,
    name: r.name,
    batch: parent.batch ?? undefined,
    cwd: parent.cwd,
    env: r.env ?? {},
    inheritEnv: { ...environmentOf(store, parent.env_id), ...(JSON.parse(parent.extra_env) as Record<string, string>) },
    cpus: r.cpus,
    mem: r.mem,
    time: r.time,
    gpus: r.gpus,
    queue: r.queue,
    engine: r.engine ?? parent.engine,
    array: r.array,
    retries: r.retries,
    after: r.after,
    umask: parent.umask,
    metadata: { spawned_by: parent.id },
  };
  const spec = buildJobSpec(input, parent.cwd);
  getEngine(spec.engine).validate(spec, store.dir, store);
  const id = insertJob(store, spec);
  if (r.before !== undefined) {
    // The named job (still waiting) now waits for this one too.
    const target = store
      .stmt("SELECT id FROM jobs WHERE batch IS ? AND name = ? AND id <> ? AND n_pending > 0 ORDER BY id DESC LIMIT 1")
      .pluck()
      .get(parent.batch, r.before, id) as number | undefined;
    if (target === undefined) throw new UsageError(`spawn --before ${r.before}: no waiting job of that name in batch ${parent.batch ?? "(none)"}`);
    store.stmt("INSERT OR IGNORE INTO dependencies (job_id, parent_id, kind) VALUES (?, ?, 'ok')").run(target, id);
  }
}
