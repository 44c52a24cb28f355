import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import type { JobSummary } from "../../domain/job.js";
import { TestProject } from "../../testing/project.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("kill -9 of the supervisor while jobs run: every job ends exactly once and none is left running", async () => {
  const p = new TestProject("corral-kill9-", { CORRAL_LOCAL_CPUS: "4" });
  try {
    const ledger = p.path("ledger");
    // Enough work to outlast the kills: while the supervisor is dead nothing new starts.
    const cmd = ["sh", "-c", `sleep 0.5; echo "$CORRAL_JOB_ID.$CORRAL_TASK_ID" >> ${ledger}`];
    const expected: string[] = [];
    for (let i = 0; i < 15; i++) expected.push(`${p.submit([], cmd)}.1`);
    const array = p.submit(["-a", "1-45"], cmd);
    for (let t = 1; t <= 45; t++) expected.push(`${array}.${t}`);
    let kills = 0;
    for (let round = 0; round < 10; round++) {
      // Any command brings a new supervisor, which adopts what the old one started; give it time to start.
      p.ok(["ls"]);
      for (let i = 0; i < 100 && p.supervisorPid() === null; i++) await sleep(30);
      await sleep(100 + Math.floor(Math.random() * 400));
      const pid = p.supervisorPid();
      if (pid !== null) {
        process.kill(pid, "SIGKILL");
        kills++;
      }
    }
    assert.ok(kills >= 5, `the supervisor was killed ${kills} times`);
    assert.equal(p.run(["wait"]).code, 0);
    const lines = fs.readFileSync(ledger, "utf8").trim().split("\n").sort();
    assert.deepEqual(lines, [...expected].sort(), "each task ran exactly once");
    const jobs = p.json<JobSummary[]>(["ls"]);
    assert.ok(jobs.every((j) => j.state === "succeeded"));
    assert.equal(
      jobs.reduce((n, j) => n + j.tasks.running, 0),
      0,
    );
  } finally {
    await p.cleanup();
  }
});

test("a job killed behind corral's back without an end marker is lost, and resubmit --state lost re-runs it", async () => {
  const p = new TestProject("corral-lost-");
  try {
    const marker = p.path("second-run");
    const id = p.submit([], ["sh", "-c", `if [ -e ${marker}.armed ]; then touch ${marker}; else sleep 60; fi`]);
    let pid: number | null = null;
    for (let i = 0; i < 100 && pid === null; i++) {
      const job = p.json<{ tasks: { attempts: { pid: number | null; state: string }[] }[] }>(["show", String(id)]);
      const a = job.tasks[0]!.attempts[0];
      if (a?.state === "running" && a.pid) pid = a.pid;
      else await sleep(50);
    }
    assert.ok(pid, "the job started");
    process.kill(-pid, "SIGKILL"); // the wrapper and its command, with no chance to write `ended`
    p.run(["wait", String(id)]);
    const job = p.json<{ state: string; tasks: { reason: string }[] }>(["show", String(id)]);
    assert.equal(job.state, "lost");
    assert.match(job.tasks[0]!.reason, /without an end marker/);
    fs.writeFileSync(`${marker}.armed`, "");
    p.ok(["resubmit", "--state", "lost"]);
    p.ok(["wait", String(id)]);
    assert.ok(fs.existsSync(marker));
    const attempts = p.json<{ tasks: { attempts: { state: string }[] }[] }>(["show", String(id)]).tasks[0]!.attempts;
    assert.deepEqual(
      attempts.map((a) => a.state),
      ["lost", "succeeded"],
    );
  } finally {
    await p.cleanup();
  }
});

test("jobs keep running when the supervisor dies, and are adopted, not re-run, by the next one", async () => {
  const p = new TestProject("corral-adopt-");
  try {
    const ledger = p.path("ledger");
    const id = p.submit([], ["sh", "-c", `echo start >> ${ledger}; sleep 1; echo end >> ${ledger}`]);
    for (let i = 0; i < 100 && !fs.existsSync(ledger); i++) await sleep(20);
    process.kill(p.supervisorPid()!, "SIGKILL");
    p.ok(["wait", String(id)]);
    assert.equal(fs.readFileSync(ledger, "utf8"), "start\nend\n");
    const job = p.json<{ tasks: { attempts: unknown[] }[] }>(["show", String(id)]);
    assert.equal(job.tasks[0]!.attempts.length, 1);
  } finally {
    await p.cleanup();
  }
});

test("the supervisor exits by itself once there is nothing left to run", async () => {
  const p = new TestProject("corral-idle-");
  try {
    p.ok(["wait", String(p.submit([], ["true"]))]);
    await p.quiesce(5000);
    assert.equal(p.supervisorPid(), null);
    assert.equal(fs.existsSync(p.path(".corral", "supervisor.pid")), false);
  } finally {
    await p.cleanup();
  }
});

test("a supervisor that starts late, after the work is done, exits at once and leaves the database as it was", async () => {
  // Commands racing a slow start each spawn a supervisor (the lease lets one run); one that gets going only after
  // the winner has run everything and exited must not take the lease and write the database.
  const p = new TestProject("corral-late-");
  try {
    p.ok(["wait", String(p.submit([], ["true"]))]);
    await p.quiesce(5000);
    const before = fs.readFileSync(p.dbPath);
    const late = p.run(["supervisor", "--db", p.dbPath]);
    assert.equal(late.code, 0, late.stderr);
    assert.deepEqual(fs.readFileSync(p.dbPath), before, "the database is byte for byte the same");
    assert.equal(fs.existsSync(p.path(".corral", "supervisor.pid")), false, "no pidfile was written");
  } finally {
    await p.cleanup();
  }
});

test("the local budget is respected: no more cpus in use than configured", async () => {
  const p = new TestProject("corral-budget-", { CORRAL_LOCAL_CPUS: "3" });
  try {
    const log = p.path("log");
    const id = p.submit(["-a", "1-6", "--cpus", "2"], ["sh", "-c", `echo s >> ${log}; sleep 0.3; echo e >> ${log}`]);
    p.ok(["wait", String(id)]);
    let running = 0;
    let peak = 0;
    for (const l of fs.readFileSync(log, "utf8").trim().split("\n")) {
      running += l === "s" ? 1 : -1;
      peak = Math.max(peak, running);
    }
    assert.equal(peak, 1, "two 2-cpu tasks never fit in 3 cpus at once");
  } finally {
    await p.cleanup();
  }
});

test("a supervisor whose project folder was removed stops instead of running a queue nobody can see", async () => {
  const p = new TestProject("corral-removed-", { CORRAL_LOCAL_CPUS: "1" });
  p.submit(["-a", "1-200"], ["sleep", "0.2"]);
  let pid: number | null = null;
  for (let i = 0; i < 100 && pid === null; i++, await sleep(50)) pid = p.supervisorPid();
  assert.ok(pid !== null, "a supervisor runs");
  fs.rmSync(p.path(".corral"), { recursive: true, force: true });
  const alive = () => {
    try {
      process.kill(pid!, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 100 && alive(); i++) await sleep(100);
  assert.equal(alive(), false, "it exited");
  fs.rmSync(p.dir, { recursive: true, force: true });
});
