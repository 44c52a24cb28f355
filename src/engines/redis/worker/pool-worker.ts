import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Job, Worker } from "bullmq";
import type { Redis } from "ioredis";
import { BULL_PREFIX, CANCELLED_KEY, queuesFor, redactUrl, resultsKey, WORKERS_KEY, workerKey } from "../pool.js";
import { streamEntries, type ResultEntry } from "../results.js";
import { landLaunch, SHARED_ENV_PREFIX, SHARED_ENV_TTL_S, wholeLaunch, type TaskPayload } from "../task-payload.js";
import { beatFields, GONE_WORKER_TTL_S, type WorkerBeat } from "../worker-registry.js";
import { createLauncher, type Launcher } from "../../local/launcher-process.js";
import { AttemptRunner } from "./attempt-runner.js";

export interface PoolWorkerOptions {
  readonly url: string;
  readonly name: string;
  readonly concurrency: number;
  readonly tags: readonly string[];
  /** Seconds between heartbeats; silent for timeoutS, the worker is gone and its attempts are lost. */
  readonly heartbeatS: number;
  readonly timeoutS: number;
  /** Where attempts get their run directories on this host. */
  readonly workDir: string;
  readonly log: (line: string) => void;
}

/** How often running attempts are looked at (output shipped, time limits, cancellations). */
const TICK_MS = 500;
/** How long an idle worker waits before looking at its queues again. */
const IDLE_MS = 200;

/** BullMQ's Worker turns the raw reply of a completion that took the next job into that job (a protected method). */
interface NextJobFromData {
  nextJobFromJobData(jobData: unknown, jobId: unknown, token: string): Promise<Job | undefined>;
}

interface Slot {
  readonly job: Job;
  readonly token: string;
  readonly runner: AttemptRunner;
  /** Its folder in the work folder: slot-N. */
  readonly folder: string;
}

/**
 * `corral worker`: takes attempts from the BullMQ queues of its tags (the most specific first), runs each
 * through the same sh wrapper as every engine, in a run directory of its own, and sends markers, output and
 * requests back through the project's results stream. It holds each job's BullMQ lock while it runs (so a
 * worker killed -9 loses its lock, and corral sees the attempt lost) and writes a heartbeat every few seconds.
 * Told to stop (`corral workers stop`, SIGTERM, SIGINT), it drains: takes nothing new, finishes what it runs.
 */
export class PoolWorker {
  /** corral's own commands (results, heartbeats, cancellations). */
  private redis!: Redis;
  /** BullMQ's: it defines its Lua scripts on this connection (see run). */
  private bull!: Redis;
  private readonly queues: string[];
  private readonly workers = new Map<string, Worker>();
  private readonly slots = new Map<string, Slot>();
  private draining = false;
  private wake: (() => void) | null = null;
  /** Fetches in flight: a worker says it drains only once none of them can take another task. */
  private readonly fetching = new Set<Promise<unknown>>();
  private tokens = 0;
  private readonly startedAt = Date.now();
  private readonly lockMs: number;
  private ran = 0;
  /** Forks the wrappers (a small resident process: forking this Node process for each would cost milliseconds). */
  private launcher!: Launcher;
  private launches = 0;
  private readonly launched = new Map<number, AttemptRunner>();
  private readonly freeFolders: string[] = [];
  private readonly environments = new Map<string, Readonly<Record<string, string>>>();

  constructor(private readonly opts: PoolWorkerOptions) {
    this.queues = queuesFor(opts.tags);
    // The lock outlives a few missed renewals but not a dead worker for long.
    this.lockMs = Math.max(5_000, opts.timeoutS * 1000);
  }

