import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { flushTestRedis, startWorker, stopAll, testRedisUrl, waitForWorkers } from "../testing/pool.js";
import { CLI } from "../testing/project.js";
import { cpuUsageAvailable, processCpuSeconds, treeCpuParts } from "./cpu-usage.js";

/**
 * The Redis engine against plain BullMQ, same Redis, same concurrency (2 worker processes × 2 slots), same
 * command, interleaved in one run; both sides record every job's result on the submitting host.
 *
 * corral: `corral submit --engine redis -a 1-N -- true`, then `corral wait`. Each task is one BullMQ job whose
 * worker runs it through the sh wrapper (claim, started and ended markers, output files) in a folder of its
 * own, and sends markers and output back through the project's results stream; `corral wait` drains that
 * stream into the run directories (.corral/runs/JOB/INDEX/ATTEMPT/) and records every attempt's start and end
 * in SQLite. The clock runs from before `submit` to the end of `wait` (two CLI processes included).
 *
 * BullMQ: one Queue, addBulk of N jobs `{argv: ["true"]}`; two worker processes (bullmq-peer.ts) execFile the
 * command and return its exit status and output as the job's result; the submitter follows the queue's
 * events (QueueEvents) and appends each completed job's result as a line of JSON to a file. The clock runs
 * from before the first addBulk until the N-th result is written.
 *
 * Goal: corral at least 0.8× BullMQ's jobs/s. The machine is shared and noisy: each repeat runs both sides
 * back to back, and the measured ratio is the median of the repeats' ratios. Since a side's share of a busy
 * machine also depends on how many processes it runs, the CPU each side used per job is measured too: every
 * process of its tree (CLI commands, workers, launchers, wrappers and commands; the submitter for BullMQ)
 * and the Redis server's. The goal is judged on the lower of the two ratios.
 */
const N = Number(process.env.CORRAL_BENCH_REDIS_JOBS ?? 5000);
const WORKERS = 2;
const CONCURRENCY = 2;
const GOAL = 0.8;

export async function benchRedis(line: (s?: string) => void): Promise<void> {
  const url = testRedisUrl(2);
  if (url === null) return line("Redis pool: skipped (no Redis: run scripts/redis-up.sh)");
  line(`Redis pool: ${N} tasks of \`true\`, ${WORKERS} worker processes × concurrency ${CONCURRENCY} on each side, same Redis, results recorded on both`);
  line(`  (load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cpus at the start)`);
  const repeats = Number(process.env.CORRAL_BENCH_REDIS_REPEATS ?? 3);
  const corral: Run[] = [];
  const plain: Run[] = [];
  for (let i = 0; i < repeats; i++) {
    // Alternating which side goes first, so neither always meets the machine in the same state.
    if (i % 2 === 0) {
      plain.push(await plainBullmq(url));
      corral.push(await corralPool(url));
    } else {
      corral.push(await corralPool(url));
      plain.push(await plainBullmq(url));
    }
  }
  // The middle value; of an even count, the mean of the two middle ones.
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const secs = (rs: Run[]) => rs.map((r) => r.seconds.toFixed(2)).join(" s, ");
  const cpu = (rs: Run[]) =>
    cpuUsageAvailable
      ? `; CPU per job ${((1000 * median(rs.map((r) => r.cpuS))) / N).toFixed(2)} ms + Redis ${((1000 * median(rs.map((r) => r.redisCpuS))) / N).toFixed(2)} ms`
      : "";
  const ratios = corral.map((c, i) => plain[i]!.seconds / c.seconds);
  const ratio = median(ratios);
  line(
    `  corral redis engine   ${(N / median(corral.map((r) => r.seconds))).toFixed(0).padStart(5)} jobs/s  (median of ${repeats}: ${secs(corral)} s${cpu(corral)})`,
  );
  line(
    `  plain BullMQ          ${(N / median(plain.map((r) => r.seconds))).toFixed(0).padStart(5)} jobs/s  (median of ${repeats}: ${secs(plain)} s${cpu(plain)})`,
  );
  line(`  ratio corral / BullMQ per repeat: ${ratios.map((r) => `${r.toFixed(2)}×`).join(", ")}`);
  if (!cpuUsageAvailable) {
    line(`  goal: corral ≥ ${GOAL}× BullMQ's jobs/s → ${ratio.toFixed(2)}× (${ratio >= GOAL ? "met" : "NOT met"})`);
    return;
  }
  // Where each side's CPU goes: corral's run protocol (launchers, wrappers) is the part plain BullMQ has no
  // counterpart of but its own fork and exec of the command.
  const part = (rs: Run[], k: keyof Run["parts"]) => ((1000 * median(rs.map((r) => r.parts[k]))) / N).toFixed(2);
  line(
    `  CPU per job by part: corral's Node ${part(corral, "node")} ms, launchers ${part(corral, "launchers")} ms, wrappers and commands ${part(corral, "reaped")} ms; BullMQ's Node ${part(plain, "node")} ms, commands ${part(plain, "reaped")} ms`,
  );
  const perJob = (rs: Run[]) => median(rs.map((r) => r.cpuS + r.redisCpuS)) / N;
  const cpuRatio = perJob(plain) / perJob(corral);
  line(`  CPU per job, Redis included: BullMQ's / corral's = ${cpuRatio.toFixed(2)}× (the jobs/s ratio to expect where CPU is the only limit)`);
  // On a busy machine each side gets a share of the CPU by its number of runnable processes, and corral runs
  // more of them (a wrapper per task, a launcher per worker): the measured ratio alone would flatter it.
  const judged = Math.min(ratio, cpuRatio);
  line(
    `  goal: corral ≥ ${GOAL}× BullMQ's jobs/s → measured ${ratio.toFixed(2)}×, by CPU ${cpuRatio.toFixed(2)}×, judged on the lower: ${judged.toFixed(2)}× (${judged >= GOAL ? "met" : "NOT met"})`,
  );
}

