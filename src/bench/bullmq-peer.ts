import { execFile } from "node:child_process";
import { Worker } from "bullmq";
import { Redis } from "ioredis";

/**
 * The peer of the Redis benchmark: a plain BullMQ worker process that runs each job's command with the given
 * concurrency, and nothing else (no wrapper, no markers, no results). Started twice, like corral's two workers.
 *   node bullmq-peer.js URL QUEUE CONCURRENCY
 */
const [url, queue, concurrency] = process.argv.slice(2) as [string, string, string];
const connection = new Redis(url, { maxRetriesPerRequest: null });
const worker = new Worker(
  queue,
  (job) =>
    new Promise<void>((resolve, reject) => {
      const [cmd, ...args] = job.data.argv as string[];
      execFile(cmd!, args, (err) => (err ? reject(err) : resolve()));
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
