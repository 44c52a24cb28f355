import fs from "node:fs";
import path from "node:path";
import { clusterDurationS, configSection } from "../../config/project-config.js";
import { UsageError } from "../../domain/errors.js";
import type { JobSpec } from "../../domain/job.js";
import { formatDuration, formatMemory } from "../../domain/resources.js";
import { attemptLaunch, fenceAttempt, writeAttemptFiles, type AttemptLaunch } from "../../lifecycle/attempt-files.js";
import { activeAttempts, markStarted, outcomeFromMarkers } from "../../lifecycle/ingest.js";
import { abandonUnstartedAttempt, finishAttempt, settleDependencies, type Outcome } from "../../lifecycle/transitions.js";
import { renderDependencyGate, type GateParent } from "../../protocol/dependency-gate.js";
import { fateOf, readEnded, readStarted, type EndedMarker, type StartedMarker } from "../../protocol/markers.js";
import { shQuote } from "../../protocol/shell-quote.js";
import type { Store } from "../../store/store.js";
import { ACTIVE_ATTEMPT_STATES, type AttemptRow, type JobRow } from "../../store/rows.js";
import type { DoctorLine, Engine, EngineCapabilities, RefreshOptions } from "../engine.js";
import { planChunks } from "./chunks.js";
import { acquirePoll, releasePoll } from "./poll-lease.js";
import { SchedulerRejected, SchedulerUnavailable } from "./run-command.js";
import type { AccountingVerdict, Listing, ProbeResult, Scheduler, SubmissionRequest } from "./scheduler.js";

/** An attempt still being submitted by another process is left alone this long before it is recovered. */
const launchGraceS = () => Number(process.env.CORRAL_LAUNCH_GRACE_MS ?? 120_000) / 1000;
/** How long a probe of a scheduler is trusted (its limits and accounting rarely change). */
const PROBE_TTL_S = 600;

interface NativeDependencies {
  readonly afterOk: string[];
  readonly afterAny: string[];
  readonly gate: GateParent[];
}

interface Marks {
  readonly attempt: AttemptRow;
  readonly ended: EndedMarker | null;
  readonly started: StartedMarker | null;
}

/** A kill the scheduler must explain (TIMEOUT? OOM?), unless corral itself sent it. */
const needsReason = (m: Marks) => m.attempt.kill_reason === null && m.ended !== null && m.ended.cancelled === null && fateOf(m.ended).signal !== null;

/** The project folder an attempt's run directory is in (<project>/runs/<job>/<index>/<attempt>). */
function projectDirOf(runDir: string): string {
  return path.resolve(runDir, "..", "..", "..", "..");
}

export function projectTag(store: Store): string {
  return store.stmt("SELECT value FROM project WHERE key = 'tag'").pluck().get() as string;
}

/** The comment every scheduler job carries: project tag, corral job, attempt number and index offset. */
export function submissionComment(tag: string, jobId: number, attemptN: number, offset: number): string {
  return `corral:${tag}:${jobId}:${attemptN}:${offset}`;
}

/**
 * A batch scheduler as a corral engine. The scheduler runs the same wrapper as every engine; corral learns
 * outcomes from markers, asks the scheduler only which of the project's jobs are still alive (one call per
 * refresh, for all of them), and asks accounting only why the ones that left without a clean end did so.
 */
export class ClusterEngine implements Engine {
  readonly name: string;
  readonly capabilities: EngineCapabilities;
  private probed: { at: number; dir: string; result: ProbeResult } | null = null;
  /** Projects whose attempts' markers this process has read all of once (remote run directories). */
  private readonly sweptOnce = new Set<string>();
  /** Why the last submission could not reach the scheduler. */
  private unreachable: string | null = null;

  constructor(private readonly scheduler: Scheduler) {
    this.name = scheduler.name;
    this.capabilities = scheduler.capabilities;
  }

