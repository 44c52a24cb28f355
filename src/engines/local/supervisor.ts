import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readEnded, readStarted, type EndedMarker, type StartedMarker } from "../../protocol/markers.js";
import { RUN_FILES } from "../../protocol/wrapper.js";
import { launchGraceMs } from "../../config/project-config.js";
import { attemptForLauncher, fenceAttempt, writeAttemptFiles } from "../../lifecycle/attempt-files.js";
import { ingestMarkers, outcomeFromMarkers } from "../../lifecycle/ingest.js";
import {
  abandonUnstartedAttempt,
  finishAttempt,
  recordLaunches,
  recordProcessStart,
  recordUsage,
  settleDependencies,
  withdrawQueuedAttempt,
} from "../../lifecycle/transitions.js";
import { activeAttempts, attemptById, markKilling } from "../../store/attempts.js";
import { getJob } from "../../store/jobs.js";
import { attemptStates, attemptsToStop, jobsWithQueuedTasks, queuedTasks, resourcesInUse, runningTaskCount } from "../../store/local-queue.js";
import type { Store } from "../../store/store.js";
import type { AttemptRow, JobRow } from "../../store/rows.js";
import type { AttemptUsage } from "../../domain/usage.js";
import type { LocalBudget } from "./budget.js";
import { acquireLease, hasLocalWork, heartbeat, releaseLeaseIfIdle } from "./lease.js";
import { createLauncher, type Launcher } from "./launcher-process.js";
import { isSameProcessAlive, processStartTime, signalGroup } from "./processes.js";

export interface SupervisorOptions {
  readonly store: Store;
  readonly budget: LocalBudget;
  /** Exit after this long with nothing to run or watch. */
  readonly idleMs: number;
  /** How often to look at the database and at processes it did not start itself. */
  readonly pollMs: number;
  /** Time between TERM and KILL when cancelling or enforcing a time limit. */
  readonly killGraceMs: number;
  /** How long a claimed attempt may take to publish its `started` marker before it counts as lost. */
  readonly launchGraceMs: number;
  readonly log: (line: string) => void;
  /** Applies the requests running jobs made (corral job spawn/set/mark); handed in by whoever starts the supervisor. */
  readonly applyRequests: (store: Store) => void;
}

export function supervisorOptionsFromEnv(
  store: Store,
  budget: LocalBudget,
  log: (line: string) => void,
  applyRequests: (store: Store) => void,
): SupervisorOptions {
  const num = (name: string, dflt: number) => {
    const v = process.env[name];
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : dflt;
  };
  return {
    store,
    budget,
    idleMs: num("CORRAL_SUPERVISOR_IDLE_MS", 3000),
    pollMs: num("CORRAL_SUPERVISOR_POLL_MS", 500),
    killGraceMs: num("CORRAL_KILL_GRACE_MS", 10_000),
    launchGraceMs: launchGraceMs(),
    log,
    applyRequests,
  };
}

interface Launch {
  attempt: AttemptRow;
  job: JobRow;
  devices: string[];
  /** For an attempt queued in the launcher: the lane it waits in. */
  lane?: Lane;
}

/**
 * A share of the machine (one attempt's cpus, memory and GPUs) that passes, inside the launcher, from attempt to
 * attempt of one job: the launcher starts the next the moment the last is reaped (Launcher.queueClaimed), so
 * short tasks do not wait for the supervisor, which tops lanes up and records their ends in batches.
 */
interface Lane {
  /** The attempt that opened it: the launcher knows the lane by this number. */
  readonly id: number;
  readonly job: JobRow;
  readonly devices: string[];
  /** The attempt whose process holds the lane; null between one's exit and the next one's start. */
  current: number | null;
  /** Attempts waiting in it (recorded `queued`), in the order the launcher starts them. */
  readonly queued: number[];
}

/** How much work a lane holds ahead, in the job's recent task durations; tasks longer than a second get no lane. */
const LANE_AHEAD_MS = 50;
const LANE_MAX_DEPTH = 16;
const LANE_TASK_MS_MAX = 1000;
/** How long the supervisor lets ends pile up while every lane they freed already runs its next attempt. */
const LANE_TICK_MS = 20;

