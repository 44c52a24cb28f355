import fs from "node:fs";
import path from "node:path";
import { UsageError } from "../domain/errors.js";
import type { JobDetail, JobSummary } from "../domain/job.js";
import { EVERYTHING, isUnnarrowed, type Selection } from "../domain/selection.js";
import { RERUNNABLE_STATES, TERMINAL_STATES, validateLabel, type LifecycleState } from "../domain/states.js";
import { engineNames, getEngine } from "../engines/registry.js";
import { ingestMarkers } from "../lifecycle/ingest.js";
import { refreshJobLabel, settleDependencies } from "../lifecycle/transitions.js";
import { RUN_FILES } from "../protocol/wrapper.js";
import { defaultDatabasePath, findDatabase } from "../store/locate.js";
import { Store } from "../store/store.js";
import type { AttemptRow } from "../store/rows.js";
import { buildJobSpec, checkDependencies, insertJob, type SubmitInput } from "./submit.js";
import { checkIdsExist, countByBatch, listForDisplay, type DisplayRow, jobDetail, jobsNeedingAttention, listJobs, resolveTasks, type TaskRef } from "./queries.js";

export interface OpenOptions {
  /** Database path (`--db`); defaults to CORRAL_DB, then the nearest `.corral/` up from cwd. */
  readonly db?: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export interface StatusReport {
  readonly batches: { readonly batch: string | null; readonly jobs: number; readonly states: Record<string, number> }[];
  readonly attention: JobSummary[];
}

export interface WaitOptions {
  /** Give up after this many seconds (the result then says timedOut). */
  readonly timeoutS?: number;
  /** Called after every poll with the selected jobs. */
  readonly onProgress?: (jobs: readonly JobSummary[]) => void;
  readonly signal?: AbortSignal;
}

export interface WaitResult {
  readonly jobs: JobSummary[];
  readonly succeeded: boolean;
  readonly timedOut: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The library API: one project database and the operations the CLI offers. Every read first folds new
 * markers into the store, and every change makes sure the engines act on it.
 */
export class Corral {
  readonly store: Store;

  private constructor(store: Store) {
    this.store = store;
  }

  /** Opens the project's database; with `create`, makes `.corral/` in cwd when none is found. Null when there is none. */
  static open(opts: OpenOptions & { create?: boolean; readonly?: boolean } = {}): Corral | null {
    const cwd = opts.cwd ?? process.cwd();
    const env = opts.env ?? process.env;
    const found = findDatabase({ db: opts.db, cwd, env });
    const dbPath = found ?? (opts.create ? defaultDatabasePath(cwd) : null);
    if (dbPath === null) return null;
    if (!fs.existsSync(dbPath) && !opts.create) return null;
    return new Corral(Store.open({ path: dbPath, create: opts.create ?? false, readonly: opts.readonly ?? false }));
  }

  /**
   * Validates (writing nothing on error), records the job, and hands it to its engine. Creates the project's
   * database when there is none yet. Returns the new id with the open project.
   */
  static submit(input: SubmitInput, opts: OpenOptions = {}): { id: number; corral: Corral } {
    const cwd = opts.cwd ?? process.cwd();
    const spec = buildJobSpec(input, cwd);
    const existing = Corral.open({ ...opts, create: false });
    if (!existing) {
      // Everything that can be refused is refused before a database is created.
      checkDependencies(null, spec);
      getEngine(spec.engine).validate(spec, path.join(cwd, ".corral"));
    }
    const corral = existing ?? Corral.open({ ...opts, create: true })!;
    try {
      return { id: corral.submit(input, cwd), corral };
    } catch (err) {
      corral.close();
      throw err;
    }
  }

  /** Submits a job to this project (the library's way to add many jobs over one open database). */
  submit(input: SubmitInput, cwd: string = process.cwd()): number {
    const spec = buildJobSpec(input, cwd);
    const engine = getEngine(spec.engine);
    engine.validate(spec, this.store.dir);
    const id = insertJob(this.store, spec);
    engine.kick(this.store);
    return id;
  }

  close(): void {
    this.store.close();
  }

  /** Folds new markers into the store and makes sure each engine with work is attended to. */
  refresh(): void {
    ingestMarkers(this.store);
    for (const name of engineNames()) getEngine(name).kick(this.store);
  }

  list(sel: Selection = EVERYTHING): JobSummary[] {
    this.refresh();
    return listJobs(this.store, sel);
  }

  /** The rows `corral ls` prints, cheaply (see listForDisplay). */
  listForDisplay(sel: Selection = EVERYTHING): DisplayRow[] {
    this.refresh();
    return listForDisplay(this.store, sel);
  }

