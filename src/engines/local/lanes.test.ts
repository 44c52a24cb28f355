import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import Database from "better-sqlite3";
import { TestProject } from "../../testing/project.js";

// Short tasks pass their share of the machine from one to the next inside the launcher (lanes): these tests hold
// the budget, cancellation and kill -9 to what they are without lanes.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How many of the project's local attempts wait in the launcher's lanes right now. */
function waitingInLanes(p: TestProject): number {
  if (!fs.existsSync(p.dbPath)) return 0;
  const db = new Database(p.dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT count(*) FROM attempts WHERE state = 'queued' AND engine = 'local'").pluck().get() as number;
  } catch {
    return 0; // not created yet
  } finally {
    db.close();
  }
}

/** Waits until attempts wait in lanes; returns how many were seen. */
async function lanesFilled(p: TestProject, timeoutMs = 20_000): Promise<number> {
  for (const end = Date.now() + timeoutMs; Date.now() < end; await sleep(5)) {
    const n = waitingInLanes(p);
    if (n > 0) return n;
  }
  return 0;
}

/** How many attempts were taken back from lanes: they are deleted, leaving gaps in the attempts' ids. */
function takenBack(p: TestProject): number {
  const db = new Database(p.dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT max(id) - count(*) FROM attempts").pluck().get() as number;
  } finally {
    db.close();
  }
}

/** The most tasks running at once, from a ledger of "s" and "e" lines each task appends as it starts and ends. */
function peakRunning(ledger: string): number {
  let running = 0;
  let peak = 0;
  for (const l of fs.readFileSync(ledger, "utf8").trim().split("\n")) {
    running += l.startsWith("s") ? 1 : -1;
    peak = Math.max(peak, running);
  }
  return peak;
}

/** An array whose first `quick` tasks end at once and whose others sleep: lanes sized for the quick ones fill with slow ones. */
function quickThenSlow(p: TestProject, ledger: string, quick: number, total: number): number {
  const body = `echo "s $CORRAL_TASK_ID" >> ${ledger}; if [ "$CORRAL_TASK_ID" -gt ${quick} ]; then sleep 30; fi`;
  return p.submit(["-a", `1-${total}`], ["sh", "-c", body]);
}

/** Waits until a task past `quick` runs while others wait in lanes; returns how many wait. */
async function slowOnesWaiting(p: TestProject, quick: number): Promise<number> {
  for (const end = Date.now() + 20_000; Date.now() < end; await sleep(5)) {
    const db = new Database(p.dbPath, { readonly: true, fileMustExist: true });
    try {
      const count = (state: string) =>
        db.prepare("SELECT count(*) FROM attempts WHERE state = ? AND engine = 'local' AND idx > ?").pluck().get(state, quick) as number;
      const waiting = count("queued");
      if (waiting > 0 && count("running") > 0) return waiting;
    } finally {
      db.close();
    }
  }
  return 0;
}

/** How many tasks past `quick` ever started: at most one a cpu (2 here) may have before the test stopped them. */
function slowStarted(ledger: string, quick: number): number {
  const n = startedTasks(ledger).filter((t) => t > quick).length;
  assert.ok(n >= 1, "a slow task was running");
  return n;
}

/** Runs `body` on a project whose lanes hold slow tasks while at least one runs (see quickThenSlow). */
async function withSlowOnesWaiting(prefix: string, body: (p: TestProject, ledger: string, id: number, waiting: number) => Promise<void>): Promise<void> {
  const p = new TestProject(prefix, { CORRAL_LOCAL_CPUS: "2" });
  try {
    const ledger = p.path("ledger");
    const id = quickThenSlow(p, ledger, 300, 340);
    const waiting = await slowOnesWaiting(p, 300);
    assert.ok(waiting > 0, "slow tasks waited in lanes while one ran");
    await body(p, ledger, id, waiting);
  } finally {
    await p.cleanup();
  }
}