/** The store's view of a supervisor's lanes (see lanesInStore). */
interface LanesInStore {
  /** The attempts asked about: those in lanes when the view was taken. */
  readonly asked: ReadonlySet<number>;
  /** Each lane attempt's state, stop request and run directory; those deleted meanwhile are missing. */
  readonly rows: Map<number, { state: string; killReason: string | null; runDir: string }>;
  /** Open lanes none of whose attempts the store counts as holding their share. */
  readonly uncounted: Lane[];
}

const HEARTBEAT_MS = 15_000;

/**
 * Runs the local queue of one database. Single-threaded by construction (one event loop), it wakes on a
 * child's exit, on SIGUSR2 from a submitter, and on a timer. It never holds state that is not in the store:
 * killed with -9, the jobs it started keep running, their markers still land, and the next supervisor adopts
 * them by pid and start time, or declares them lost when they vanished without an end marker.
 */
export class LocalSupervisor {
  private readonly o: SupervisorOptions;
  /** Attempts this supervisor launched whose wrapper has not been seen to exit yet. */
  private readonly children = new Set<number>();
  /** Attempts whose wrapper was reaped, with what it used as the launcher saw it (null where it cannot tell). */
  private readonly exited = new Map<number, AttemptUsage | null>();
  private readonly starts: { id: number; pid: number; pidStart: string | null; at: number }[] = [];
  private readonly launchFailures: { id: number; why: string }[] = [];
  private readonly lanes = new Map<number, Lane>();
  private readonly laneOf = new Map<number, Lane>();
  /** Start times of this supervisor's attempts, and each job's recent task duration (ms, a moving average). */
  private readonly startedAt = new Map<number, number>();
  private readonly taskMs = new Map<number, number>();
  /** Attempts waiting in a lane that corral was asked to stop, fenced so that they never run. */
  private readonly fenced = new Set<number>();
  /** Attempts asked back from their lane (Launcher.withdraw), and those the launcher gave back. */
  private readonly withdrawing = new Set<number>();
  private readonly withdrawn: number[] = [];
  private soon: NodeJS.Timeout | null = null;
  /** The jobs in turn, read once a tick (allocate and topUpLanes both need them). */
  private turn: number[] | null = null;
  private launcher: Launcher | null = null;
  private ticking = false;
  private again = false;
  private stopping = false;
  private idleSince: number | null = null;
  private lastPoll = 0;
  private lastHeartbeat = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private resolveDone: (() => void) | null = null;

  constructor(options: SupervisorOptions) {
    this.o = options;
  }

  /**
   * Runs until idle or stopped. Resolves false at once when another live supervisor holds the lease, or when
   * there is nothing to do: a supervisor that starts late, after the one it raced has run the work and exited,
   * leaves the database as it found it.
   */
  async run(): Promise<boolean> {
    if (!hasLocalWork(this.o.store) || !acquireLease(this.o.store)) return false;
    // For people and tools that look for a pidfile; the lease in the database is the actual lock.
    fs.writeFileSync(path.join(this.o.store.dir, "supervisor.pid"), `${process.pid}\n`, { mode: 0o600 });
    this.o.log(`supervisor ${process.pid} started (budget: ${this.o.budget.cpus} cpus, ${this.o.budget.memMb}M, ${this.o.budget.gpus.length} gpus)`);
    this.launcher = this.newLauncher();
    this.o.log(`launching through ${this.launcher.kind}`);
    const done = new Promise<void>((resolve) => (this.resolveDone = resolve));
    this.timer = setInterval(() => this.wake(), this.o.pollMs);
    this.lastPoll = 0;
    this.wake();
    await done;
    return true;
  }

