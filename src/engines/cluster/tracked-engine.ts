import { clusterDurationS, configSection, launchGraceMs } from "../../config/project-config.js";
import { UsageError } from "../../domain/errors.js";
import type { JobSpec } from "../../domain/job.js";
import { formatDuration, formatMemory } from "../../domain/resources.js";
import { isTerminal } from "../../domain/states.js";
import { fenceAttempt } from "../../lifecycle/attempt-files.js";
import { fillUsageFromMarkers, outcomeFromMarkers } from "../../lifecycle/ingest.js";
import {
  abandonUnstartedAttempt,
  adoptSubmitted,
  finishAttempt,
  loseAttempt,
  markExecuting,
  markStarted,
  noteWaitingReason,
  recordLaunches,
  recordSubmitted,
  giveUpAwaitedUsage,
  recordUsage,
  settleDependencies,
  type Outcome,
} from "../../lifecycle/transitions.js";
import type { GateParent } from "../../protocol/dependency-gate.js";
import { fateOf, readEnded, readStarted, type EndedMarker, type StartedMarker } from "../../protocol/markers.js";
import { attemptKey, jobRunsDir, projectDirOfRunDir } from "../../protocol/run-dir.js";
import { activeAttempts, attemptById, attemptsAwaitingUsage, hasActiveAttempts, killsToDeliver, markKillSent, setMissingSince } from "../../store/attempts.js";
import { unfinishedTasksWithAttempt, tasksToDispatch, type ReadyTask } from "../../store/dispatch.js";
import { acquirePoll, cachedProbe, eventCursor, releasePoll, saveEventCursor, saveProbe } from "../../store/engine-polls.js";
import { dependenciesOf, getJob, jobTags, parentForDispatch } from "../../store/jobs.js";
import { projectTag } from "../../store/project.js";
import type { AttemptRow, JobRow } from "../../store/rows.js";
import type { Store } from "../../store/store.js";
import type { DoctorLine, Engine, EngineCapabilities, RefreshOptions } from "../engine.js";
import type { AccountingVerdict, Backend, Observation, ObserveContext, ProbeResult, SubmissionRequest } from "./backend.js";
import { planChunks, type Chunk } from "./chunks.js";
import { SchedulerRejected, SchedulerUnavailable } from "./run-command.js";

/** How long a probe of a backend is trusted (its limits and accounting rarely change). */
const PROBE_TTL_S = 600;

export interface NativeDependencies {
  readonly afterOk: string[];
  readonly afterAny: string[];
  readonly gate: GateParent[];
}

interface Marks {
  readonly attempt: AttemptRow;
  readonly ended: EndedMarker | null;
  readonly started: StartedMarker | null;
}

/** A kill the backend must explain (TIMEOUT? OOM?), unless corral itself sent it or the stopper said why in the marker. */
const needsReason = (m: Marks) =>
  m.attempt.kill_reason === null && m.ended !== null && m.ended.cancelled === null && fateOf(m.ended).signal !== null && m.ended.verdict === null;

/** The comment every backend job carries: project tag, corral job, attempt number and index offset. */
export function submissionComment(tag: string, jobId: number, attemptN: number, offset: number): string {
  return `corral:${tag}:${jobId}:${attemptN}:${offset}`;
}

/**
 * An engine whose attempts something else runs (a batch scheduler, a worker pool). They all run the same
 * wrapper as every engine; corral learns outcomes from markers, asks the backend only which of the project's
 * jobs are still alive (one observation per refresh, for all of them), and asks accounting only why the ones
 * that left without a clean end did so. Subclasses say how a chunk of attempts is handed over.
 */
export abstract class TrackedEngine<B extends Backend = Backend> implements Engine {
  readonly name: string;
  readonly capabilities: EngineCapabilities;
  private probed: { at: number; dir: string; result: ProbeResult; stored: boolean } | null = null;
  /** Projects whose attempts' markers this process has read all of once (remote run directories). */
  private readonly sweptOnce = new Set<string>();
  /** Why the last submission could not reach the backend. */
  private unreachable: string | null = null;

  constructor(protected readonly backend: B) {
    this.name = backend.name;
    this.capabilities = backend.capabilities;
  }

  /** Hands one chunk of recorded attempts to the backend; returns its id for the chunk. Throws SchedulerRejected/Unavailable. */
  protected abstract submitChunk(store: Store, req: SubmissionRequest, attempts: ReadonlyMap<number, AttemptRow>, gate: GateParent[]): string;

