import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Corral } from "../api/corral.js";
import { schedulerCalls } from "../engines/cluster/run-command.js";
import { getEngine } from "../api/engines.js";

const ARRAY = Number(process.env.CORRAL_BENCH_SLURM_ARRAY ?? 5000);
const ACTIVE = Number(process.env.CORRAL_BENCH_SLURM_ACTIVE ?? 1000);
const REPEATS = 3;

const fmt = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const callsText = () => [...schedulerCalls.counts.entries()].map(([c, n]) => `${n} ${c}`).join(", ") || "none";

function resetCalls(): void {
  schedulerCalls.counts.clear();
  schedulerCalls.ms = 0;
}

/** The same work done straight with Slurm's tools: the peer corral is measured against. */
function rawSeconds(cmd: string, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

/**
 * Slurm (when usable here): submitting a large array, and refreshing many active jobs. Jobs are submitted
 * held (--sched-arg=--hold) so they stay active without using the machine, and are cancelled afterwards.
 */
export function benchSlurm(line: (s?: string) => void): void {
  line();
  const problem = getEngine("slurm")
    .doctor(os.tmpdir())
    .find((l) => !l.usable);
  if (problem) {
    line(`Slurm: not measured (${problem.text}; start it with: sudo bash scripts/clusters-up.sh slurm)`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-slurm-"));
  const hold = ["--hold"];
  let corral: Corral | null = null;
  try {
    line(`Slurm: a ${fmt(ARRAY)}-task array, submitted held`);
    resetCalls();
    let t0 = performance.now();
    const submitted = Corral.submit({ command: ["true"], engine: "slurm", array: `1-${ARRAY}`, schedArgs: hold }, { cwd: dir });
    corral = submitted.corral;
    const submitS = (performance.now() - t0) / 1000;
    const sbatchCalls = schedulerCalls.counts.get("sbatch") ?? 0;
    const script = path.join(dir, "raw.sh");
    fs.writeFileSync(script, "#!/bin/sh\ntrue\n");
    const maxIndex = Math.min(ARRAY, 1000);
    const rawS = rawSeconds("sbatch", ["--parsable", "--hold", `--array=1-${maxIndex}`, `--output=/dev/null`, script]) * Math.ceil(ARRAY / maxIndex);
    spawnSync("scancel", ["-u", os.userInfo().username, "--name", "raw.sh"]);
    line(`  corral submit: ${fmt(submitS, 2)} s with ${sbatchCalls} sbatch calls (${fmt(ARRAY / submitS)} tasks/s; scheduler calls: ${callsText()})`);
    line(
      `  raw sbatch --array (same number of calls, no wrappers): ${fmt(rawS, 2)} s → corral takes ${fmt(submitS / rawS, 1)}× (it writes ${fmt(ARRAY)} run directories and wrappers)`,
    );
    // The floor for that: plain Node creating as many run directories and wrapper-sized files, same disk, same run.
    const fsDir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-fs-"));
    t0 = performance.now();
    for (let i = 1; i <= ARRAY; i++) {
      fs.mkdirSync(path.join(fsDir, "1", String(i), "1"), { recursive: true });
      fs.writeFileSync(path.join(fsDir, "1", String(i), "1", "wrapper.sh"), "x".repeat(3000));
    }
    const fsS = (performance.now() - t0) / 1000;
    fs.rmSync(fsDir, { recursive: true, force: true });
    line(`  plain Node making ${fmt(ARRAY)} such directories and files on this disk: ${fmt(fsS, 2)} s → corral's submit is ${fmt(submitS / fsS, 2)}× that`);
    corral.cancel({ ids: [], states: [], name: null, batch: null, all: true });
    corral.close();
    corral = null;

    line(`Slurm: refreshing ${fmt(ACTIVE)} active (held) jobs, median of ${REPEATS}`);
    const dir2 = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-slurm-refresh-"));
    corral = Corral.submit({ command: ["true"], engine: "slurm", array: `1-${ACTIVE}`, schedArgs: hold }, { cwd: dir2 }).corral;
    const totals: number[] = [];
    const own: number[] = [];
    let calls = "";
    for (let i = 0; i < REPEATS; i++) {
      resetCalls();
      t0 = performance.now();
      corral.refresh({ force: true });
      const ms = performance.now() - t0;
      totals.push(ms);
      own.push(ms - schedulerCalls.ms);
      calls = callsText();
    }
    const rawSqueue =
      median(Array.from({ length: REPEATS }, () => rawSeconds("squeue", ["-h", "-r", "-u", os.userInfo().username, "-o", "%F|%K|%T|%r|%k"]))) * 1000;
    const ownMs = median(own);
    line(
      `  corral refresh: ${fmt(median(totals))} ms in all, scheduler calls: ${calls} (goal 1 + ≤1: ${/^1 squeue$/.test(calls) || /^1 squeue, 1 sacct$/.test(calls) ? "met" : "NOT met"})`,
    );
    line(
      `  corral's own time, without the scheduler's: ${fmt(ownMs)} ms (goal < 300 ms: ${ownMs < 300 ? "met" : "NOT met"}); the same squeue alone: ${fmt(rawSqueue)} ms`,
    );
    corral.cancel({ ids: [], states: [], name: null, batch: null, all: true });
    corral.close();
    corral = null;
    fs.rmSync(dir2, { recursive: true, force: true });
  } finally {
    corral?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
