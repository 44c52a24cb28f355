import { configSection, configPath } from "../../config/project-config.js";
import { UsageError } from "../../domain/errors.js";
import type { JobSpec } from "../../domain/job.js";
import type { AttemptLaunch } from "../../lifecycle/attempt-files.js";
import type { AttemptRow } from "../../store/rows.js";
import type { DoctorLine } from "../engine.js";
import type { AccountingVerdict, LiveJob, Observation, ObserveContext, ProbeResult, SubmissionRequest, WorkerPool } from "../cluster/backend.js";
import { PoolEngine } from "../cluster/pool-engine.js";
import { SchedulerUnavailable } from "../cluster/run-command.js";
import { submissionComment } from "../cluster/tracked-engine.js";
import { bullJobId, bullPriority, engineId, queueName, redactUrl, splitEngineId } from "./pool.js";
import { redisCall } from "./redis-bridge.js";
import type { PollAnswer, TaskToEnqueue } from "./redis-calls.js";
import { sharedEnvironment, shipLaunch, type TaskPayload } from "./task-payload.js";
import type { WorkerView } from "./worker-registry.js";

/**
 * The Redis URL: CORRAL_REDIS_URL, else `[redis] url` in .corral/config.toml. It may carry a password, so it is
 * never printed whole (redactUrl).
 */
export function redisUrl(projectDir: string | null, env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.CORRAL_REDIS_URL) return env.CORRAL_REDIS_URL;
  if (projectDir === null) return null;
  const v = configSection(projectDir, "redis").url;
  if (v === undefined) return null;
  if (typeof v !== "string") throw new UsageError(`${configPath(projectDir)}: [redis] url must be a string such as "redis://:password@10.0.0.5:6379"`);
  return v;
}

function requireUrl(projectDir: string): string {
  const url = redisUrl(projectDir);
  if (url === null) throw new SchedulerUnavailable("no Redis URL: set CORRAL_REDIS_URL, or url in [redis] of .corral/config.toml");
  return url;
}

/** How often the state of attempts still waiting in their queue is read (see observe). */
const WAITING_CHECK_MS = 10_000;

/**
 * Redis workers (`corral worker`) as a worker pool: a submission adds one BullMQ job per task to the queue of its
 * tags; an observation reads, in one round trip, the state of the project's attempts and the workers'
 * heartbeats, then drains the results the workers sent (markers, output, requests) into the run directories.
 */
class RedisPool implements WorkerPool {
  readonly name = "redis";
  readonly capabilities = {
    nativeArrays: true,
    nativeDependencies: "none",
    cancelTask: true,
    accounting: false,
    tagRouting: true,
    remoteRunDirs: true,
  } as const;
  readonly minArrayIndex = 0;
  readonly singleRangeArrays = false;
  readonly pollMinAgeS = 0.5;
  private readonly waitingCheckedAt = new Map<string, number>();

  probe(projectDir: string, thorough: boolean): ProbeResult {
    const fail = (text: string): ProbeResult => ({
      usable: false,
      lines: [{ engine: this.name, usable: false, text }],
      maxArrayIndex: null,
      accounting: false,
    });
    let url: string;
    try {
      url = requireUrl(projectDir);
    } catch (err) {
      return fail(`redis: ${(err as Error).message}`);
    }
    let info: { version: string; aof: boolean; policy: string; workers: WorkerView[] };
    try {
      info = redisCall({ op: "probe", url });
    } catch (err) {
      return fail(`redis: ${(err as Error).message} (${redactUrl(url)})`);
    }
    const lines: DoctorLine[] = [{ engine: this.name, usable: true, text: `redis: Redis ${info.version} at ${redactUrl(url)}` }];
    if (thorough) {
      lines.push({
        engine: this.name,
        usable: true,
        text: info.aof
          ? "redis: append-only file on: a restart loses nothing acknowledged"
          : "redis: WARNING: appendonly is off: a Redis restart loses queued tasks (set appendonly yes)",
      });
      if (info.policy !== "noeviction")
        lines.push({
          engine: this.name,
          usable: true,
          text: `redis: WARNING: maxmemory-policy is ${info.policy}: Redis may evict queued tasks (set noeviction)`,
        });
      const live = info.workers.filter((w) => w.live);
      const list = live.map((w) => `${w.name}${w.tags.length ? ` [${w.tags.join(",")}]` : ""}`).join(", ");
      lines.push({
        engine: this.name,
        usable: true,
        text: `redis: ${live.length} live worker${live.length === 1 ? "" : "s"}${list ? `: ${list}` : " (start one with: corral worker)"}`,
      });
    }
    return { usable: true, lines, maxArrayIndex: null, accounting: false };
  }