  /** How many times a task whose runner vanished runs again before the loss counts (worker pools). */
  protected lostRetries(_projectDir: string): number {
    return 0;
  }

  /**
   * What the backend is like here (usable, largest array index, accounting). A usable result is kept in
   * the store for PROBE_TTL_S, so a thousand `corral submit` calls do not ask the controller a thousand times.
   */
  protected probe(projectDir: string, store: Store | null): ProbeResult {
    const now = Date.now() / 1000;
    if (this.probed && this.probed.dir === projectDir && now - this.probed.at < PROBE_TTL_S) {
      // Probed before the store was open (a submit validates first): the store keeps it for later commands,
      // which may need its dialect when the scheduler no longer answers.
      if (store && !this.probed.stored) {
        saveProbe(store, this.name, JSON.stringify(this.probed.result), this.probed.at);
        this.probed.stored = true;
      }
      return this.probed.result;
    }
    const cached = store ? cachedProbe(store, this.name) : null;
    if (cached && now - cached.probedAt < PROBE_TTL_S) {
      const result = JSON.parse(cached.probe) as ProbeResult;
      this.probed = { at: cached.probedAt, dir: projectDir, result, stored: true };
      return result;
    }
    const result = this.backend.probe(projectDir, false);
    if (!result.usable) return result; // asked again next time: the user may be starting the daemon right now
    this.probed = { at: now, dir: projectDir, result, stored: store !== null };
    if (store) saveProbe(store, this.name, JSON.stringify(result), now);
    return result;
  }

  /**
   * The dialect the last probe found, even if that probe is older than PROBE_TTL_S (a site does not change
   * its scheduler between two refreshes): watching asks the backend nothing more to find it out.
   */
  private knownDialect(store: Store): string | null {
    if (!this.backend.speaksDialects) return null;
    if (this.probed?.dir === store.dir) return this.probed.result.dialect ?? null;
    const cached = cachedProbe(store, this.name);
    if (cached) return (JSON.parse(cached.probe) as ProbeResult).dialect ?? null;
    const probed = this.probe(store.dir, store);
    // Asked in the wrong dialect, a scheduler answers with a usage message, which would read as a refusal:
    // unknown, nothing can be concluded from it.
    if (!probed.usable) throw new SchedulerUnavailable(`${this.name}: ${probed.lines.find((l) => !l.usable)?.text ?? "not usable here"}`);
    return probed.dialect ?? null;
  }

  validate(spec: JobSpec, projectDir: string, store: Store | null): void {
    const p = this.probe(projectDir, store);
    if (!p.usable) throw new UsageError(`--engine ${this.name}: ${p.lines.find((l) => !l.usable)?.text ?? "not usable here"} (see corral doctor)`);
    this.backend.checkResources(spec, projectDir, p);
  }

  doctor(projectDir: string): DoctorLine[] {
    this.probed = null;
    return this.backend.probe(projectDir, true).lines;
  }

  kick(store: Store): void {
    this.deliverKills(store);
    this.dispatch(store, null);
  }

  /** Submits a just-recorded job now; a backend's refusal is thrown as a UsageError with its message. */
  submitJob(store: Store, jobId: number): void {
    this.dispatch(store, jobId);
  }

  cancel(store: Store): void {
    // What the backend took out of its queue ends cancelled at its next view: asked for at once, whatever the
    // last poll's age, so the cancel's own command (and a `show` just after) already says so, not `queued`.
    // The command itself read only markers before (Corral.cancel): this is its one call to the backend.
    if (this.deliverKills(store)) this.refresh(store, { force: true });
  }

  /** Asks the backend to release the jobs' waiting attempts it may hold; one call for all of them. */
  releaseHeld(store: Store, jobIds: readonly number[]): void {
    if (!this.backend.release) return;
    const wanted = new Set(jobIds);
    const ids = activeAttempts(store, this.name)
      .filter((a) => wanted.has(a.job_id) && a.state === "queued" && a.engine_id !== null)
      .map((a) => a.engine_id!);
    if (ids.length === 0) return;
    try {
      this.backend.release(ids, store.dir);
    } catch (err) {
      if (!(err instanceof SchedulerUnavailable || err instanceof SchedulerRejected)) throw err;
    }
  }

