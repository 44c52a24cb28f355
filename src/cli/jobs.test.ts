import assert from "node:assert/strict";
import fs from "node:fs";
import { after, test } from "node:test";
import type { JobSummary } from "../domain/job.js";
import { TestProject } from "../testing/project.js";

const p = new TestProject();
after(() => p.cleanup());

interface ShowJson {
  id: number;
  state: string;
  exitCode: number | null;
  tasks: {
    index: number;
    state: string;
    exitCode: number | null;
    attempts: {
      n: number;
      state: string;
      exitCode: number | null;
      signal: string | null;
      host: string;
      stdout: string;
      stderr: string;
      engineId: string;
      startedAt: string;
      endedAt: string;
    }[];
  }[];
}

test("a job's exit code, stdout and stderr are recorded, and wait exits 1 when one failed", () => {
  const good = p.submit(["-n", "good"], ["sh", "-c", "echo to-out; echo to-err >&2"]);
  const bad = p.submit(["-n", "bad"], ["sh", "-c", "echo partial; exit 3"]);
  const w = p.run(["wait", String(good), String(bad)]);
  assert.equal(w.code, 1);
  assert.match(w.stderr, new RegExp(`job ${bad} \\(bad\\) failed exit 3`));
  const g = p.json<ShowJson>(["show", String(good)]);
  assert.equal(g.state, "succeeded");
  assert.equal(g.exitCode, 0);
  const attempt = g.tasks[0]!.attempts[0]!;
  assert.equal(fs.readFileSync(attempt.stdout, "utf8"), "to-out\n");
  assert.equal(fs.readFileSync(attempt.stderr, "utf8"), "to-err\n");
  assert.ok(attempt.host && attempt.engineId && attempt.startedAt && attempt.endedAt);
  const b = p.json<ShowJson>(["show", String(bad)]);
  assert.equal(b.state, "failed");
  assert.equal(b.exitCode, 3);
  assert.equal(b.tasks[0]!.attempts[0]!.exitCode, 3);
  assert.equal(p.ok(["logs", String(bad)]), "partial\n");
  assert.equal(p.run(["wait", String(good)]).code, 0, "waiting on succeeded jobs only exits 0");
});

test("a job that kills itself with TERM is failed with signal TERM", () => {
  const id = p.submit([], ["sh", "-c", "kill -TERM $$"]);
  p.run(["wait", String(id)]);
  const job = p.json<ShowJson>(["show", String(id)]);
  assert.equal(job.state, "failed");
  assert.equal(job.tasks[0]!.attempts[0]!.signal, "TERM");
  assert.equal(job.tasks[0]!.attempts[0]!.exitCode, null);
});

test("--stderr-fails turns output on stderr into a failure, as the original jman did", () => {
  const strict = p.submit(["--stderr-fails"], ["sh", "-c", "echo warning >&2"]);
  const lenient = p.submit([], ["sh", "-c", "echo warning >&2"]);
  p.run(["wait", String(strict), String(lenient)]);
  const s = p.json<ShowJson>(["show", String(strict)]);
  assert.equal(s.state, "failed");
  assert.match(p.ok(["show", String(strict)]), /wrote to stderr/);
  assert.equal(p.json<ShowJson>(["show", String(lenient)]).state, "succeeded");
});

test("arguments with spaces, quotes, $, backslashes, newlines and non-ASCII arrive unchanged through the CLI", () => {
  const args = ["two words", "it's", '"dq"', "$HOME", "back\\slash", "new\nline", "日本語 ✓", "", "-n", "--", "*"];
  const id = p.submit([], ["node", "-e", "process.stdout.write(JSON.stringify(process.argv.slice(1)))", ...args]);
  p.ok(["wait", String(id)]);
  assert.deepEqual(JSON.parse(p.ok(["logs", String(id)])), args);
});

test("a job runs with the submitting shell's environment plus its own --env values", () => {
  const id = Number(
    p
      .ok(["submit", "--env", "GREETING=hello=world", "--", "sh", "-c", 'printf "%s|%s|%s" "$GREETING" "$FROM_SHELL" "$CORRAL_JOB_ID"'], {
        env: { FROM_SHELL: "inherited" },
      })
      .trim(),
  );
  p.ok(["wait", String(id)]);
  assert.equal(p.ok(["logs", String(id)]), `hello=world|inherited|${id}`);
});

test("a command that does not exist is a failed job with exit 127, not a crash of corral", () => {
  const id = p.submit([], ["no-such-command-corral-test"]);
  assert.equal(p.run(["wait", String(id)]).code, 1);
  const job = p.json<ShowJson>(["show", String(id)]);
  assert.equal(job.exitCode, 127);
  assert.match(p.ok(["logs", String(id), "--stderr"]), /command not found: no-such-command-corral-test/);
});

