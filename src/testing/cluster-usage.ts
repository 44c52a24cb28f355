import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import type { AttemptUsage } from "../domain/usage.js";
import { needScheduler, schedulerProblem } from "./clusters.js";
import { TestProject } from "./project.js";
import { assertUsageTruth, submitUsageJobs, usageComplete } from "./usage-scenario.js";

/**
 * One test per scheduler that submits the usage jobs of usage-scenario.ts together to the real daemon (300 MB
 * held, a burner, a sleeper, two burners as a tree with --cpus 2 after the burner), waits, refreshes until
 * accounting has every record (it may lag the end), and checks the figures against the truth, and that they
 * are the accounting's (`source`) with what the scheduler granted.
 */
export function clusterUsageScenario(opts: { engine: string; source: RegExp; config?: string; timeoutMs?: number }): void {
  const { engine } = opts;
  test(`${engine} accounting: each attempt's CPU, peak memory and grant, true to what the jobs did`, { timeout: opts.timeoutMs ?? 150_000 }, async (t) => {
    if (!needScheduler(t, engine, schedulerProblem(engine))) return;
    const p = new TestProject(`corral-${engine}-usage-`, { CORRAL_POLL_MIN_AGE_S: "0" });
    try {
      if (opts.config) {
        fs.mkdirSync(p.path(".corral"), { recursive: true });
        fs.writeFileSync(p.path(".corral", "config.toml"), opts.config);
      }
      const jobs = submitUsageJobs(p, ["--engine", engine, "--time", "10m", "--mem", "1G"]);
      const ids = [jobs.memory, jobs.busy, jobs.sleeper, jobs.tree];
      const waited = await p.runAsync(["wait", ...ids.map(String), "--timeout", "120"]);
      assert.equal(waited.code, 0, `${waited.stdout}${waited.stderr}`);
      const end = Date.now() + 60_000;
      while (!usageComplete(p, jobs) && Date.now() < end) await new Promise((r) => setTimeout(r, 1000));

      const usageOf = (id: number) => p.json<{ tasks: { attempts: { usage: AttemptUsage }[] }[] }>(["show", String(id)]).tasks[0]!.attempts[0]!.usage;
      const usage = ids.map(usageOf);
      t.diagnostic(JSON.stringify(Object.fromEntries(["memory", "busy", "sleeper", "tree"].map((k, i) => [k, usage[i]]))));
      for (const u of usage) {
        assert.match(u.source ?? "none", opts.source, JSON.stringify(u));
        assert.equal(u.allocMemMb, 1024, "--mem 1G, as the scheduler granted it");
        assert.equal(u.allocTimeS, 600, "--time 10m");
      }
      assert.equal(usage[0]!.allocCpus, 1);
      assert.equal(usage[3]!.allocCpus, 2);
      assertUsageTruth(p, jobs);
      assert.match(p.ok(["show", String(jobs.memory)]), /used {3}cpu [\d.]+s .*peak memory 3\d\dM/);
    } finally {
      await p.cleanup();
    }
  });
}
