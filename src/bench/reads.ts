import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { processStartTime } from "../engines/local/processes.js";
import { Store } from "../store/store.js";
import { CLI } from "../testing/project.js";
import { timeShell } from "./peers.js";
import { seedHistory, seedSweep } from "./seed.js";

/**
 * Reading a big project through the CLI, whole processes with output to a pipe, as a user's `corral ls | less`:
 * 100,000 finished jobs (ls, ls --json, status), and a sweep of 1,000,000 tasks that is running (status).
 */
const HISTORY = Number(process.env.CORRAL_BENCH_HISTORY ?? 100_000);
const SWEEP_TASKS = Number(process.env.CORRAL_BENCH_SWEEP_TASKS ?? 1_000_000);
// Each read takes under a second: 7 runs give a steadier median than the 3 of the longer measures.
const REPEATS = Number(process.env.CORRAL_BENCH_REPEATS ?? 7);
const fmt = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete e.CORRAL_DB;
  return e;
}

/** Median wall seconds of a CLI command, its output read through a pipe. */
function timeCommand(dir: string, args: string[]): number {
  const xs: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    const r = spawnSync(CLI, args, { cwd: dir, env: env(), stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`corral ${args.join(" ")} failed: ${String(r.stderr)}`);
    xs.push((performance.now() - t0) / 1000);
  }
  return median(xs);
}

function goal(seconds: number, limitMs: number): string {
  return `(goal < ${fmt(limitMs)} ms: ${seconds * 1000 < limitMs ? "met" : "NOT met"})`;
}

export function benchReads(line: (s?: string) => void): void {
  line();
  line(`Reading a large database: ${fmt(HISTORY)} finished jobs, median of ${REPEATS} runs, whole process, output to a pipe`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-history-"));
  try {
    const t0 = performance.now();
    const store = Store.open({ path: path.join(dir, ".corral", "corral.db"), create: true });
    seedHistory(store, HISTORY);
    store.close();
    line(`  (seeded in ${fmt((performance.now() - t0) / 1000, 1)} s)`);
    const goals: Record<string, number> = { ls: 300, "ls --json": 600, status: 200 };
    for (const args of [["ls"], ["ls", "--json"], ["status"], ["ls", "--state", "failed"]]) {
      const s = timeCommand(dir, args);
      const limit = goals[args.join(" ")];
      line(`  corral ${args.join(" ").padEnd(20)} ${fmt(s * 1000).padStart(6)} ms ${limit === undefined ? "" : goal(s, limit)}`);
    }
    for (const args of [["report", "--by", "batch"], ["report"]]) {
      const s = timeCommand(dir, args);
      line(`  corral ${args.join(" ").padEnd(20)} ${fmt(s * 1000).padStart(6)} ms over ${fmt(HISTORY)} attempts ${goal(s, 500)}`);
    }
    const bare = median(Array.from({ length: REPEATS }, () => timeShell(`"${process.execPath}" -e 0`, dir)));
    const version = timeCommand(dir, ["--version"]);
    line(`  (for scale: \`node -e 0\` takes ${fmt(bare * 1000)} ms here, \`corral --version\` ${fmt(version * 1000)} ms)`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  benchSweepStatus(line);
}

/**
 * `corral status` on a running sweep of 1,000,000 tasks. The sweep is seeded straight into the store, and a
 * stand-in holds the supervisor lease (a shell that ignores the wake-up signal), so the tasks are seen as
 * being run by a supervisor and status does only what it does on a busy project.
 */
function benchSweepStatus(line: (s?: string) => void): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-bigsweep-"));
  const standIn = spawn("sh", ["-c", "trap '' USR2; while :; do sleep 1; done"], { stdio: "ignore" });
  try {
    const t0 = performance.now();
    const store = Store.open({ path: path.join(dir, ".corral", "corral.db"), create: true });
    seedSweep(store, SWEEP_TASKS, { pid: standIn.pid!, pidStart: processStartTime(standIn.pid!) ?? "", host: os.hostname() });
    store.close();
    line();
    line(`A running sweep of ${fmt(SWEEP_TASKS)} tasks (seeded in ${fmt((performance.now() - t0) / 1000, 1)} s), median of ${REPEATS} runs`);
    const s = timeCommand(dir, ["status"]);
    line(`  corral status ${fmt(s * 1000).padStart(6)} ms ${goal(s, 500)}`);
    const one = timeCommand(dir, ["ls"]);
    line(`  corral ls     ${fmt(one * 1000).padStart(6)} ms (one line: the sweep is one job)`);
  } finally {
    standIn.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
