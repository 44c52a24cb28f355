import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CLI } from "../testing/project.js";

const POINTS_A = 1000;
const POINTS_B = Number(process.env.CORRAL_BENCH_SWEEP_B ?? 100);
const fmt = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

function cli(dir: string, args: string[]): { seconds: number; stdout: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", CORRAL_LOCAL_CPUS: "2" };
  delete env.CORRAL_DB;
  const t0 = performance.now();
  const r = spawnSync(CLI, args, { cwd: dir, env, encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`corral ${args.join(" ")}: ${r.stderr}`);
  return { seconds: (performance.now() - t0) / 1000, stdout: r.stdout };
}

/** A sweep of 100,000 points through `corral run`: time to record and hand them to the local engine, size, status. */
export function benchSweep(line: (s?: string) => void): void {
  const n = POINTS_A * POINTS_B;
  line();
  line(`Workflow: a description file with a sweep of ${fmt(n)} points (${POINTS_A} × ${POINTS_B}), local engine`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-sweep-"));
  try {
    fs.writeFileSync(
      path.join(dir, "sweep.toml"),
      `batch = "big"\n[jobs.point]\ncommand = ["true", "{a}", "{b}"]\nsweep = { a = "1..${POINTS_A}", b = "1..${POINTS_B}" }\n`,
    );
    const run = cli(dir, ["run", "sweep.toml"]);
    line(`  corral run: ${fmt(run.seconds, 2)} s until all ${fmt(n)} tasks are recorded and queued (goal < 5 s: ${run.seconds < 5 ? "met" : "NOT met"})`);
    cli(dir, ["cancel", "--all"]);
    const db = path.join(dir, ".corral", "corral.db");
    const size = fs.statSync(db).size + (fs.existsSync(`${db}-wal`) ? fs.statSync(`${db}-wal`).size : 0);
    line(`  database: ${fmt(size / 1024 / 1024, 1)} MB (${fmt(size / n)} bytes per point)`);
    const times = [0, 1, 2].map(() => cli(dir, ["status"]).seconds).sort((x, y) => x - y);
    line(`  corral status: ${fmt(times[1]! * 1000)} ms (goal < 300 ms: ${times[1]! < 0.3 ? "met" : "NOT met"})`);
    const rerun = cli(dir, ["run", "sweep.toml"]);
    line(`  corral run again (the cancelled points are re-run, like a rescue DAG): ${fmt(rerun.seconds, 2)} s`);
    cli(dir, ["cancel", "--all"]);
  } finally {
    // The supervisor exits once idle; the folder can go only after it has.
    for (let i = 0; i < 300 && fs.existsSync(path.join(dir, ".corral", "supervisor.pid")); i++) spawnSync("sleep", ["0.1"]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