  async abandon(attempts: readonly AttemptRow[]): Promise<void> {
    const ids = attempts.filter((a) => a.engine_id !== null).map((a) => a.engine_id!);
    if (ids.length === 0) return;
    try {
      this.backend.cancel(ids, projectDirOfRunDir(attempts[0]!.run_dir));
    } catch (err) {
      if (!(err instanceof SchedulerUnavailable || err instanceof SchedulerRejected)) throw err;
    }
  }

  // ------------------------------------------------------------------------------------------ submitting

  /**
   * Hands the backend every task that is ready: queued tasks, and waiting tasks whose parents are with the
   * same backend (they go with native dependencies, so the chain moves on without corral running).
   */
  private dispatch(store: Store, onlyJob: number | null): void {
    const rows = tasksToDispatch(store, this.name, onlyJob);
    const byJob = new Map<number, ReadyTask[]>();
    for (const r of rows) byJob.set(r.job_id, [...(byJob.get(r.job_id) ?? []), r]);
    if (byJob.size === 0) return;
    const probe = this.probe(store.dir, store);
    const tag = projectTag(store);
    for (const [jobId, tasks] of byJob) {
      const job = getJob(store, jobId);
      if (!job) continue;
      const waiting = tasks.some((t) => t.state === "pending");
      const deps = waiting ? this.nativeDependencies(store, job) : { afterOk: [], afterAny: [], gate: [] };
      if (deps === null) continue; // corral releases it when its parents end
      // One submission per attempt number and resources: a retry after a TIMEOUT or an OOM asks for more.
      const groups = new Map<string, { n: number; job: JobRow; indices: number[] }>();
      for (const t of tasks) {
        const key = `${t.attempts + 1}|${t.time_limit_s}|${t.mem_mb}`;
        const g = groups.get(key) ?? {
          n: t.attempts + 1,
          job: { ...job, time_limit_s: t.time_limit_s ?? job.time_limit_s, mem_mb: t.mem_mb ?? job.mem_mb },
          indices: [],
        };
        g.indices.push(t.idx);
        groups.set(key, g);
      }
      for (const { n, job: asked, indices } of groups.values()) {
        if (this.submitAttempts(store, asked, n, indices, deps, tag, probe)) continue;
        // Unreachable. A job submitted just now is refused (the caller takes it back), as the probe would have
        // refused it; anything else waits, left 'launching', for a later refresh to recover.
        saveProbe(store, this.name, null, 0);
        this.probed = null;
        if (onlyJob !== null)
          throw new UsageError(`--engine ${this.name}: not usable: ${this.unreachable ?? "the scheduler does not answer"} (see corral doctor)`);
        return;
      }
    }
  }

  /** Native dependencies for a waiting job, or null when it must wait for corral to release it. */
  private nativeDependencies(store: Store, job: JobRow): NativeDependencies | null {
    const mode = this.capabilities.nativeDependencies;
    const out: NativeDependencies = { afterOk: [], afterAny: [], gate: [] };
    // A priority group waits for the group before it to succeed: natively, an afterok.
    const deps = dependenciesOf(store, job.id).map((r) => ({ parent_id: r.parent_id, kind: r.kind === "any" ? ("any" as const) : ("ok" as const) }));
    for (const dep of deps) {
      const parent = parentForDispatch(store, dep.parent_id);
      if (!parent) return null;
      const s = parent.lifecycle_state;
      if (isTerminal(s)) {
        if (dep.kind === "ok" && s !== "succeeded") return null;
        continue;
      }
      // A parent elsewhere, or one that may retry (its next attempt would be a new scheduler job), is followed by corral.
      if (mode === "none" || parent.engine !== this.name || (dep.kind === "ok" && parent.retries > 0)) return null;
      const ids = new Set<string>();
      const runDirs: string[] = [];
      for (const o of unfinishedTasksWithAttempt(store, parent.id)) {
        if (isTerminal(o.state)) {
          if (dep.kind === "ok") return null;
          continue;
        }
        if (o.engine_id === null || o.attempt_state === null || !["queued", "running"].includes(o.attempt_state)) return null;
        ids.add(this.backend.jobIdOf(o.engine_id));
        runDirs.push(o.run_dir!);
      }
      if (dep.kind === "any") out.afterAny.push(...ids);
      else if (mode === "ok+any") out.afterOk.push(...ids);
      else {
        out.afterAny.push(...ids);
        out.gate.push({ jobId: parent.id, runDirs });
      }
    }
    return out;
  }

