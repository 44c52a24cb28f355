import assert from "node:assert/strict";
import fs from "node:fs";
import { after, test } from "node:test";
import { TestProject } from "../testing/project.js";

const p = new TestProject("corral-deps-", { CORRAL_LOCAL_CPUS: "4" });
after(() => p.cleanup());

interface Attempt {
  n: number;
  state: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}
interface Show {
  state: string;
  tasks: { state: string; reason: string | null; attempts: Attempt[] }[];
}
const show = (id: number) => p.json<Show>(["show", String(id)]);

test("an --after chain runs in order, each job only after its parent succeeded", () => {
  const order = p.path("order");
  const a = p.submit(["-n", "a"], ["sh", "-c", `sleep 0.3; echo a >> ${order}`]);
  const b = p.submit(["-n", "b", "--after", String(a)], ["sh", "-c", `echo b >> ${order}`]);
  const c = p.submit(["-n", "c", "--after", String(b)], ["sh", "-c", `echo c >> ${order}`]);
  p.ok(["wait", String(a), String(b), String(c)]);
  assert.equal(fs.readFileSync(order, "utf8"), "a\nb\nc\n");
});

test("when a parent fails, its dependents are cancelled with the reason, down the whole chain", () => {
  const a = p.submit(["-n", "parent"], ["false"]);
  const b = p.submit(["--after", String(a)], ["true"]);
  const c = p.submit(["--after", String(b)], ["true"]);
  assert.equal(p.run(["wait", String(a), String(b), String(c)]).code, 1);
  assert.equal(show(b).state, "cancelled");
  assert.equal(show(b).tasks[0]!.reason, `dependency ${a} failed`);
  assert.equal(show(c).tasks[0]!.reason, `dependency ${b} cancelled`);
  assert.equal(show(b).tasks[0]!.attempts.length, 0, "a cancelled dependent never ran");
});

test("--after-any runs the dependent however its parent ended", () => {
  const a = p.submit([], ["false"]);
  const b = p.submit(["--after-any", String(a)], ["true"]);
  p.run(["wait", String(a), String(b)]);
  assert.equal(show(b).state, "succeeded");
});

test("--retries 2 re-runs a job that fails twice and then succeeds, keeping every attempt", () => {
  const counter = p.path("count");
  const id = p.submit(
    ["--retries", "2"],
    ["sh", "-c", `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo try$n; [ $n -ge 3 ]`],
  );
  p.ok(["wait", String(id)]);
  const job = show(id);
  assert.equal(job.state, "succeeded");
  assert.deepEqual(
    job.tasks[0]!.attempts.map((a) => [a.n, a.state, a.exitCode]),
    [
      [1, "failed", 1],
      [2, "failed", 1],
      [3, "succeeded", 0],
    ],
  );
  assert.equal(p.ok(["logs", String(id), "--attempt", "1"]), "try1\n");
});

test("retries are a budget: a job that keeps failing ends failed after 1 + N attempts", () => {
  const id = p.submit(["--retries", "1"], ["false"]);
  p.run(["wait", String(id)]);
  assert.equal(show(id).tasks[0]!.attempts.length, 2);
  assert.equal(show(id).state, "failed");
});

test("resubmit runs a failed job again as a new attempt and keeps the old one; dependents cancelled by it come back", () => {
  const flag = p.path("flag-resubmit");
  const a = p.submit(["-n", "flaky"], ["sh", "-c", `echo attempt-out; [ -e ${flag} ]`]);
  const b = p.submit(["--after", String(a)], ["true"]);
  p.run(["wait", String(a), String(b)]);
  assert.equal(show(b).state, "cancelled");
  fs.writeFileSync(flag, "");
  assert.match(p.ok(["resubmit", String(a)]), /resubmitted 1 task/);
  p.ok(["wait", String(a), String(b)]);
  const job = show(a);
  assert.deepEqual(
    job.tasks[0]!.attempts.map((x) => x.state),
    ["failed", "succeeded"],
  );
  assert.equal(show(b).state, "succeeded", "the dependent cancelled by the failure ran after the resubmission");
  assert.ok(fs.existsSync(job.tasks[0]!.attempts[0]!.stdout), "without --clean old logs stay");
});

test("resubmit --clean removes the old attempts' logs and nothing else", () => {
  const flag = p.path("flag-clean");
  const other = p.submit([], ["sh", "-c", "echo keep-me"]);
  const a = p.submit([], ["sh", "-c", `echo old; [ -e ${flag} ]`]);
  p.run(["wait", String(a), String(other)]);
  const old = show(a).tasks[0]!.attempts[0]!;
  fs.writeFileSync(flag, "");
  p.ok(["resubmit", "--clean", String(a)]);
  p.ok(["wait", String(a)]);
  const attempts = show(a).tasks[0]!.attempts;
  assert.equal(attempts.length, 2);
  assert.ok(!fs.existsSync(old.stdout) && !fs.existsSync(old.stderr), "old logs removed");
  assert.equal(fs.readFileSync(attempts[1]!.stdout, "utf8"), "old\n", "the new attempt's log is there");
  assert.equal(p.ok(["logs", String(other)]), "keep-me\n", "other jobs' logs are untouched");
});

