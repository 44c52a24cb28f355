import assert from "node:assert/strict";
import { test } from "node:test";
import { TestProject } from "../../testing/project.js";
import { assertUsageTruth, submitUsageJobs, usageComplete } from "../../testing/usage-scenario.js";

test("the local engine records what each attempt used: peak memory, CPU of the whole tree, an idle sleeper", async () => {
  const p = new TestProject("corral-usage-local-", { CORRAL_LOCAL_CPUS: "2", CORRAL_LOCAL_MEM: "4G" });
  try {
    const jobs = submitUsageJobs(p);
    const r = await p.runAsync(["wait", "--timeout", "90"]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(usageComplete(p, jobs), p.ok(["report", "--by", "job"]));
    assertUsageTruth(p, jobs);
    assert.match(p.ok(["show", String(jobs.memory)]), /used\s+cpu [\d.]+s .*peak memory 3\d\dM \[wait4\]/);
  } finally {
    await p.cleanup();
  }
});