  wake(): void {
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = true;
    // Ticks run back to back while work keeps arriving, then the loop sleeps until the next event.
    setImmediate(() => {
      try {
        do {
          this.again = false;
          this.tick();
        } while (this.again && !this.stopping);
      } catch (err) {
        this.o.log(`error: ${(err as Error).stack ?? String(err)}`);
      } finally {
        this.ticking = false;
      }
    });
  }

  /** Stop launching; leave running jobs alone (the next supervisor adopts them) and give the lease back. */
  stop(why: string): void {
    if (this.stopping) return;
    this.stopping = true;
    this.o.log(`supervisor ${process.pid} stopping: ${why}`);
    this.finish(true);
  }

  private tick(): void {
    const { store } = this.o;
    const now = Date.now();
    const polling = now - this.lastPoll >= this.o.pollMs;
    this.turn = null;
    if (polling) {
      this.lastPoll = now;
      // A project folder removed under a running supervisor: nobody can see or stop its jobs any more, so
      // it must not start new ones (it would otherwise run a deleted queue to the end).
      if (!fs.existsSync(store.path)) {
        this.stop("its database was removed");
        return;
      }
      // Before anything is handed out: what a previous supervisor or launcher started is counted once adopted.
      this.reconcile();
    }
    // Everything that changes the store in a tick goes into one transaction; files are read before it and
    // processes are started after it commits, so an attempt row always exists before its process does.
    const starts = this.starts.splice(0);
    const failures = this.launchFailures.splice(0);
    const withdrawn = this.withdrawn.splice(0);
    for (const id of [...this.exited.keys(), ...failures.map((f) => f.id), ...withdrawn]) this.children.delete(id);
    const exits = this.readExited();
    // Jobs may ask for more jobs (corral job spawn): read while they run and as they end, so what they
    // spawn runs without waiting for a corral command.
    if (exits.length > 0 || polling) this.o.applyRequests(store);
    let lanesInStore: LanesInStore | null = null;
    const launches = store.write(() => {
      const changed = this.applyStarts(starts, failures) + this.applyExited(exits) + this.applyWithdrawn(withdrawn);
      if (changed > 0) settleDependencies(store);
      lanesInStore = this.lanesInStore();
      return this.stopping ? [] : [...this.allocate(lanesInStore), ...this.topUpLanes()];
    });
    if (launches.length > 0) this.launch(launches);
    if (lanesInStore) this.settleLanes(lanesInStore, now);
    if (polling) this.enforceLimits();
    if (now - this.lastHeartbeat >= HEARTBEAT_MS) {
      this.lastHeartbeat = now;
      heartbeat(store);
    }
    if (this.stopping) return;
    if (this.children.size === 0 && launches.length === 0 && !hasLocalWork(store)) {
      this.idleSince ??= now;
      if (now - this.idleSince >= this.o.idleMs) this.finish(false);
    } else {
      this.idleSince = null;
    }
  }

  /** Attempts whose wrapper exited, with their markers (an ended marker, or none if the wrapper died) and usage. */
  private readExited(): { a: AttemptRow; ended: EndedMarker | null; started: StartedMarker | null; usage: AttemptUsage | null }[] {
    if (this.exited.size === 0) return [];
    const { store } = this.o;
    const exits = [...this.exited];
    this.exited.clear();
    return (
      exits
        .map(([id, usage]) => ({ a: attemptById(store, id), usage }))
        // One finished already (a command's refresh read its ended marker first) still gets its usage.
        .filter((e): e is { a: AttemptRow; usage: AttemptUsage | null } => e.a !== undefined && (isActive(e.a) || e.usage !== null))
        // The started marker only adds what the launcher already reported, unless the start was never recorded.
        .map(({ a, usage }) => {
          const active = isActive(a);
          return { a, usage, ended: active ? readEnded(a.run_dir) : null, started: active && a.started_at === null ? readStarted(a.run_dir) : null };
        })
    );
  }

