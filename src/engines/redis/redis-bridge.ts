import { createRequire } from "node:module";
import { ownFile } from "../../domain/own-files.js";
import { SchedulerRejected, SchedulerUnavailable } from "../cluster/run-command.js";
import type { Answer, Call } from "./redis-calls.js";

/**
 * Calls into Redis from corral's synchronous engine code: the call runs in a worker thread (synckit) that
 * keeps its connections, and this thread waits for the answer. Started on the first call only, so commands
 * that never touch the Redis engine never load ioredis or BullMQ.
 */
let call: ((c: Call) => Answer) | null = null;

export function redisCall<T>(c: Call, timeoutMs = 60_000): T {
  if (call === null) {
    const { createSyncFn } = createRequire(import.meta.url)("synckit") as typeof import("synckit");
    call = createSyncFn(ownFile("engines/redis/redis-thread.js"), { timeout: timeoutMs }) as (c: Call) => Answer;
  }
  let answer: Answer;
  try {
    answer = call(c);
  } catch (err) {
    throw new SchedulerUnavailable(`Redis did not answer: ${(err as Error).message.split("\n")[0]}`);
  }
  // A crash test's failpoint (CORRAL_TEST_KILL_AFTER=enqueue): Redis has the attempts, the database does not
  // know it yet; the next command must adopt them, not run them twice.
  if (process.env.CORRAL_TEST_KILL_AFTER === c.op) process.kill(process.pid, "SIGKILL");
  if (answer.ok) return answer.value as T;
  if (answer.unavailable) throw new SchedulerUnavailable(`Redis is not reachable: ${answer.message}`);
  throw new SchedulerRejected(answer.message);
}
