import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Corral } from "../api/corral.js";
import { CLI } from "../testing/project.js";
import { ensureGnuParallel, timeShell } from "./peers.js";
import { benchDashboard } from "./dashboard.js";
import { benchReads } from "./reads.js";
import { benchWaiting } from "./waiting.js";
import { benchRedis } from "./redis.js";
import { benchSlurm } from "./slurm.js";
import { benchSweep } from "./workflow.js";
import { protocolFloor } from "./protocol-floor.js";

/**
 * `npm run bench`: corral's local engine against GNU parallel and xargs on the same machine in the same run,
 * then `ls`/`status` on a large database and the supervisor's peak memory, then the dashboard on 100,000 jobs
 * (first paint, p50/p99 of the page's requests). Prints figures and ratios. CORRAL_BENCH_ONLY=ui runs the last alone.
 */
const N = Number(process.env.CORRAL_BENCH_JOBS ?? 2000);
const SLOTS = 2;
const REPEATS = Number(process.env.CORRAL_BENCH_REPEATS ?? 3);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

function benchEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CORRAL_LOCAL_CPUS: String(SLOTS), NO_COLOR: "1", ...extra };
  delete env.CORRAL_DB;
  return env;
}

function cli(dir: string, args: string[], extra: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(CLI, args, { cwd: dir, env: benchEnv(extra), encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`corral ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** Samples the supervisor's peak RSS (VmHWM) while it lives. */
function watchSupervisorMemory(dir: string): { stop: () => number } {
  let peakKb = 0;
  const timer = setInterval(() => {
    try {
      const pid = fs.readFileSync(path.join(dir, ".corral", "supervisor.pid"), "utf8").trim();
      // A stale pidfile may name a reused pid: sample only a process that is this project's supervisor.
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("supervisor")) return;
      const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {
      /* not running at this instant */
    }
  }, 50);
  return {
    stop: () => {
      clearInterval(timer);
      return peakKb;
    },
  };
}

/**
 * One array job of N tasks through the CLI: `corral submit -a 1-N -- true`, then `corral wait`. With
 * CORRAL_USAGE=off in `extra` the launcher writes no usage markers: what recording usage costs.
 */
async function corralArray(extra: NodeJS.ProcessEnv = {}): Promise<{ seconds: number; peakKb: number }> {
  const dir = tmp("corral-bench-");
  const mem = watchSupervisorMemory(dir);
  const t0 = performance.now();
  cli(dir, ["submit", "-a", `1-${N}`, "--", "true"], extra);
  cli(dir, ["wait"], extra);
  const seconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 100));
  const peakKb = mem.stop();
  const jobs = JSON.parse(cli(dir, ["ls", "--json"])) as { tasks: { succeeded: number } }[];
  if (jobs[0]?.tasks.succeeded !== N) throw new Error("not every task succeeded");
  await quiesce(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  return { seconds, peakKb };
}

/** N separate jobs through the library API in one process, then waited for. */
async function corralSeparateJobs(): Promise<number> {
  const dir = tmp("corral-bench-");
  const saved = process.env.CORRAL_LOCAL_CPUS;
  process.env.CORRAL_LOCAL_CPUS = String(SLOTS);
  const t0 = performance.now();
  const { corral } = Corral.submit({ command: ["true"] }, { cwd: dir });
  for (let i = 1; i < N; i++) corral.submit({ command: ["true"] }, dir);
  const result = await corral.wait();
  const seconds = (performance.now() - t0) / 1000;
  if (!result.succeeded || result.jobs.length !== N) throw new Error("not every job succeeded");
  corral.close();
  if (saved === undefined) delete process.env.CORRAL_LOCAL_CPUS;
  else process.env.CORRAL_LOCAL_CPUS = saved;
  await quiesce(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  return seconds;
}

async function quiesce(dir: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (!fs.existsSync(path.join(dir, ".corral", "supervisor.pid"))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function peerParallel(): number {
  const dir = tmp("corral-bench-parallel-");
  const s = timeShell(`seq ${N} | parallel --will-cite -j${SLOTS} --joblog joblog --results results true {}`, dir);
  fs.rmSync(dir, { recursive: true, force: true });
  return s;
}

function peerXargs(): number {
  const dir = tmp("corral-bench-xargs-");
  const s = timeShell(`seq ${N} | xargs -P${SLOTS} -n1 true`, dir);
  fs.rmSync(dir, { recursive: true, force: true });
  return s;
}

async function main(): Promise<void> {
  const line = (s = "") => process.stdout.write(`${s}\n`);
  if (process.env.CORRAL_BENCH_ONLY === "slurm") return benchSlurm(line);
  if (process.env.CORRAL_BENCH_ONLY === "sweep") return benchSweep(line);
  if (process.env.CORRAL_BENCH_ONLY === "redis") return benchRedis(line);
  if (process.env.CORRAL_BENCH_ONLY === "reads") return benchReads(line);
  if (process.env.CORRAL_BENCH_ONLY === "waiting") return benchWaiting(line);
  if (process.env.CORRAL_BENCH_ONLY === "ui") return benchDashboard(line);
  await benchLocal(line);
  if (process.env.CORRAL_BENCH_ONLY === "local") return;
  benchReads(line);
  benchWaiting(line);
  benchSweep(line);
  benchSlurm(line);
  await benchRedis(line);
  await benchDashboard(line);
}

/** The local engine's throughput against its peers, interleaved run by run, and the supervisor's peak memory. */
async function benchLocal(line: (s?: string) => void): Promise<void> {
  line(`corral bench — ${os.cpus().length} cpus (${os.cpus()[0]?.model ?? "?"}), node ${process.version}, ${new Date().toISOString()}`);
  line(`Local throughput: ${N} jobs of \`true\`, ${SLOTS} at a time, median of ${REPEATS} runs each, same machine, same run`);
  const hasParallel = ensureGnuParallel();
  const runs = {
    array: [] as number[],
    noUsage: [] as number[],
    separate: [] as number[],
    floor: [] as number[],
    parallel: [] as number[],
    xargs: [] as number[],
  };
  let peakKb = 0;
  for (let i = 0; i < REPEATS; i++) {
    // Interleaved, so a slow moment of the machine hits every tool alike.
    const a = await corralArray();
    runs.array.push(a.seconds);
    peakKb = Math.max(peakKb, a.peakKb);
    runs.noUsage.push((await corralArray({ CORRAL_USAGE: "off" })).seconds);
    runs.separate.push(await corralSeparateJobs());
    runs.floor.push(await protocolFloor(N, SLOTS));
    if (hasParallel) runs.parallel.push(peerParallel());
    runs.xargs.push(peerXargs());
  }
  const rate = (xs: number[]) => N / median(xs);
  const parallelRate = hasParallel ? rate(runs.parallel) : NaN;
  const rows: [string, number[]][] = [
    ["corral, one array job (CLI submit + wait)", runs.array],
    ["the same, usage not recorded (CORRAL_USAGE=off)", runs.noUsage],
    [`corral, ${N} separate jobs (library API)`, runs.separate],
    ["the run protocol alone (no supervisor, no db)", runs.floor],
    ["GNU parallel -j2 --joblog --results", runs.parallel],
    ["xargs -P2", runs.xargs],
  ];
  for (const [name, xs] of rows) {
    if (xs.length === 0) {
      line(`  ${name.padEnd(44)} not measured (GNU parallel could not be installed)`);
      continue;
    }
    const vsParallel = hasParallel ? `  ${fmt(rate(xs) / parallelRate, 2)}× parallel` : "";
    line(
      `  ${name.padEnd(44)} ${fmt(median(xs), 2).padStart(7)} s  ${fmt(rate(xs)).padStart(6)} jobs/s${vsParallel}  ${fmt(rate(xs) / rate(runs.xargs), 2)}× xargs`,
    );
  }
  // Issue #12's goals, for the array job (the CLI's form): 3× GNU parallel, and 0.6× xargs (the fork/exec floor).
  if (hasParallel) {
    const ratio = rate(runs.array) / parallelRate;
    line(`  goal: corral ≥ 3× GNU parallel's throughput → ${fmt(ratio, 2)}× (${ratio >= 3 ? "met" : "NOT met"})`);
  }
  const vsXargs = rate(runs.array) / rate(runs.xargs);
  line(`  goal: corral ≥ 0.6× xargs's throughput → ${fmt(vsXargs, 2)}× (${vsXargs >= 0.6 ? "met" : "NOT met"})`);
  // The launcher and the wrapper with their markers and logs, driven with nothing else: what corral cannot beat.
  const floorVsXargs = rate(runs.floor) / rate(runs.xargs);
  line(
    `  the run protocol's own floor: ${fmt(floorVsXargs, 2)}× xargs${hasParallel ? `, ${fmt(rate(runs.floor) / parallelRate, 2)}× parallel` : ""}; corral reaches ${fmt(rate(runs.array) / rate(runs.floor), 2)}× of it`,
  );
  // Issue #14's goal: recording usage costs at most 10% of the local engine's jobs per second.
  const cost = 1 - rate(runs.array) / rate(runs.noUsage);
  line(`  goal: recording usage costs ≤ 10% of jobs/s → ${fmt(cost * 100, 1)}% (${cost <= 0.1 ? "met" : "NOT met"})`);
  line(`  supervisor peak RSS: ${fmt(peakKb / 1024, 1)} MB (goal < 150 MB: ${peakKb / 1024 < 150 ? "met" : "NOT met"})`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