  /** Runs until drained; resolves with the number of attempts run. */
  async run(): Promise<number> {
    const { Redis } = await import("ioredis");
    const { Worker } = await import("bullmq");
    // Commands wait through a Redis restart (maxRetriesPerRequest: null) instead of failing the attempt.
    // Two connections: BullMQ defines its ~65 Lua scripts on the one it is given, and ioredis copies every
    // defined script onto each pipeline it makes, an automatic one included: on a shared connection that
    // copying was the worker's largest cost per attempt. corral's own commands go through a plain connection.
    // Reconnecting at most a second apart (ioredis waits up to 2 s): after a Redis restart the worker beats again
    // soon enough that corral, which allows it its timeout from the restart on, does not count it gone.
    const retryStrategy = (times: number) => Math.min(times * 100, 1000);
    this.redis = new Redis(this.opts.url, { maxRetriesPerRequest: null, enableAutoPipelining: true, retryStrategy });
    this.bull = new Redis(this.opts.url, { maxRetriesPerRequest: null, retryStrategy });
    for (const c of [this.redis, this.bull]) c.on("error", (err) => this.opts.log(`redis: ${err.message.replaceAll(this.opts.url, redactUrl(this.opts.url))}`));
    for (const q of this.queues) {
      const w = new Worker(q, null, {
        connection: this.bull,
        prefix: BULL_PREFIX,
        autorun: false,
        lockDuration: this.lockMs,
        // corral owns retries: a stalled attempt is failed, never silently re-run under the same attempt.
        maxStalledCount: 0,
        stalledInterval: this.lockMs,
      });
      w.on("error", (err) => this.opts.log(`queue ${q}: ${err.message}`));
      this.workers.set(q, w);
      void w.startStalledCheckTimer();
    }
    for (let i = 1; i <= this.opts.concurrency; i++) {
      fs.mkdirSync(path.join(this.opts.workDir, `slot-${i}`), { recursive: true, mode: 0o700 });
      this.freeFolders.push(`slot-${i}`);
    }
    this.launcher = createLauncher({
      started: (id, pid) => this.launched.get(id)?.onStarted(pid),
      exited: (id, usage) => {
        this.launched.get(id)?.onExited(usage);
        this.launched.delete(id);
      },
      failed: (id, why) => {
        this.launched.get(id)?.onFailed(why);
        this.launched.delete(id);
      },
      lost: () => {
        this.opts.log("the launcher process died: draining (running tasks can no longer be watched)");
        for (const r of this.launched.values()) r.onFailed("the worker's launcher died");
        this.launched.clear();
        this.drain();
      },
    });
    await this.redis.hdel(workerKey(this.opts.name), "stop");
    await this.beat();
    this.opts.log(
      `worker ${this.opts.name} on ${os.hostname()} (pid ${process.pid}): concurrency ${this.opts.concurrency}, tags ${this.opts.tags.join(",") || "none"}, ` +
        `queues ${this.queues.join(" ")}, Redis ${redactUrl(this.opts.url)}`,
    );
    const beats = setInterval(() => void this.beat().catch(() => {}), this.opts.heartbeatS * 1000);
    const ticks = setInterval(() => void this.tick().catch((err) => this.opts.log(`tick: ${(err as Error).message}`)), TICK_MS);
    try {
      await this.fetchLoop();
      while (this.slots.size > 0) await this.nap(IDLE_MS);
    } finally {
      clearInterval(beats);
      clearInterval(ticks);
      await this.beat("stopped").catch(() => {});
      this.launcher.close();
      await Promise.all([...this.workers.values()].map((w) => w.close()));
      await Promise.all([this.redis.quit().catch(() => {}), this.bull.quit().catch(() => {})]);
    }
    this.opts.log(`worker ${this.opts.name} stopped after ${this.ran} attempts`);
    return this.ran;
  }

  /** Finish what runs, take nothing new. */
  drain(): void {
    if (this.draining) return;
    this.draining = true;
    this.opts.log(`worker ${this.opts.name} draining: ${this.slots.size} attempts still running`);
    this.wake?.();
  }