  private applyExited(exits: ReturnType<LocalSupervisor["readExited"]>): number {
    for (const { a, ended, started, usage } of exits) {
      if (!isActive(a)) recordUsage(this.o.store, a.id, usage!, true);
      else if (ended) {
        const out = outcomeFromMarkers(this.o.store, a, ended, started);
        finishAttempt(this.o.store, a, { ...out, usage: usage ?? out.usage });
      } else {
        this.declareGone(a, "the wrapper exited without an end marker");
        if (usage) recordUsage(this.o.store, a.id, usage, true);
      }
    }
    return exits.length;
  }

  /**
   * Looks at active local attempts this process is not the parent of: adopted ones from a previous
   * supervisor, and launches interrupted by a crash. Decides from markers and process identity only.
   */
  private reconcile(): void {
    const { store } = this.o;
    const foreign = () => activeAttempts(store, ENGINE).filter((a) => !this.children.has(a.id));
    const first = foreign();
    if (first.length === 0) return;
    // Markers first, through the same ingestion every command uses; what is left has no end marker.
    ingestMarkers(store, first);
    const decisions: (() => void)[] = [];
    for (const a of foreign()) {
      const started = readStarted(a.run_dir);
      const pid = a.pid ?? started?.pid ?? null;
      const pidStart = a.pid_start ?? started?.pidStart ?? null;
      if (pid !== null && isSameProcessAlive(pid, pidStart)) continue; // adopted: watched on every poll
      if (pid === null) {
        // Launch interrupted before the pid was recorded. Fence the attempt: if we win the claim, the
        // wrapper will never run the command, so the task can safely go back to the queue. If we lose it, the
        // claim is a `started` marker still being written (or a torn one): it gets the launch grace.
        if (fenceAttempt(a.run_dir)) {
          // One that corral was stopping ends as asked; any other goes back to the queue.
          decisions.push(() =>
            a.kill_reason !== null ? this.endUnstarted(a) : abandonUnstartedAttempt(store, a, "the supervisor stopped before the attempt started"),
          );
        } else if (Date.now() - claimTime(a.run_dir) > this.o.launchGraceMs) {
          decisions.push(() => this.declareGone(a, "it was claimed but never published its start"));
        }
        continue;
      }
      // Dead. An end marker written just before the exit is left for the next pass to ingest.
      if (!readEnded(a.run_dir)) decisions.push(() => this.declareGone(a, "its process vanished without an end marker"));
    }
    if (decisions.length === 0) return;
    store.write(() => {
      for (const d of decisions) d();
      settleDependencies(store);
    });
  }

  /** An attempt without an end marker: lost, unless corral itself was killing it (then cancelled or timed out). */
  private declareGone(a: AttemptRow, why: string): void {
    if (a.pid !== null) signalGroup(a.pid, "SIGKILL"); // nothing of a lost attempt may keep running unseen
    const endedAt = Date.now();
    if (a.kill_reason === "cancel") {
      finishAttempt(this.o.store, a, { state: "cancelled", exitCode: null, signal: "KILL", reason: "cancelled by user", endedAt });
    } else if (a.kill_reason === "timeout") {
      finishAttempt(this.o.store, a, { state: "failed", exitCode: null, signal: "KILL", reason: "TIMEOUT: killed after the time limit", endedAt });
    } else {
      finishAttempt(this.o.store, a, { state: "lost", exitCode: null, signal: null, reason: `lost: ${why}`, endedAt });
    }
    this.o.log(`attempt ${a.job_id}.${a.idx}#${a.n}: ${why}`);
  }

  /** Time limits, cancel requests, and the KILL that follows a TERM left unanswered. */
  private enforceLimits(): void {
    const { store } = this.o;
    const now = Date.now() / 1000;
    for (const a of attemptsToStop(store, ENGINE, now)) {
      if (!isSameProcessAlive(a.pid!, a.pid_start)) continue;
      if (a.kill_reason === null || a.kill_sent_at === null) {
        const reason = a.kill_reason ?? "timeout";
        store.write(() => markKilling(store, a.id, reason, now));
        signalGroup(a.pid!, "SIGTERM");
      } else if ((now - a.kill_sent_at) * 1000 >= this.o.killGraceMs) {
        signalGroup(a.pid!, "SIGKILL");
      }
    }
  }

