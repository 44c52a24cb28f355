import assert from "node:assert/strict";
import { test } from "node:test";
import type { JobSummary } from "../domain/job.js";
import { TestProject } from "../testing/project.js";

// 8 writers at once is the contention; 50 submits each keep it up for a minute on two cores (100 each took four,
// the longest test of the suite).
const EACH = 50;

test(`8 processes submitting ${EACH} jobs each while another loops ls: ${8 * EACH} jobs, no error, no lost row`, async () => {
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
      for (let i = 0; i < EACH; i++) {
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
    assert.equal(new Set(all).size, 8 * EACH, "distinct ids");
    assert.equal(p.run(["wait"]).code, 0);
    const jobs = p.json<JobSummary[]>(["ls"]);
    assert.equal(jobs.length, 8 * EACH);
    assert.ok(jobs.every((j) => j.state === "succeeded"));
    for (let k = 0; k < 8; k++) assert.equal(jobs.filter((j) => j.name.startsWith(`w${k}-`)).length, EACH);
  } finally {
    await p.cleanup();
  }
});