/** The tasks that started, from the "s INDEX" lines of a ledger the tasks append to. */
const startedTasks = (ledger: string) =>
  fs
    .readFileSync(ledger, "utf8")
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("s "))
    .map((l) => Number(l.slice(2)));

function assertEachRanOnce(ledger: string, n: number): void {
  assert.deepEqual(
    startedTasks(ledger).sort((a, b) => a - b),
    Array.from({ length: n }, (_, i) => i + 1),
    "every task ran exactly once",
  );
}

test("short tasks wait in the launcher's lanes, yet never more run at once than the budget, and each runs once", async () => {
  const p = new TestProject("corral-lanes-", { CORRAL_LOCAL_CPUS: "2" });
  try {
    const ledger = p.path("ledger");
    // Long enough (about 10 ms) for two tasks run at once to overlap in the ledger, short enough for lanes.
    const id = p.submit(["-a", "1-600"], ["sh", "-c", `echo "s $CORRAL_TASK_ID" >> ${ledger}; sleep 0.005; echo "e $CORRAL_TASK_ID" >> ${ledger}`]);
    const seen = await lanesFilled(p);
    assert.ok(seen > 0, "attempts waited in lanes ahead of their turn");
    // A task waiting in a lane is queued, as in a scheduler's queue: only those with a process count as running.
    const job = p.json<{ tasks: { running: number } }[]>(["ls"])[0]!;
    assert.ok(job.tasks.running <= 2, `${job.tasks.running} tasks shown running on 2 cpus`);
    p.ok(["wait", String(id)]);
    assert.equal(peakRunning(ledger), 2, "two at a time, never three");
    assertEachRanOnce(ledger, 600);
    assert.equal(p.json<{ state: string }[]>(["ls"])[0]!.state, "succeeded");
    assert.equal(takenBack(p), 0, "tasks that all take about as long never had an attempt taken back from a lane");
  } finally {
    await p.cleanup();
  }
});

test("with lanes, an array's cap and the GPUs are held too: never more tasks than the cap, never one device twice", async () => {
  const p = new TestProject("corral-lanes-cap-", { CORRAL_LOCAL_CPUS: "4", CORRAL_LOCAL_GPUS: "2" });
  try {
    const capped = p.path("capped");
    const gpus = p.path("gpus");
    const cap = p.submit(["-a", "1-300%3"], ["sh", "-c", `echo "s $CORRAL_TASK_ID" >> ${capped}; sleep 0.005; echo "e $CORRAL_TASK_ID" >> ${capped}`]);
    assert.ok((await lanesFilled(p)) > 0, "capped tasks waited in lanes");
    p.ok(["wait", String(cap)]);
    assert.ok(peakRunning(capped) <= 3, `${peakRunning(capped)} tasks at once under a cap of 3`);
    const gpu = p.submit(
      ["-a", "1-300", "--gpus", "1"],
      ["sh", "-c", `echo "s $CUDA_VISIBLE_DEVICES" >> ${gpus}; sleep 0.005; echo "e $CUDA_VISIBLE_DEVICES" >> ${gpus}`],
    );
    p.ok(["wait", String(gpu)]);
    const lines = fs.readFileSync(gpus, "utf8").trim().split("\n");
    for (const device of new Set(lines.map((l) => l.slice(2)))) {
      const own = p.path(`gpu-${device}`);
      fs.writeFileSync(own, `${lines.filter((l) => l.slice(2) === device).join("\n")}\n`);
      assert.equal(peakRunning(own), 1, `device ${device} served one task at a time`);
    }
    assert.deepEqual([...new Set(lines.map((l) => l.slice(2)))].sort(), ["0", "1"]);
  } finally {
    await p.cleanup();
  }
});

test("deleting a job whose tasks wait in lanes: none of them runs afterwards, with or without its logs kept", async () => {
  for (const keep of [false, true]) {
    await withSlowOnesWaiting("corral-lanes-delete-", async (p, ledger, id) => {
      p.ok(["delete", ...(keep ? ["--keep-logs"] : []), String(id)]);
      await sleep(1500);
      assert.ok(slowStarted(ledger, 300) <= 2, `only those running ever ran (logs kept: ${keep})`);
    });
  }
});

