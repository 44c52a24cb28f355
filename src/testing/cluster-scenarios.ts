import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { callCounter, needScheduler, peakOverlap, schedulerProblem, show, waitForTaskState } from "./clusters.js";
import { TestProject } from "./project.js";
import { tempDir } from "./temp.js";

/** `corral wait` without blocking the test process, so the tests of a suite really run side by side. */
async function waitOk(p: TestProject, args: readonly string[]): Promise<void> {
  const r = await p.runAsync(["wait", ...args]);
  if (r.code !== 0) throw new Error(`corral wait ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
}

const jobIds = (p: TestProject) => p.json<{ id: number }[]>(["ls"]).map((j) => j.id);

export interface SchedulerUnderTest {
  readonly engine: "slurm" | "sge" | "pbs";
  /** The scheduler's submit command. */
  readonly submitCommand: string;
  /** The scheduler's status and accounting commands, which the polling budget limits. */
  readonly statusCommand: string;
  readonly accountingCommand: string;
  /** All the scheduler's client commands (counted by the shim). */
  readonly commands: readonly string[];
  /** Kills a task from outside corral, as an administrator or the user in another shell would. */
  readonly killOutside: (engineId: string) => string[];
  /** Scheduler arguments that keep a job waiting in the scheduler's queue (a user hold). */
  readonly holdArgs: readonly string[];
  /** A --time value the scheduler enforces quickly, and how long the test may take. */
  readonly shortTime: string;
  readonly timeoutTestMs: number;
  /** An environment in which the scheduler's clients cannot reach the daemon. */
  readonly unreachableEnv: NodeJS.ProcessEnv;
  /**
   * Scenarios the scheduler under test cannot show, with why (a front end that speaks a scheduler's commands
   * but not all of its semantics): "array-task-cancel", "render".
   */
  readonly cannot?: Readonly<Partial<Record<"array-task-cancel" | "render", string>>>;
}

/** The behaviours every scheduler engine shares, run against the real daemon. */
export function clusterScenarios(s: SchedulerUnderTest): void {
  const problem = schedulerProblem(s.engine);
  // Short grace before a vanished job counts as lost, and no pause between two asks of the scheduler.
  const env = { CORRAL_LOST_GRACE_S: "2", CORRAL_POLL_MIN_AGE_S: "0" };
  const p = new TestProject(`corral-${s.engine}-`, env);
  const submit = (args: readonly string[], command: readonly string[]) => p.submit(["--engine", s.engine, ...args], command);
  after(() => p.cleanup());
  /**
   * A project of the test's own, for tests that count the project's jobs or crash a submit: the suite's tests
   * run side by side, and another test's `corral wait` refreshes the shared project, which hands any job just
   * recorded to the scheduler itself (so a submit meant to crash would find its job already submitted).
   */
  const ownProject = (t: { after: (fn: () => Promise<void>) => void }, name: string) => {
    const own = new TestProject(`corral-${s.engine}-${name}-`, env);
    t.after(() => own.cleanup());
    return own;
  };

  describe(`${s.engine} engine against the real scheduler`, { concurrency: 3 }, () => {
    test("a job that succeeds and one that exits 3 end with their exit codes, each with a scheduler id", async (t) => {
      if (!needScheduler(t, s.engine, problem)) return;
      const ok = submit([], ["sh", "-c", "echo out; echo err >&2"]);
      const bad = submit([], ["sh", "-c", "exit 3"]);
      assert.equal((await p.runAsync(["wait", String(ok), String(bad)])).code, 1);
      const good = show(p, ok);
      assert.equal(good.state, "succeeded");
      assert.match(good.tasks[0]!.attempts[0]!.engineId ?? "", /^\d+$/);
      assert.equal(p.ok(["logs", String(ok)]), "out\n");
      assert.equal(p.ok(["logs", String(ok), "--stderr"]), "err\n");
      const failed = show(p, bad);
      assert.equal(failed.state, "failed");
      assert.equal(failed.tasks[0]!.attempts[0]!.exitCode, 3);
      assert.equal(failed.tasks[0]!.reason, "exit code 3");
    });

    test("an array with a step and a cap of 1 is one native array whose tasks never overlap", async (t) => {
      if (!needScheduler(t, s.engine, problem)) return;
      const stamps = p.path("array-stamps");
      const id = submit(
        ["-a", "1-7:2%1"],
        [
          "sh",
          "-c",
          `echo "$CORRAL_TASK_ID start $(date +%s.%N)" >> ${stamps}; sleep 0.5; echo "$CORRAL_TASK_ID end $(date +%s.%N)" >> ${stamps}; echo task $CORRAL_TASK_ID`,
        ],
      );
      await waitOk(p, [String(id)]);
      const job = show(p, id);
      assert.deepEqual(
        job.tasks.map((x) => [x.index, x.state]),
        [
          [1, "succeeded"],
          [3, "succeeded"],
          [5, "succeeded"],
          [7, "succeeded"],
        ],
      );
      const schedulerJobs = new Set(job.tasks.map((x) => x.attempts[0]!.engineId!.split(/[_.[]/)[0]));
      assert.equal(schedulerJobs.size, 1, "one scheduler call for the whole array");
      for (const x of job.tasks) assert.equal(p.ok(["logs", `${id}.${x.index}`]), `task ${x.index}\n`);
      assert.equal(peakOverlap(stamps, 1, 2), 1);
    });

    test("an --after chain is handed to the scheduler at once and runs in order", async (t) => {
      if (!needScheduler(t, s.engine, problem)) return;
      const order = p.path("chain-order");
      const a = submit(["-n", "a"], ["sh", "-c", `sleep 2; echo a >> ${order}`]);
      const b = submit(["-n", "b", "--after", String(a)], ["sh", "-c", `echo b >> ${order}`]);
      const c = submit(["-n", "c", "--after", String(b)], ["sh", "-c", `echo c >> ${order}`]);
      // Native dependencies: the dependents are with the scheduler before their parents end.
      assert.ok(show(p, c).tasks[0]!.attempts[0]?.engineId, "the last job of the chain already has a scheduler id");
      await waitOk(p, [String(a), String(b), String(c)]);
      assert.equal(fs.readFileSync(order, "utf8"), "a\nb\nc\n");
    });

    test("a failing parent cancels its dependents down the chain, and none is left in the scheduler's queue", async (t) => {
      if (!needScheduler(t, s.engine, problem)) return;
      const a = submit(["-n", "parent"], ["sh", "-c", "sleep 1; exit 1"]);
      const b = submit(["--after", String(a)], ["touch", p.path("must-not-exist-b")]);
      const c = submit(["--after", String(b)], ["touch", p.path("must-not-exist-c")]);
      assert.equal((await p.runAsync(["wait", String(a), String(b), String(c)])).code, 1);
      assert.equal(show(p, b).state, "cancelled");
      assert.match(show(p, b).tasks[0]!.reason ?? "", new RegExp(`dependency ${a}`));
      assert.equal(show(p, c).state, "cancelled");
      assert.ok(!fs.existsSync(p.path("must-not-exist-b")) && !fs.existsSync(p.path("must-not-exist-c")));
      // What went to the scheduler was withdrawn from it: corral records an attempt as ended only once the
      // scheduler no longer lists it.
      p.ok(["refresh"]);
      for (const id of [b, c]) for (const a of show(p, id).tasks[0]!.attempts) assert.equal(a.state, "cancelled", `job ${id}: ${JSON.stringify(a)}`);
    });

    test("cancel stops a running job, and a single array task", async (t) => {
      if (!needScheduler(t, s.engine, problem)) return;
      const id = submit([], ["sleep", "120"]);
      await waitForTaskState(p, id, ["running"]);
      p.ok(["cancel", String(id)]);
      await p.runAsync(["wait", String(id), "--timeout", "60"]);
      const job = show(p, id);
      assert.equal(job.state, "cancelled");
      assert.equal(job.tasks[0]!.reason, "cancelled by user");
      if (s.cannot?.["array-task-cancel"]) {
        t.diagnostic(`not shown here: a single array task (${s.cannot["array-task-cancel"]})`);
        return;
      }
      // Long enough that task 2 is still there when a slow `corral cancel` (a loaded machine) gets to it.
      const arr = submit(["-a", "1-3"], ["sleep", "8"]);
      p.ok(["cancel", `${arr}.2`]);
      await p.runAsync(["wait", String(arr), "--timeout", "90"]);
      assert.deepEqual(
        show(p, arr).tasks.map((x) => x.state),
        ["succeeded", "cancelled", "succeeded"],
      );
    });

    test("a job killed by the scheduler's time limit is reported as TIMEOUT", { timeout: s.timeoutTestMs }, async (t) => {
      if (!needScheduler(t, s.engine, problem)) return;
      const id = submit(["--time", s.shortTime], ["sleep", "600"]);
      await p.runAsync(["wait", String(id), "--timeout", String(s.timeoutTestMs / 1000 - 10)]);
      const job = show(p, id);
      assert.equal(job.state, "failed");
      assert.match(job.tasks[0]!.reason ?? "", /^TIMEOUT/);
    });

    test("a job killed behind corral's back ends cancelled with the scheduler's reason", async (t) => {
      if (!needScheduler(t, s.engine, problem)) return;
      const id = submit([], ["sleep", "120"]);
      const running = await waitForTaskState(p, id, ["running"]);
      const r = spawnSync(s.killOutside(running.tasks[0]!.attempts[0]!.engineId!)[0]!, s.killOutside(running.tasks[0]!.attempts[0]!.engineId!).slice(1), {
        encoding: "utf8",
      });
      assert.equal(r.status, 0, r.stderr);
      await p.runAsync(["wait", String(id), "--timeout", "60"]);
      const job = show(p, id);
      assert.ok(["cancelled", "lost"].includes(job.state), job.state);
      assert.match(job.tasks[0]!.reason ?? "", /outside corral|no longer knows/);
    });

    test("resubmitting a failed task gives a new scheduler id and keeps the old attempt", async (t) => {
      if (!needScheduler(t, s.engine, problem)) return;
      const flag = p.path("second-time");
      const id = submit([], ["sh", "-c", `[ -e ${flag} ] || { touch ${flag}; exit 4; }`]);
      await p.runAsync(["wait", String(id)]);
      p.ok(["resubmit", String(id)]);
      await waitOk(p, [String(id)]);
      const attempts = show(p, id).tasks[0]!.attempts;
      assert.deepEqual(
        attempts.map((a) => [a.n, a.state, a.exitCode]),
        [
          [1, "failed", 4],
          [2, "succeeded", 0],
        ],
      );
      assert.notEqual(attempts[0]!.engineId, attempts[1]!.engineId);
    });

    test("corral killed -9 right after the scheduler took a job: the next command recovers it, and it runs exactly once", async (t) => {
      if (!needScheduler(t, s.engine, problem)) return;
      const p = ownProject(t, "crash");
      // A stand-in for the submit command that submits for real, then kills corral before it can record the id.
      const shim = tempDir("corral-crash-");
      const real = spawnSync("sh", ["-c", `command -v ${s.submitCommand}`], { encoding: "utf8" }).stdout.trim();
      fs.writeFileSync(path.join(shim, s.submitCommand), `#!/bin/sh\n'${real}' "$@"\nkill -9 $PPID\n`, { mode: 0o755 });
      const runs = p.path("crash-runs");
      const before = jobIds(p);
      const crashed = await p.runAsync(["submit", "--engine", s.engine, "--", "sh", "-c", `echo ran >> ${runs}`], {
        env: { PATH: `${shim}:${process.env.PATH}` },
      });
      assert.notEqual(crashed.code, 0, "the submitting process was killed");
      const id = jobIds(p).find((j) => !before.includes(j))!;
      assert.ok(id, "the job was recorded before the scheduler call");
      await waitOk(p, [String(id), "--timeout", "90"]);
      assert.equal(fs.readFileSync(runs, "utf8"), "ran\n");
      assert.equal(show(p, id).state, "succeeded");
    });

    test("the native scripts `corral render` writes for it run the map(20) → reduce → report example as they are", async (t) => {
      if (s.cannot?.render) {
        t.skip(s.cannot.render);
        return;
      }
      if (!needScheduler(t, s.engine, problem)) return;
      const dir = p.path(`render-${s.engine}`);
      fs.mkdirSync(dir);
      const fixtures = fileURLToPath(new URL("../../src/render/fixtures/", import.meta.url));
      for (const f of ["genome.toml", "report.sh"]) fs.copyFileSync(path.join(fixtures, f), path.join(dir, f));
      fs.chmodSync(path.join(dir, "report.sh"), 0o755);
      p.ok(["render", path.join(dir, "genome.toml"), "--engine", s.engine, "--out", path.join(dir, "native")]);
      const r = spawnSync("sh", ["submit.sh"], { cwd: path.join(dir, "native"), encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const end = Date.now() + 120_000;
      const reportOut = () => fs.readdirSync(path.join(dir, "native")).filter((f) => f.startsWith("report-") && f.endsWith(".out"));
      while (Date.now() < end && !(reportOut().length > 0 && fs.readFileSync(path.join(dir, "native", reportOut()[0]!), "utf8").includes("lines")))
        await new Promise((res) => setTimeout(res, 500));
      assert.equal(fs.readFileSync(path.join(dir, "all.txt"), "utf8").split("\n").filter(Boolean).length, 20);
      assert.equal(fs.readFileSync(path.join(dir, "native", reportOut()[0]!), "utf8"), "report on hg38: 20 lines\n");
    });

    test("an unknown queue is the scheduler's own message on one line, exit 2, and nothing recorded", async (t) => {
      if (!needScheduler(t, s.engine, problem)) return;
      const p = ownProject(t, "queue");
      const before = jobIds(p);
      const r = p.run(["submit", "--engine", s.engine, "-q", "no_such_queue", "--", "true"]);
      assert.equal(r.code, 2);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, /no_such_queue|partition/i);
      assert.deepEqual(jobIds(p), before);
    });

    test("a scheduler that does not answer changes nothing: no job is failed or lost for it", async (t) => {
      if (!needScheduler(t, s.engine, problem)) return;
      const p = ownProject(t, "down");
      const id = p.submit(["--engine", s.engine], ["sleep", "30"]);
      const down = await p.runAsync(["refresh"], { env: { ...s.unreachableEnv, CORRAL_LOST_GRACE_S: "0" } });
      assert.equal(down.code, 0, down.stderr);
      const state = show(p, id).state;
      assert.ok(["queued", "running"].includes(state), state);
      // Submitting while it does not answer fails before anything is recorded, with the reason on one line.
      const before = jobIds(p);
      const refused = await p.runAsync(["submit", "--engine", s.engine, "--", "true"], { env: s.unreachableEnv });
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, new RegExp(`^corral: --engine ${s.engine}: not usable: .*\n$`));
      assert.deepEqual(jobIds(p), before);
      await waitOk(p, [String(id)]);
      assert.equal(show(p, id).state, "succeeded");
    });
  });

  describe(`${s.engine} polling budget`, () => {
    const q = new TestProject(`corral-${s.engine}-poll-`, { CORRAL_POLL_MIN_AGE_S: "30" });
    const shim = callCounter(s.commands);
    after(async () => {
      q.run(["cancel", "--all"]);
      await q.cleanup();
    });
    let ids: number[] = [];
    before(() => {
      if (problem !== null) return;
      // 200 jobs waiting in the scheduler (held there, so they stay active without using the machine).
      ids = [1, 2, 3, 4].map(() => q.submit(["--engine", s.engine, "-a", "1-50", ...s.holdArgs.map((a) => `--sched-arg=${a}`)], ["true"]));
    });

    test("with 200 active jobs, a refresh makes one status call and at most one accounting call; ls reuses it", async (t) => {
      if (!needScheduler(t, s.engine, problem)) return;
      assert.equal(ids.length, 4);
      shim.reset();
      q.ok(["refresh"], { env: { PATH: shim.path } });
      const calls = shim.calls();
      assert.equal(calls.filter((c) => c === s.statusCommand).length, 1, calls.join(","));
      assert.ok(calls.filter((c) => c === s.accountingCommand).length <= 1, calls.join(","));
      assert.ok(calls.length <= 2, `no other scheduler calls: ${calls.join(",")}`);
      shim.reset();
      const listed = q.ok(["ls"], { env: { PATH: shim.path } });
      q.ok(["status"], { env: { PATH: shim.path } });
      assert.deepEqual(shim.calls(), [], "a fresh answer is reused: no scheduler call");
      assert.match(listed, /queued/);
    });
  });
}