  show(id: number): JobDetail {
    this.refresh();
    return jobDetail(this.store, id);
  }

  status(): StatusReport {
    this.refresh();
    const byBatch = new Map<string | null, { jobs: number; states: Record<string, number> }>();
    for (const row of countByBatch(this.store)) {
      const b = byBatch.get(row.batch) ?? { jobs: 0, states: {} };
      b.jobs += row.jobs;
      b.states[row.state] = row.jobs;
      byBatch.set(row.batch, b);
    }
    return {
      batches: [...byBatch.entries()].map(([batch, v]) => ({ batch, ...v })),
      attention: jobsNeedingAttention(this.store),
    };
  }

  /** Blocks until every selected job has ended. Polls fast at first, then backs off to once a second. */
  async wait(sel: Selection = EVERYTHING, opts: WaitOptions = {}): Promise<WaitResult> {
    const deadline = opts.timeoutS === undefined ? Infinity : Date.now() + opts.timeoutS * 1000;
    let delay = 50;
    for (;;) {
      const jobs = this.list(sel);
      opts.onProgress?.(jobs);
      const over = jobs.every((j) => (TERMINAL_STATES as readonly string[]).includes(j.lifecycleState));
      if (over) return { jobs, succeeded: jobs.every((j) => j.lifecycleState === "succeeded"), timedOut: false };
      if (Date.now() >= deadline || opts.signal?.aborted) return { jobs, succeeded: false, timedOut: true };
      await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
      delay = Math.min(1000, delay * 1.5);
    }
  }

  private requireNarrowed(sel: Selection, verb: string): void {
    if (isUnnarrowed(sel) && !sel.all) throw new UsageError(`nothing selected: give job ids, --state, --name or --batch, or --all to ${verb} every job`);
    checkIdsExist(this.store, sel);
  }

  /** Cancels the selected tasks that have not ended: waiting ones at once, running ones by signal. Dependents follow. */
  cancel(sel: Selection): TaskRef[] {
    this.requireNarrowed(sel, "cancel");
    ingestMarkers(this.store);
    const tasks = resolveTasks(this.store, sel, ["pending", "queued", "running"]).filter((t) => !(TERMINAL_STATES as readonly string[]).includes(t.state));
    const now = Date.now() / 1000;
    const signalled = this.store.write(() => {
      const attempts: AttemptRow[] = [];
      for (const t of tasks) {
        if (t.state === "running") {
          const rows = this.store
            .stmt("SELECT * FROM attempts WHERE job_id = ? AND idx = ? AND state IN ('launching', 'queued', 'running')")
            .all(t.jobId, t.index) as AttemptRow[];
          for (const a of rows) {
            this.store.stmt("UPDATE attempts SET kill_reason = 'cancel', kill_sent_at = ? WHERE id = ?").run(a.pid === null ? null : now, a.id);
            attempts.push(a);
          }
        } else {
          this.store
            .stmt("UPDATE tasks SET state = 'cancelled', reason = 'cancelled by user', updated_at = ? WHERE job_id = ? AND idx = ? AND state IN ('pending', 'queued')")
            .run(now, t.jobId, t.index);
        }
      }
      settleDependencies(this.store);
      return attempts;
    });
    for (const [engine, attempts] of groupByEngine(signalled)) getEngine(engine).cancel(this.store, attempts);
    return tasks;
  }

  /**
   * Runs the selected tasks again (failed, cancelled and lost ones unless --state says otherwise) with the same
   * command, environment and resources, as a new attempt; earlier attempts stay in the history. Jobs that were
   * cancelled only because this one failed come back to wait for it. `clean` deletes the earlier attempts' logs.
   */
  resubmit(sel: Selection, opts: { clean?: boolean } = {}): TaskRef[] {
    this.requireNarrowed(sel, "resubmit");
    ingestMarkers(this.store);
    const tasks = resolveTasks(this.store, sel, RERUNNABLE_STATES).filter((t) => (TERMINAL_STATES as readonly string[]).includes(t.state));
    const now = Date.now() / 1000;
    const oldRunDirs = this.store.write(() => {
      const dirs: string[] = [];
      const jobs = new Set<number>();
      for (const t of tasks) {
        this.store
          .stmt(
            `UPDATE tasks SET state = 'pending', label = NULL, exit_code = NULL, signal = NULL, reason = 'resubmitted', updated_at = ?,
               retries_left = (SELECT retries FROM jobs WHERE id = ?) WHERE job_id = ? AND idx = ?`,
          )
          .run(now, t.jobId, t.jobId, t.index);
        jobs.add(t.jobId);
        if (opts.clean) dirs.push(...(this.store.stmt("SELECT run_dir FROM attempts WHERE job_id = ? AND idx = ?").pluck().all(t.jobId, t.index) as string[]));
      }
      for (const id of jobs) refreshJobLabel(this.store, id);
      reviveDependents(this.store, [...jobs], now);
      settleDependencies(this.store);
      return dirs;
    });
    for (const dir of oldRunDirs) {
      fs.rmSync(path.join(dir, RUN_FILES.stdout), { force: true });
      fs.rmSync(path.join(dir, RUN_FILES.stderr), { force: true });
    }
    this.refresh();
    return tasks;
  }