  /**
   * What the scheduler is like here (usable, largest array index, accounting). A usable result is kept in
   * the store for PROBE_TTL_S, so a thousand `corral submit` calls do not ask the controller a thousand times.
   */
  private probe(projectDir: string, store: Store | null): ProbeResult {
    const now = Date.now() / 1000;
    if (this.probed && this.probed.dir === projectDir && now - this.probed.at < PROBE_TTL_S) return this.probed.result;
    if (store) {
      const row = store.stmt("SELECT probe, probed_at FROM engine_polls WHERE engine = ?").get(this.name) as { probe: string | null; probed_at: number | null } | undefined;
      if (row?.probe && row.probed_at !== null && now - row.probed_at < PROBE_TTL_S) {
        const result = JSON.parse(row.probe) as ProbeResult;
        this.probed = { at: row.probed_at, dir: projectDir, result };
        return result;
      }
    }
    const result = this.scheduler.probe(projectDir, false);
    if (!result.usable) return result; // asked again next time: the user may be starting the daemon right now
    this.probed = { at: now, dir: projectDir, result };
    if (store) {
      store.write(() => {
        store.stmt("INSERT OR IGNORE INTO engine_polls (engine) VALUES (?)").run(this.name);
        store.stmt("UPDATE engine_polls SET probe = ?, probed_at = ? WHERE engine = ?").run(JSON.stringify(result), now, this.name);
      });
    }
    return result;
  }

  validate(spec: JobSpec, projectDir: string, store: Store | null): void {
    const p = this.probe(projectDir, store);
    if (!p.usable) throw new UsageError(`--engine ${this.name}: ${p.lines.find((l) => !l.usable)?.text ?? "not usable here"} (see corral doctor)`);
    this.scheduler.checkResources(spec, projectDir);
  }

  doctor(projectDir: string): DoctorLine[] {
    this.probed = null;
    return this.scheduler.probe(projectDir, true).lines;
  }

  kick(store: Store): void {
    this.deliverKills(store);
    this.dispatch(store, null);
  }

  /** Submits a just-recorded job now; a scheduler's refusal is thrown as a UsageError with its message. */
  submitJob(store: Store, jobId: number): void {
    this.dispatch(store, jobId);
  }

  cancel(store: Store): void {
    this.deliverKills(store);
  }

  async abandon(attempts: readonly AttemptRow[]): Promise<void> {
    const ids = attempts.filter((a) => a.engine_id !== null).map((a) => a.engine_id!);
    if (ids.length === 0) return;
    try {
      this.scheduler.cancel(ids, projectDirOf(attempts[0]!.run_dir));
    } catch (err) {
      if (!(err instanceof SchedulerUnavailable || err instanceof SchedulerRejected)) throw err;
    }
  }

  // ------------------------------------------------------------------------------------------ submitting

  /**
   * Hands the scheduler every task that is ready: queued tasks, and waiting tasks whose parents are with the
   * same scheduler (they go with native dependencies, so the chain moves on without corral running).
   */
  private dispatch(store: Store, onlyJob: number | null): void {
    const rows = store
      .stmt(
        `SELECT t.job_id, t.idx, t.state, t.attempts, t.time_limit_s, t.mem_mb FROM tasks t
           JOIN jobs j ON j.id = t.job_id
           LEFT JOIN attempts a ON a.job_id = t.job_id AND a.idx = t.idx AND a.n = t.attempts
         WHERE t.state IN ('pending', 'queued') AND j.engine = ? AND j.held = 0
           AND (a.id IS NULL OR a.state NOT IN ${ACTIVE_ATTEMPT_STATES}) ${onlyJob === null ? "" : "AND t.job_id = ?"}
         ORDER BY t.job_id, t.idx`,
      )
      .all(...(onlyJob === null ? [this.name] : [this.name, onlyJob])) as {
      job_id: number;
      idx: number;
      state: string;
      attempts: number;
      time_limit_s: number | null;
      mem_mb: number | null;
    }[];
    const byJob = new Map<number, typeof rows>();
    for (const r of rows) byJob.set(r.job_id, [...(byJob.get(r.job_id) ?? []), r]);
    if (byJob.size === 0) return;
    const probe = this.probe(store.dir, store);
    const tag = projectTag(store);
    for (const [jobId, tasks] of byJob) {
      const job = store.stmt("SELECT * FROM jobs WHERE id = ?").get(jobId) as JobRow;
      const waiting = tasks.some((t) => t.state === "pending");
      const deps = waiting ? this.nativeDependencies(store, job) : { afterOk: [], afterAny: [], gate: [] };
      if (deps === null) continue; // corral releases it when its parents end
      // One submission per attempt number and resources: a retry after a TIMEOUT or an OOM asks for more.
      const groups = new Map<string, { n: number; job: JobRow; indices: number[] }>();
      for (const t of tasks) {
        const key = `${t.attempts + 1}|${t.time_limit_s}|${t.mem_mb}`;
        const g = groups.get(key) ?? { n: t.attempts + 1, job: { ...job, time_limit_s: t.time_limit_s ?? job.time_limit_s, mem_mb: t.mem_mb ?? job.mem_mb }, indices: [] };
        g.indices.push(t.idx);
        groups.set(key, g);
      }
      for (const { n, job: asked, indices } of groups.values()) {
        if (this.submitAttempts(store, asked, n, indices, deps, tag, probe)) continue;
        // Unreachable. A job submitted just now is refused (the caller takes it back), as the probe would have
        // refused it; anything else waits, left 'launching', for a later refresh to recover.
        store.write(() => store.stmt("UPDATE engine_polls SET probe = NULL WHERE engine = ?").run(this.name));
        this.probed = null;
        if (onlyJob !== null) throw new UsageError(`--engine ${this.name}: not usable: ${this.unreachable ?? "the scheduler does not answer"} (see corral doctor)`);
        return;
      }
    }
  }

