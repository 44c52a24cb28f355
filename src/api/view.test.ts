import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import { test } from "node:test";
import { TestProject } from "../testing/project.js";
import { callCounter, needScheduler, schedulerProblem } from "../testing/clusters.js";
import { BackgroundRefresher } from "./background-refresh.js";
import { ProjectView } from "./view.js";

/** What is on disk of a database: the file and its write-ahead log. */
function fingerprint(db: string): string {
  const h = crypto.createHash("sha256");
  for (const f of [db, `${db}-wal`]) if (fs.existsSync(f)) h.update(fs.readFileSync(f));
  return h.digest("hex");
}

test("a project view answers what ls, status, show and logs print, and writes nothing", async () => {
  const p = new TestProject("corral-view-");
  try {
    const done = p.submit(["--name", "done"], ["sh", "-c", "echo hello"]);
    p.ok(["wait", String(done)]);
    const held = p.submit(["--hold", "--name", "held"], ["true"]);
    await p.quiesce();
    const before = fingerprint(p.dbPath);
    const view = ProjectView.open({ cwd: p.dir })!;
    try {
      assert.equal(view.store.db.readonly, true, "opened read-only: a write would throw");
      assert.deepEqual(
        view.list().map((j) => [j.id, j.state]),
        [
          [done, "succeeded"],
          [held, "pending"],
        ],
      );
      assert.deepEqual(
        view.listForDisplay().map((r) => r[0]),
        [done, held],
      );
      assert.equal(view.status().batches[0]!.jobs, 2);
      assert.equal(view.show(done).taskList[0]!.attempts[0]!.exitCode, 0);
      const [log] = view.logFiles({ jobId: done, index: null }, ["stdout"]);
      assert.equal(fs.readFileSync(log!.path, "utf8"), "hello\n");
      assert.equal(view.attemptState(done, 1, 1), "succeeded");
    } finally {
      view.close();
    }
    assert.equal(fingerprint(p.dbPath), before, "the database is byte for byte as it was");
    assert.equal(p.supervisorPid(), null, "nothing was started");
  } finally {
    await p.cleanup();
  }
});

test("a background refresh keeps the event loop free while the scheduler is slow, and one runs at a time", async (t) => {
  if (!needScheduler(t, "slurm", schedulerProblem("slurm"))) return;
  const p = new TestProject("corral-bgrefresh-", { CORRAL_POLL_MIN_AGE_S: "0" });
  try {
    const id = p.submit(["--engine", "slurm"], ["sleep", "30"]);
    // squeue answers after 1.5 s: the listing a dashboard's refresh waits for.
    const counter = callCounter(["squeue"]);
    const slow = fs.mkdtempSync(`${p.dir}/slow-`);
    fs.writeFileSync(`${slow}/squeue`, `#!/bin/sh\nsleep 1.5\nexec '${counter.path.split(":")[0]}/squeue' "$@"\n`, { mode: 0o755 });
    const path = process.env.PATH;
    process.env.PATH = `${slow}:${counter.path}`;
    t.after(() => {
      process.env.PATH = path;
    });
    const refresher = new BackgroundRefresher(p.dbPath);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 50);
    const t0 = Date.now();
    await Promise.all([refresher.refresh({ force: true }), refresher.refresh({ force: true }), refresher.refresh({ force: true })]);
    clearInterval(timer);
    const took = Date.now() - t0;
    assert.ok(took >= 1400, `the refresh waited for squeue (${took} ms)`);
    assert.ok(ticks >= (took / 50) * 0.5, `the event loop kept running during the refresh: ${ticks} ticks in ${took} ms`);
    assert.equal(counter.calls().filter((c) => c === "squeue").length, 1, "three callers, one squeue");
    p.ok(["cancel", String(id)]);
  } finally {
    await p.cleanup();
  }
});