  /**
   * Picks queued local tasks in submission order within the budget and array caps, and records each as a
   * `launching` attempt before any process exists (write-ahead), so a crash can never hide a started job.
   */
  private allocate(lanes: LanesInStore): Launch[] {
    const { store, budget } = this.o;
    // No settleDependencies here: dependencies only change when an attempt ends or a job is released, and
    // every one of those paths settles them itself. Runs inside the tick's transaction.
    const used = resourcesInUse(store, ENGINE);
    // A lane holds its share until its last process is reaped, also where the store counts none of its attempts:
    // between two of them, or once a command's refresh has recorded an end whose process has not exited yet.
    for (const lane of lanes.uncounted) {
      used.cpus += Math.max(1, lane.job.cpus);
      used.mem += lane.job.mem_mb ?? 0;
      used.devices.push(...lane.devices);
    }
    let freeCpus = budget.cpus - used.cpus;
    let freeMem = budget.memMb - used.mem;
    const busyGpus = new Set(used.devices);
    const freeGpus = budget.gpus.filter((g) => !busyGpus.has(g));
    const launches: Launch[] = [];
    if (freeCpus <= 0) return launches;
    scan: for (const jobId of this.jobsInTurn()) {
      const job = getJob(store, jobId);
      if (!job) continue;
      let slots = Number.MAX_SAFE_INTEGER;
      if (job.array_cap !== null) {
        slots = job.array_cap - runningTaskCount(store, jobId) - lanes.uncounted.filter((l) => l.job.id === jobId).length;
        if (slots <= 0) continue;
      }
      const fitCount = Math.min(
        slots,
        Math.floor(freeCpus / Math.max(1, job.cpus)),
        job.mem_mb ? Math.floor(freeMem / job.mem_mb) : Number.MAX_SAFE_INTEGER,
        job.gpus > 0 ? Math.floor(freeGpus.length / job.gpus) : Number.MAX_SAFE_INTEGER,
      );
      // Strict submission order: a job that does not fit now blocks later ones, so big jobs are not starved.
      if (fitCount <= 0) break;
      const tasks = queuedTasks(store, jobId, fitCount);
      for (const t of tasks) {
        const devices = freeGpus.splice(0, job.gpus);
        const attempt = recordLaunches(store, {
          jobId,
          n: t.attempts + 1,
          engine: ENGINE,
          indices: [t.idx],
          running: true,
          devices: () => (devices.length > 0 ? devices.join(",") : null),
        }).get(t.idx);
        if (!attempt) continue;
        launches.push({ attempt, job, devices });
        freeCpus -= Math.max(1, job.cpus);
        freeMem -= job.mem_mb ?? 0;
        if (freeCpus <= 0) break scan;
      }
    }
    return launches;
  }

  /**
   * Queues the next tasks of the job first in turn in its lanes, as many as cover LANE_AHEAD_MS of its recent
   * task duration. A job whose tasks take longer (or none of which has ended yet) gets none, nor does a job
   * behind one that waits for room: lanes never let a job overtake one before it for more than that long.
   * Inside the tick's transaction, after allocate.
   */
  private topUpLanes(): Launch[] {
    if (this.lanes.size === 0 || !this.launcher?.queueClaimed) return [];
    const { store } = this.o;
    const first = this.jobsInTurn()[0];
    const depth = first === undefined ? 0 : laneDepth(this.taskMs.get(first));
    const now = Date.now();
    const lanes = [...this.lanes.values()].filter((l) => l.job.id === first && l.queued.length < depth && !this.isSlow(l, now));
    if (lanes.length === 0) return [];
    const room = lanes.reduce((sum, l) => sum + depth - l.queued.length, 0);
    const tasks = queuedTasks(store, first!, room);
    const out: Launch[] = [];
    // Round the lanes, so that they hold about as much each.
    for (let level = 0, i = 0; i < tasks.length && level < depth; level++) {
      for (const lane of lanes) {
        if (i >= tasks.length) break;
        if (lane.queued.length > level) continue;
        const t = tasks[i++]!;
        const attempt = recordLaunches(store, {
          jobId: first!,
          n: t.attempts + 1,
          engine: ENGINE,
          indices: [t.idx],
          running: false,
          accepted: true,
          devices: () => (lane.devices.length > 0 ? lane.devices.join(",") : null),
        }).get(t.idx);
        if (attempt) out.push({ attempt, job: lane.job, devices: lane.devices, lane });
      }
    }
    return out;
  }