  /** Records the attempts and hands them over, one backend call per chunk. False if unreachable. */
  private submitAttempts(store: Store, job: JobRow, n: number, indices: number[], deps: NativeDependencies, tag: string, probe: ProbeResult): boolean {
    const attempts = store.write(() => recordLaunches(store, { jobId: job.id, n, engine: this.name, indices, running: false }));
    indices = indices.filter((idx) => attempts.has(idx));
    if (indices.length === 0) return true;
    const chunks: (Omit<Chunk, "range"> & { range: string | null })[] =
      job.array_spec !== null
        ? planChunks(indices, {
            minIndex: this.backend.minArrayIndex,
            maxIndex: probe.maxArrayIndex,
            singleRange: this.backend.singleRangeArrays,
            fromZero: this.backend.arraysFromZero ?? false,
          })
        : indices.map((idx) => ({ offset: 0, indices: [idx], range: null }));
    const settings = configSection(store.dir, this.name);
    for (const chunk of chunks) {
      const req: SubmissionRequest = {
        job,
        attemptN: n,
        offset: chunk.offset,
        range: chunk.range,
        singleIndex: chunk.range === null ? chunk.indices[0]! : null,
        indices: chunk.indices,
        cap: job.array_cap,
        afterOk: deps.afterOk,
        afterAny: deps.afterAny,
        projectDir: store.dir,
        tag,
        comment: submissionComment(tag, job.id, n, chunk.offset),
        logDir: jobRunsDir(store.runsDir, job.id),
        settings,
        dialect: probe.dialect ?? null,
      };
      let backendId: string;
      try {
        backendId = this.submitChunk(store, req, attempts, deps.gate);
      } catch (err) {
        if (err instanceof SchedulerUnavailable) {
          this.unreachable = err.message;
          return false; // left 'launching': recovered by a later refresh
        }
        if (!(err instanceof SchedulerRejected)) throw err;
        store.write(() => {
          for (const idx of chunk.indices) {
            const a = attemptById(store, attempts.get(idx)!.id)!;
            finishAttempt(store, a, { state: "failed", exitCode: null, signal: null, reason: `refused by ${this.name}: ${err.message}`, endedAt: Date.now() });
          }
          settleDependencies(store);
        });
        throw new UsageError(err.message);
      }
      store.write(() => {
        for (const idx of chunk.indices)
          recordSubmitted(store, attempts.get(idx)!.id, this.backend.taskId(backendId, chunk.range === null ? null : idx - chunk.offset));
      });
    }
    return true;
  }

  // ------------------------------------------------------------------------------------------ watching

  refresh(store: Store, opts: RefreshOptions = {}): void {
    if (this.capabilities.remoteRunDirs) {
      if (hasActiveAttempts(store, this.name)) this.refreshRemote(store, opts);
      // A pool's usage markers arrive with its results, written just before the ended marker.
      fillUsageFromMarkers(store, this.name);
      return;
    }
    const attempts = activeAttempts(store, this.name);
    const open = attempts.length > 0 ? this.foldMarkers(store, attempts) : [];
    const awaited = this.usageToAsk(store);
    const watchLog = this.backend.usageInObservation === true && awaited.length > 0;
    if (open.length === 0 && awaited.length === 0) return;
    const minAge = Math.max(opts.minAgeS ?? 0, this.pollMinAge(store));
    if (minAge === Infinity && !opts.force) return;
    this.underPoll(store, minAge, opts, () => {
      if (open.length > 0 || watchLog) this.reconcile(store, open, this.observe(store, watchLog ? [...attempts, ...awaited] : attempts), awaited);
      else this.recordAccountedUsage(store, awaited, this.accountFor(store, awaited), new Map());
    });
  }

  /**
   * The ended attempts whose usage is still awaited and worth asking the backend about: none where it keeps
   * no accounting (their wait is given up at once), and none whose wait is over (given up: what is missing
   * stays unknown). Only attempts that ended lately are read (a partial index), never the history.
   */
  private usageToAsk(store: Store): AttemptRow[] {
    const awaited = attemptsAwaitingUsage(store, this.name);
    if (awaited.length === 0) return [];
    const now = Date.now() / 1000;
    const tells = this.backend.usageInObservation === true || (this.backend.account !== undefined && this.probe(store.dir, store).accounting);
    if (!tells) {
      store.write(() => giveUpAwaitedUsage(store, this.name, Number.MAX_VALUE));
      return [];
    }
    if (awaited.some((a) => a.usage_due! < now)) store.write(() => giveUpAwaitedUsage(store, this.name, now));
    return awaited.filter((a) => a.usage_due! >= now && a.engine_id !== null);
  }

