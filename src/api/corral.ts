import fs from "node:fs";
import path from "node:path";
import { UsageError } from "../domain/errors.js";
import type { JobDetail, JobSummary } from "../domain/job.js";
import { EVERYTHING, isUnnarrowed, type Selection } from "../domain/selection.js";
import { isTerminal, RERUNNABLE_STATES, validateLabel, type LifecycleState } from "../domain/states.js";
import { defaultEngineName, withConfigSnapshot } from "../config/project-config.js";
import type { RefreshOptions } from "../engines/engine.js";
import { captureEnvironment } from "../domain/env.js";
import {
  cancelTasks,
  checkParentsExist,
  deleteJobs,
  labelTasks,
  recordJob,
  recordJobs,
  releaseJobs,
  resubmitTasks,
  takeBackJob,
} from "../lifecycle/operations.js";
import { settleLeftovers } from "../lifecycle/transitions.js";
import { jobRunsDir } from "../protocol/run-dir.js";
import { RUN_FILES } from "../protocol/wrapper.js";
import { jobWithToken, latestDefinedJob } from "../store/jobs.js";
import { defaultDatabasePath, findDatabase } from "../store/locate.js";
import { checkIdsExist, resolveTasks, type DisplayRow, type TaskRef } from "../store/queries.js";
import type { AttemptRow } from "../store/rows.js";
import { Store } from "../store/store.js";
import { engineNames, getEngine } from "./engines.js";
import { applyRequests } from "./spawn.js";
import { buildJobSpec, commandText, type SpecBatch, type SubmitInput } from "./submit.js";
import { ProjectView, type GroupReport, type LocateOptions, type ReportGrouping, type StatusReport } from "./view.js";

export type OpenOptions = LocateOptions;
export type { StatusReport };

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

/** The project's `.corral/` folder: the one holding the database found from here, else the one a submission would make. */
export function projectDirFor(opts: OpenOptions = {}): string {
  return path.dirname(databasePathFor(opts));
}

