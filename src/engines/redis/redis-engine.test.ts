import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import { after, before, test, type TestContext } from "node:test";
import { needScheduler, show, waitForTaskState, type ShowJson } from "../../testing/clusters.js";
import { flushTestRedis, startWorker, stopAll, testRedisUrl, waitForWorkers, workerOf, type TestWorker } from "../../testing/pool.js";
import { CLI, TestProject } from "../../testing/project.js";
import { Store } from "../../store/store.js";
import { assertUsageTruth, submitUsageJobs, usageComplete } from "../../testing/usage-scenario.js";

// Integration tests against a real redis-server (scripts/redis-up.sh; .ci/run starts it), with real workers
// as separate processes. This file has database 1 of that server to itself.
const url = testRedisUrl(1);
const password = url ? decodeURIComponent(new URL(url).password) : "";
const projects: TestProject[] = [];
let workers: TestWorker[] = [];

function project(extra: NodeJS.ProcessEnv = {}): TestProject {
  const p = new TestProject("corral-redis-", { CORRAL_REDIS_URL: url ?? "", CORRAL_POLL_MIN_AGE_S: "0.2", ...extra });
  projects.push(p);
  return p;
}

let problem: string | null = null;
before(() => {
  if (url === null) problem = "no Redis: run scripts/redis-up.sh (or set CORRAL_TEST_REDIS_URL)";
  else {
    const p = project();
    const r = p.run(["doctor", "--engine", "redis"]);
    problem = r.code === 0 ? null : (r.stdout + r.stderr).trim();
  }
});
after(async () => {
  await stopAll(workers);
  for (const p of projects) await p.cleanup();
});

/** Fresh database and the given workers, live, before the test goes on. */
async function pool(t: TestContext, specs: { name: string; tags?: string; concurrency?: number; timeoutS?: number }[]): Promise<TestProject | null> {
  if (!needScheduler(t, "redis", problem)) return null;
  await stopAll(workers);
  flushTestRedis(url!);
  const p = project();
  workers = specs.map((s) => startWorker(url!, s.name, s));
  await waitForWorkers(
    (args) => p.ok(args),
    specs.map((s) => s.name),
  );
  return p;
}

async function waitAll(p: TestProject, timeoutS = 90): Promise<void> {
  const r = await p.runAsync(["wait", "--timeout", String(timeoutS)]);
  assert.ok(r.code === 0 || r.code === 1, `corral wait: ${r.code} ${r.stderr}`);
}

const runDir = (p: TestProject, job: number, idx: number, n: number) => p.path(".corral", "runs", String(job), String(idx), String(n));

test("tasks go to workers with their tags, an array spreads over both, and logs come back", async (t) => {
  const p = await pool(t, [{ name: "plain" }, { name: "gpu1", tags: "gpu" }]);
  if (!p) return;
  const arr = p.submit(["--engine", "redis", "-a", "1-8"], ["sh", "-c", "sleep 0.4; echo task $CORRAL_TASK_ID; echo warn >&2"]);
  const gpu = p.submit(["--engine", "redis", "-a", "1-3", "--tags", "gpu"], ["sh", "-c", "echo on gpu"]);
  await waitAll(p);
  const a = show(p, arr);
  assert.equal(a.state, "succeeded");
  const ranOn = new Set(a.tasks.map((task) => workerOf(runDir(p, arr, task.index, 1))));
  assert.deepEqual([...ranOn].sort(), ["gpu1", "plain"], "the untagged array ran on both workers");
  for (const task of show(p, gpu).tasks) assert.equal(workerOf(runDir(p, gpu, task.index, 1)), "gpu1");
  assert.equal(p.ok(["logs", `${arr}.3`]).trim(), "task 3");
  assert.match(p.ok(["logs", "--stderr", `${arr}.3`]), /warn/);
  const list = p.ok(["workers"]);
  assert.match(list, /gpu1\s+running\s+\S+\s+\d+\s+gpu\s+0\/2/);
});