  /** Native dependencies for a waiting job, or null when it must wait for corral to release it. */
  private nativeDependencies(store: Store, job: JobRow): NativeDependencies | null {
    const mode = this.capabilities.nativeDependencies;
    const out: NativeDependencies = { afterOk: [], afterAny: [], gate: [] };
    const rows = store.stmt("SELECT parent_id, kind FROM dependencies WHERE job_id = ?").all(job.id) as { parent_id: number; kind: "ok" | "any" | "group" }[];
    // A priority group waits for the group before it to succeed: natively, an afterok.
    const deps = rows.map((r) => ({ parent_id: r.parent_id, kind: r.kind === "any" ? ("any" as const) : ("ok" as const) }));
    for (const dep of deps) {
      const parent = store.stmt("SELECT id, engine, retries, lifecycle_state FROM jobs WHERE id = ?").get(dep.parent_id) as
        | Pick<JobRow, "id" | "engine" | "retries" | "lifecycle_state">
        | undefined;
      if (!parent) return null;
      const s = parent.lifecycle_state;
      if (s === "succeeded" || s === "failed" || s === "cancelled" || s === "lost") {
        if (dep.kind === "ok" && s !== "succeeded") return null;
        continue;
      }
      // A parent elsewhere, or one that may retry (its next attempt would be a new scheduler job), is followed by corral.
      if (mode === "none" || parent.engine !== this.name || (dep.kind === "ok" && parent.retries > 0)) return null;
      const open = store
        .stmt(
          `SELECT t.state, a.engine_id, a.run_dir, a.state AS attempt_state FROM tasks t
             LEFT JOIN attempts a ON a.job_id = t.job_id AND a.idx = t.idx AND a.n = t.attempts
           WHERE t.job_id = ? AND t.state <> 'succeeded'`,
        )
        .all(parent.id) as { state: string; engine_id: string | null; run_dir: string | null; attempt_state: string | null }[];
      const ids = new Set<string>();
      const runDirs: string[] = [];
      for (const o of open) {
        if (o.state === "failed" || o.state === "cancelled" || o.state === "lost") {
          if (dep.kind === "ok") return null;
          continue;
        }
        if (o.engine_id === null || o.attempt_state === null || !["queued", "running"].includes(o.attempt_state)) return null;
        ids.add(this.scheduler.jobIdOf(o.engine_id));
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

  /** Records the attempts, writes their files and submits them, one scheduler call per chunk. False if unreachable. */
  private submitAttempts(store: Store, job: JobRow, n: number, indices: number[], deps: NativeDependencies, tag: string, probe: ProbeResult): boolean {
    const now = Date.now() / 1000;
    const attemptIds = store.write(() => {
      const ids = new Map<number, number>();
      const insert = store.stmt(
        `INSERT INTO attempts (job_id, idx, n, engine, state, run_dir, submitted_at) VALUES (?, ?, ?, ?, 'launching', ?, ?)`,
      );
      // Another process may have dispatched some of these since we looked: only tasks still waiting at attempt n-1 are ours.
      const stillOurs = store.stmt(
        `SELECT 1 FROM tasks t WHERE t.job_id = ? AND t.idx = ? AND t.state IN ('pending', 'queued') AND t.attempts = ?
           AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.job_id = t.job_id AND a.idx = t.idx AND a.n = t.attempts AND a.state IN ${ACTIVE_ATTEMPT_STATES})`,
      );
      for (const idx of indices) {
        if (!stillOurs.get(job.id, idx, n - 1)) continue;
        const runDir = path.join(store.runsDir, String(job.id), String(idx), String(n));
        ids.set(idx, Number(insert.run(job.id, idx, n, this.name, runDir, now).lastInsertRowid));
        store.stmt("UPDATE tasks SET attempts = ?, reason = NULL, updated_at = ? WHERE job_id = ? AND idx = ?").run(n, now, job.id, idx);
      }
      return ids;
    });
    indices = indices.filter((idx) => attemptIds.has(idx));
    if (indices.length === 0) return true;
    // Attempts that run elsewhere get their launch in the submission; here, their run directory waits for results.
    const remote = this.scheduler.remoteRunDirs;
    const launches = remote ? new Map<number, AttemptLaunch>() : null;
    for (const idx of indices) {
      if (!launches) writeAttemptFiles(store, job, idx, n);
      else {
        // (Its run directory is made when its first result arrives: thousands of mkdirs off the submission's path.)
        launches.set(idx, attemptLaunch(store, job, idx, n));
      }
    }
    const isArray = job.array_spec !== null;
    const chunks = isArray
      ? planChunks(indices, { minIndex: this.scheduler.minArrayIndex, maxIndex: probe.maxArrayIndex, singleRange: this.scheduler.singleRangeArrays })
      : indices.map((idx) => ({ offset: 0, indices: [idx], range: null as string | null }));
    const logDir = path.join(store.runsDir, String(job.id));
    if (remote) fs.mkdirSync(logDir, { recursive: true, mode: 0o700 });
    const passThrough = [...this.scheduler.configArgs(store.dir), ...(JSON.parse(job.sched_args) as string[])];
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
        logDir,
        passThrough,
        settings,
        launches,
      };
      const scriptPath = path.join(logDir, `submit-${n}-${chunk.indices[0]}.sh`);
      if (!remote) fs.writeFileSync(scriptPath, this.renderScript(store, req, deps.gate), { mode: 0o700 });
      let schedulerId: string;
      try {
        schedulerId = this.scheduler.submit(scriptPath, req);
      } catch (err) {
        if (err instanceof SchedulerUnavailable) {
          this.unreachable = err.message;
          return false; // left 'launching': recovered by a later refresh
        }
        if (!(err instanceof SchedulerRejected)) throw err;
        store.write(() => {
          for (const idx of chunk.indices) {
            const a = store.stmt("SELECT * FROM attempts WHERE id = ?").get(attemptIds.get(idx)) as AttemptRow;
            finishAttempt(store, a, { state: "failed", exitCode: null, signal: null, reason: `refused by ${this.name}: ${err.message}`, endedAt: Date.now() });
          }
          settleDependencies(store);
        });
        throw new UsageError(err.message);
      }
      store.write(() => {
        const record = store.stmt(`UPDATE attempts SET engine_id = ?, state = 'queued' WHERE id = ? AND state = 'launching'`);
        for (const idx of chunk.indices) record.run(this.scheduler.taskId(schedulerId, chunk.range === null ? null : idx - chunk.offset), attemptIds.get(idx));
      });
    }
    return true;
  }

  private renderScript(store: Store, req: SubmissionRequest, gate: GateParent[]): string {
    const v = this.scheduler.arrayIndexVariable;
    const index = req.range === null ? String(req.singleIndex) : req.offset === 0 ? `$${v}` : `$((${v} + ${req.offset}))`;
    return [
      "#!/bin/sh",
      ...this.scheduler.directives(req),
      `# Generated by corral for job ${req.job.id}, attempt ${req.attemptN}: runs the attempt's wrapper (docs/run-protocol.md).`,
      ...(req.offset === 0 ? [] : [`# The scheduler's array index plus ${req.offset} is corral's task index.`]),
      `corral_dir=${shQuote(path.join(store.runsDir, String(req.job.id)))}/${index}/${req.attemptN}`,
      renderDependencyGate(gate),
      this.scheduler.handOver,
      "",
    ].join("\n");
  }

  // ------------------------------------------------------------------------------------------ watching

  refresh(store: Store, opts: RefreshOptions = {}): void {
    const attempts = activeAttempts(store, this.name);
    if (attempts.length === 0) return;
    if (this.scheduler.remoteRunDirs) return this.refreshRemote(store, attempts, opts);
    const open = this.foldMarkers(store, attempts);
    if (open.length === 0) return;
    const minAge = Math.max(opts.minAgeS ?? 0, this.pollMinAge(store));
    if (minAge === Infinity && !opts.force) return;
    this.underPoll(store, minAge, opts, () => this.reconcile(store, open, this.scheduler.listLive(this.listContext(store, attempts))));
  }

  /**
   * Attempts whose markers arrive only through the scheduler (Redis workers): a "markers only" refresh asks it
   * too, at most once per its own (short) poll_min_age, since the listing brings the markers along.
   */
  private refreshRemote(store: Store, attempts: AttemptRow[], opts: RefreshOptions): void {
    const own = this.pollMinAge(store);
    const minAge = opts.minAgeS === undefined || opts.minAgeS === Infinity ? own : Math.max(opts.minAgeS, own);
    this.underPoll(store, minAge, opts, () => {
      const listing = this.scheduler.listLive(this.listContext(store, attempts));
      // Markers arrive only with a listing: after the first, only attempts it brought something for, or that
      // left the pool, can have new ones (thousands of queued attempts are not read again on every poll).
      const touched = listing.touched && this.sweptOnce.has(store.dir) ? listing.touched : null;
      this.sweptOnce.add(store.dir);
      const open = this.foldMarkers(store, attempts, touched === null ? null : (a) => touched.has(`${a.job_id}.${a.idx}.${a.n}`) || !listing.live.has(a.engine_id ?? ""));
      if (open.length > 0) this.reconcile(store, open, listing);
    });
  }

  /** Asks the scheduler under the project's poll lease (unless another process asked less than minAge ago). */
  private underPoll(store: Store, minAge: number, opts: RefreshOptions, ask: () => void): void {
    if (!acquirePoll(store, this.name, minAge, opts.force ?? false)) return;
    let answered = false;
    try {
      ask();
      answered = true;
    } catch (err) {
      // A scheduler that does not answer changes nothing: no job is failed or lost because it was down.
      if (!(err instanceof SchedulerUnavailable)) throw err;
    } finally {
      store.write(() => releasePoll(store, this.name, answered));
    }
  }

  private pollMinAge(store: Store): number {
    return clusterDurationS(store.dir, "poll_min_age", "CORRAL_POLL_MIN_AGE_S", this.scheduler.pollMinAgeS);
  }

  private listContext(store: Store, attempts: readonly AttemptRow[]) {
    return { store, tag: projectTag(store), projectDir: store.dir, runsDir: store.runsDir, attempts };
  }

  /** Reads the attempts' markers and records clean ends and starts; returns those the scheduler must explain. */
  private foldMarkers(store: Store, attempts: readonly AttemptRow[], worthReading: ((a: AttemptRow) => boolean) | null = null): Marks[] {
    const marks: Marks[] = attempts.map((a) => {
      if (worthReading && !worthReading(a)) return { attempt: a, ended: null, started: null };
      const ended = readEnded(a.run_dir);
      return { attempt: a, ended, started: ended || a.started_at === null ? readStarted(a.run_dir) : null };
    });
    // Clean ends need nobody's opinion: the marker has the exit code. Kills wait for the scheduler's reason.
    const clean = marks.filter((m) => m.ended !== null && !needsReason(m));
    const open = marks.filter((m) => m.ended === null || needsReason(m));
    this.apply(store, () => {
      for (const m of clean) finishAttempt(store, m.attempt, outcomeFromMarkers(store, m.attempt, m.ended!, m.started));
      for (const m of open) if (m.started && m.attempt.started_at === null) markStarted(store, m.attempt, m.started);
    });
    return open;
  }

  private apply(store: Store, fn: () => void): void {
    store.write(() => {
      fn();
      settleDependencies(store);
    });
  }

  /** One listing call, then at most one accounting call for the attempts that left the queue without a clean end. */
  private reconcile(store: Store, open: Marks[], listing: Listing): void {
    const { live, comments } = listing;
    const now = Date.now() / 1000;
    const graceS = clusterDurationS(store.dir, "lost_grace", "CORRAL_LOST_GRACE_S", 180);
    const gone: Marks[] = [];
    const changes: (() => void)[] = [];
    for (const m of open) {
      const a = m.attempt;
      if (a.engine_id === null) {
        if (now - a.submitted_at < launchGraceS()) continue;
        changes.push(this.recoverLaunch(store, m, comments));
        continue;
      }
      const job = live.get(a.engine_id);
      if (job) {
        changes.push(() => {
          if (job.running && a.state === "queued") {
            store.stmt("UPDATE attempts SET state = 'running' WHERE id = ? AND state = 'queued'").run(a.id);
            store
              .stmt("UPDATE tasks SET state = 'running', reason = NULL, updated_at = ? WHERE job_id = ? AND idx = ? AND state IN ('pending', 'queued')")
              .run(now, a.job_id, a.idx);
          } else if (!job.running && job.reason !== null) {
            // Why it still waits, in the scheduler's words (Resources, Priority, DependencyNeverSatisfied...).
            store
              .stmt("UPDATE tasks SET reason = ? WHERE job_id = ? AND idx = ? AND state IN ('pending', 'queued') AND reason IS NOT ?")
              .run(`waiting in ${this.name}: ${job.reason}`, a.job_id, a.idx, `waiting in ${this.name}: ${job.reason}`);
          }
          if (a.missing_since !== null) store.stmt("UPDATE attempts SET missing_since = NULL WHERE id = ?").run(a.id);
        });
      } else gone.push(m);
    }
    const askable = gone.filter((m) => m.attempt.kill_reason === null && (m.ended === null || needsReason(m)));
    const verdicts = askable.length > 0 && this.probe(store.dir, store).accounting ? this.scheduler.account(askable.map((m) => m.attempt)) : new Map<number, AccountingVerdict>();
    for (const m of gone) changes.push(() => this.settleGone(store, m, verdicts.get(m.attempt.id) ?? null, now, graceS));
    this.apply(store, () => {
      for (const c of changes) c();
    });
  }

  /** An attempt that left the scheduler's queue: markers decide the outcome, accounting names the reason. */
  private settleGone(store: Store, m: Marks, verdict: AccountingVerdict | null, now: number, graceS: number): void {
    const a = m.attempt;
    const job = store.stmt("SELECT * FROM jobs WHERE id = ?").get(a.job_id) as JobRow | undefined;
    if (!job) return;
    const explained = verdict !== null && verdict.kind !== "ended" ? verdict : null;
    if (m.ended) {
      const out = outcomeFromMarkers(store, a, m.ended, m.started);
      const why = explained && explained.kind !== "lost" ? explained : null;
      finishAttempt(store, a, why ? { ...out, state: why.kind as "failed" | "cancelled", reason: this.reasonFor(job, why) } : out);
      return;
    }
    const base = { exitCode: null, signal: null, endedAt: now * 1000, startedAt: m.started?.time ?? null, host: m.started?.host ?? null };
    if (a.kill_reason === "cancel") return void finishAttempt(store, a, { ...base, state: "cancelled", reason: "cancelled by user" });
    if (a.kill_reason === "dependency") return void finishAttempt(store, a, { ...base, state: "cancelled", reason: "a dependency did not succeed" });
    if (explained?.kind === "lost") return void this.loseAttempt(store, a, base, explained.detail);
    if (explained) return void finishAttempt(store, a, { ...base, state: explained.kind as Outcome["state"], reason: this.reasonFor(job, explained) });
    // No end marker and no reason: perhaps the marker is still on its way (NFS) or accounting lags. Lost only after the grace period.
    const since = a.missing_since ?? now;
    if (a.missing_since === null) store.stmt("UPDATE attempts SET missing_since = ? WHERE id = ?").run(now, a.id);
    if (now - since < graceS) return;
    const record = verdict ? ` (${this.name} accounting: ${verdict.detail})` : this.probe(store.dir, store).accounting ? " (no accounting record)" : "";
    finishAttempt(store, a, { ...base, state: "lost", reason: `${this.name} no longer knows ${a.engine_id} and it left no end marker${record}` });
  }

  /**
   * An attempt whose runner vanished (a Redis worker killed mid-task): kept in the history as lost, and its task
   * runs again elsewhere, as a new attempt, up to the scheduler's budget for such losses (BullMQ's stalled-job
   * count); beyond it, the loss is the attempt's outcome, and the job's own retries (--retry-on lost) decide.
   */
  private loseAttempt(store: Store, a: AttemptRow, base: Omit<Outcome, "state" | "reason">, why: string): void {
    const budget = this.scheduler.lostRetries?.(store.dir) ?? 0;
    const before = store
      .stmt("SELECT count(*) FROM attempts WHERE job_id = ? AND idx = ? AND id <> ? AND state = 'lost'")
      .pluck()
      .get(a.job_id, a.idx, a.id) as number;
    if (before >= budget || a.kill_reason !== null) return void finishAttempt(store, a, { ...base, state: "lost", reason: why });
    const res = store
      .stmt(
        `UPDATE attempts SET state = 'lost', reason = ?, ended_at = ?, started_at = coalesce(started_at, ?), host = coalesce(host, ?)
         WHERE id = ? AND state IN ('launching', 'queued', 'running')`,
      )
      .run(why, base.endedAt / 1000, base.startedAt ? base.startedAt / 1000 : null, base.host ?? null, a.id);
    if (res.changes === 0) return;
    store
      .stmt("UPDATE tasks SET state = 'queued', reason = ?, updated_at = ? WHERE job_id = ? AND idx = ? AND state IN ('queued', 'running')")
      .run(`re-queued after attempt ${a.n}: ${why}`, Date.now() / 1000, a.job_id, a.idx);
  }

  /** A launch interrupted between the scheduler call and recording its id: adopt the job, or fence and redo it. */
  private recoverLaunch(store: Store, m: Marks, comments: Map<string, string>): () => void {
    const a = m.attempt;
    const tag = projectTag(store);
    for (const [taskId, comment] of comments) {
      const [, t, job, n, offset] = comment.split(":");
      if (t !== tag || Number(job) !== a.job_id || Number(n) !== a.n) continue;
      const rel = this.scheduler.indexOfTask
        ? this.scheduler.indexOfTask(taskId)
        : taskId.includes("_") || taskId.includes(".")
          ? Number(taskId.split(/[_.]/)[1]) + Number(offset)
          : null;
      if (rel !== null && rel !== a.idx) continue;
      return () => store.stmt("UPDATE attempts SET engine_id = ?, state = 'queued' WHERE id = ? AND engine_id IS NULL").run(taskId, a.id);
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

  /** Sends the scheduler the cancellations recorded in the store (by the user, or because a parent failed). */
  private deliverKills(store: Store): void {
    const rows = store
      .stmt(`SELECT * FROM attempts WHERE state IN ${ACTIVE_ATTEMPT_STATES} AND engine = ? AND kill_reason IS NOT NULL AND kill_sent_at IS NULL AND engine_id IS NOT NULL`)
      .all(this.name) as AttemptRow[];
    if (rows.length === 0) return;
    try {
      this.scheduler.cancel(rows.map((a) => a.engine_id!), store.dir);
    } catch (err) {
      if (err instanceof SchedulerUnavailable) return; // delivered by a later call
      if (!(err instanceof SchedulerRejected)) throw err;
    }
    const now = Date.now() / 1000;
    store.write(() => {
      for (const a of rows) store.stmt("UPDATE attempts SET kill_sent_at = ? WHERE id = ?").run(now, a.id);
    });
  }
}
