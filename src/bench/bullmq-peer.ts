import { execFile } from "node:child_process";
import { Worker } from "bullmq";
import { Redis } from "ioredis";

/**
 * The peer of the Redis benchmark: a plain BullMQ worker process that runs each job's command with the given
 * concurrency and returns its result (exit status, signal, stdout, stderr) as the job's return value, which
 * BullMQ publishes in its `completed` event for the submitter to record. No wrapper, no markers, no run
 * directories. Started twice, like corral's two workers.
 *   node bullmq-peer.js URL QUEUE CONCURRENCY
 */
const [url, queue, concurrency] = process.argv.slice(2) as [string, string, string];
const connection = new Redis(url, { maxRetriesPerRequest: null });
const worker = new Worker(
  queue,
  (job) =>
    new Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
      const [cmd, ...args] = job.data.argv as string[];
      execFile(cmd!, args, (err, stdout, stderr) => {
        const e = err as (Error & { code?: number | string; signal?: string }) | null;
        resolve({ status: e ? (typeof e.code === "number" ? e.code : null) : 0, signal: e?.signal ?? null, stdout, stderr });
      });
    }),
  { connection, prefix: "bench", concurrency: Number(concurrency), removeOnComplete: { count: 0 } },
);
process.on(
  "SIGTERM",
  () =>
    void worker
      .close()
      .then(() => connection.quit())
      .then(() => process.exit(0)),
);
