import type { Redis } from "ioredis";
import type { Queue } from "bullmq";
import { redisPackages } from "./packages.js";
import { BULL_PREFIX, CANCELLED_KEY, redactUrl, resultsKey, splitEngineId, tagsOfQueue, workerKey } from "./pool.js";
import { applyResults, parseEntry, type ResultEntry } from "./results.js";
import { SHARED_ENV_TTL_S } from "./task-payload.js";
import { readWorkers, type WorkerView } from "./worker-registry.js";

/**
 * corral's side of the Redis engine, asynchronous (ioredis, BullMQ). It runs in a worker thread that the
 * synchronous engine calls through redis-bridge.ts; connections stay open for the life of the corral process.
 */

export interface TaskToEnqueue {
  readonly queue: string;
  readonly id: string;
  readonly priority: number;
  readonly data: unknown;
}

/** One attempt's state as the pool sees it. */
export interface PoolState {
  readonly kind: "waiting" | "running" | "gone";
  /** Why it waits (no live worker has its tags), or which worker runs it. */
  readonly reason: string | null;
  /** For "gone" without an end: why the attempt is lost (its worker stopped answering, Redis forgot it). */
  readonly lost: string | null;
}

export interface PollAnswer {
  readonly states: Record<string, PoolState>;
  /** Attempts (`job.index.attempt`) that results were written for. */
  readonly touched: string[];
}

export type Call =
  | { op: "probe"; url: string }
  | { op: "enqueue"; url: string; tasks: TaskToEnqueue[]; environment: { key: string; text: string } }
  | { op: "poll"; url: string; tag: string; runsDir: string; engineIds: string[] }
  | { op: "cancel"; url: string; engineIds: string[] }
  | { op: "workers"; url: string }
  | { op: "stop"; url: string; names: string[] | null };

export type Answer = { ok: true; value: unknown } | { ok: false; unavailable: boolean; message: string };

/**
 * Two connections per Redis: BullMQ's queues define their ~65 Lua scripts on the connection they are given,
 * and ioredis copies every defined script onto each pipeline made on it (a poll's, an automatic one), so
 * corral's own commands go through a connection of their own.
 */
const clients = new Map<string, Redis>();
const bullClients = new Map<string, Redis>();
const queues = new Map<string, Queue>();

async function client(url: string, which: Map<string, Redis> = clients): Promise<Redis> {
  let c = which.get(url);
  if (c && c.status !== "ready") {
    // It lost its connection (Redis restarted): start over, rather than fail every later call.
    c.disconnect();
    which.delete(url);
    if (which === bullClients) {
      for (const [key, q] of queues) {
        if (!key.startsWith(`${url}\n`)) continue;
        void q.close().catch(() => {});
        queues.delete(key);
      }
    }
    c = undefined;
  }
  if (!c) {
    const { Redis } = redisPackages().ioredis;
    // Fail fast when Redis is down: corral reports "not reachable" and changes nothing, rather than hang.
    c = new Redis(url, {
      lazyConnect: true,
      connectTimeout: 5000,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
      enableAutoPipelining: which === clients,
    });
    c.on("error", () => {}); // reported through the failed command
    await c.connect();
    which.set(url, c);
  }
  return c;
}

async function queue(url: string, name: string): Promise<Queue> {
  const connection = await client(url, bullClients);
  const key = `${url}\n${name}`;
  let q = queues.get(key);
  if (!q) {
    const { Queue } = redisPackages().bullmq;
    q = new Queue(name, { connection, prefix: BULL_PREFIX });
    queues.set(key, q);
  }
  return q;
}

export async function handle(call: Call): Promise<Answer> {
  try {
    return { ok: true, value: await dispatch(call) };
  } catch (err) {
    const message = ((err as Error).message ?? String(err)).split("\n")[0]!;
    const unavailable = /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|Connection is closed|connect|NOAUTH|WRONGPASS|closed/i.test(message);
    return { ok: false, unavailable, message: message.replaceAll(call.url, redactUrl(call.url)) };
  }
}

async function dispatch(call: Call): Promise<unknown> {
  switch (call.op) {
    case "probe":
      return probe(call.url);
    case "enqueue":
      return enqueue(call.url, call.tasks, call.environment);
    case "poll":
      return poll(call.url, call.tag, call.runsDir, call.engineIds);
    case "cancel":
      return cancel(call.url, call.engineIds);
    case "workers":
      return readWorkers(await client(call.url));
    case "stop":
      return stopWorkers(call.url, call.names);
  }
}

