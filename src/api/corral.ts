import fs from "node:fs";
import path from "node:path";
import { UsageError } from "../domain/errors.js";
import type { JobDetail, JobSummary } from "../domain/job.js";
import { EVERYTHING, isUnnarrowed, type Selection } from "../domain/selection.js";
import { RERUNNABLE_STATES, TERMINAL_STATES, validateLabel, type LifecycleState } from "../domain/states.js";
import { defaultEngineName } from "../config/project-config.js";
import type { RefreshOptions } from "../engines/engine.js";
import { engineNames, getEngine } from "../engines/registry.js";
import { refreshJobLabel, settleDependencies } from "../lifecycle/transitions.js";
import { RUN_FILES } from "../protocol/wrapper.js";
import { defaultDatabasePath, findDatabase } from "../store/locate.js";
import { Store } from "../store/store.js";
import { ACTIVE_ATTEMPT_STATES, type AttemptRow } from "../store/rows.js";
import { applyJobRequests } from "./requests.js";
import { buildJobSpec, checkDependencies, insertJob, type SubmitInput } from "./submit.js";
import { checkIdsExist, countByBatch, listForDisplay, type DisplayRow, jobDetail, jobsNeedingAttention, listJobs, resolveTasks, runningNow, type TaskRef } from "./queries.js";

export interface OpenOptions {
  /** Database path (`--db`); defaults to CORRAL_DB, then the nearest `.corral/` up from cwd. */
  readonly db?: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export interface StatusReport {
  readonly batches: { readonly batch: string | null; readonly jobs: number; readonly states: Record<string, number> }[];
  readonly attention: JobSummary[];
  /** Jobs running now (at most 20), with their hosts and since when. */
  readonly running: { id: number; name: string; batch: string | null; running: number; hosts: string; since: string | null }[];
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
    const existing = Corral.open({ ...opts, create: false });
    if (!existing) {
      // Everything that can be refused is refused before a database is created.
      const projectDir = path.join(cwd, ".corral");
      const spec = buildJobSpec(input, cwd, defaultEngineName(projectDir, opts.env));
      checkDependencies(null, spec);
      getEngine(spec.engine).validate(spec, projectDir, null);
    }
    const corral = existing ?? Corral.open({ ...opts, create: true })!;
    try {
      return { id: corral.submit(input, cwd), corral };
    } catch (err) {
      corral.close();
      throw err;
    }
  }

  /** Refuses, without recording anything, a job that submit() would refuse (bad input, an engine that cannot run it). */
  check(input: SubmitInput, cwd: string = process.cwd()): void {
    const spec = buildJobSpec(input, cwd, defaultEngineName(this.store.dir));
    getEngine(spec.engine).validate(spec, this.store.dir, this.store);
  }

  /** Submits a job to this project (the library's way to add many jobs over one open database). */
  submit(input: SubmitInput, cwd: string = process.cwd()): number {
    const spec = buildJobSpec(input, cwd, defaultEngineName(this.store.dir));
    const engine = getEngine(spec.engine);
    engine.validate(spec, this.store.dir, this.store);
    const id = insertJob(this.store, spec);
    if (!engine.submitJob) {
      engine.kick(this.store);
      return id;
    }
    try {
      engine.submitJob(this.store, id);
    } catch (err) {
      // The scheduler refused it (unknown partition...): take the job back, so nothing is recorded as submitted.
      if (err instanceof UsageError) {
        this.store.write(() => this.store.stmt("DELETE FROM jobs WHERE id = ?").run(id));
        fs.rmSync(path.join(this.store.runsDir, String(id)), { recursive: true, force: true });
      }
      throw err;
    }
    return id;
  }

  close(): void {
    this.store.close();
  }

  /**
   * Folds in what happened (markers; for schedulers, their view, at most once per few seconds per project
   * unless forced) and makes sure each engine with work is attended to.
   */
  refresh(opts: RefreshOptions = {}): void {
    this.observe(opts);
    for (const name of engineNames()) getEngine(name).kick(this.store);
  }

  /** Folds in what happened, without starting anything. */
  private observe(opts: RefreshOptions = {}): void {
    // Requests are read while their attempts still run, and once more for the attempts that just ended.
    applyJobRequests(this.store);
    for (const name of engineNames()) getEngine(name).refresh(this.store, opts);
    applyJobRequests(this.store);
  }

