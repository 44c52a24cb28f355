import assert from "node:assert/strict";
import fs from "node:fs";
import { after, test } from "node:test";
import { TestProject } from "../testing/project.js";

const p = new TestProject("corral-arrays-", { CORRAL_LOCAL_CPUS: "8" });
after(() => p.cleanup());

interface Task {
  index: number;
  state: string;
}

test("each array task sees its own index, with a step", () => {
  const id = p.submit(["-a", "1-9:2"], ["sh", "-c", 'echo "$CORRAL_TASK_ID $SGE_TASK_ID"']);
  p.ok(["wait", String(id)]);
  const tasks = p.json<{ tasks: Task[] }>(["show", String(id)]).tasks;
  assert.deepEqual(
    tasks.map((t) => t.index),
    [1, 3, 5, 7, 9],
  );
  for (const t of tasks) assert.equal(p.ok(["logs", `${id}.${t.index}`]), `${t.index} ${t.index}\n`);
});

test("-t is accepted as SGE's spelling of --array, and lists work", () => {
  const id = p.submit(["-t", "2,4,7"], ["true"]);
  p.ok(["wait", String(id)]);
  assert.deepEqual(
    p.json<{ tasks: Task[] }>(["show", String(id)]).tasks.map((t) => t.index),
    [2, 4, 7],
  );
});

test("an array's %N cap is never exceeded, even with free cpus", () => {
  const log = p.path("intervals");
  const id = p.submit(["-a", "1-12%3"], ["sh", "-c", `echo "s $(date +%s%N)" >> ${log}; sleep 0.3; echo "e $(date +%s%N)" >> ${log}`]);
  p.ok(["wait", String(id)]);
  const events = fs
    .readFileSync(log, "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(" "))
    .map(([kind, t]) => ({ kind: kind!, t: BigInt(t!) }))
    .sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : a.kind === "e" ? -1 : 1));
  let running = 0;
  let peak = 0;
  for (const e of events) {
    running += e.kind === "s" ? 1 : -1;
    peak = Math.max(peak, running);
  }
  assert.equal(events.length, 24);
  assert.equal(peak, 3, "three at once, never more");
});

test("a failed array task makes the job failed while the others succeed", () => {
  const id = p.submit(["-a", "1-4"], ["sh", "-c", '[ "$CORRAL_TASK_ID" != 3 ]']);
  assert.equal(p.run(["wait", String(id)]).code, 1);
  const job = p.json<{ state: string; tasks: Task[] }>(["show", String(id)]);
  assert.equal(job.state, "failed");
  assert.deepEqual(
    job.tasks.map((t) => t.state),
    ["succeeded", "succeeded", "failed", "succeeded"],
  );
  assert.match(p.ok(["ls", "--tasks", String(id)]), new RegExp(`${id}\\.3\\s+sh\\s+failed`));
});

test("resubmit of one array task (12.4) re-runs only that task", () => {
  const flag = p.path("array-flag");
  const id = p.submit(["-a", "1-3"], ["sh", "-c", `[ "$CORRAL_TASK_ID" != 2 ] || [ -e ${flag} ]`]);
  p.run(["wait", String(id)]);
  fs.writeFileSync(flag, "");
  p.ok(["resubmit", `${id}.2`]);
  p.ok(["wait", String(id)]);
  const tasks = p.json<{ tasks: { index: number; attempts: unknown[] }[] }>(["show", String(id)]).tasks;
  assert.deepEqual(
    tasks.map((t) => t.attempts.length),
    [1, 2, 1],
  );
});

test("cancel of one array task leaves the others running to completion", () => {
  const id = p.submit(["-a", "1-3"], ["sh", "-c", '[ "$CORRAL_TASK_ID" = 2 ] && sleep 30; true']);
  for (let i = 0; i < 100; i++) {
    const tasks = p.json<{ tasks: Task[] }>(["show", String(id)]).tasks;
    if (tasks[1]!.state === "running") break;
  }
  p.ok(["cancel", `${id}.2`]);
  p.run(["wait", String(id)]);
  const tasks = p.json<{ state: string; tasks: Task[] }>(["show", String(id)]);
  assert.deepEqual(
    tasks.tasks.map((t) => t.state),
    ["succeeded", "cancelled", "succeeded"],
  );
  assert.equal(tasks.state, "cancelled");
});