test("a lane whose task runs long gives back what waits in it: those tasks wait in the queue again, with no attempt", async () => {
  await withSlowOnesWaiting("corral-lanes-slow-", async (p, ledger, id, waiting) => {
    let left = waiting;
    for (const end = Date.now() + 10_000; left > 0 && Date.now() < end; await sleep(100)) left = waitingInLanes(p);
    assert.equal(left, 0, "after a second, the lanes gave them back");
    const tasks = p.json<{ tasks: { index: number; state: string; attempts: unknown[] }[] }>(["show", String(id)]).tasks;
    const slow = tasks.filter((t) => t.index > 300);
    assert.equal(slow.filter((t) => t.state === "running").length, 2, "two slow tasks run, one per cpu");
    for (const t of slow.filter((t) => t.state === "queued")) assert.equal(t.attempts.length, 0, `task ${t.index} keeps no trace of its lane`);
    p.ok(["cancel", String(id)]);
    p.run(["wait", String(id)]);
    assert.deepEqual(startedTasks(ledger).filter((t) => t > 300).length, 2, "no slow task but the two running ever started");
  });
});

test("cancelling a job whose tasks wait in lanes: those waiting never run, and end cancelled", async () => {
  await withSlowOnesWaiting("corral-lanes-cancel-", async (p, ledger, id, waiting) => {
    // The cancel ends the two running ones; without a fence, their lanes would start what waits in them.
    p.ok(["cancel", String(id)]);
    p.run(["wait", String(id)]);
    const tasks = p.json<{ tasks: { index: number; state: string }[] }>(["show", String(id)]).tasks;
    assert.ok(
      tasks.filter((t) => t.index > 300).every((t) => t.state === "cancelled"),
      "every slow task ended cancelled",
    );
    assert.ok(slowStarted(ledger, 300) <= 2, `only those running ran, with ${waiting} waiting in lanes`);
  });
});

test("a cancel while the supervisor is dead, with tasks in its lanes: the next supervisor ends them cancelled, not re-queued", async () => {
  await withSlowOnesWaiting("corral-lanes-dead-cancel-", async (p, ledger, id) => {
    process.kill(p.supervisorPid()!, "SIGKILL");
    await p.quiesce();
    p.ok(["cancel", String(id)]);
    p.run(["wait", String(id)]);
    const tasks = p.json<{ tasks: { index: number; state: string }[] }>(["show", String(id)]).tasks;
    assert.deepEqual(
      tasks.filter((t) => t.index > 300 && t.state !== "cancelled").map((t) => `${t.index} ${t.state}`),
      [],
      "every slow task ended cancelled",
    );
    assert.ok(slowStarted(ledger, 300) <= 2, "only those that were running ever ran");
  });
});

test("kill -9 of the supervisor while tasks wait in lanes: the next one puts them back in the queue, and each runs once", async () => {
  const p = new TestProject("corral-lanes-kill9-", { CORRAL_LOCAL_CPUS: "2" });
  try {
    const ledger = p.path("ledger");
    const id = p.submit(["-a", "1-1500"], ["sh", "-c", `echo "s $CORRAL_TASK_ID" >> ${ledger}`]);
    let kills = 0;
    for (let round = 0; round < 6; round++) {
      p.ok(["ls"]); // brings a new supervisor
      if ((await lanesFilled(p, 10_000)) === 0) break; // all done
      const pid = p.supervisorPid();
      if (pid !== null) {
        process.kill(pid, "SIGKILL");
        kills++;
      }
      await sleep(50);
    }
    assert.ok(kills >= 3, `the supervisor was killed ${kills} times with tasks in its lanes`);
    assert.equal(p.run(["wait", String(id)]).code, 0);
    assertEachRanOnce(ledger, 1500);
    assert.equal(p.json<{ state: string }[]>(["ls"])[0]!.state, "succeeded");
  } finally {
    await p.cleanup();
  }
});