  /** The backend's accounting of these attempts, in its one call (none when it keeps no accounting). */
  private accountFor(store: Store, attempts: readonly AttemptRow[]): Map<number, AccountingVerdict> {
    if (attempts.length === 0 || !this.backend.account || !this.probe(store.dir, store).accounting) return new Map();
    return this.backend.account(attempts, this.knownDialect(store));
  }

  /** Records the usage that accounting records or the observation's fates carry; a complete record settles the wait. */
  private recordAccountedUsage(
    store: Store,
    attempts: readonly AttemptRow[],
    verdicts: ReadonlyMap<number, AccountingVerdict>,
    fates: ReadonlyMap<string, AccountingVerdict>,
  ): void {
    const found = attempts
      .map((a) => ({ a, usage: (verdicts.get(a.id) ?? (a.engine_id === null ? undefined : fates.get(a.engine_id)))?.usage }))
      .filter((f) => f.usage !== undefined);
    if (found.length === 0) return;
    store.write(() => {
      for (const { a, usage } of found) recordUsage(store, a.id, usage!, true);
    });
  }

  /**
   * Attempts whose markers arrive only through the backend (pool workers): a "markers only" refresh asks it
   * too, at most once per its own (short) poll_min_age, since the observation brings the markers along.
   */
  private refreshRemote(store: Store, opts: RefreshOptions): void {
    const own = this.pollMinAge(store);
    const minAge = opts.minAgeS === undefined || opts.minAgeS === Infinity ? own : Math.max(opts.minAgeS, own);
    this.underPoll(store, minAge, opts, () => {
      // Read only when the pool is asked: a refresh between polls (`corral wait` looks every 50 ms or so) has
      // nothing to fold, and reading thousands of active attempts each time cost `wait` 0.4 ms per task.
      const attempts = activeAttempts(store, this.name);
      if (attempts.length === 0) return; // ended meanwhile, by another command
      const seen = this.observe(store, attempts);
      // Markers arrive only with an observation: after the first, only attempts it brought something for, or
      // that left the pool, can have new ones (thousands of queued attempts are not read again on every poll).
      const touched = seen.touched && this.sweptOnce.has(store.dir) ? seen.touched : null;
      this.sweptOnce.add(store.dir);
      const open = this.foldMarkers(
        store,
        attempts,
        touched === null ? null : (a) => touched.has(attemptKey(a.job_id, a.idx, a.n)) || !seen.live.has(a.engine_id ?? ""),
      );
      if (open.length > 0) this.reconcile(store, open, seen, []);
      else this.keepCursor(store, seen);
    });
  }

  /** One observation of the backend (an event log's new position is kept with what it told: see keepCursor). */
  private observe(store: Store, attempts: readonly AttemptRow[]): Observation {
    const ctx: ObserveContext = {
      tag: projectTag(store),
      projectDir: store.dir,
      runsDir: store.runsDir,
      attempts,
      cursor: eventCursor(store, this.name),
      dialect: this.knownDialect(store),
      jobTags: (jobId) => jobTags(store, jobId) ?? [],
    };
    return this.backend.observe(ctx);
  }

  /** Asks the backend under the project's poll lease (unless another process asked less than minAge ago). */
  private underPoll(store: Store, minAge: number, opts: RefreshOptions, ask: () => void): void {
    if (!acquirePoll(store, this.name, minAge, opts.force ?? false)) return;
    let answered = false;
    try {
      ask();
      answered = true;
    } catch (err) {
      // A backend that does not answer changes nothing: no job is failed or lost because it was down.
      if (!(err instanceof SchedulerUnavailable)) throw err;
    } finally {
      store.write(() => releasePoll(store, this.name, answered));
    }
  }

  private pollMinAge(store: Store): number {
    return clusterDurationS(store.dir, "poll_min_age", "CORRAL_POLL_MIN_AGE_S", this.backend.pollMinAgeS);
  }

