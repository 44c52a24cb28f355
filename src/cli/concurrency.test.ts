import assert from "node:assert/strict";
import { test } from "node:test";
import type { JobSummary } from "../domain/job.js";
import { TestProject } from "../testing/project.js";

test("8 processes submitting 100 jobs each while another loops ls: 800 jobs, no error, no lost row", async () => {
  const p = new TestProject("corral-concurrent-");
  try {
    let listing = true;
    let lsRuns = 0;
    const lsErrors: string[] = [];
    const lsLoop = (async () => {
      while (listing) {
        const r = await p.runAsync(["ls"]);
        lsRuns++;
        if (r.code !== 0) lsErrors.push(r.stderr);
        // A reader that looks again and again, as a user's `watch corral ls` does, not one that takes a core to itself.
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    const submitter = async (k: number) => {
      const ids: number[] = [];
      for (let i = 0; i < 100; i++) {
        const r = await p.runAsync(["submit", "-n", `w${k}-${i}`, "--", "true"]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, "");
        ids.push(Number(r.stdout.trim()));
      }
      return ids;
    };
    const all = await Promise.all(Array.from({ length: 8 }, (_, k) => submitter(k)))
      .then((ids) => ids.flat())
      .finally(() => {
        listing = false; // a failed submitter must not leave the reader looping after the test
      });
    await lsLoop;
    assert.deepEqual(lsErrors, []);
    assert.ok(lsRuns > 0);
    assert.equal(new Set(all).size, 800, "800 distinct ids");
    assert.equal(p.run(["wait"]).code, 0);
    const jobs = p.json<JobSummary[]>(["ls"]);
    assert.equal(jobs.length, 800);
    assert.ok(jobs.every((j) => j.state === "succeeded"));
    for (let k = 0; k < 8; k++) assert.equal(jobs.filter((j) => j.name.startsWith(`w${k}-`)).length, 100);
  } finally {
    await p.cleanup();
  }
});