  checkResources(spec: JobSpec): void {
    const r = spec.resources;
    // A worker runs one task per slot and enforces only the time limit: anything else would be silently ignored.
    if (r.memMb !== null) throw new UsageError("--mem: redis workers do not limit memory; route the task with --tags to workers that have enough");
    if (r.gpus > 0) throw new UsageError("--gpus: redis workers do not allot GPUs; route the task with --tags gpu to workers that have them");
    if (r.cpus > 1) throw new UsageError("--cpus: a redis worker runs one task per --concurrency slot; start workers with fewer slots for bigger tasks");
    if (r.queue !== null) throw new UsageError("--queue: the redis engine has no queues; route tasks with --tags");
    if (spec.schedArgs.length > 0) throw new UsageError("--sched-arg: the redis engine takes no scheduler arguments");
  }

  enqueue(req: SubmissionRequest, launches: ReadonlyMap<number, AttemptLaunch>, inherited: Readonly<Record<string, string>>): string {
    const url = requireUrl(req.projectDir);
    const tag = req.tag;
    const job = req.job;
    const queue = queueName(JSON.parse(job.tags) as string[]);
    const shared = sharedEnvironment(inherited);
    const tasks: TaskToEnqueue[] = req.indices.map((idx) => {
      const data: TaskPayload = {
        project: tag,
        job: job.id,
        index: idx,
        attempt: req.attemptN,
        name: job.name,
        timeLimitS: job.time_limit_s,
        launch: shipLaunch(launches.get(idx)!, inherited, shared.key),
      };
      return { queue, id: bullJobId(tag, job.id, idx, req.attemptN), priority: bullPriority(job.priority), data };
    });
    redisCall({ op: "enqueue", url, tasks, environment: shared });
    // One id per call; for an array, taskId() turns it into each task's: the {} stands for the index.
    if (req.range === null) return engineId(queue, bullJobId(tag, job.id, req.indices[0]!, req.attemptN));
    return engineId(queue, bullJobId(tag, job.id, -1, req.attemptN).replace("--1-", "-{}-"));
  }

  taskId(jobId: string, arrayIndex: number | null): string {
    return arrayIndex === null ? jobId : jobId.replace("{}", String(arrayIndex));
  }

  indexOfTask(taskId: string): number | null {
    // The BullMQ id names the corral index itself (see bullJobId), whatever the submission's offset.
    const parts = splitEngineId(taskId).bullId.split("-");
    return Number(parts[parts.length - 2]);
  }

  jobIdOf(taskId: string): string {
    return taskId;
  }

  observe(ctx: ObserveContext): Observation {
    const url = requireUrl(ctx.projectDir);
    // Attempts still being submitted are looked up by the id they would have, to adopt those that made it.
    const launching = new Map<string, AttemptRow>();
    // Attempts still waiting in a queue change only by starting, which their started marker tells, or by being
    // taken out of it by a cancel: their state is read every WAITING_CHECK_MS (for why they wait, or a Redis that
    // forgot them), not on every poll, except for those a cancel is stopping.
    const now = Date.now();
    const full = now - (this.waitingCheckedAt.get(ctx.projectDir) ?? 0) >= WAITING_CHECK_MS;
    if (full) this.waitingCheckedAt.set(ctx.projectDir, now);
    const live = new Map<string, LiveJob>();
    const ids: string[] = [];
    for (const a of ctx.attempts) {
      if (a.engine_id === null) {
        const id = this.expectedId(ctx, a);
        launching.set(id, a);
        ids.push(id);
      } else if (full || a.started_at !== null || a.state === "running" || a.kill_reason !== null) ids.push(a.engine_id);
      else live.set(a.engine_id, { state: "waiting", running: false, reason: null });
    }
    const answer = redisCall<PollAnswer>({ op: "poll", url, tag: ctx.tag, runsDir: ctx.runsDir, engineIds: ids });
    const comments = new Map<string, string>();
    const fates = new Map<string, AccountingVerdict>();
    for (const [id, st] of Object.entries(answer.states)) {
      const a = launching.get(id);
      if (a) {
        if (st.kind !== "gone" || st.lost === null) comments.set(id, submissionComment(ctx.tag, a.job_id, a.n, 0));
        continue;
      }
      if (st.kind === "gone") {
        if (st.lost !== null) fates.set(id, { kind: "lost", keyword: "LOST", detail: st.lost });
      } else live.set(id, { state: st.kind, running: st.kind === "running", reason: st.kind === "waiting" ? st.reason : null });
    }
    return { live, comments, fates, touched: new Set(answer.touched) };
  }

  private expectedId(ctx: ObserveContext, a: AttemptRow): string {
    return engineId(queueName(ctx.jobTags(a.job_id)), bullJobId(ctx.tag, a.job_id, a.idx, a.n));
  }

  cancel(taskIds: readonly string[], projectDir: string): void {
    redisCall({ op: "cancel", url: requireUrl(projectDir), engineIds: [...taskIds] });
  }

  lostRetries(projectDir: string): number {
    const v = configSection(projectDir, "redis").stall_retries;
    if (v === undefined) return 1;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new UsageError(`${configPath(projectDir)}: [redis] stall_retries must be a whole number`);
    return v;
  }
}

export const redisPool = new RedisPool();
export const redisEngine = new PoolEngine(redisPool);