  /** Reads the attempts' markers and records clean ends and starts; returns those the backend must explain. */
  private foldMarkers(store: Store, attempts: readonly AttemptRow[], worthReading: ((a: AttemptRow) => boolean) | null = null): Marks[] {
    const marks: Marks[] = attempts.map((a) => {
      if (worthReading && !worthReading(a)) return { attempt: a, ended: null, started: null };
      const ended = readEnded(a.run_dir);
      return { attempt: a, ended, started: ended || a.started_at === null ? readStarted(a.run_dir) : null };
    });
    // Clean ends need nobody's opinion: the marker has the exit code. Kills wait for the backend's reason.
    const clean = marks.filter((m) => m.ended !== null && !needsReason(m));
    const open = marks.filter((m) => m.ended === null || needsReason(m));
    this.apply(store, () => {
      for (const m of clean) finishAttempt(store, m.attempt, this.outcomeOfMarkers(store, m));
      for (const m of open) if (m.started && m.attempt.started_at === null) markStarted(store, m.attempt, m.started);
    });
    return open;
  }

  /** The markers' outcome; a stopper's verdict in the ended marker (a worker's TIMEOUT) names the reason. */
  private outcomeOfMarkers(store: Store, m: Marks): Outcome {
    const out = outcomeFromMarkers(store, m.attempt, m.ended!, m.started);
    const verdict = m.ended!.verdict;
    // The verdict explains a death by signal only: a job that trapped the stopper's TERM and exited by itself is
    // judged by its exit code.
    if (verdict === null || fateOf(m.ended!).signal === null || m.ended!.cancelled !== null || m.attempt.kill_reason !== null) return out;
    const job = getJob(store, m.attempt.job_id);
    return job ? { ...out, state: "failed", reason: this.reasonFor(job, { kind: "failed", ...verdict }) } : out;
  }

  private apply(store: Store, fn: () => void): void {
    store.write(() => {
      fn();
      settleDependencies(store);
    });
  }

  /**
   * One observation, then at most one accounting call: for the attempts that left the queue without a clean
   * end (why?) together with the ended ones whose usage is awaited (what did they use?).
   */
  private reconcile(store: Store, open: Marks[], seen: Observation, awaited: readonly AttemptRow[]): void {
    const now = Date.now() / 1000;
    const graceS = clusterDurationS(store.dir, "lost_grace", "CORRAL_LOST_GRACE_S", 180);
    const gone: Marks[] = [];
    const changes: (() => void)[] = [];
    for (const m of open) {
      const a = m.attempt;
      if (a.engine_id === null) {
        if (now - a.submitted_at < launchGraceMs() / 1000) continue;
        changes.push(this.recoverLaunch(store, m, seen.comments));
        continue;
      }
      const job = seen.live.get(a.engine_id);
      if (job) {
        changes.push(() => {
          if (job.running && a.state === "queued") markExecuting(store, a, now);
          else if (!job.running && job.reason !== null) noteWaitingReason(store, a, `waiting in ${this.name}: ${job.reason}`);
          if (a.missing_since !== null) setMissingSince(store, a.id, null);
        });
      } else gone.push(m);
    }
    const askable = gone.filter((m) => m.attempt.kill_reason === null && (m.ended === null || needsReason(m)) && !seen.fates.has(m.attempt.engine_id!));
    const asked = new Set(askable.map((m) => m.attempt.id));
    // Where usage comes with the observation (an event log), accounting is asked only why attempts left.
    const forUsage = this.backend.usageInObservation === true ? [] : awaited.filter((a) => !asked.has(a.id));
    const verdicts = this.accountFor(store, [...askable.map((m) => m.attempt), ...forUsage]);
    for (const m of gone)
      changes.push(() => this.settleGone(store, m, seen.fates.get(m.attempt.engine_id!) ?? verdicts.get(m.attempt.id) ?? null, now, graceS));
    this.apply(store, () => {
      for (const c of changes) c();
      // An event log's position is kept in the transaction that records what was read: never one without the other.
      this.keepCursor(store, seen);
    });
    this.recordAccountedUsage(store, [...gone.map((m) => m.attempt), ...awaited], verdicts, seen.fates);
  }

  private keepCursor(store: Store, seen: Observation): void {
    if (seen.cursor !== undefined) store.write(() => saveEventCursor(store, this.name, seen.cursor!));
  }

