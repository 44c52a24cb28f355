import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { processStartTime } from "../engines/local/processes.js";
import { needScheduler, peakOverlap, schedulerProblem } from "../testing/clusters.js";
import { CLI, TestProject } from "../testing/project.js";

function drop(root: string, name: string, script: string, extra: Record<string, string> = {}): void {
  const dir = path.join(root, "inbox", name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "job.sh"), script);
  for (const [f, text] of Object.entries(extra)) fs.writeFileSync(path.join(dir, f), text);
}

const listing = (dir: string) => fs.readdirSync(dir).sort();

for (const engine of ["local", "slurm"] as const) {
  const problem = engine === "local" ? null : schedulerProblem(engine);
  const p = new TestProject(`corral-inbox-${engine}-`, { CORRAL_LOCAL_CPUS: "4" });
  after(() => p.cleanup());
  const watch = (root: string, extra: string[] = []) =>
    p.runAsync(["inbox", root, "--engine", engine, "--period", "0.1", "--quiet", "0", "--exit-when-idle", ...extra]);

  describe(`drop folders on the ${engine} engine`, () => {
    test("30 folders flow through in name order, never more in flight than --max-active", async (t) => {
      if (!needScheduler(t, engine, problem)) return;
      const root = p.path("flow");
      p.ok(["inbox", root, "--setup"]);
      const ledger = p.path("flow-ledger");
      const names = Array.from({ length: 30 }, (_, i) => String(100 + i * 10));
      for (const n of [...names].reverse())
        drop(root, n, `echo "start ${n} $(date +%s.%N)" >> ${ledger}; sleep 0.3; echo "end ${n} $(date +%s.%N)" >> ${ledger}\n`);
      const r = await watch(root, ["--max-active", "2"]);
      assert.equal(r.code, 0, r.stderr);
      const taken = r.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { event: string; folder?: string })
        .filter((e) => e.event === "taken")
        .map((e) => e.folder);
      assert.deepEqual(taken, names, "taken in name order");
      assert.deepEqual(listing(path.join(root, "complete")), names);
      assert.deepEqual(listing(path.join(root, "inbox")), []);
      assert.deepEqual(listing(path.join(root, "pending")), []);
      const peak = peakOverlap(ledger, 0, 2);
      assert.ok(peak <= 2, `at most 2 at once, saw ${peak}`);
      const status = JSON.parse(fs.readFileSync(path.join(root, "complete", "100", "job_status.json"), "utf8")) as { state: string; job: number };
      assert.equal(status.state, "succeeded");
      const jobs = p.json<{ id: number; batch: string }[]>(["ls", "batch=inbox:flow"]);
      assert.equal(jobs.length, 30, "the jobs are listed under a batch named after ROOT");
    });

    test("a failing job, a folder without job.sh, an invalid job.toml and a name taken in pending/ all land in complete/ with job_error.txt", async (t) => {
      if (!needScheduler(t, engine, problem)) return;
      const root = p.path("bad");
      p.ok(["inbox", root, "--setup"]);
      drop(root, "a-fails", "echo to stdout; echo to stderr >&2; exit 3\n");
      fs.mkdirSync(path.join(root, "inbox", "b-no-script"));
      fs.writeFileSync(path.join(root, "inbox", "b-no-script", "data.txt"), "x");
      drop(root, "c-bad-toml", "true\n", { "job.toml": "cpu = 2\n" });
      drop(root, "d-dup", "true\n");
      fs.mkdirSync(path.join(root, "pending", "d-dup"));
      fs.writeFileSync(path.join(root, "pending", "d-dup", "job.sh"), "echo already here\n");
      const r = await watch(root);
      assert.equal(r.code, 0, r.stderr);
      const err = (f: string) => fs.readFileSync(path.join(root, "complete", f, "job_error.txt"), "utf8");
      assert.match(err("a-fails"), /^failed: exit code 3/);
      assert.equal(fs.readFileSync(path.join(root, "complete", "a-fails", "job_output.txt"), "utf8"), "to stdout\nto stderr\n");
      assert.equal(err("b-no-script"), "no job.sh in the folder\n");
      assert.equal(
        err("c-bad-toml"),
        "job.toml:1:1: cpu: unknown key (did you mean 'cpus'?) (known: name, engine, cpus, mem, time, gpus, queue, retries, env, sched_args)\n",
      );
      // Both end in complete/, one renamed: the dropped copy with the reason, the one in pending/ after it ran.
      const dups = listing(path.join(root, "complete")).filter((f) => f.startsWith("d-dup"));
      assert.deepEqual(dups, ["d-dup", "d-dup.1"]);
      const rejected = dups.find((f) => fs.existsSync(path.join(root, "complete", f, "job_error.txt")))!;
      assert.match(err(rejected), /a folder named d-dup is already in pending\//);
      const ran = dups.find((f) => f !== rejected)!;
      assert.equal(fs.readFileSync(path.join(root, "complete", ran, "job_output.txt"), "utf8"), "already here\n");
    });

    test("an error before the job could start (resources no engine can give) lands in job_error.txt; a folder still being copied is waited for", async (t) => {
      if (!needScheduler(t, engine, problem)) return;
      const root = p.path("early");
      p.ok(["inbox", root, "--setup"]);
      // Refused at submission: more cpus than the machine has (local), a partition that does not exist (Slurm
      // queues a job over its partition's limits instead of refusing it).
      drop(root, "huge", "true\n", { "job.toml": engine === "local" ? "cpus = 999\n" : 'queue = "no_such_partition"\n' });
      // A folder whose job.sh arrives a moment later, as over a slow copy: not rejected meanwhile.
      fs.mkdirSync(path.join(root, "inbox", "slow"));
      fs.writeFileSync(path.join(root, "inbox", "slow", "data.txt"), "part 1");
      const watcher = p.runAsync(["inbox", root, "--engine", engine, "--period", "0.1", "--quiet", "1.5", "--exit-when-idle"]);
      await new Promise((r) => setTimeout(r, 700));
      fs.writeFileSync(path.join(root, "inbox", "slow", "job.sh"), "cat data.txt\n");
      const r = await watcher;
      assert.equal(r.code, 0, r.stderr);
      assert.match(fs.readFileSync(path.join(root, "complete", "huge", "job_error.txt"), "utf8"), /999|partition/i);
      assert.equal(fs.readFileSync(path.join(root, "complete", "slow", "job_output.txt"), "utf8"), "part 1");
      assert.ok(!fs.existsSync(path.join(root, "complete", "slow", "job_error.txt")));
    });

    test("SIGTERM stops the watcher cleanly between steps", async (t) => {
      if (!needScheduler(t, engine, problem)) return;
      const root = p.path("stop");
      p.ok(["inbox", root, "--setup"]);
      const child = spawn(CLI, ["inbox", root, "--engine", engine, "--period", "0.1"], { cwd: p.dir, env: p.env, stdio: "ignore" });
      // Until it holds its lock (a loaded machine may take seconds to start it and probe the scheduler).
      const lock = path.join(root, ".corral-inbox.lock");
      for (let i = 0; i < 300 && !fs.existsSync(lock); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(fs.existsSync(lock), "the watcher took its lock");
      // One watcher per ROOT: a second one is refused while the first lives.
      const second = p.run(["inbox", root, "--engine", engine, "--exit-when-idle"]);
      assert.equal(second.code, 2);
      assert.match(second.stderr, /another corral inbox \(pid \d+\) is watching/);
      child.kill("SIGTERM");
      const code = await new Promise((r) => child.once("exit", r));
      assert.equal(code, 0);
      assert.ok(!fs.existsSync(path.join(root, ".corral-inbox.lock")), "the lock is released on a clean stop");
    });

    test("kill -9 torture: the watcher killed 15 times at random moments loses no folder and runs none twice", { timeout: 600_000 }, async (t) => {
      if (!needScheduler(t, engine, problem)) return;
      const root = p.path("torture");
      p.ok(["inbox", root, "--setup"]);
      const ledger = p.path("torture-ledger");
      const names = Array.from({ length: 50 }, (_, i) => `f${String(i).padStart(2, "0")}`);
      for (const n of names) drop(root, n, `echo ${n} >> ${ledger}\n`);
      for (let kill = 0; kill < 15; kill++) {
        const child = spawn(CLI, ["inbox", root, "--engine", engine, "--period", "0.05", "--quiet", "0", "--max-active", "8"], {
          cwd: p.dir,
          env: p.env,
          stdio: "ignore",
        });
        await new Promise((r) => setTimeout(r, 150 + Math.random() * 600));
        child.kill("SIGKILL");
        await new Promise((r) => child.once("exit", r));
      }
      const r = await watch(root, ["--max-active", "8"]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(listing(path.join(root, "complete")), names, "every folder is in complete/, under its own name");
      assert.deepEqual(listing(path.join(root, "pending")), []);
      const ran = fs.readFileSync(ledger, "utf8").trim().split("\n").sort();
      assert.deepEqual(ran, names, "each job ran exactly once");
      for (const n of names) assert.ok(!fs.existsSync(path.join(root, "complete", n, "job_error.txt")), `${n} succeeded`);
    });
  });
}

test("a lock torn by a kill before it was written is taken over; the lock appears whole and leaves no draft", () => {
  const p = new TestProject("corral-inbox-lock-");
  const root = p.path("torn");
  p.ok(["inbox", root, "--setup"]);
  // What a watcher killed between creating its lock and writing it used to leave.
  fs.writeFileSync(path.join(root, ".corral-inbox.lock"), "");
  p.ok(["inbox", root, "--exit-when-idle"]);
  assert.deepEqual(
    fs.readdirSync(root).filter((f) => f.startsWith(".corral-inbox.lock")),
    [],
    "released on exit, and no draft left beside it",
  );
});

test("a watcher that finds its lock taken by another stops between steps, and leaves that lock in place", async () => {
  const p = new TestProject("corral-inbox-lock-");
  const root = p.path("taken");
  p.ok(["inbox", root, "--setup"]);
  const child = spawn(CLI, ["inbox", root, "--period", "0.1"], { cwd: p.dir, env: p.env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += String(d);
  });
  const exited = new Promise<number | null>((r) => child.once("exit", r));
  const lock = path.join(root, ".corral-inbox.lock");
  for (let i = 0; i < 300 && !fs.existsSync(lock); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(fs.existsSync(lock), "the watcher took its lock");
  // Another watcher's lock in its place (this test process stands for it: alive, on this host).
  const other = `${process.pid} ${processStartTime(process.pid)} ${os.hostname()}\n`;
  fs.writeFileSync(lock, other);
  assert.equal(await exited, 2);
  assert.match(stderr, /another corral inbox took .*\.corral-inbox\.lock; this one stops/);
  assert.equal(fs.readFileSync(lock, "utf8"), other);
});