  /** What the store says of the lanes' attempts (inside the tick's transaction, once its changes are applied). */
  private lanesInStore(): LanesInStore {
    const ids = [...this.laneOf.keys()];
    const rows: LanesInStore["rows"] = ids.length > 0 ? attemptStates(this.o.store, ids) : new Map();
    const holds = (id: number | null) => id !== null && (rows.get(id)?.state === "launching" || rows.get(id)?.state === "running");
    return { asked: new Set(ids), rows, uncounted: [...this.lanes.values()].filter((l) => !holds(l.current)) };
  }

  /**
   * What waits in lanes and must not run is taken back: attempts of jobs removed meanwhile, and those corral was
   * asked to stop (cancelled, or a parent failed), which are fenced first so that they run nothing even if their
   * turn comes before the launcher hears. So is what waits in a lane whose attempt runs longer than lanes are
   * for: tasks of one array can be short, then long, and must not queue behind each other.
   */
  private settleLanes(inStore: LanesInStore, now: number): void {
    for (const lane of this.lanes.values()) {
      const slow = this.isSlow(lane, now);
      for (const id of lane.queued) {
        // Queued in this very tick: the store's view was taken before.
        if (!inStore.asked.has(id)) continue;
        const row = inStore.rows.get(id);
        if (row && row.killReason !== null && !this.fenced.has(id)) {
          this.fenced.add(id);
          fenceAttempt(row.runDir);
        }
        if (!row || row.killReason !== null || slow) this.withdraw(id);
      }
    }
  }

  /** Whether the lane's attempt has run longer than lanes are for. */
  private isSlow(lane: Lane, now: number): boolean {
    const since = lane.current === null ? undefined : this.startedAt.get(lane.current);
    return since !== undefined && now - since >= LANE_TASK_MS_MAX;
  }

  private withdraw(id: number): void {
    if (this.withdrawing.has(id) || !this.launcher?.withdraw) return;
    this.withdrawing.add(id);
    this.launcher.withdraw(id);
  }

  /**
   * Attempts the launcher gave back from their lanes never ran: one corral was stopping ends as asked (cancelled),
   * any other leaves no trace and its task waits in the queue again.
   */
  private applyWithdrawn(ids: readonly number[]): number {
    const { store } = this.o;
    for (const id of ids) {
      const a = attemptById(store, id);
      if (a?.state !== "queued") continue;
      if (a.kill_reason === null) withdrawQueuedAttempt(store, a);
      else this.endUnstarted(a);
    }
    return ids.length;
  }

  /** An attempt corral was stopping that provably never started (fenced, or taken back from its lane) ends as asked. */
  private endUnstarted(a: AttemptRow): void {
    const reason = a.kill_reason === "dependency" ? "a dependency did not succeed" : "cancelled by user";
    finishAttempt(this.o.store, a, { state: "cancelled", exitCode: null, signal: null, reason, endedAt: Date.now() });
  }

  /** An attempt left its lane (it ended, or could not start); the lane closes once nothing holds or waits in it. */
  private leaveLane(id: number): Lane | null {
    const lane = this.laneOf.get(id);
    if (!lane) return null;
    this.laneOf.delete(id);
    this.fenced.delete(id);
    this.withdrawing.delete(id);
    if (lane.current === id) lane.current = null;
    else if (lane.queued.includes(id)) lane.queued.splice(lane.queued.indexOf(id), 1);
    if (lane.current === null && lane.queued.length === 0) this.lanes.delete(lane.id);
    return lane;
  }

