import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, test } from "node:test";
import { needScheduler, schedulerProblem, show, waitForTaskState } from "../../testing/clusters.js";
import { clusterScenarios } from "../../testing/cluster-scenarios.js";
import { TestProject } from "../../testing/project.js";
import { clusterUsageScenario } from "../../testing/cluster-usage.js";

clusterScenarios({
  engine: "sge",
  submitCommand: "qsub",
  statusCommand: "qstat",
  accountingCommand: "qacct",
  commands: ["qsub", "qstat", "qacct", "qdel"],
  killOutside: (id) => {
    const [job, task] = id.split(".");
    return task ? ["qdel", job!, "-t", task] : ["qdel", job!];
  },
  holdArgs: ["-h"],
  shortTime: "5s",
  timeoutTestMs: 90_000,
  unreachableEnv: { SGE_QMASTER_PORT: "6999" },
});

const problem = schedulerProblem("sge");
const p = new TestProject("corral-sge-lost-", { CORRAL_POLL_MIN_AGE_S: "0", CORRAL_LOST_GRACE_S: "1" });
after(() => p.cleanup());

test("a job deleted before it ran leaves no record: it is lost after the grace period, and resubmit --state lost re-runs it", async (t) => {
  if (!needScheduler(t, "sge", problem)) return;
  const id = p.submit(["--engine", "sge", "--sched-arg=-h"], ["echo", "ran"]);
  const job = await waitForTaskState(p, id, ["queued"]);
  const r = spawnSync("qdel", [job.tasks[0]!.attempts[0]!.engineId!], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  await p.runAsync(["wait", String(id), "--timeout", "60"]);
  const lost = show(p, id);
  assert.equal(lost.state, "lost");
  assert.match(lost.tasks[0]!.reason ?? "", /no longer knows .* left no end marker/);
  p.ok(["resubmit", "--state", "lost"]);
  // The job's --sched-arg=-h comes with the new attempt too: release the hold from outside, as its user would.
  const again = await waitForTaskState(p, id, ["queued", "running", "succeeded"]);
  spawnSync("qrls", [again.tasks[0]!.attempts[1]!.engineId!]);
  assert.equal((await p.runAsync(["wait", String(id), "--timeout", "60"])).code, 0);
  assert.equal(p.ok(["logs", String(id)]), "ran\n");
});

test("--cpus above 1 without a parallel environment is refused with what to set, and nothing is recorded", async (t) => {
  if (!needScheduler(t, "sge", problem)) return;
  const q = new TestProject("corral-sge-pe-");
  try {
    const r = q.run(["submit", "--engine", "sge", "--cpus", "2", "--", "true"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^corral: --cpus 2: Grid Engine needs a parallel environment.*\[sge\]/);
    assert.equal(r.stderr.trim().split("\n").length, 1);
    assert.equal(q.run(["ls", "--json"]).stdout.trim(), "[]");
  } finally {
    await q.cleanup();
  }
});

clusterUsageScenario({ engine: "sge", source: /^qacct (ru_maxrss|maxvmem)$/, config: '[sge]\npe = "smp"\n' });
