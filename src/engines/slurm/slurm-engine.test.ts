import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { needScheduler, schedulerProblem, show, unreachableSlurmConf } from "../../testing/clusters.js";
import { clusterScenarios } from "../../testing/cluster-scenarios.js";
import { TestProject } from "../../testing/project.js";
import { clusterUsageScenario } from "../../testing/cluster-usage.js";

clusterScenarios({
  engine: "slurm",
  submitCommand: "sbatch",
  statusCommand: "squeue",
  accountingCommand: "sacct",
  commands: ["sbatch", "squeue", "sacct", "scancel", "scontrol"],
  killOutside: (id) => ["scancel", id],
  holdArgs: ["--hold"],
  // Slurm enforces limits in whole minutes, checked about every 30 s: a 1-minute limit ends after 60-90 s.
  shortTime: "1",
  timeoutTestMs: 150_000,
  unreachableEnv: { SLURM_CONF: unreachableSlurmConf() },
});

const problem = schedulerProblem("slurm");
const p = new TestProject("corral-slurm-mem-", { CORRAL_POLL_MIN_AGE_S: "0" });
after(() => p.cleanup());

test("a job over its --mem on Slurm is reported as OUT_OF_MEMORY", async (t) => {
  if (!needScheduler(t, "slurm", problem)) return;
  const id = p.submit(["--engine", "slurm", "--mem", "100M"], ["perl", "-e", '$x = "x" x (400 * 1024 * 1024); sleep 5']);
  await p.runAsync(["wait", String(id), "--timeout", "120"]);
  const job = show(p, id);
  assert.equal(job.state, "failed");
  assert.match(job.tasks[0]!.reason ?? "", /^OUT_OF_MEMORY: exceeded the memory limit of 100M/);
});

test("--sched-arg and [slurm] settings reach sbatch untouched", async (t) => {
  if (!needScheduler(t, "slurm", problem)) return;
  fs.mkdirSync(p.path(".corral"), { recursive: true });
  fs.writeFileSync(p.path(".corral", "config.toml"), '[slurm]\njob-name = "from config"\n');
  const id = p.submit(["--engine", "slurm", "--sched-arg=--export=ALL,CORRAL_T=passed through"], ["sh", "-c", 'echo "$SLURM_JOB_NAME/$CORRAL_T"']);
  assert.equal((await p.runAsync(["wait", String(id)])).code, 0);
  assert.equal(p.ok(["logs", String(id)]), "from config/passed through\n");
  fs.rmSync(p.path(".corral", "config.toml"));
});

test('engine = "slurm" in .corral/config.toml moves a workflow to Slurm without edits; CORRAL_ENGINE and --engine still choose', async (t) => {
  if (!needScheduler(t, "slurm", problem)) return;
  const q = new TestProject("corral-slurm-config-");
  try {
    fs.mkdirSync(q.path(".corral"), { recursive: true });
    fs.writeFileSync(q.path(".corral", "config.toml"), 'engine = "slurm"\n');
    const onSlurm = q.submit([], ["true"]);
    const local = q.submit([], ["true"]);
    const viaEnv = Number(q.ok(["submit", "--", "true"], { env: { CORRAL_ENGINE: "local" } }).trim());
    const engines = [onSlurm, local, viaEnv].map((id) => q.json<{ engine: string }>(["show", String(id)]).engine);
    assert.deepEqual(engines, ["slurm", "slurm", "local"]);
    assert.equal((await q.runAsync(["wait"])).code, 0);
    fs.writeFileSync(q.path(".corral", "config.toml"), 'engine = "slurmm"\n');
    const bad = q.run(["submit", "--", "true"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown engine/);
  } finally {
    await q.cleanup();
  }
});

test("the map(20) → reduce → report description runs on Slurm: one native array, native dependencies", async (t) => {
  if (!needScheduler(t, "slurm", problem)) return;
  const q = new TestProject("corral-slurm-workflow-", { CORRAL_POLL_MIN_AGE_S: "0" });
  try {
    const fixtures = fileURLToPath(new URL("../../../src/render/fixtures/", import.meta.url));
    for (const f of ["genome.toml", "report.sh"]) fs.copyFileSync(path.join(fixtures, f), q.path(f));
    fs.chmodSync(q.path("report.sh"), 0o755);
    const run = await q.runAsync(["run", "genome.toml", "--engine", "slurm", "--wait", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const created = (JSON.parse(run.stdout) as { created: { name: string; id: number }[] }).created;
    assert.deepEqual(
      created.map((j) => j.name),
      ["map", "reduce", "report"],
    );
    assert.equal(fs.readFileSync(q.path("all.txt"), "utf8").split("\n").filter(Boolean).length, 20);
    assert.equal(q.ok(["logs", String(created[2]!.id)]), "report on hg38: 20 lines\n");
    const map = show(q, created[0]!.id);
    assert.equal(new Set(map.tasks.map((x) => x.attempts[0]!.engineId!.split("_")[0])).size, 1, "the 20 points went as one Slurm array");
    assert.match((await q.runAsync(["run", "genome.toml", "--engine", "slurm"])).stdout, /0 submitted, 0 re-run, 3 kept/);
  } finally {
    await q.cleanup();
  }
});

clusterUsageScenario({ engine: "slurm", source: /^sacct$/ });