  private jobsInTurn(): number[] {
    this.turn ??= jobsInTurn(this.o.store);
    return this.turn;
  }

  /** Remembers how long the job's tasks take, to size its lanes. */
  private noteDuration(id: number): void {
    const t0 = this.startedAt.get(id);
    this.startedAt.delete(id);
    const lane = this.laneOf.get(id);
    if (t0 === undefined || !lane) return;
    const ms = Date.now() - t0;
    const before = this.taskMs.get(lane.job.id);
    this.taskMs.set(lane.job.id, before === undefined ? ms : before * 0.8 + ms * 0.2);
  }

  /** A tick a little later, so that ends arriving meanwhile are recorded in one transaction. */
  private wakeSoon(): void {
    if (this.soon !== null) return;
    this.soon = setTimeout(() => {
      this.soon = null;
      this.wake();
    }, LANE_TICK_MS);
  }

  private newLauncher(): Launcher {
    return createLauncher({
      started: (id, pid) => {
        // No tick of its own: a start frees nothing and nobody waits for it, so it is recorded with the next
        // change (an exit, a submission) or poll. Meanwhile the started marker says it, as after a crash.
        this.starts.push({ id, pid, pidStart: processStartTime(pid), at: Date.now() / 1000 });
        this.startedAt.set(id, Date.now());
        const lane = this.laneOf.get(id);
        if (lane && lane.current !== id && lane.queued.includes(id)) {
          lane.queued.splice(lane.queued.indexOf(id), 1);
          lane.current = id;
        }
      },
      // What ends, fails or is given back stays among the children until a tick takes it, after reconcile: else
      // reconcile would take it for an attempt nobody watches.
      exited: (id, usage) => {
        this.exited.set(id, usage);
        this.noteDuration(id);
        const lane = this.leaveLane(id);
        // Its lane runs its next attempt already: this end can wait to be recorded with others.
        if (lane && lane.queued.length > 0) this.wakeSoon();
        else this.wake();
      },
      failed: (id, why) => {
        this.launchFailures.push({ id, why });
        this.leaveLane(id);
        this.wake();
      },
      withdrawn: (id) => {
        this.startedAt.delete(id);
        this.leaveLane(id);
        this.withdrawn.push(id);
        this.wake();
      },
      lost: () => {
        // What it started keeps running; from now on those attempts are watched like adopted ones, and what
        // waited in its lanes is found without a process and put back in the queue (reconcile).
        this.o.log("the launcher process died; starting another");
        this.children.clear();
        this.lanes.clear();
        this.laneOf.clear();
        this.fenced.clear();
        this.withdrawing.clear();
        this.lastPoll = 0; // the next tick reconciles first: what waited in its lanes goes back to the queue
        if (!this.stopping) this.launcher = this.newLauncher();
      },
    });
  }

  /** Hands each new attempt's wrapper to the launcher; its pid arrives later through `started`. */
  private launch(launches: Launch[]): void {
    const { store, budget } = this.o;
    for (const { attempt, job, devices, lane } of launches) {
      try {
        const engineEnv: Record<string, string> = {};
        // GPUs are handed out exclusively; a job that asked for none does not see any.
        if (budget.gpus.length > 0 || job.gpus > 0) engineEnv.CUDA_VISIBLE_DEVICES = devices.join(",");
        const launcher = this.launcher!;
        if (launcher.launchClaimed) {
          // The launcher makes the run directory and the claim itself: no file written here.
          const { runDir, launch } = attemptForLauncher(store, job, attempt.idx, attempt.n, engineEnv);
          this.children.add(attempt.id);
          if (lane && launcher.queueClaimed) {
            lane.queued.push(attempt.id);
            this.laneOf.set(attempt.id, lane);
            launcher.queueClaimed(attempt.id, runDir, launch, lane.id);
          } else if (launcher.queueClaimed) {
            const opened: Lane = { id: attempt.id, job, devices, current: attempt.id, queued: [] };
            this.lanes.set(opened.id, opened);
            this.laneOf.set(attempt.id, opened);
            launcher.launchClaimed(attempt.id, runDir, launch, opened.id);
          } else {
            launcher.launchClaimed(attempt.id, runDir, launch);
          }
        } else {
          const wrapper = writeAttemptFiles(store, job, attempt.idx, attempt.n, engineEnv);
          this.children.add(attempt.id);
          launcher.launch(attempt.id, wrapper);
        }
      } catch (err) {
        // Still a child until the next tick (right after this one) records the failure, as for the launcher's.
        this.leaveLane(attempt.id);
        this.launchFailures.push({ id: attempt.id, why: (err as Error).message });
        this.wake();
      }
    }
  }