  /** Takes jobs out of hold (`--hold`), letting them run once their dependencies allow. */
  release(sel: Selection): number[] {
    this.requireNarrowed(sel, "release");
    const jobs = listJobs(this.store, sel).map((j) => j.id);
    this.store.write(() => {
      for (const id of jobs) this.store.stmt("UPDATE jobs SET held = 0 WHERE id = ?").run(id);
      settleDependencies(this.store);
    });
    this.refresh();
    return jobs;
  }

  /** Sets (or with null, clears) a user label such as `collected` on the selected tasks. */
  mark(sel: Selection, label: string | null): TaskRef[] {
    if (label !== null) {
      const bad = validateLabel(label);
      if (bad) throw new UsageError(bad);
    }
    this.requireNarrowed(sel, "mark");
    const tasks = resolveTasks(this.store, sel);
    this.store.write(() => {
      for (const t of tasks) this.store.stmt("UPDATE tasks SET label = ? WHERE job_id = ? AND idx = ?").run(label, t.jobId, t.index);
      for (const id of new Set(tasks.map((t) => t.jobId))) refreshJobLabel(this.store, id);
    });
    return tasks;
  }

  /**
   * Removes jobs from the database (and their run directories unless keepLogs). Running attempts are killed
   * first; jobs that needed a deleted one to succeed are cancelled, not left waiting forever.
   */
  async delete(sel: Selection, opts: { keepLogs?: boolean } = {}): Promise<number[]> {
    this.requireNarrowed(sel, "delete");
    ingestMarkers(this.store);
    const ids = listJobs(this.store, sel).map((j) => j.id);
    const running = this.store.write(() => {
      const attempts: AttemptRow[] = [];
      const now = Date.now() / 1000;
      for (const id of ids) {
        attempts.push(...(this.store.stmt("SELECT * FROM attempts WHERE job_id = ? AND state IN ('launching', 'queued', 'running')").all(id) as AttemptRow[]));
        this.store
          .stmt(
            `UPDATE tasks SET state = 'cancelled', reason = ?, updated_at = ?
             WHERE state = 'pending' AND job_id IN (SELECT job_id FROM dependencies WHERE parent_id = ? AND kind = 'ok')`,
          )
          .run(`dependency ${id} was deleted`, now, id);
        this.store.stmt("DELETE FROM jobs WHERE id = ?").run(id);
      }
      settleDependencies(this.store);
      return attempts;
    });
    for (const [engine, attempts] of groupByEngine(running)) await getEngine(engine).abandon(attempts);
    if (!opts.keepLogs) for (const id of ids) fs.rmSync(path.join(this.store.runsDir, String(id)), { recursive: true, force: true });
    return ids;
  }
}

function groupByEngine(attempts: readonly AttemptRow[]): Map<string, AttemptRow[]> {
  const out = new Map<string, AttemptRow[]>();
  for (const a of attempts) out.set(a.engine, [...(out.get(a.engine) ?? []), a]);
  return out;
}

/** Jobs cancelled because a parent failed get another chance when that parent is resubmitted (transitively). */
function reviveDependents(store: Store, parents: number[], now: number): void {
  const seen = new Set(parents);
  const queue = [...parents];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    const children = store.stmt("SELECT job_id FROM dependencies WHERE parent_id = ?").pluck().all(parent) as number[];
    for (const child of children) {
      const revived = store
        .stmt("UPDATE tasks SET state = 'pending', reason = 'waiting for a resubmitted dependency', updated_at = ? WHERE job_id = ? AND state = 'cancelled' AND reason LIKE 'dependency %'")
        .run(now, child).changes;
      if (revived > 0 && !seen.has(child)) {
        seen.add(child);
        queue.push(child);
      }
    }
  }
}

export type { LifecycleState };