  list(sel: Selection = EVERYTHING, opts: RefreshOptions = {}): JobSummary[] {
    this.refresh(opts);
    return listJobs(this.store, sel);
  }

  /** The rows `corral ls` prints, cheaply (see listForDisplay). */
  listForDisplay(sel: Selection = EVERYTHING): DisplayRow[] {
    this.refresh();
    return listForDisplay(this.store, sel);
  }

  /** One job as the store has it now, without refreshing (no scheduler call). */
  peek(id: number): JobSummary {
    return listJobs(this.store, { ids: [{ kind: "job", id }], states: [], name: null, batch: null, all: false })[0]!;
  }

  show(id: number): JobDetail {
    this.refresh();
    return jobDetail(this.store, id);
  }

  status(opts: RefreshOptions = {}, sel: Selection = EVERYTHING): StatusReport {
    this.refresh(opts);
    const byBatch = new Map<string | null, { jobs: number; states: Record<string, number> }>();
    for (const row of countByBatch(this.store, sel)) {
      const b = byBatch.get(row.batch) ?? { jobs: 0, states: {} };
      b.jobs += row.jobs;
      b.states[row.state] = row.jobs;
      byBatch.set(row.batch, b);
    }
    return {
      batches: [...byBatch.entries()].map(([batch, v]) => ({ batch, ...v })),
      attention: jobsNeedingAttention(this.store, sel),
      running: runningNow(this.store, sel).map((r) => ({ ...r, since: r.since === null ? null : new Date(r.since * 1000).toISOString() })),
    };
  }

  /**
   * Blocks until every selected job has ended. Markers are read often (fast at first, then once a second);
   * schedulers are asked with a back-off from 2 s to 60 s, back to 2 s whenever something ends.
   */
  async wait(sel: Selection = EVERYTHING, opts: WaitOptions = {}): Promise<WaitResult> {
    const deadline = opts.timeoutS === undefined ? Infinity : Date.now() + opts.timeoutS * 1000;
    let delay = 50;
    let pollEveryS = 2;
    let lastPoll = 0;
    let lastDone = -1;
    for (;;) {
      const due = Date.now() - lastPoll >= pollEveryS * 1000;
      const jobs = this.list(sel, { minAgeS: due ? pollEveryS : Infinity });
      const done = jobs.reduce((n, j) => n + j.tasks.done, 0);
      if (due) {
        lastPoll = Date.now();
        pollEveryS = Math.min(60, pollEveryS * 1.5);
      }
      if (done !== lastDone) pollEveryS = 2;
      lastDone = done;
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
    this.observe();
    const tasks = resolveTasks(this.store, sel, ["pending", "queued", "running"]).filter((t) => !(TERMINAL_STATES as readonly string[]).includes(t.state));
    const now = Date.now() / 1000;
    const signalled = this.store.write(() => {
      const attempts: AttemptRow[] = [];
      for (const t of tasks) {
        // A task with an attempt under way (running here, or waiting in a scheduler's queue) is stopped through
        // its engine, and ends when the engine confirms; one that never went anywhere is cancelled at once.
        const rows = this.store
          .stmt(`SELECT * FROM attempts WHERE job_id = ? AND idx = ? AND state IN ${ACTIVE_ATTEMPT_STATES}`)
          .all(t.jobId, t.index) as AttemptRow[];
        for (const a of rows) {
          this.store.stmt("UPDATE attempts SET kill_reason = 'cancel', kill_sent_at = NULL WHERE id = ?").run(a.id);
          attempts.push({ ...a, kill_reason: "cancel", kill_sent_at: null });
        }
        if (rows.length === 0) {
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
    this.observe();
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
    this.observe();
    const ids = listJobs(this.store, sel).map((j) => j.id);
    const running = this.store.write(() => {
      const attempts: AttemptRow[] = [];
      const now = Date.now() / 1000;
      for (const id of ids) {
        attempts.push(...(this.store.stmt("SELECT * FROM attempts WHERE job_id = ? AND state IN ('launching', 'queued', 'running')").all(id) as AttemptRow[]));
        this.store
          .stmt(
            `UPDATE tasks SET state = 'cancelled', reason = ?, updated_at = ?
             WHERE state = 'pending' AND job_id IN (SELECT job_id FROM dependencies WHERE parent_id = ? AND kind <> 'any')`,
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