/** Server version, persistence and eviction policy, from one INFO call. */
async function probe(url: string): Promise<{ version: string; aof: boolean; policy: string; workers: WorkerView[] }> {
  const c = await client(url);
  const info = await c.info();
  const field = (k: string) => new RegExp(`^${k}:(.*)$`, "m").exec(info)?.[1]?.trim() ?? "";
  return { version: field("redis_version"), aof: field("aof_enabled") === "1", policy: field("maxmemory_policy"), workers: await readWorkers(c) };
}

async function enqueue(url: string, tasks: TaskToEnqueue[], environment: { key: string; text: string }): Promise<number> {
  // The shared environment first (its lifetime renewed): a task is never in a queue before what it needs.
  await (await client(url)).set(environment.key, environment.text, "EX", SHARED_ENV_TTL_S);
  const byQueue = new Map<string, TaskToEnqueue[]>();
  for (const t of tasks) {
    const list = byQueue.get(t.queue);
    if (list) list.push(t);
    else byQueue.set(t.queue, [t]);
  }
  for (const [name, list] of byQueue) {
    const q = await queue(url, name);
    // A small first batch, so that workers start on it while the rest is added.
    for (let i = 0, size = 100; i < list.length; i += size, size = 1000) {
      await q.addBulk(
        list.slice(i, i + size).map((t) => ({
          name: "attempt",
          data: t.data,
          // corral keeps the history and owns retries: BullMQ runs each attempt once and forgets it when done.
          opts: { jobId: t.id, priority: t.priority, attempts: 1, removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 } },
        })),
      );
    }
  }
  return tasks.length;
}

/**
 * The state of the given attempts, then every result the workers sent for the project, written into its run
 * directories. In that order: an attempt that had finished when its state was read has its end marker among
 * the results drained after, so "gone without an end" always means lost.
 */
async function poll(url: string, tag: string, runsDir: string, engineIds: string[]): Promise<PollAnswer> {
  const c = await client(url);
  const pipe = c.pipeline();
  for (const id of engineIds) {
    const { queue: q, bullId } = splitEngineId(id);
    const key = `${BULL_PREFIX}:${q}:${bullId}`;
    pipe.hmget(key, "processedOn", "finishedOn", "failedReason", "timestamp");
    pipe.get(`${key}:lock`);
  }
  const replies = engineIds.length > 0 ? ((await pipe.exec()) ?? []) : [];
  const workers = await readWorkers(c);
  const byName = new Map(workers.map((w) => [w.name, w]));
  const states: Record<string, PoolState> = {};
  engineIds.forEach((id, i) => {
    const [e1, fields] = replies[2 * i]!;
    const [e2, lock] = replies[2 * i + 1]!;
    if (e1 || e2) throw e1 ?? e2;
    const [processedOn = null, finishedOn = null, failedReason = null, timestamp = null] = fields as (string | null)[];
    states[id] = stateOf(id, { processedOn, finishedOn, failedReason, exists: timestamp !== null }, lock as string | null, byName, workers);
  });
  return { states, touched: await drain(c, tag, runsDir) };
}

function stateOf(
  id: string,
  job: { processedOn: string | null; finishedOn: string | null; failedReason: string | null; exists: boolean },
  lock: string | null,
  byName: Map<string, WorkerView>,
  workers: WorkerView[],
): PoolState {
  if (!job.exists) return { kind: "gone", reason: null, lost: "Redis no longer has it (flushed, or restarted without persistence?)" };
  // A live worker that lists it among its running tasks runs it, whatever BullMQ thinks of its lock (a renewal
  // that came late): that worker will send its end.
  const bullId = splitEngineId(id).bullId;
  const runner = workers.find((w) => w.live && w.running.includes(bullId));
  if (runner) return { kind: "running", reason: `on worker ${runner.name} (${runner.host})`, lost: null };
  if (job.finishedOn !== null) {
    return { kind: "gone", reason: null, lost: job.failedReason ? `worker lost (${job.failedReason})` : null };
  }
  if (job.processedOn === null) {
    const tags = tagsOfQueue(splitEngineId(id).queue);
    const able = workers.filter((w) => w.live && w.state === "running" && tags.every((t) => w.tags.includes(t)));
    const reason = able.length > 0 ? null : tags.length > 0 ? `no live worker has tags ${tags.join(",")}` : "no live worker";
    return { kind: "waiting", reason, lost: null };
  }
  // Taken by a worker: its lock names it, else (the lock expired) the heartbeat that lists it. A silent worker is lost.
  const name = lock !== null ? lock.slice(0, lock.lastIndexOf(":")) : (workers.find((w) => w.running.includes(bullId))?.name ?? null);
  const w = name === null ? undefined : byName.get(name);
  // A lock still held means a worker renews it, registered or not (its registration may have been deleted).
  if (!w && lock !== null) return { kind: "running", reason: `on worker ${name}`, lost: null };
  if (!w) return { kind: "gone", reason: null, lost: name === null ? "worker lost (its lock expired)" : `worker lost: ${name} is not registered` };
  if (!w.live || lock === null) {
    const why = w.state === "stopped" ? "stopped" : w.live ? "lost its lock" : `silent for ${Math.round(w.silentS)} s (timeout ${w.timeoutS} s)`;
    return { kind: "gone", reason: null, lost: `worker lost: ${w.name} on ${w.host} (pid ${w.pid}) ${why}` };
  }
  return { kind: "running", reason: `on worker ${w.name} (${w.host})`, lost: null };
}

