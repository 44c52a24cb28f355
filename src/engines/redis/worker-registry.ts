import type { Redis } from "ioredis";
import { WORKERS_KEY, workerKey } from "./pool.js";

/** A worker's heartbeat, as it writes it into its hash every few seconds. */
export interface WorkerBeat {
  readonly name: string;
  readonly host: string;
  readonly pid: number;
  readonly tags: readonly string[];
  readonly concurrency: number;
  /** Attempts running now, as `project-job-index-attempt` BullMQ ids. */
  readonly running: readonly string[];
  /** 1-minute load average of its host. */
  readonly load: number;
  /** Epoch ms of its last heartbeat. */
  readonly lastSeen: number;
  /** Silent for longer than this, it is gone (its running attempts are lost). */
  readonly timeoutS: number;
  readonly startedAt: number;
  /** "running", "draining" (asked to stop: finishes what it runs, takes nothing new) or "stopped" (it exited). */
  readonly state: "running" | "draining" | "stopped";
}

export interface WorkerView extends WorkerBeat {
  /** Whether it answered within its timeout (and has not stopped). */
  readonly live: boolean;
  readonly silentS: number;
}

/** How long a gone worker stays listed (and its hash kept) after its last heartbeat. */
export const GONE_WORKER_TTL_S = 7 * 24 * 3600;

export function beatFields(b: WorkerBeat): Record<string, string> {
  return {
    name: b.name,
    host: b.host,
    pid: String(b.pid),
    tags: b.tags.join(","),
    concurrency: String(b.concurrency),
    running: b.running.join(","),
    load: b.load.toFixed(2),
    lastSeen: String(b.lastSeen),
    timeoutS: String(b.timeoutS),
    startedAt: String(b.startedAt),
    state: b.state,
  };
}

function parseBeat(h: Record<string, string>): WorkerBeat | null {
  if (!h.name || !h.lastSeen) return null;
  const list = (s: string | undefined) => (s ? s.split(",").filter(Boolean) : []);
  return {
    name: h.name,
    host: h.host ?? "?",
    pid: Number(h.pid ?? 0),
    tags: list(h.tags),
    concurrency: Number(h.concurrency ?? 0),
    running: list(h.running),
    load: Number(h.load ?? 0),
    lastSeen: Number(h.lastSeen),
    timeoutS: Number(h.timeoutS ?? 30),
    startedAt: Number(h.startedAt ?? 0),
    state: (h.state as WorkerBeat["state"]) ?? "running",
  };
}

/** Every worker registered in this Redis, live or gone, in one round trip (plus one to read them). */
export async function readWorkers(redis: Redis, now = Date.now()): Promise<WorkerView[]> {
  const names = await redis.smembers(WORKERS_KEY);
  if (names.length === 0) return [];
  // No worker counts as silent for longer than Redis has been up: after a restart, they beat again once reconnected.
  const uptimeS = Number(/uptime_in_seconds:(\d+)/.exec(await redis.info("server"))?.[1] ?? Infinity);
  const pipe = redis.pipeline();
  for (const n of names) pipe.hgetall(workerKey(n));
  const replies = (await pipe.exec()) ?? [];
  const out: WorkerView[] = [];
  const forgotten: string[] = [];
  for (const [i, [err, h]] of replies.entries()) {
    const beat = err ? null : parseBeat(h as Record<string, string>);
    if (!beat) {
      forgotten.push(names[i]!);
      continue;
    }
    const silentS = Math.max(0, (now - beat.lastSeen) / 1000);
    const judged = Math.min(silentS, uptimeS);
    out.push({ ...beat, silentS, live: beat.state !== "stopped" && judged <= beat.timeoutS });
  }
  // A hash that expired (gone for a week) leaves its name behind in the set: drop it.
  if (forgotten.length > 0) await redis.srem(WORKERS_KEY, ...forgotten);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
