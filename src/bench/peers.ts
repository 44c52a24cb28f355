import { spawnSync } from "node:child_process";

/** Makes GNU parallel available, installing Debian's package when missing (the bench's one outside tool). */
export function ensureGnuParallel(): boolean {
  if (spawnSync("sh", ["-c", "command -v parallel"]).status === 0) return true;
  process.stderr.write("GNU parallel is missing; installing Debian's package…\n");
  const r = spawnSync("sh", ["-c", "(apt-get install -y parallel || (apt-get update && apt-get install -y parallel)) >/dev/null 2>&1"], { stdio: "inherit" });
  return r.status === 0 && spawnSync("sh", ["-c", "command -v parallel"]).status === 0;
}

/** Wall-clock seconds of a shell pipeline. */
export function timeShell(script: string, cwd: string): number {
  const t0 = performance.now();
  const r = spawnSync("sh", ["-c", script], { cwd, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}