test("a task whose tags no worker has waits, and says why", async (t) => {
  const p = await pool(t, [{ name: "plain" }]);
  if (!p) return;
  const id = p.submit(["--engine", "redis", "--tags", "bigmem"], ["true"]);
  await new Promise((r) => setTimeout(r, 600));
  p.ok(["refresh"]);
  const j = show(p, id);
  assert.equal(j.tasks[0]!.state, "queued");
  assert.match(j.tasks[0]!.reason ?? "", /no live worker has tags bigmem/);
  // The cancel's own command records it: polling at its start (no minimum age) and again once the task is out
  // of its queue. Read from the database, since any later command would poll once more.
  p.ok(["cancel", String(id)], { env: { CORRAL_POLL_MIN_AGE_S: "0" } });
  const store = Store.open({ path: p.dbPath, readonly: true });
  try {
    assert.equal(store.db.prepare("SELECT state FROM tasks WHERE job_id = ?").pluck().get(id), "cancelled");
  } finally {
    store.close();
  }
  assert.equal(show(p, id).state, "cancelled");
});

/** redis-cli on this file's database. */
function redisCli(...args: string[]): string {
  const u = new URL(url!);
  const r = spawnSync("redis-cli", ["-h", u.hostname, "-p", u.port, "-n", u.pathname.slice(1), ...args], {
    env: { ...process.env, REDISCLI_AUTH: password },
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test("the submitting shell's environment is kept once in Redis, not in each task, and every task sees it whole", async (t) => {
  const p = await pool(t, [{ name: "plain" }]);
  if (!p) return;
  const inherited = { CORRAL_TEST_SHARED: "from the shell", CORRAL_TEST_OVERRIDDEN: "shell value" };
  const own = ["--env", "CORRAL_TEST_OWN=job value", "--env", "CORRAL_TEST_OVERRIDDEN=job value"];
  const echo = ["sh", "-c", 'echo "$CORRAL_TEST_SHARED|$CORRAL_TEST_OWN|$CORRAL_TEST_OVERRIDDEN|$CORRAL_TASK_ID"'];
  // Tags no worker has: the tasks stay in their queue, to be looked at there.
  const waiting = Number(p.ok(["submit", "--engine", "redis", "-a", "1-20", "--tags", "nobody", ...own, "--", ...echo], { env: inherited }).trim());
  const keys = redisCli("--scan", "--pattern", "corral:env:*").trim().split("\n").filter(Boolean);
  assert.equal(keys.length, 1, `one shared environment: ${keys.join(" ")}`);
  const shared = JSON.parse(redisCli("get", keys[0]!)) as Record<string, string>;
  assert.equal(shared.CORRAL_TEST_SHARED, "from the shell");
  assert.ok(Number(redisCli("ttl", keys[0]!)) > 86_400, "it expires, a month after its last use");
  const taskKeys = redisCli("--scan", "--pattern", "corral:tasks.nobody:*")
    .trim()
    .split("\n")
    .filter((k) => /-\d+-\d+-\d+$/.test(k));
  assert.equal(taskKeys.length, 20);
  for (const key of taskKeys) {
    const data = redisCli("hget", key, "data");
    assert.ok(!data.includes("from the shell") && !data.includes('"PATH"'), `a task carries none of the inherited variables: ${data}`);
    assert.ok(data.includes("job value") && data.includes(keys[0]!), data);
  }
  p.ok(["cancel", String(waiting)]);
  // The same from a worker: each task gets the inherited variables, with its own on top.
  const ran = Number(p.ok(["submit", "--engine", "redis", "-a", "1-20", ...own, "--", ...echo], { env: inherited }).trim());
  await waitAll(p);
  assert.equal(show(p, ran).state, "succeeded");
  for (const i of [1, 7, 20]) assert.equal(p.ok(["logs", `${ran}.${i}`]).trim(), `from the shell|job value|job value|${i}`);
});

test("a task whose shared environment is gone from Redis fails with that reason, not with the slot's last result", async (t) => {
  const p = await pool(t, [{ name: "solo", concurrency: 1 }]);
  if (!p) return;
  // The first task holds the only slot until told to go, so the second is taken only after its copy is deleted.
  const go = p.path("go");
  const first = p.submit(["--engine", "redis"], ["sh", "-c", `while [ ! -e ${go} ]; do sleep 0.1; done; echo first`]);
  await waitForTaskState(p, first, ["running"]);
  // Queued behind it, from another shell (another environment), whose kept copy then vanishes.
  const before = new Set(redisCli("--scan", "--pattern", "corral:env:*").trim().split("\n"));
  const second = Number(p.ok(["submit", "--engine", "redis", "--", "true"], { env: { CORRAL_TEST_OTHER_SHELL: "1" } }).trim());
  const added = redisCli("--scan", "--pattern", "corral:env:*")
    .trim()
    .split("\n")
    .filter((k) => !before.has(k));
  assert.equal(added.length, 1);
  redisCli("del", added[0]!);
  fs.writeFileSync(go, "");
  await waitAll(p);
  assert.equal(show(p, first).state, "succeeded");
  const s = show(p, second);
  assert.equal(s.state, "failed", "the same slot's folder still held the first task's end: it must not count as this one's");
  assert.match(JSON.stringify(s.tasks[0]), /no longer in Redis/);
  assert.equal(p.ok(["logs", String(second)]), "", "none of the first task's output");
});

test("a dependency chain runs in order across workers; a failed parent cancels its dependents", async (t) => {
  const p = await pool(t, [{ name: "plain" }, { name: "gpu1", tags: "gpu" }]);
  if (!p) return;
  const log = p.path("order.txt");
  const a = p.submit(["--engine", "redis", "--tags", "gpu"], ["sh", "-c", `sleep 0.5; echo a >> ${log}`]);
  const b = p.submit(["--engine", "redis", "--after", String(a)], ["sh", "-c", `echo b >> ${log}`]);
  const c = p.submit(["--engine", "redis", "--tags", "gpu", "--after", String(b)], ["sh", "-c", `echo c >> ${log}`]);
  const bad = p.submit(["--engine", "redis"], ["false"]);
  const never = p.submit(["--engine", "redis", "--after", String(bad)], ["sh", "-c", `echo never >> ${log}`]);
  await waitAll(p);
  assert.equal(fs.readFileSync(log, "utf8"), "a\nb\nc\n");
  assert.equal(workerOf(runDir(p, a, 1, 1)), "gpu1");
  assert.equal(workerOf(runDir(p, c, 1, 1)), "gpu1");
  assert.equal(show(p, bad).state, "failed");
  assert.equal(show(p, never).state, "cancelled");
});

test("a worker killed -9 mid-task: the task runs again on another worker, the lost attempt stays in the history", async (t) => {
  const p = await pool(t, [
    { name: "gpu1", tags: "gpu" },
    { name: "gpu2", tags: "gpu" },
  ]);
  if (!p) return;
  // The task holds on until the test releases it, so the worker is surely killed while it runs.
  const release = p.path("release");
  const id = p.submit(["--engine", "redis", "--tags", "gpu"], ["sh", "-c", `while [ ! -e ${release} ]; do sleep 0.1; done; echo finished`]);
  let victim: string | null = null;
  for (let i = 0; i < 100 && victim === null; i++) {
    await new Promise((r) => setTimeout(r, 100));
    p.ok(["refresh"]);
    victim = workerOf(runDir(p, id, 1, 1));
  }
  assert.ok(victim, "the task started");
  workers.find((w) => w.name === victim)!.child.kill("SIGKILL");
  fs.writeFileSync(release, "");
  await waitAll(p);
  const j: ShowJson = show(p, id);
  assert.equal(j.state, "succeeded");
  const [lost, rerun] = j.tasks[0]!.attempts;
  assert.equal(lost!.state, "lost");
  assert.match(lost!.reason ?? "", new RegExp(`^worker lost: ${victim} on \\S+ \\(pid \\d+\\) silent`));
  assert.equal(rerun!.state, "succeeded");
  const survivor = victim === "gpu1" ? "gpu2" : "gpu1";
  assert.equal(workerOf(runDir(p, id, 1, 2)), survivor);
  assert.equal(p.ok(["logs", String(id)]).trim(), "finished");
  assert.match(p.ok(["workers"]), new RegExp(`${victim}\\s+gone`));
});

test("a task lost more often than its budget ([redis] stall_retries) ends lost", async (t) => {
  const p = await pool(t, [{ name: "gpu1", tags: "gpu" }]);
  if (!p) return;
  fs.mkdirSync(p.path(".corral"), { recursive: true });
  fs.writeFileSync(p.path(".corral", "config.toml"), "[redis]\nstall_retries = 0\n");
  const id = p.submit(["--engine", "redis", "--tags", "gpu"], ["sleep", "30"]);
  for (let i = 0; i < 100 && workerOf(runDir(p, id, 1, 1)) === null; i++) {
    await new Promise((r) => setTimeout(r, 100));
    p.ok(["refresh"]);
  }
  workers[0]!.child.kill("SIGKILL");
  await waitAll(p);
  const j = show(p, id);
  assert.equal(j.state, "lost");
  assert.equal(j.tasks[0]!.attempts.length, 1);
  assert.match(j.tasks[0]!.reason ?? "", /worker lost/);
});

test("corral workers stop drains: the running task finishes, nothing new is taken, the worker exits", async (t) => {
  const p = await pool(t, [{ name: "plain", concurrency: 1 }]);
  if (!p) return;
  const first = p.submit(["--engine", "redis"], ["sh", "-c", "sleep 1.5; echo done"]);
  for (let i = 0; i < 100 && workerOf(runDir(p, first, 1, 1)) === null; i++) {
    await new Promise((r) => setTimeout(r, 100));
    p.ok(["refresh"]);
  }
  assert.match(p.ok(["workers", "stop", "plain"]), /draining plain/);
  const second = p.submit(["--engine", "redis"], ["echo", "second"]);
  assert.equal(await workers[0]!.exited, 0);
  await waitAll(p, 3);
  assert.equal(show(p, first).state, "succeeded");
  assert.equal(p.ok(["logs", String(first)]).trim(), "done");
  assert.equal(show(p, second).tasks[0]!.state, "queued");
  assert.match(p.ok(["workers"]), /plain\s+stopped/);
  const r = p.run(["workers", "stop", "nobody"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no live worker named nobody/);
});

test("corral workers stop waits for the worker's answer; a worker that cannot answer is named, and drains once it can", async (t) => {
  const p = await pool(t, [{ name: "plain", concurrency: 1 }]);
  if (!p) return;
  workers[0]!.child.kill("SIGSTOP");
  const r = await p.runAsync(["workers", "stop", "plain"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^asked plain to stop: no answer yet/);
  workers[0]!.child.kill("SIGCONT");
  assert.equal(await workers[0]!.exited, 0);
  assert.match(p.ok(["workers"]), /plain\s+stopped/);
});

test("a sweep runs on the pool, each point with its parameters", async (t) => {
  const p = await pool(t, [{ name: "plain" }, { name: "gpu1", tags: "gpu" }]);
  if (!p) return;
  const id = Number(p.ok(["sweep", "--engine", "redis", "-p", "x=1..3", "-p", "y=a,b", "--", "sh", "-c", "echo {x}-{y} $x$y"]).trim().split(/\s/)[0]);
  await waitAll(p);
  const j = show(p, id);
  assert.equal(j.state, "succeeded");
  const outs = j.tasks.map((task) => fs.readFileSync(`${runDir(p, id, task.index, 1)}/stdout`, "utf8").trim()).sort();
  assert.deepEqual(outs, ["1-a 1a", "1-b 1b", "2-a 2a", "2-b 2b", "3-a 3a", "3-b 3b"]);
});

test("10 MB of output arrives complete, byte for byte", async (t) => {
  const p = await pool(t, [{ name: "plain" }]);
  if (!p) return;
  // Deterministic content: numbered lines, about 10.5 MB.
  const id = p.submit(["--engine", "redis"], ["sh", "-c", "seq 1 1500000 | sed 's/$/ corral/'"]);
  await waitAll(p);
  assert.equal(show(p, id).state, "succeeded");
  const got = fs.readFileSync(`${runDir(p, id, 1, 1)}/stdout`);
  let want = "";
  for (let i = 1; i <= 1_500_000; i++) want += `${i} corral\n`;
  assert.ok(got.length > 10 * 1024 * 1024, `${got.length} bytes`);
  assert.equal(got.length, Buffer.byteLength(want));
  assert.equal(createHash("sha256").update(got).digest("hex"), createHash("sha256").update(want).digest("hex"));
});

test("a time limit stops the task on its worker and reads TIMEOUT; cancel stops a running task", async (t) => {
  const p = await pool(t, [{ name: "plain" }]);
  if (!p) return;
  const slow = p.submit(["--engine", "redis", "--time", "2s"], ["sleep", "60"]);
  const victim = p.submit(["--engine", "redis"], ["sleep", "60"]);
  for (let i = 0; i < 100 && workerOf(runDir(p, victim, 1, 1)) === null; i++) {
    await new Promise((r) => setTimeout(r, 100));
    p.ok(["refresh"]);
  }
  p.ok(["cancel", String(victim)]);
  await waitAll(p);
  const s = show(p, slow);
  assert.equal(s.state, "failed");
  assert.match(s.tasks[0]!.reason ?? "", /^TIMEOUT: exceeded the time limit of 00:00:02 \(redis: stopped by worker plain/);
  assert.equal(show(p, victim).state, "cancelled");
});

test("a job spawned from inside a task on a worker reaches the project", async (t) => {
  const p = await pool(t, [{ name: "plain" }]);
  if (!p) return;
  const corral = `'${CLI}'`;
  const id = p.submit(["--engine", "redis", "--batch", "fan"], ["sh", "-c", `${corral} job spawn -n child -- echo spawned`]);
  await waitAll(p);
  assert.equal(show(p, id).state, "succeeded");
  const jobs = p.json<{ id: number; name: string; state: string; engine: string }[]>(["ls", "--batch", "fan"]);
  const child = jobs.find((j) => j.name === "child");
  assert.ok(child, JSON.stringify(jobs));
  await waitAll(p);
  assert.equal(p.ok(["logs", String(child.id)]).trim(), "spawned");
});

test("the Redis password is never printed: not by doctor, workers, the worker's log, nor an error", async (t) => {
  const p = await pool(t, [{ name: "plain" }]);
  if (!p) return;
  const outputs = [p.run(["doctor", "--engine", "redis"]), p.run(["workers"])].map((r) => r.stdout + r.stderr);
  const wrong = new URL(url!);
  wrong.password = "not-the-password";
  const bad = p.run(["submit", "--engine", "redis", "--", "true"], { env: { CORRAL_REDIS_URL: wrong.toString() } });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /redis/i);
  assert.equal(p.json<unknown[]>(["ls"]).length, 0, "nothing recorded");
  outputs.push(bad.stderr, workers[0]!.log());
  for (const o of outputs) {
    assert.ok(!o.includes(password), `password printed in: ${o}`);
    assert.ok(!o.includes("not-the-password"));
  }
  assert.match(outputs[0]!, /redis:\/\/:\*\*\*@/);
});

/** The ssh command scripts/sshd-up.sh set up for localhost, or why there is none. */
function sshCommand(): { command: string | null; problem: string | null } {
  try {
    const command = fs.readFileSync("/var/lib/corral-sshd/ssh-command", "utf8").trim();
    const [cmd, ...args] = command.split(/\s+/);
    const r = spawnSync(cmd!, [...args, "localhost", "true"], { encoding: "utf8", timeout: 20_000 });
    return r.status === 0 ? { command, problem: null } : { command: null, problem: `ssh localhost failed: ${r.stderr.trim()}` };
  } catch {
    return { command: null, problem: "no sshd for tests: run scripts/sshd-up.sh" };
  }
}

test("corral workers launch starts a worker over ssh (localhost), shows the command without the password", async (t) => {
  const p = await pool(t, []);
  if (!p) return;
  const ssh = sshCommand();
  if (!needScheduler(t, "ssh", ssh.problem)) return;
  const r = await p.runAsync(["workers", "launch", "localhost", "--concurrency", "1", "--tags", "remote"], { env: { CORRAL_SSH: ssh.command! } });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(!(r.stdout + r.stderr).includes(password), "no password in the output");
  assert.match(r.stdout, /^localhost: ssh .* localhost '.* worker --name '\\''localhost-[0-9a-f]+'\\'' --concurrency '\\''1'\\'' --tags '\\''remote'\\''/m);
  const name = /worker (localhost-[0-9a-f]+) is live/.exec(r.stdout)?.[1];
  assert.ok(name, r.stdout);
  try {
    const id = p.submit(["--engine", "redis", "--tags", "remote"], ["echo", "over ssh"]);
    await waitAll(p);
    assert.equal(workerOf(runDir(p, id, 1, 1)), name);
    assert.equal(p.ok(["logs", String(id)]).trim(), "over ssh");
  } finally {
    p.ok(["workers", "stop", name]);
    // Gone before the next test empties the database (which would also empty its stop request).
    for (let i = 0; i < 200; i++) {
      const w = p.json<{ name: string; state: string }[]>(["workers"]).find((x) => x.name === name);
      if (w?.state === "stopped") break;
      await new Promise((res) => setTimeout(res, 100));
    }
  }
});

test("Redis restarting mid-run loses nothing: queued and running tasks all end, each run once", async (t) => {
  // A worker silent for its timeout is gone: 3 s, as elsewhere here, is less than a restart plus the reconnection
  // can take on a busy machine (it once took 4 s), so this worker gets the timeout a real pool would have.
  const p = await pool(t, [{ name: "plain", concurrency: 1, timeoutS: 15 }]);
  if (!p) return;
  const id = p.submit(["--engine", "redis", "-a", "1-4"], ["sh", "-c", "sleep 0.7; echo $CORRAL_TASK_ID"]);
  for (let i = 0; i < 100 && workerOf(runDir(p, id, 1, 1)) === null; i++) {
    await new Promise((r) => setTimeout(r, 100));
    p.ok(["refresh"]);
  }
  // SHUTDOWN writes the append-only file and stops; scripts/redis-up.sh starts the same server again.
  const u = new URL(url!);
  const env = { ...process.env, REDISCLI_AUTH: decodeURIComponent(u.password) };
  spawnSync("redis-cli", ["-h", u.hostname, "-p", u.port, "shutdown"], { env });
  const up = spawnSync("bash", [new URL("../../../scripts/redis-up.sh", import.meta.url).pathname], { env, encoding: "utf8" });
  assert.equal(up.status, 0, up.stdout + up.stderr);
  await waitAll(p);
  const j = show(p, id);
  assert.equal(j.state, "succeeded");
  for (const task of j.tasks) {
    assert.equal(task.attempts.length, 1, `task ${task.index}: ${JSON.stringify(task.attempts)}`);
    assert.equal(fs.readFileSync(`${runDir(p, id, task.index, 1)}/stdout`, "utf8").trim(), String(task.index));
  }
});

test("corral killed -9 right after Redis took the tasks: the next command adopts them, and each runs exactly once", async (t) => {
  const p = await pool(t, [{ name: "plain" }]);
  if (!p) return;
  const ledger = p.path("ledger.txt");
  const r = p.run(["submit", "--engine", "redis", "-a", "1-3", "--", "sh", "-c", `echo $CORRAL_TASK_ID >> ${ledger}`], {
    env: { CORRAL_TEST_KILL_AFTER: "enqueue" },
  });
  assert.notEqual(r.code, 0, "corral was killed");
  await waitAll(p);
  const [job] = p.json<{ id: number; state: string }[]>(["ls"]);
  assert.equal(job!.state, "succeeded");
  for (const task of show(p, job!.id).tasks) assert.equal(task.attempts.length, 1);
  assert.deepEqual(fs.readFileSync(ledger, "utf8").trim().split("\n").sort(), ["1", "2", "3"]);
});

test("a description file runs on the pool, its tags routing its jobs", async (t) => {
  const p = await pool(t, [{ name: "plain" }, { name: "gpu1", tags: "gpu" }]);
  if (!p) return;
  fs.writeFileSync(
    p.path("flow.toml"),
    `batch = "flow"\n[defaults]\nengine = "redis"\n[jobs.prep]\ncommand = "echo prep"\n[jobs.train]\ncommand = "echo train"\ntags = ["gpu"]\nafter = ["prep"]\n`,
  );
  const r = await p.runAsync(["run", "flow.toml", "--wait"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const jobs = p.json<{ id: number; name: string; state: string }[]>(["ls", "--batch", "flow"]);
  const train = jobs.find((j) => j.name === "train")!;
  assert.equal(train.state, "succeeded");
  assert.equal(workerOf(runDir(p, train.id, 1, 1)), "gpu1");
});

test("priorities become BullMQ priorities: a busy worker's next task is the most urgent one", async (t) => {
  const p = await pool(t, [{ name: "plain", concurrency: 1 }]);
  if (!p) return;
  const order = p.path("order.txt");
  // The blocker holds the only slot until the test releases it, however slow the machine is.
  const release = p.path("release");
  const blocker = p.submit(["--engine", "redis"], ["sh", "-c", `while [ ! -e ${release} ]; do sleep 0.1; done`]);
  for (let i = 0; i < 100 && workerOf(runDir(p, blocker, 1, 1)) === null; i++) {
    await new Promise((r) => setTimeout(r, 100));
    p.ok(["refresh"]);
  }
  p.submit(["--engine", "redis", "--priority", "-5"], ["sh", "-c", `echo low >> ${order}`]);
  p.submit(["--engine", "redis"], ["sh", "-c", `echo normal >> ${order}`]);
  p.submit(["--engine", "redis", "--priority", "50"], ["sh", "-c", `echo urgent >> ${order}`]);
  p.ok(["refresh"]);
  assert.equal(show(p, blocker).tasks[0]!.state, "running", "all three were queued while the worker was busy");
  fs.writeFileSync(release, "");
  await waitAll(p);
  assert.equal(fs.readFileSync(order, "utf8"), "urgent\nnormal\nlow\n");
});

test("workers record what each attempt used: peak memory, CPU of the whole tree, an idle sleeper", async (t) => {
  const p = await pool(t, [{ name: "usage1", concurrency: 3 }]);
  if (!p) return;
  const jobs = submitUsageJobs(p, ["--engine", "redis"], 1);
  await waitAll(p);
  for (let i = 0; i < 20 && !usageComplete(p, jobs); i++) await new Promise((r) => setTimeout(r, 250));
  assertUsageTruth(p, jobs);
});