  /** An attempt that left the backend's queue: markers decide the outcome, accounting names the reason. */
  private settleGone(store: Store, m: Marks, verdict: AccountingVerdict | null, now: number, graceS: number): void {
    const a = m.attempt;
    const job = getJob(store, a.job_id);
    if (!job) return;
    const explained = verdict !== null && verdict.kind !== "ended" ? verdict : null;
    if (m.ended) {
      const out = outcomeFromMarkers(store, a, m.ended, m.started);
      const why = explained && explained.kind !== "lost" ? explained : null;
      finishAttempt(store, a, why ? { ...out, state: why.kind as "failed" | "cancelled", reason: this.reasonFor(job, why) } : out);
      return;
    }
    const base = { exitCode: null, signal: null, endedAt: now * 1000, startedAt: m.started?.time ?? null, host: m.started?.host ?? null };
    if (a.kill_reason === "cancel") {
      finishAttempt(store, a, { ...base, state: "cancelled", reason: "cancelled by user" });
      return;
    }
    if (a.kill_reason === "dependency") {
      finishAttempt(store, a, { ...base, state: "cancelled", reason: "a dependency did not succeed" });
      return;
    }
    if (explained?.kind === "lost") {
      loseAttempt(store, a, base, explained.detail, this.lostRetries(store.dir));
      return;
    }
    if (explained) {
      finishAttempt(store, a, { ...base, state: explained.kind as Outcome["state"], reason: this.reasonFor(job, explained) });
      return;
    }
    // No end marker and no reason: perhaps the marker is still on its way (NFS) or accounting lags. Lost only after the grace period.
    const since = a.missing_since ?? now;
    if (a.missing_since === null) setMissingSince(store, a.id, now);
    if (now - since < graceS) return;
    const record = verdict
      ? ` (${this.name} accounting: ${verdict.detail})`
      : this.backend.account && this.probe(store.dir, store).accounting
        ? " (no accounting record)"
        : "";
    finishAttempt(store, a, { ...base, state: "lost", reason: `${this.name} no longer knows ${a.engine_id} and it left no end marker${record}` });
  }

  /** A launch interrupted between the backend call and recording its id: adopt the job, or fence and redo it. */
  private recoverLaunch(store: Store, m: Marks, comments: Map<string, string>): () => void {
    const a = m.attempt;
    const tag = projectTag(store);
    for (const [taskId, comment] of comments) {
      const [, t, job, n, offset] = comment.split(":");
      if (t !== tag || Number(job) !== a.job_id || Number(n) !== a.n) continue;
      const index = this.backend.indexOfTask(taskId, Number(offset));
      if (index !== null && index !== a.idx) continue;
      return () => adoptSubmitted(store, a.id, taskId);
    }
    if (fenceAttempt(a.run_dir)) return () => abandonUnstartedAttempt(store, a, `its submission to ${this.name} was interrupted`);
    // It started (the claim is taken) though its id was never recorded: its markers will tell how it ends.
    return () => {
      if (m.ended) finishAttempt(store, a, outcomeFromMarkers(store, a, m.ended, m.started));
    };
  }

  private reasonFor(job: JobRow, v: AccountingVerdict): string {
    const where = `${this.name}: ${v.detail}`;
    switch (v.keyword) {
      case "TIMEOUT":
        return `TIMEOUT: exceeded the time limit${job.time_limit_s ? ` of ${formatDuration(job.time_limit_s)}` : ""} (${where})`;
      case "OUT_OF_MEMORY":
        return `OUT_OF_MEMORY: exceeded the memory limit${job.mem_mb ? ` of ${formatMemory(job.mem_mb)}` : ""} (${where})`;
      case "CANCELLED":
        return `cancelled outside corral (${where})`;
      default:
        return `${v.keyword} (${where})`;
    }
  }

  /**
   * Sends the backend the cancellations recorded in the store (by the user, or because a parent failed); true
   * when it took them (false: there were none, or it did not answer).
   */
  private deliverKills(store: Store): boolean {
    const rows = killsToDeliver(store, this.name);
    if (rows.length === 0) return false;
    try {
      this.backend.cancel(
        rows.map((a) => a.engine_id!),
        store.dir,
      );
    } catch (err) {
      if (err instanceof SchedulerUnavailable) return false; // delivered by a later call
      if (!(err instanceof SchedulerRejected)) throw err;
    }
    const now = Date.now() / 1000;
    store.write(() =>
      markKillSent(
        store,
        rows.map((a) => a.id),
        now,
      ),
    );
    return true;
  }
}
