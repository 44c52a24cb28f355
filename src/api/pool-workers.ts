import { redactUrl } from "../engines/redis/pool.js";
import { redisUrl } from "../engines/redis/redis.js";
import type { WorkerView } from "../engines/redis/worker-registry.js";

export type { WorkerView };

/** The Redis pool's workers as `corral workers` lists them, or why there are none to show. */
export type PoolWorkers =
  | { readonly configured: false }
  | { readonly configured: true; readonly url: string; readonly workers: readonly WorkerView[] }
  | { readonly configured: true; readonly url: string; readonly error: string };

/**
 * Reads the worker registry of the project's Redis (its [redis] url, else CORRAL_REDIS_URL). Blocks while Redis
 * answers (it fails within seconds when Redis is down): a server calls it from a ProjectWorker's thread.
 */
export async function poolWorkers(projectDir: string | null): Promise<PoolWorkers> {
  const url = redisUrl(projectDir);
  if (url === null) return { configured: false };
  const { redisCall } = await import("../engines/redis/redis-bridge.js");
  try {
    return { configured: true, url: redactUrl(url), workers: redisCall<WorkerView[]>({ op: "workers", url }) };
  } catch (err) {
    return { configured: true, url: redactUrl(url), error: (err as Error).message };
  }
}