/** Applies and deletes, batch by batch, every result entry present now. */
async function drain(c: Redis, tag: string, runsDir: string): Promise<string[]> {
  const key = resultsKey(tag);
  const last = await c.xrevrange(key, "+", "-", "COUNT", 1);
  if (last.length === 0) return [];
  const end = last[0]![0];
  let start = "-";
  const touched = new Set<string>();
  for (;;) {
    const batch = (await c.xrangeBuffer(key, start, end, "COUNT", 64)) as [Buffer, Buffer[]][];
    if (batch.length === 0) break;
    const entries: ResultEntry[] = [];
    for (const [, fields] of batch) entries.push(...parseEntry(fields));
    applyResults(runsDir, entries);
    for (const e of entries) touched.add(e.attempt);
    const ids = batch.map(([id]) => id.toString());
    await c.xdel(key, ...ids);
    if (ids[ids.length - 1] === end) break;
    start = `(${ids[ids.length - 1]}`;
  }
  return [...touched];
}

/** Takes waiting attempts out of their queue; running ones are killed by their worker, which watches this set. */
async function cancel(url: string, engineIds: string[]): Promise<void> {
  const c = await client(url);
  if (engineIds.length === 0) return;
  // Marked first, so a worker that takes one in the meantime sees the mark and skips it.
  await c.sadd(CANCELLED_KEY, ...engineIds.map((id) => splitEngineId(id).bullId));
  for (const id of engineIds) {
    const { queue: name, bullId } = splitEngineId(id);
    let removed = 0;
    try {
      removed = await (await queue(url, name)).remove(bullId);
    } catch {
      // Running (locked by its worker): the worker sees the mark, kills it, and clears the mark.
    }
    if (removed) await c.srem(CANCELLED_KEY, bullId);
  }
}

/** How long `workers stop` waits at most for the workers to say they drain. */
const STOP_ACK_MAX_S = 30;

export interface StopAnswer {
  /** Workers that said they drain: from now on they take nothing new. */
  readonly draining: string[];
  /** Workers asked but silent so far: they drain at their next heartbeat. */
  readonly asked: string[];
}

/**
 * Asks workers to drain: they finish what they run, take nothing new, and exit. Waits until each says so
 * (its next heartbeat), so that a task submitted after this returns is never taken by a worker told to stop.
 */
async function stopWorkers(url: string, names: string[] | null): Promise<StopAnswer> {
  const c = await client(url);
  const known = (await readWorkers(c)).filter((w) => w.live);
  const chosen = names === null ? known : known.filter((w) => names.includes(w.name));
  for (const w of chosen) await c.hset(workerKey(w.name), "stop", "1");
  const waitS = Math.min(STOP_ACK_MAX_S, Math.max(0, ...chosen.map((w) => w.timeoutS)));
  const deadline = Date.now() + waitS * 1000;
  let pending = chosen.map((w) => w.name);
  while (pending.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    // Only the asked workers' states: the full registry read (uptime, every hash) is not needed here.
    const states = await Promise.all(pending.map((n) => c.hget(workerKey(n), "state")));
    pending = pending.filter((_, i) => states[i] === "running");
  }
  return { draining: chosen.map((w) => w.name).filter((n) => !pending.includes(n)), asked: pending };
}