test("resubmit by default leaves succeeded tasks alone, and needs a selection", () => {
  const id = p.submit([], ["true"]);
  p.ok(["wait", String(id)]);
  assert.match(p.ok(["resubmit", String(id)]), /resubmitted 0 tasks/);
  const r = p.run(["resubmit"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nothing selected/);
});

test("--hold keeps a job pending until release; cancel of pending jobs is immediate", () => {
  const held = p.submit(["--hold"], ["true"]);
  const other = p.submit(["--hold"], ["true"]);
  assert.equal(show(held).state, "pending");
  p.ok(["release", String(held)]);
  p.ok(["wait", String(held)]);
  p.ok(["cancel", String(other)]);
  assert.equal(show(other).state, "cancelled");
});

test("cancelling a running job stops it and cancels the jobs that needed it", () => {
  const id = p.submit([], ["sleep", "60"]);
  const dep = p.submit(["--after", String(id)], ["true"]);
  for (let i = 0; i < 100 && show(id).state !== "running"; i++);
  p.ok(["cancel", String(id)]);
  const t0 = Date.now();
  p.run(["wait", String(id), String(dep)]);
  assert.ok(Date.now() - t0 < 10_000, "cancel did not wait for the sleep");
  assert.equal(show(id).state, "cancelled");
  assert.equal(show(id).tasks[0]!.attempts[0]!.state, "cancelled");
  assert.equal(show(dep).tasks[0]!.reason, `dependency ${id} cancelled`);
});

test("delete removes a job and its logs; jobs that needed it are cancelled, not left waiting", () => {
  const a = p.submit(["--hold"], ["true"]);
  const b = p.submit(["--after", String(a)], ["true"]);
  const done = p.submit([], ["sh", "-c", "echo bye"]);
  p.ok(["wait", String(done)]);
  const runDir = show(done).tasks[0]!.attempts[0]!.stdout;
  p.ok(["delete", String(a), String(done)]);
  assert.equal(p.run(["show", String(a)]).code, 2);
  assert.ok(!fs.existsSync(runDir));
  assert.equal(show(b).tasks[0]!.reason, `dependency ${a} was deleted`);
  assert.equal(p.run(["delete"]).code, 2, "delete without a selection needs --all");
});

test("a job whose time limit passes is killed and reported as TIMEOUT", () => {
  const id = p.submit(["--time", "1s"], ["sleep", "30"]);
  p.run(["wait", String(id)]);
  const job = show(id);
  assert.equal(job.state, "failed");
  assert.match(job.tasks[0]!.reason ?? "", /^TIMEOUT/);
});

test("retries with escalation: a TIMEOUT is retried with twice the time; --retry-on leaves other failures alone", () => {
  const id = p.submit(["--time", "1s", "--retries", "2", "--retry-on", "timeout"], ["sleep", "1.5"]);
  p.ok(["wait", String(id)]);
  const job = show(id);
  assert.equal(job.state, "succeeded");
  const attempts = job.tasks[0]!.attempts as (Attempt & { reason: string | null })[];
  assert.equal(attempts.length, 2);
  assert.match(attempts[0]!.reason ?? "", /^TIMEOUT: exceeded the time limit of 00:00:01/);
  const notRetried = p.submit(["--retries", "2", "--retry-on", "timeout,oom"], ["sh", "-c", "exit 3"]);
  assert.equal(p.run(["wait", String(notRetried)]).code, 1);
  assert.equal(show(notRetried).tasks[0]!.attempts.length, 1, "exit 3 is not a timeout: no retry");
  const bad = p.run(["submit", "--retry-on", "crash", "--", "true"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--retry-on 'crash': expected some of failed, timeout, oom, lost/);
});

test("a priority above 100 goes before the queued jobs of other batches on the local engine", async () => {
  const q = new TestProject("corral-priority-", { CORRAL_LOCAL_CPUS: "1" });
  try {
    const order = q.path("order");
    // Both become runnable in one transaction (release), with one cpu: the order is the scheduler's choice.
    const normal = q.submit(["--batch", "a", "--hold"], ["sh", "-c", `echo normal >> ${order}`]);
    const urgent = q.submit(["--batch", "b", "--priority", "150", "--hold"], ["sh", "-c", `echo urgent >> ${order}`]);
    assert.ok(normal < urgent, "the urgent job was submitted last");
    q.ok(["release", "--all"]);
    q.ok(["wait"]);
    assert.equal(fs.readFileSync(order, "utf8"), "urgent\nnormal\n");
  } finally {
    await q.cleanup();
  }
});