/** The database found from here (as every command finds it), else the one a first submission here would create. */
export function databasePathFor(opts: OpenOptions = {}): string {
  const cwd = opts.cwd ?? process.cwd();
  return findDatabase({ db: opts.db, cwd, env: opts.env ?? process.env }) ?? defaultDatabasePath(cwd);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The library API: one project database and the operations the CLI offers. Its reads first refresh (fold in
 * new markers and, rate-limited, the engines' view) and then read the store through a ProjectView; every change
 * makes sure the engines act on it. A reader that must not write uses ProjectView alone.
 */
export class Corral {
  readonly store: Store;
  /** The store as it is, without refreshing: what every read below returns after its refresh. */
  readonly view: ProjectView;

  private constructor(store: Store) {
    this.store = store;
    this.view = new ProjectView(store);
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
      checkParentsExist(null, spec);
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

  /** The latest job of a batch with this name that a description file submitted, with its definition hash. */
  latestDefinedJob(batch: string, name: string): { id: number; def_hash: string; lifecycle_state: LifecycleState } | undefined {
    return latestDefinedJob(this.store, batch, name);
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
    const id = recordJob(this.store, spec, commandText(spec.argv, spec.script?.path ?? null));
    if (!engine.submitJob) {
      engine.kick(this.store);
      return id;
    }
    try {
      engine.submitJob(this.store, id);
    } catch (err) {
      // The scheduler refused it (unknown partition...): take the job back, so nothing is recorded as submitted.
      if (err instanceof UsageError) this.takeBack(id);
      throw err;
    }
    return id;
  }

  /**
   * Submits many jobs at once: every input is checked first (an error names the input, as "job 3 of 500: ...",
   * and nothing is recorded), then all are recorded in one transaction and each engine is attended to once.
   * A job may name one submitted earlier in the same call with `after`, by the id it will get (ids are
   * consecutive from the next free one). On an engine that hands each job to a scheduler as it is submitted,
   * a refusal takes back that job and the ones after it on that engine, and is thrown; those before it stay.
   */
  submitMany(inputs: readonly SubmitInput[], cwd: string = process.cwd()): number[] {
    const defaultEngine = defaultEngineName(this.store.dir);
    const batch: SpecBatch = { capturedEnv: captureEnvironment(process.env), checkedDirs: new Set() };
    // The project's config is read once for the whole call, not stat-ed again per input.
    const jobs = withConfigSnapshot(() =>
      inputs.map((input, i) => {
        try {
          const spec = buildJobSpec(input, cwd, defaultEngine, batch);
          getEngine(spec.engine).validate(spec, this.store.dir, this.store);
          return { spec, command: commandText(spec.argv, spec.script?.path ?? null) };
        } catch (err) {
          if (err instanceof UsageError) throw new UsageError(`job ${i + 1} of ${inputs.length}: ${err.message}`);
          throw err;
        }
      }),
    );
    const ids = recordJobs(this.store, jobs);
    const byEngine = new Map<string, number[]>();
    for (const [i, { spec }] of jobs.entries()) {
      const list = byEngine.get(spec.engine);
      if (list) list.push(ids[i]!);
      else byEngine.set(spec.engine, [ids[i]!]);
    }
    for (const [name, engineIds] of byEngine) this.handOver(name, engineIds);
    return ids;
  }

  /** Tells an engine about jobs just recorded: one kick, or each job to its scheduler in order. */
  private handOver(name: string, ids: readonly number[]): void {
    const engine = getEngine(name);
    if (!engine.submitJob) {
      engine.kick(this.store);
      return;
    }
    for (const [k, id] of ids.entries()) {
      try {
        engine.submitJob(this.store, id);
      } catch (err) {
        if (err instanceof UsageError) for (const later of ids.slice(k)) this.takeBack(later);
        throw err;
      }
    }
  }

  /** Removes a job a scheduler refused right after it was recorded, with its run directories. */
  private takeBack(id: number): void {
    takeBackJob(this.store, id);
    fs.rmSync(jobRunsDir(this.store.runsDir, id), { recursive: true, force: true });
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
    settleLeftovers(this.store);
    // Requests are read while their attempts still run, and once more for the attempts that just ended.
    applyRequests(this.store);
    for (const name of engineNames()) getEngine(name).refresh(this.store, opts);
    applyRequests(this.store);
  }

  list(sel: Selection = EVERYTHING, opts: RefreshOptions = {}): JobSummary[] {
    this.refresh(opts);
    return this.view.list(sel);
  }

  /** The rows `corral ls` prints, cheaply (see listForDisplay). */
  listForDisplay(sel: Selection = EVERYTHING): DisplayRow[] {
    this.refresh();
    return this.view.listForDisplay(sel);
  }

  /** The newest job of a batch with this name submitted with a drop folder's token, if it was recorded. */
  jobWithToken(batch: string, name: string, token: string): number | undefined {
    return jobWithToken(this.store, batch, name, token);
  }

  /** One job as the store has it now, without refreshing (no scheduler call). */
  peek(id: number): JobSummary {
    return this.view.peek(id);
  }

  show(id: number): JobDetail {
    this.refresh();
    return this.view.show(id);
  }

  status(opts: RefreshOptions = {}, sel: Selection = EVERYTHING, attentionLimit?: number): StatusReport {
    this.refresh(opts);
    return this.view.status(sel, attentionLimit);
  }

  /** What the selected jobs' attempts used against what they asked for, per job, name or batch (refreshed first). */
  report(sel: Selection = EVERYTHING, by: ReportGrouping = "name"): GroupReport[] {
    this.refresh();
    return this.view.report(sel, by);
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
      const t0 = performance.now();
      const jobs = this.list(sel, { minAgeS: due ? pollEveryS : Infinity });
      // While tasks keep ending, look again soon, so the wait ends right after the last one (a fixed second
      // would add half a second to every wait); but never spend more than about a twentieth of a core on looking.
      const floor = Math.min(1000, Math.max(50, 20 * (performance.now() - t0)));
      const done = jobs.reduce((n, j) => n + j.tasks.done, 0);
      if (due) {
        lastPoll = Date.now();
        pollEveryS = Math.min(60, pollEveryS * 1.5);
      }
      if (done !== lastDone) pollEveryS = 2;
      delay = done !== lastDone ? floor : Math.min(1000, Math.max(floor, delay * 1.5));
      lastDone = done;
      opts.onProgress?.(jobs);
      const over = jobs.every((j) => isTerminal(j.lifecycleState));
      if (over) return { jobs, succeeded: jobs.every((j) => j.lifecycleState === "succeeded"), timedOut: false };
      if (Date.now() >= deadline || opts.signal?.aborted) return { jobs, succeeded: false, timedOut: true };
      await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
    }
  }

  private requireNarrowed(sel: Selection, verb: string): void {
    if (isUnnarrowed(sel) && !sel.all) throw new UsageError(`nothing selected: give job ids, --state, --name or --batch, or --all to ${verb} every job`);
    checkIdsExist(this.store, sel);
  }

  /** Cancels the selected tasks that have not ended: waiting ones at once, running ones by signal. Dependents follow. */
  cancel(sel: Selection): TaskRef[] {
    this.requireNarrowed(sel, "cancel");
    // Markers only (a pool's arrive with its poll, which it may still make): each engine that is sent stops asks
    // its backend once, after they were delivered (Engine.cancel), for one scheduler call per cancel.
    this.observe({ minAgeS: Infinity });
    const tasks = resolveTasks(this.store, sel, ["pending", "queued", "running"]).filter((t) => !isTerminal(t.state));
    const signalled = cancelTasks(this.store, tasks);
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
    const tasks = resolveTasks(this.store, sel, RERUNNABLE_STATES).filter((t) => isTerminal(t.state));
    const oldRunDirs = resubmitTasks(this.store, tasks, { withRunDirs: opts.clean ?? false });
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
    const listed = this.view.list(sel);
    const jobs = listed.map((j) => j.id);
    releaseJobs(this.store, jobs);
    // What the scheduler itself holds (a user hold, an HTCondor hold) is released there too.
    for (const name of new Set(listed.map((j) => j.engine)))
      getEngine(name).releaseHeld?.(
        this.store,
        listed.filter((j) => j.engine === name).map((j) => j.id),
      );
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
    labelTasks(this.store, tasks, label);
    return tasks;
  }

  /**
   * Removes jobs from the database (and their run directories unless keepLogs). Running attempts are killed
   * first; jobs that needed a deleted one to succeed are cancelled, not left waiting forever.
   */
  async delete(sel: Selection, opts: { keepLogs?: boolean } = {}): Promise<number[]> {
    this.requireNarrowed(sel, "delete");
    this.observe();
    const ids = this.view.list(sel).map((j) => j.id);
    const running = deleteJobs(this.store, ids);
    for (const [engine, attempts] of groupByEngine(running)) await getEngine(engine).abandon(attempts);
    if (!opts.keepLogs) for (const id of ids) fs.rmSync(jobRunsDir(this.store.runsDir, id), { recursive: true, force: true });
    return ids;
  }
}

function groupByEngine(attempts: readonly AttemptRow[]): Map<string, AttemptRow[]> {
  const out = new Map<string, AttemptRow[]>();
  for (const a of attempts) out.set(a.engine, [...(out.get(a.engine) ?? []), a]);
  return out;
}

export type { LifecycleState };
