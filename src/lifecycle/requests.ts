import fs from "node:fs";
import path from "node:path";
import { UsageError } from "../domain/errors.js";
import { isActiveAttempt, validateLabel } from "../domain/states.js";
import { requestProblem, type JobRequest, type SpawnRequest } from "../protocol/request-file.js";
import { RUN_FILES } from "../protocol/wrapper.js";
import { addDependency, getJob, setJobMetadata, waitingJobNamed } from "../store/jobs.js";
import { attemptsWithOpenRequests, markRequestsDone, recordRequestApplied, requestApplied } from "../store/requests.js";
import type { AttemptRow, JobRow } from "../store/rows.js";
import type { Store } from "../store/store.js";
import { labelTasks } from "./operations.js";
import { settleDependencies } from "./transitions.js";

/**
 * Creates the job a running job asked for (`corral job spawn`), inside the caller's transaction, and returns its
 * id. Building and checking a job belongs to the API (it knows the engines), which hands this in: the
 * lifecycle applies requests, it does not decide what a valid job is.
 */
export type Spawner = (store: Store, parent: JobRow, request: SpawnRequest) => number;

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
export function applyJobRequests(store: Store, spawner: Spawner): number {
  const attempts = attemptsWithOpenRequests(store);
  if (attempts.length === 0) return 0;
  const pending: Pending[] = attempts.map((attempt) => ({ attempt, files: readRequests(attempt) }));
  const ended = attempts.filter((a) => !isActiveAttempt(a.state));
  if (pending.every((p) => p.files.length === 0) && ended.length === 0) return 0;
  return store.write(() => {
    let applied = 0;
    for (const { attempt, files } of pending) {
      for (const f of files) {
        if (requestApplied(store, f.id)) continue;
        const problem = requestProblem(f.request) ?? (f.request as { invalid?: string }).invalid ?? null;
        let error = problem;
        if (!problem) {
          try {
            // A savepoint: a request refused halfway (a spawn whose --before names no job) leaves nothing.
            store.write(() => apply(store, attempt, f.request as JobRequest, spawner));
            applied++;
          } catch (err) {
            if (!(err instanceof UsageError)) throw err;
            error = err.message;
          }
        }
        // A refused request says why next to itself; it is not tried again.
        if (error) fs.writeFileSync(`${f.file}.error`, `${error}\n`);
        recordRequestApplied(store, f.id);
      }
    }
    // An attempt that has ended has no more requests to make; its dependents may now go.
    for (const a of ended) markRequestsDone(store, a.id);
    if (ended.length > 0 || applied > 0) settleDependencies(store);
    return applied;
  });
}

function apply(store: Store, attempt: AttemptRow, r: JobRequest, spawner: Spawner): void {
  const job = getJob(store, attempt.job_id);
  if (!job) return;
  if (r.op === "set") {
    setJobMetadata(store, job.id, { ...(JSON.parse(job.metadata) as Record<string, unknown>), [r.key]: r.value });
  } else if (r.op === "mark") {
    if (r.label !== null) {
      const bad = validateLabel(r.label);
      if (bad) throw new UsageError(bad);
    }
    labelTasks(store, [{ jobId: job.id, index: attempt.idx }], r.label);
  } else {
    const id = spawner(store, job, r);
    if (r.before !== undefined) {
      // The named job (still waiting) now waits for this one too.
      const target = waitingJobNamed(store, job.batch, r.before, id);
      if (target === undefined) throw new UsageError(`spawn --before ${r.before}: no waiting job of that name in batch ${job.batch ?? "(none)"}`);
      addDependency(store, target, id, "ok");
    }
  }
}
