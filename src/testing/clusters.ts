import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { TestContext } from "node:test";
import { TestProject } from "./project.js";
import { tempDir } from "./temp.js";

/**
 * Integration tests run against the real daemons (scripts/clusters-up.sh starts them). A scheduler named in
 * CORRAL_REQUIRE (CI sets slurm,sge,pbs) must be usable: its tests fail, never skip, when it is not.
 */
export function requiredSchedulers(): string[] {
  return (process.env.CORRAL_REQUIRE ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Null when the scheduler is usable here, else why not (from `corral doctor`). */
export function schedulerProblem(engine: string): string | null {
  const p = new TestProject("corral-doctor-");
  try {
    const r = p.run(["doctor", "--engine", engine]);
    return r.code === 0 ? null : r.stdout.trim() || r.stderr.trim();
  } finally {
    fs.rmSync(p.dir, { recursive: true, force: true });
  }
}

/** Skips the test with the reason when the scheduler is absent and not required; fails it when required. */
export function needScheduler(t: TestContext, engine: string, problem: string | null): boolean {
  if (problem === null) return true;
  if (requiredSchedulers().includes(engine)) throw new Error(`${engine} is required (CORRAL_REQUIRE) but not usable: ${problem}`);
  t.skip(`${engine} is not usable here (${problem}); start it with: sudo bash scripts/clusters-up.sh ${engine}`);
  return false;
}

/**
 * A folder of stand-ins for the scheduler's commands that log each call and then run the real binary, so a
 * test can count exactly which calls corral made. Returns the PATH to use and a reader of the log.
 */
export function callCounter(commands: readonly string[]): { path: string; calls: () => string[]; reset: () => void } {
  const dir = tempDir("corral-shim-");
  const log = path.join(dir, "calls.log");
  for (const cmd of commands) {
    const real = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).stdout.trim();
    if (!real) continue;
    fs.writeFileSync(path.join(dir, cmd), `#!/bin/sh\necho ${cmd} >> '${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
  }
  return {
    path: `${dir}:${process.env.PATH ?? ""}`,
    calls: () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").split("\n").filter(Boolean) : []),
    reset: () => fs.rmSync(log, { force: true }),
  };
}

export interface AttemptJson {
  n: number;
  engineId: string | null;
  state: string;
  exitCode: number | null;
  reason: string | null;
}
export interface ShowJson {
  id: number;
  state: string;
  tasks: { index: number; state: string; reason: string | null; attempts: AttemptJson[] }[];
}

export function show(p: TestProject, id: number): ShowJson {
  return p.json<ShowJson>(["show", String(id)]);
}

/** Polls (through corral, as a user would) until the job's first task is in one of the states. */
export async function waitForTaskState(p: TestProject, id: number, states: readonly string[], timeoutMs = 60_000): Promise<ShowJson> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const job = show(p, id);
    if (job.tasks.some((t) => states.includes(t.state))) return job;
    if (Date.now() > end) throw new Error(`job ${id} never reached ${states.join("/")}: ${JSON.stringify(job.tasks.map((t) => t.state))}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/**
 * The most tasks that ran at once, from a ledger of `start`/`end` lines, each with its time in the field
 * `timeField` and the word start or end in the field `kindField` (space-separated).
 */
export function peakOverlap(ledger: string, kindField: number, timeField: number): number {
  const events = fs
    .readFileSync(ledger, "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(" "))
    .sort((a, b) => Number(a[timeField]) - Number(b[timeField]));
  let running = 0;
  let peak = 0;
  for (const e of events) {
    running += e[kindField] === "start" ? 1 : -1;
    peak = Math.max(peak, running);
  }
  return peak;
}

/**
 * Slurm's Torque front end (scripts/torque-up.sh puts it in a folder of its own, since its qsub would shadow
 * Grid Engine's): put first on this test process's PATH, and so on the corral processes it starts, for the PBS
 * tests only. Returns the folder.
 */
export function useTorqueFrontEnd(): string {
  const dir = process.env.CORRAL_TORQUE_DIR ?? "/opt/corral-torque/bin";
  if (fs.existsSync(path.join(dir, "qsub"))) process.env.PATH = `${dir}:${process.env.PATH ?? ""}`;
  return dir;
}

/** A copy of this machine's slurm.conf that points the clients at a port where no slurmctld listens. */
export function unreachableSlurmConf(): string {
  const dir = tempDir("corral-slurm-down-");
  let conf = "";
  try {
    conf = fs.readFileSync("/etc/slurm/slurm.conf", "utf8");
  } catch {
    /* no Slurm: the tests skip or fail before using it */
  }
  fs.writeFileSync(path.join(dir, "slurm.conf"), `${conf.replace(/^SlurmctldPort=.*$/m, "")}\nSlurmctldPort=6999\n`);
  return path.join(dir, "slurm.conf");
}
