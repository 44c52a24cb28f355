import { UsageError } from "../../domain/errors.js";

/**
 * The names corral uses in a Redis database, shared by every project and worker pointed at it (one pool).
 * Queues are BullMQ's, under BullMQ's own key prefix; everything else is corral's, under `corral:`.
 *
 * Tags route tasks: a task that needs tags T goes to the queue named by T, and a worker with tags W takes
 * from the queue of every subset of W. So a `gpu,bigmem` worker runs `gpu` tasks, `bigmem` tasks, `gpu,bigmem`
 * tasks and untagged ones, and a worker without tags runs only untagged ones.
 */
export const BULL_PREFIX = "corral";
/** A worker declares at most this many tags: it listens to one queue per subset of them. */
export const MAX_WORKER_TAGS = 6;

/** The BullMQ queue of tasks that need exactly these tags (sorted). */
export function queueName(tags: readonly string[]): string {
  return tags.length === 0 ? "tasks" : `tasks.${tags.join(".")}`;
}

/** The tags a queue name stands for. */
export function tagsOfQueue(queue: string): string[] {
  return queue === "tasks" ? [] : queue.slice("tasks.".length).split(".");
}

/** Every queue a worker with these tags takes from, the most specific first (tagged work goes to tagged workers). */
export function queuesFor(tags: readonly string[]): string[] {
  if (tags.length > MAX_WORKER_TAGS) throw new UsageError(`--tags: at most ${MAX_WORKER_TAGS} tags per worker (it listens to a queue per combination)`);
  const subsets: string[][] = [];
  for (let mask = 0; mask < 1 << tags.length; mask++) subsets.push(tags.filter((_, i) => mask & (1 << i)));
  subsets.sort((a, b) => b.length - a.length || a.join().localeCompare(b.join()));
  return subsets.map(queueName);
}

/** The stream through which workers send a project's markers, logs and requests back (one per project). */
export function resultsKey(projectTag: string): string {
  return `corral:results:${projectTag}`;
}

/** A worker's heartbeat hash, and the set of every worker name seen. */
export function workerKey(name: string): string {
  return `corral:worker:${name}`;
}
export const WORKERS_KEY = "corral:workers";
/** BullMQ job ids whose attempts were cancelled: a worker kills them if running, and skips them if it takes them. */
export const CANCELLED_KEY = "corral:cancelled";

/**
 * The BullMQ job id of one attempt: deterministic, so adding it twice (a submission retried after a crash)
 * adds it once. BullMQ refuses ':' in custom ids.
 */
export function bullJobId(projectTag: string, jobId: number, index: number, attempt: number): string {
  return `${projectTag}-${jobId}-${index}-${attempt}`;
}

/** The engine id corral records for an attempt: queue and BullMQ job id. */
export function engineId(queue: string, bullId: string): string {
  return `${queue}/${bullId}`;
}

export function splitEngineId(id: string): { queue: string; bullId: string } {
  const slash = id.indexOf("/");
  return { queue: id.slice(0, slash), bullId: id.slice(slash + 1) };
}

/**
 * BullMQ priorities run from 1 (first) to 2^21; corral's are "higher runs sooner", 0 by default. Every task is
 * given one, so they all sit in BullMQ's prioritized set and are taken in one order (a task without a BullMQ
 * priority would jump ahead of all prioritized ones).
 */
export function bullPriority(priority: number): number {
  return Math.min(2 ** 21, Math.max(1, 2 ** 20 - priority));
}

/** The URL without its password, for anything printed or logged. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString().replace(/\/$/, "");
  } catch {
    return url.replace(/\/\/([^@/]*)@/, "//***@");
  }
}
