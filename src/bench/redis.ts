import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { flushTestRedis, startWorker, stopAll, testRedisUrl, waitForWorkers } from "../testing/pool.js";
import { CLI } from "../testing/project.js";

/**
 * The Redis engine against plain BullMQ, same Redis, same run: N tasks of `true` through 2 workers of
 * concurrency 2 each. corral: `corral submit --engine redis -a 1-N -- true` then `corral wait` (the full
 * bookkeeping: attempts in SQLite, the sh wrapper, markers and logs sent back and written into run
 * directories). BullMQ: addBulk of N jobs and two worker processes that execFile the command, until the
 * queue is empty. Goal: corral at least 0.8× BullMQ's jobs/s.
 */
const N = Number(process.env.CORRAL_BENCH_REDIS_JOBS ?? 5000);
const WORKERS = 2;
const CONCURRENCY = 2;

export async function benchRedis(line: (s?: string) => void): Promise<void> {
  const url = testRedisUrl(2);
  if (url === null) return line("Redis pool: skipped (no Redis: run scripts/redis-up.sh)");
  line(`Redis pool: ${N} tasks of \`true\`, ${WORKERS} workers × concurrency ${CONCURRENCY}, against plain BullMQ on the same Redis`);
  const repeats = Number(process.env.CORRAL_BENCH_REDIS_REPEATS ?? 2);
  const corral: number[] = [];
  const plain: number[] = [];
  for (let i = 0; i < repeats; i++) {
    plain.push(await plainBullmq(url));
    corral.push(await corralPool(url));
  }
  const best = (xs: number[]) => Math.min(...xs);
  const c = N / best(corral);
  const b = N / best(plain);
  line(`  corral redis engine   ${c.toFixed(0)} jobs/s  (best of ${repeats}: ${corral.map((s) => s.toFixed(2)).join(" s, ")} s)`);
  line(`  plain BullMQ          ${b.toFixed(0)} jobs/s  (best of ${repeats}: ${plain.map((s) => s.toFixed(2)).join(" s, ")} s)`);
  line(`  ratio corral / BullMQ ${(c / b).toFixed(2)}×  (goal ≥ 0.8×)`);
}

async function corralPool(url: string): Promise<number> {
  flushTestRedis(url);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-redis-"));
  const env: NodeJS.ProcessEnv = { ...process.env, CORRAL_REDIS_URL: url, NO_COLOR: "1" };
  delete env.CORRAL_DB;
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, env, encoding: "utf8", maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`corral ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const workers = Array.from({ length: WORKERS }, (_, i) => startWorker(url, `bench${i + 1}`, { concurrency: CONCURRENCY }));
  try {
    await waitForWorkers(
      run,
      workers.map((w) => w.name),
    );
    const t0 = performance.now();
    run(["submit", "--engine", "redis", "-a", `1-${N}`, "--", "true"]);
    const wait = spawnSync(process.execPath, [CLI, "wait"], { cwd: dir, env, encoding: "utf8" });
    const seconds = (performance.now() - t0) / 1000;
    if (wait.status !== 0) throw new Error(`corral wait: ${wait.status} ${wait.stderr}`);
    const done = JSON.parse(run(["ls", "--json"])) as { tasks: { succeeded?: number; done: number } }[];
    if (done[0]?.tasks.done !== N) throw new Error(`only ${JSON.stringify(done[0]?.tasks)} of ${N} ended`);
    return seconds;
  } finally {
    await stopAll(workers);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function plainBullmq(url: string): Promise<number> {
  flushTestRedis(url);
  const { Queue } = await import("bullmq");
  const { Redis } = await import("ioredis");
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue("plain", { connection, prefix: "bench" });
  const peer = fileURLToPath(new URL("./bullmq-peer.js", import.meta.url));
  const procs = Array.from({ length: WORKERS }, () => spawn(process.execPath, [peer, url, "plain", String(CONCURRENCY)], { stdio: "inherit" }));
  try {
    await new Promise((r) => setTimeout(r, 500)); // both workers connected, as corral's are before its clock starts
    const t0 = performance.now();
    for (let i = 0; i < N; i += 1000) {
      await queue.addBulk(Array.from({ length: Math.min(1000, N - i) }, () => ({ name: "run", data: { argv: ["true"] }, opts: { removeOnComplete: true } })));
    }
    for (;;) {
      const c = await queue.getJobCounts("wait", "active", "prioritized", "delayed", "failed");
      if (c.failed) throw new Error(`${c.failed} BullMQ jobs failed`);
      if ((c.wait ?? 0) + (c.active ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return (performance.now() - t0) / 1000;
  } finally {
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.on("exit", r)))));
    await queue.close();
    await connection.quit();
  }
}