interface Run {
  readonly seconds: number;
  /** CPU used meanwhile by the side's processes (this one included): the sum of `parts`; and by the Redis server. */
  readonly cpuS: number;
  readonly redisCpuS: number;
  /** cpuS told apart (treeCpuParts): Node processes, Perl launchers, and the wrappers and commands they reaped. */
  readonly parts: { node: number; launchers: number; reaped: number };
}

/** Starts counting a run's wall-clock time and CPU; the function it returns stops and reads them. */
function startClock(redisPid: number | null): () => Run {
  const t0 = performance.now();
  const parts0 = treeCpuParts();
  const redis0 = redisPid === null ? 0 : processCpuSeconds(redisPid);
  return () => {
    const parts = treeCpuParts();
    return {
      seconds: (performance.now() - t0) / 1000,
      cpuS: parts.node + parts.launchers + parts.reaped - (parts0.node + parts0.launchers + parts0.reaped),
      redisCpuS: redisPid === null ? 0 : processCpuSeconds(redisPid) - redis0,
      parts: { node: parts.node - parts0.node, launchers: parts.launchers - parts0.launchers, reaped: parts.reaped - parts0.reaped },
    };
  };
}

/** The Redis server's pid (it answers INFO), when it runs on this host. */
function redisServerPid(url: string): number | null {
  const u = new URL(url);
  if (!["127.0.0.1", "localhost", "::1", "[::1]"].includes(u.hostname)) return null;
  const r = spawnSync("redis-cli", ["-h", u.hostname, "-p", u.port || "6379", "info", "server"], {
    env: { ...process.env, REDISCLI_AUTH: decodeURIComponent(u.password) },
    encoding: "utf8",
  });
  const pid = Number(/process_id:(\d+)/.exec(r.stdout ?? "")?.[1]);
  return pid > 0 ? pid : null;
}

async function corralPool(url: string): Promise<Run> {
  flushTestRedis(url);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-redis-"));
  const env: NodeJS.ProcessEnv = { ...process.env, CORRAL_REDIS_URL: url, NO_COLOR: "1" };
  delete env.CORRAL_DB;
  const run = (args: string[]) => {
    const r = spawnSync(CLI, args, { cwd: dir, env, encoding: "utf8", maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`corral ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const workers = Array.from({ length: WORKERS }, (_, i) => startWorker(url, `bench${i + 1}`, { concurrency: CONCURRENCY }));
  try {
    await waitForWorkers(
      run,
      workers.map((w) => w.name),
    );
    const stop = startClock(redisServerPid(url));
    run(["submit", "--engine", "redis", "-a", `1-${N}`, "--", "true"]);
    const wait = spawnSync(CLI, ["wait"], { cwd: dir, env, encoding: "utf8" });
    const measured = stop();
    if (wait.status !== 0) throw new Error(`corral wait: ${wait.status} ${wait.stderr}`);
    const done = JSON.parse(run(["ls", "--json"])) as { tasks: { succeeded?: number; done: number } }[];
    if (done[0]?.tasks.succeeded !== N) throw new Error(`only ${JSON.stringify(done[0]?.tasks)} of ${N} succeeded`);
    return measured;
  } finally {
    await stopAll(workers);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function plainBullmq(url: string): Promise<Run> {
  flushTestRedis(url);
  const { Queue, QueueEvents } = await import("bullmq");
  const { Redis } = await import("ioredis");
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  // Room for every event of the run (added, waiting, active, completed…), so none is trimmed before it is read.
  const queue = new Queue("plain", { connection, prefix: "bench", streams: { events: { maxLen: 10 * N } } });
  await queue.waitUntilReady();
  // From the stream's start: no completion can be missed, however early it comes.
  const events = new QueueEvents("plain", { connection: { url, maxRetriesPerRequest: null }, prefix: "bench", lastEventId: "0-0" });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-bullmq-"));
  const results = fs.openSync(path.join(dir, "results.jsonl"), "a");
  let recorded = 0;
  let failed = 0;
  let allRecorded: () => void = () => {};
  const finished = new Promise<void>((resolve) => (allRecorded = resolve));
  events.on("completed", ({ jobId, returnvalue }) => {
    fs.writeSync(results, `${JSON.stringify({ jobId, result: returnvalue })}\n`);
    if (++recorded === N) allRecorded();
  });
  events.on("failed", () => {
    failed++;
    allRecorded();
  });
  const peer = fileURLToPath(new URL("./bullmq-peer.js", import.meta.url));
  const procs = Array.from({ length: WORKERS }, () => spawn(process.execPath, [peer, url, "plain", String(CONCURRENCY)], { stdio: "inherit" }));
  try {
    await events.waitUntilReady();
    await new Promise((r) => setTimeout(r, 500)); // both workers connected, as corral's are before its clock starts
    const stop = startClock(redisServerPid(url));
    for (let i = 0; i < N; i += 1000) {
      await queue.addBulk(Array.from({ length: Math.min(1000, N - i) }, () => ({ name: "run", data: { argv: ["true"] }, opts: { removeOnComplete: true } })));
    }
    await finished;
    const measured = stop();
    if (failed > 0) throw new Error(`${failed} BullMQ jobs failed`);
    return measured;
  } finally {
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null ? r(null) : p.on("exit", r)))));
    fs.closeSync(results);
    fs.rmSync(dir, { recursive: true, force: true });
    await events.close();
    await queue.close();
    await connection.quit();
  }
}