test("ls --json lists jobs with id, name, batch, state, exitCode, engine, command and tasks", () => {
  const id = p.submit(["-n", "listed", "--batch", "b1"], ["true"]);
  p.ok(["wait", String(id)]);
  const jobs = p.json<JobSummary[]>(["ls", "--batch", "b1"]);
  assert.equal(jobs.length, 1);
  const j = jobs[0]!;
  assert.deepEqual(
    { id: j.id, name: j.name, batch: j.batch, state: j.state, exitCode: j.exitCode, engine: j.engine, command: j.command, total: j.tasks.total },
    { id, name: "listed", batch: "b1", state: "succeeded", exitCode: 0, engine: "local", command: "true", total: 1 },
  );
  assert.match(p.ok(["ls"]), /listed\s+succeeded\s+1\/1\s+local/);
});

test("submit --json prints the new id; logs --tail and --grep narrow the output", () => {
  const out = JSON.parse(p.ok(["submit", "--json", "--", "sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done"])) as { id: number };
  assert.ok(out.id > 0);
  p.ok(["wait", String(out.id)]);
  assert.equal(p.ok(["logs", String(out.id), "--tail", "2"]), "line4\nline5\n");
  assert.equal(p.ok(["logs", String(out.id), "--grep", "line[13]"]), "line1\nline3\n");
});

test("mark sets a user label that ls shows and --state selects; the lifecycle state stays underneath", () => {
  const id = p.submit(["-n", "to-collect"], ["true"]);
  p.ok(["wait", String(id)]);
  p.ok(["mark", String(id), "collected"]);
  const [job] = p.json<JobSummary[]>(["ls", "--state", "collected"]);
  assert.equal(job?.id, id);
  assert.equal(job?.state, "collected");
  assert.equal(job?.lifecycleState, "succeeded");
  assert.match(p.ok(["status"]), /collected/);
  assert.equal(p.run(["wait", String(id)]).code, 0, "a labelled succeeded job still counts as succeeded");
});

test("status counts jobs per batch and state and lists what needs attention", () => {
  const id = p.submit(["--batch", "stat"], ["false"]);
  p.run(["wait", String(id)]);
  const report = p.json<{ batches: { batch: string; states: Record<string, number> }[]; attention: { id: number }[] }>(["status"]);
  assert.equal(report.batches.find((b) => b.batch === "stat")?.states.failed, 1);
  assert.ok(report.attention.some((j) => j.id === id));
  assert.match(p.ok(["status"]), /Needs attention/);
});

test("status shows the first 20 jobs needing attention and counts the rest; --json lists them all", async () => {
  const q = new TestProject("corral-attention-");
  try {
    const ids = Array.from({ length: 23 }, () => q.submit(["--batch", "many"], ["false"]));
    q.run(["wait"]);
    const text = q.ok(["status"]);
    assert.equal((text.match(/— corral show/g) ?? []).length, 20);
    assert.match(text, /… and 3 more: corral ls --state failed --state lost/);
    const report = q.json<{ attention: { id: number }[]; attentionTotal: number }>(["status", "--json"]);
    assert.deepEqual(
      report.attention.map((j) => j.id),
      ids,
    );
    assert.equal(report.attentionTotal, 23);
  } finally {
    await q.cleanup();
  }
});

test("every command answers --help with exit 0", () => {
  for (const cmd of ["submit", "ls", "status", "show", "logs", "wait", "cancel", "resubmit", "delete", "mark", "release", "refresh"]) {
    const r = p.run([cmd, "--help"]);
    assert.equal(r.code, 0, cmd);
    assert.match(r.stdout, /Usage: corral/);
  }
  assert.equal(p.run(["--help"]).code, 0);
});

test("output has no colour codes when not on a terminal", () => {
  assert.ok(!p.ok(["ls"]).includes("\u001b["), "no escape sequences when not a terminal");
});

test("logs --follow prints output as it arrives and returns when the attempt ends", async () => {
  const id = p.submit([], ["sh", "-c", "echo first; sleep 1; echo second"]);
  const r = await p.runAsync(["logs", String(id), "--follow"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "first\nsecond\n");
});

test("wait --timeout gives up with exit 1 while jobs still run, and says so", () => {
  const id = p.submit([], ["sleep", "30"]);
  const t0 = Date.now();
  const r = p.run(["wait", String(id), "--timeout", "1"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /gave up waiting/);
  assert.ok(Date.now() - t0 < 10_000);
  p.ok(["cancel", String(id)]);
});
