import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Corral } from "../api/corral.js";

/**
 * Issue 12's scaling defect: waiting jobs (held, or behind --after) must not make submits or refreshes slower.
 * One-at-a-time submits are timed on an empty project and again beside many waiting jobs (the ratio is the
 * measure: flat is 1.0); the batch form records 100,000 held jobs in one call; a refresh of a project with
 * 100,000 waiting jobs is timed against one of an empty project. All through the library, in this process.
 */
const BATCH = Number(process.env.CORRAL_BENCH_WAITING ?? 100_000);
const STEP = 2000;
const fmt = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const seconds = (t0: number) => (performance.now() - t0) / 1000;

function heldOneByOne(corral: Corral, dir: string, n: number): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) corral.submit({ command: ["true"], hold: true }, dir);
  return seconds(t0);
}

function refreshMs(corral: Corral): number {
  const xs = [0, 1, 2, 3, 4].map(() => {
    const t0 = performance.now();
    corral.refresh();
    return performance.now() - t0;
  });
  return xs.sort((a, b) => a - b)[2]!;
}

export function benchWaiting(line: (s?: string) => void): void {
  line();
  line(`Waiting jobs: held submits and refreshes beside ${fmt(BATCH)} held jobs (library, one process)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-waiting-"));
  try {
    const { corral } = Corral.submit({ command: ["true"], hold: true }, { cwd: dir });
    try {
      const emptyRefresh = refreshMs(corral);
      const first = heldOneByOne(corral, dir, STEP);
      const t0 = performance.now();
      corral.submitMany(
        Array.from({ length: BATCH }, (_, i) => ({ command: ["sh", "-c", `echo ${i}`], hold: true })),
        dir,
      );
      const batch = seconds(t0);
      const later = heldOneByOne(corral, dir, STEP);
      const fullRefresh = refreshMs(corral);
      line(`  ${fmt(STEP)} held submits one at a time: ${fmt(first, 2)} s on an empty project, ${fmt(later, 2)} s beside ${fmt(BATCH + STEP)} held jobs`);
      const flat = later / first;
      line(`    ratio ${fmt(flat, 2)} (goal: flat, ≤ 1.5: ${flat <= 1.5 ? "met" : "NOT met"})`);
      line(`  ${fmt(BATCH)} held jobs in one submitMany call: ${fmt(batch, 2)} s (goal < 30 s: ${batch < 30 ? "met" : "NOT met"})`);
      // Both are a few milliseconds: "as fast" is within 2× or 5 ms, whichever is looser.
      const asFast = fullRefresh <= 2 * emptyRefresh || fullRefresh - emptyRefresh < 5;
      line(
        `  refresh: ${fmt(emptyRefresh, 1)} ms on an empty project, ${fmt(fullRefresh, 1)} ms with ${fmt(BATCH + 2 * STEP)} held jobs (goal: as fast: ${asFast ? "met" : "NOT met"})`,
      );
    } finally {
      corral.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