  /** Records the pids of started wrappers, and fails attempts whose wrapper could not be started at all. */
  private applyStarts(starts: LocalSupervisor["starts"], failures: LocalSupervisor["launchFailures"]): number {
    const { store } = this.o;
    const host = os.hostname();
    for (const s of starts) {
      // One whose job was deleted meanwhile (it started from a lane as the delete came) must not run on unseen.
      if (!recordProcessStart(store, { ...s, host }) && !attemptById(store, s.id) && isSameProcessAlive(s.pid, s.pidStart)) signalGroup(s.pid, "SIGKILL");
    }
    for (const f of failures) {
      const attempt = attemptById(store, f.id);
      if (!attempt) continue;
      fenceAttempt(attempt.run_dir);
      finishAttempt(store, attempt, { state: "failed", exitCode: null, signal: null, reason: `could not start: ${f.why}`, endedAt: Date.now() });
    }
    return failures.length;
  }

  private finish(force: boolean): void {
    if (!releaseLeaseIfIdle(this.o.store, force)) {
      this.idleSince = null;
      return;
    }
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    const own = process.cpuUsage();
    const launcher = this.launcher?.cpu();
    this.launcher?.close();
    const cpu = `cpu ${((own.user + own.system) / 1e6).toFixed(1)}s (system ${(own.system / 1e6).toFixed(1)}s)${launcher ? `, launcher ${launcher.own.toFixed(1)}s, attempts ${launcher.children.toFixed(1)}s` : ""}`;
    this.o.log(`supervisor ${process.pid} exiting (${cpu})`);
    this.resolveDone?.();
  }
}

/** The local engine's name in the store. */
const ENGINE = "local";

/** Not ended yet: launched, waiting in a lane, or running. */
function isActive(a: AttemptRow): boolean {
  return a.state === "running" || a.state === "launching" || a.state === "queued";
}

/** How many attempts a lane holds ahead for tasks that take `taskMs` (0: no lane queue). */
function laneDepth(taskMs: number | undefined): number {
  if (taskMs === undefined || taskMs >= LANE_TASK_MS_MAX) return 0;
  return Math.min(LANE_MAX_DEPTH, Math.max(1, Math.ceil(LANE_AHEAD_MS / Math.max(taskMs, 1))));
}

/**
 * Jobs with queued local tasks, in the order they get the machine: jobs with a global priority (above 100)
 * first, highest first; then submission order.
 */
function jobsInTurn(store: Store): number[] {
  const urgent: { id: number; priority: number }[] = [];
  const ids: number[] = [];
  for (const job of jobsWithQueuedTasks(store, ENGINE)) {
    if (job.priority > GLOBAL_PRIORITY) urgent.push(job);
    else ids.push(job.id);
  }
  return [...urgent.sort((a, b) => b.priority - a.priority || a.id - b.id).map((u) => u.id), ...ids];
}

/** Priorities above this go before every job of other batches, not only within their own batch. */
const GLOBAL_PRIORITY = 100;

/** When the attempt was claimed: the claim is the creation of its `started` marker. */
function claimTime(runDir: string): number {
  try {
    return fs.statSync(path.join(runDir, RUN_FILES.started)).mtimeMs;
  } catch {
    return Date.now();
  }
}