  private async fetchLoop(): Promise<void> {
    while (!this.draining) {
      if (this.slots.size >= this.opts.concurrency) {
        await this.nap(IDLE_MS);
        continue;
      }
      let got = false;
      for (const [q, w] of this.workers) {
        if (this.draining) break;
        const token = `${this.opts.name}:${++this.tokens}`;
        let job: Job | undefined;
        try {
          job = await this.fetch(w.getNextJob(token, { block: false }));
        } catch (err) {
          // Redis restarting or out of reach: wait and look again; running tasks go on meanwhile.
          this.opts.log(`queue ${q}: ${(err as Error).message}`);
          await this.nap(1000);
          break;
        }
        if (!job) continue;
        got = true;
        this.begin(q, job, token);
        break;
      }
      if (!got) await this.nap(IDLE_MS);
    }
  }

  private nap(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        resolve();
      };
    });
  }

  /** Tracks a call that may take a task, for drain (see beat). */
  private async fetch<T>(call: Promise<T>): Promise<T> {
    const settled = call.catch(() => undefined);
    this.fetching.add(settled);
    try {
      return await call;
    } finally {
      this.fetching.delete(settled);
    }
  }

  private begin(queue: string, job: Job, token: string): void {
    const task = job.data as TaskPayload;
    // (A task cancelled while this worker took it is caught by the next tick, which stops it.)
    // Each slot has a folder, reused attempt after attempt (see AttemptRunner.clear).
    const folder = this.freeFolders.pop()!;
    const runner = new AttemptRunner(task, path.join(this.opts.workDir, folder), this.opts.name);
    const slot: Slot = { job, token, runner, folder };
    this.slots.set(job.id!, slot);
    const launchId = ++this.launches;
    this.launched.set(launchId, runner);
    void this.complete(queue, task, slot);
    void this.start(queue, job, launchId, runner);
  }

  /** Has the launcher start an attempt whose slot begin() took, once its shared environment is at hand. */
  private async start(queue: string, job: Job, launchId: number, runner: AttemptRunner): Promise<void> {
    try {
      // A task an older corral queued carries its whole environment: it runs as it is.
      const task = runner.task;
      const launch = wholeLaunch(task) ?? landLaunch(task.launch, await this.sharedEnvironment(task.launch.sharedEnv));
      // Its launcher may have died meanwhile (then every attempt it had was failed): nothing to start.
      if (runner.isOver) return;
      if (this.launcher.launchClaimed) this.launcher.launchClaimed(launchId, runner.runDir, runner.prepareClaimed(launch));
      else this.launcher.launch(launchId, runner.prepare(launch));
    } catch (err) {
      this.opts.log(`${queue} ${job.id}: cannot start: ${(err as Error).message}`);
      this.launched.delete(launchId);
      runner.onFailed((err as Error).message);
    }
  }

  /** The environment tasks share (see task-payload.ts), read from Redis once per worker. */
  private async sharedEnvironment(key: string): Promise<Readonly<Record<string, string>>> {
    let env = this.environments.get(key);
    if (env === undefined) {
      if (typeof key !== "string" || !key.startsWith(SHARED_ENV_PREFIX))
        throw new Error("the task names no shared environment (was it queued by another corral version?)");
      // Read with its lifetime renewed: a worker taking tasks from that shell keeps it alive too.
      const text = await this.redis.getex(key, "EX", SHARED_ENV_TTL_S);
      if (text === null) throw new Error(`its environment (${key}) is no longer in Redis (kept ${SHARED_ENV_TTL_S / 86400} days after its last submission)`);
      env = JSON.parse(text) as Record<string, string>;
      // A few at a time: one per shell that submitted, over the worker's life.
      if (this.environments.size >= 64) this.environments.delete(this.environments.keys().next().value!);
      this.environments.set(key, env);
    }
    return env;
  }

  private async complete(queue: string, task: TaskPayload, slot: Slot): Promise<void> {
    await slot.runner.wait();
    let next: Job | undefined;
    try {
      // The results first, acknowledged, then the completion: an attempt BullMQ no longer has always has its
      // end marker in the stream (corral counts one gone without it as lost).
      await this.send(task.project, slot.runner.finish());
      next = await this.completeJob(queue, slot);
    } finally {
      this.freeFolders.push(slot.folder);
      this.slots.delete(slot.job.id!);
      this.ran++;
      // The slot goes straight to the task taken with the completion, else the fetch loop looks again.
      if (next) this.begin(queue, next, slot.token);
      else this.wake?.();
    }
  }

  /**
   * Marks the BullMQ job completed. When this queue is the one the worker would look at first anyway, the same
   * call takes its next task, as BullMQ's own workers do: one round trip and one script run less per task.
   */
  private async completeJob(queue: string, slot: Slot): Promise<Job | undefined> {
    const take = !this.draining && queue === this.queues[0];
    const worker = this.workers.get(queue)! as unknown as NextJobFromData;
    try {
      const done = slot.job.moveToCompleted(null, slot.token, take);
      if (!take) {
        await done;
        return undefined;
      }
      return await this.fetch(done.then((reply) => (Array.isArray(reply) && reply[0] ? worker.nextJobFromJobData(reply[0], reply[1], slot.token) : undefined)));
    } catch (err) {
      this.opts.log(`${slot.job.id}: ${(err as Error).message}`);
      return undefined;
    }
  }

  private async send(project: string, entries: readonly ResultEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const key = resultsKey(project);
    const pipe = this.redis.pipeline();
    for (const fields of streamEntries(entries)) pipe.xadd(key, "*", ...fields);
    const replies = (await pipe.exec()) ?? [];
    for (const [err] of replies) if (err) throw err;
  }

  /** Ships new output, enforces time limits and cancellations, keeps the locks, notices a stop request. */
  private async tick(): Promise<void> {
    const now = Date.now();
    const slots = [...this.slots.values()];
    if (slots.length > 0) {
      const cancelled = await this.redis.smismember(CANCELLED_KEY, ...slots.map((s) => s.job.id!));
      slots.forEach((s, i) => {
        if (cancelled[i]) {
          s.runner.stop(null);
          void this.redis.srem(CANCELLED_KEY, s.job.id!);
        } else if (s.runner.overTime(now)) {
          const limit = s.runner.task.timeLimitS!;
          s.runner.stop({ keyword: "TIMEOUT", detail: `stopped by worker ${this.opts.name} after ${limit} s` });
        }
      });
      for (const s of slots) {
        if (!this.slots.has(s.job.id!)) continue;
        if (s.runner.settleIfEnded(now)) {
          this.opts.log(`${s.job.id}: ended without an exit report from the launcher; settled from its marker`);
          continue;
        }
        await this.send(s.runner.task.project, s.runner.collect());
      }
    }
  }

  private lastExtend = 0;

  private async beat(state: WorkerBeat["state"] | null = null): Promise<void> {
    const now = Date.now();
    // Locks are renewed with the heartbeat (at most every third of their duration).
    if (now - this.lastExtend > this.lockMs / 3 && this.slots.size > 0) {
      this.lastExtend = now;
      await Promise.all([...this.slots.values()].map((s) => s.job.extendLock(s.token, this.lockMs).catch(() => 0)));
    }
    if ((await this.redis.hget(workerKey(this.opts.name), "stop")) === "1" && state === null) {
      this.drain();
      // A task taken by a fetch already under way is this worker's to run; none is taken after this beat.
      await Promise.all([...this.fetching]);
    }
    const beat: WorkerBeat = {
      name: this.opts.name,
      host: os.hostname(),
      pid: process.pid,
      tags: this.opts.tags,
      concurrency: this.opts.concurrency,
      running: [...this.slots.keys()],
      load: os.loadavg()[0]!,
      lastSeen: now,
      timeoutS: this.opts.timeoutS,
      startedAt: this.startedAt,
      state: state ?? (this.draining ? "draining" : "running"),
    };
    const key = workerKey(this.opts.name);
    await this.redis.multi().hset(key, beatFields(beat)).expire(key, GONE_WORKER_TTL_S).sadd(WORKERS_KEY, this.opts.name).exec();
  }
}
