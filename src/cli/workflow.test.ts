import assert from "node:assert/strict";
import fs from "node:fs";
import { after, test } from "node:test";
import { TestProject } from "../testing/project.js";

const p = new TestProject("corral-workflow-", { CORRAL_LOCAL_CPUS: "2" });
after(() => p.cleanup());

interface Show {
  state: string;
  tasks: { index: number; state: string; reason: string | null; params: Record<string, unknown> | null; attempts: unknown[] }[];
}
const show = (id: number) => p.json<Show>(["show", String(id)]);
interface Report {
  created: { name: string; id: number }[];
  kept: { name: string; id: number }[];
  rerun: { name: string; id: number }[];
  changed: { name: string; id: number }[];
}

const GENOME = `batch = "genome"
[defaults]
engine = "local"
mem = "1G"
env = { REF = "hg38" }

[jobs.map]
command = "sh -c 'echo map {chunk} > out.{chunk}'"
sweep = { chunk = "1..20" }
retries = 1

[jobs.reduce]
command = ["sh", "-c", "cat out.* > all.txt"]
after = ["map"]

[jobs.report]
script = "report.sh"
after = ["reduce"]
`;

test("the issue's map(20) → reduce → report file runs as written; running it again submits nothing", () => {
  fs.mkdirSync(p.path("genome"));
  fs.writeFileSync(p.path("genome", "genome.toml"), GENOME);
  fs.writeFileSync(p.path("genome", "report.sh"), '#!/bin/sh\necho "report on $REF: $(wc -l < all.txt) lines"\n');
  const first = p.json<Report>(["run", "genome/genome.toml", "--wait"]);
  assert.deepEqual(
    first.created.map((j) => j.name),
    ["map", "reduce", "report"],
  );
  assert.equal(fs.readFileSync(p.path("genome", "all.txt"), "utf8").split("\n").filter(Boolean).length, 20);
  const report = first.created[2]!.id;
  assert.equal(p.ok(["logs", String(report)]), "report on hg38: 20 lines\n");
  const map = show(first.created[0]!.id);
  assert.equal(map.tasks.length, 20);
  assert.deepEqual(map.tasks[6]!.params, { chunk: 7 });
  const again = p.json<Report>(["run", "genome/genome.toml"]);
  assert.deepEqual(again.created, []);
  assert.deepEqual(
    again.kept.map((j) => j.id),
    first.created.map((j) => j.id),
  );
  assert.match(p.ok(["run", "genome/genome.toml"]), /0 submitted, 0 re-run, 3 kept/);
});

test("running a file again re-runs only what failed, and what was cancelled because of it", () => {
  fs.mkdirSync(p.path("rescue"));
  fs.writeFileSync(
    p.path("rescue", "flow.toml"),
    `batch = "rescue"\n[jobs.a]\ncommand = "sh -c 'echo a >> ran'"\n[jobs.b]\ncommand = "sh -c 'echo b >> ran; [ -e fixed ]'"\nafter = ["a"]\n[jobs.c]\ncommand = "sh -c 'echo c >> ran'"\nafter = ["b"]\n`,
  );
  assert.equal(p.run(["run", "rescue/flow.toml", "--wait"]).code, 1);
  assert.equal(fs.readFileSync(p.path("rescue", "ran"), "utf8"), "a\nb\n");
  fs.writeFileSync(p.path("rescue", "fixed"), "");
  const second = p.json<Report>(["run", "rescue/flow.toml"]);
  assert.deepEqual(second.kept.map((j) => j.name).sort(), ["a", "c"]);
  assert.deepEqual(
    second.rerun.map((j) => j.name),
    ["b"],
  );
  p.ok(["wait", "--batch", "rescue"]);
  assert.equal(fs.readFileSync(p.path("rescue", "ran"), "utf8"), "a\nb\nb\nc\n");
});

test("a changed job is reported and left alone; --force replaces it and what depends on it", () => {
  fs.mkdirSync(p.path("change"));
  const file = p.path("change", "flow.toml");
  fs.writeFileSync(file, `batch = "change"\n[jobs.a]\ncommand = "echo one"\n[jobs.b]\ncommand = "echo b"\nafter = ["a"]\n`);
  const first = p.json<Report>(["run", file, "--wait"]);
  fs.writeFileSync(file, `batch = "change"\n[jobs.a]\ncommand = "echo two"\n[jobs.b]\ncommand = "echo b"\nafter = ["a"]\n`);
  const r = p.run(["run", file]);
  assert.equal(r.code, 0);
  assert.match(r.stderr, /changed since the last run, not re-run: a \(job \d+, definition changed\), b \(job \d+, definition changed\); run with --force/);
  const forced = p.json<Report>(["run", file, "--force", "--wait"]);
  assert.deepEqual(
    forced.created.map((j) => j.name),
    ["a", "b"],
  );
  assert.ok(forced.created[0]!.id > first.created[1]!.id);
  assert.equal(p.ok(["logs", String(forced.created[0]!.id)]), "two\n");
});

test("priority groups: a failure in the first group stops the next one, with the reason", () => {
  fs.mkdirSync(p.path("groups"));
  fs.writeFileSync(
    p.path("groups", "flow.toml"),
    `batch = "groups"\n[jobs.first]\ncommand = "true"\npriority = 10\n[jobs.broken]\ncommand = "false"\npriority = 10\n[jobs.second]\ncommand = "touch must-not-run"\n`,
  );
  const r = p.run(["run", "groups/flow.toml", "--wait", "--json"]);
  assert.equal(r.code, 1);
  const second = (JSON.parse(r.stdout) as Report).created.find((j) => j.name === "second")!;
  const job = show(second.id);
  assert.equal(job.state, "cancelled");
  assert.match(job.tasks[0]!.reason ?? "", /the priority group before it did not succeed: job \d+ \(broken\) failed/);
  assert.equal(job.tasks[0]!.attempts.length, 0);
  assert.ok(!fs.existsSync(p.path("groups", "must-not-run")));
});

test("a 3×4 sweep: every task sees its own parameters in the command and as variables", () => {
  fs.mkdirSync(p.path("sweep"));
  fs.writeFileSync(
    p.path("sweep", "grid.yaml"),
    `batch: grid\njobs:\n  train:\n    command: ["sh", "-c", "echo lr={lr} seed={seed} env=$lr/$seed"]\n    sweep:\n      lr: [0.1, 0.01, 0.001]\n      seed: "1..4"\n`,
  );
  const id = p.json<Report>(["run", "sweep/grid.yaml", "--wait"]).created[0]!.id;
  const job = show(id);
  assert.equal(job.tasks.length, 12);
  for (const t of job.tasks) {
    const { lr, seed } = t.params as { lr: number; seed: number };
    assert.equal(p.ok(["logs", `${id}.${t.index}`]), `lr=${lr} seed=${seed} env=${lr}/${seed}\n`);
  }
  assert.deepEqual(
    job.tasks.slice(0, 5).map((t) => t.params),
    [
      { lr: 0.1, seed: 1 },
      { lr: 0.1, seed: 2 },
      { lr: 0.1, seed: 3 },
      { lr: 0.1, seed: 4 },
      { lr: 0.01, seed: 1 },
    ],
  );
  assert.match(p.ok(["ls", "--tasks", String(id)]), /train lr=0\.01 seed=3/);
  // The filter language: parameters, names, batches, states, combined.
  const ids = (...terms: string[]) => p.json<{ id: number }[]>(["ls", ...terms]).map((j) => j.id);
  assert.deepEqual(ids("batch=grid", "param.lr>0.05"), [id]);
  assert.deepEqual(ids("batch=grid", "param.lr>0.5"), []);
  assert.deepEqual(ids("name~tr*", "state=succeeded", "batch=grid"), [id]);
  assert.deepEqual(ids("name=train' OR 1=1 --"), []);
  const bad = p.run(["ls", "param.lr);DROP TABLE jobs;--=1"]);
  assert.equal(bad.code, 2);
  assert.match(p.ok(["status", "batch=grid"]), /grid\s+1\s/);
});

test("corral sweep from the command line, with --zip pairing values one to one", () => {
  const id = Number(p.ok(["sweep", "-p", "x=1..3", "-p", "name=a,b,c", "--zip", "--", "echo", "{name}{x}"]).trim());
  p.ok(["wait", String(id)]);
  assert.deepEqual(
    [1, 2, 3].map((i) => p.ok(["logs", `${id}.${i}`])),
    ["a1\n", "b2\n", "c3\n"],
  );
  const bad = p.run(["sweep", "-p", "x=1..3", "--", "echo", "{y}"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /\{y\} in the command is not a parameter \(parameters: x\)/);
});

test("a description with a problem submits nothing and creates no database", () => {
  const q = new TestProject("corral-workflow-bad-");
  try {
    fs.writeFileSync(q.path("bad.toml"), `batch = "b"\n[jobs.a]\ncommand = "true"\n[jobs.b]\nscript = "missing.sh"\nafter = ["a"]\n`);
    const r = q.run(["run", "bad.toml"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.toml:5:1: jobs\.b\.script: cannot read/);
    assert.ok(!fs.existsSync(q.path(".corral")));
  } finally {
    fs.rmSync(q.dir, { recursive: true, force: true });
  }
});

test("a job of a file that its engine refuses at submission (tags on local) means no job of the file is submitted", () => {
  const q = new TestProject("corral-workflow-refused-");
  try {
    fs.writeFileSync(q.path("f.toml"), `batch = "b"\n[jobs.a]\ncommand = "true"\n[jobs.b]\ncommand = "true"\ntags = ["gpu"]\nafter = ["a"]\n`);
    const r = q.run(["run", "f.toml"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--tags: only the redis engine routes tasks by worker tags \(this job goes to local\)/);
    assert.deepEqual(JSON.parse(q.ok(["ls", "--json"])), []);
  } finally {
    fs.rmSync(q.dir, { recursive: true, force: true });
  }
});

test("cancel, resubmit and wait take the same filters", () => {
  const flag = p.path("filters-fixed");
  const id = Number(p.ok(["sweep", "--batch", "filters", "-p", "x=1..4", "--", "sh", "-c", `[ {x} -le 2 ] || [ -e ${flag} ]`]).trim());
  assert.equal(p.run(["wait", "batch=filters"]).code, 1);
  assert.deepEqual(
    p.json<{ id: number }[]>(["ls", "batch=filters", "state=failed"]).map((j) => j.id),
    [id],
  );
  fs.writeFileSync(flag, "");
  // Only the failed points of the job come back; the filter names the job, resubmit's default picks the tasks.
  p.ok(["resubmit", "batch=filters", "param.x>2"]);
  p.ok(["wait", "batch=filters"]);
  const tasks = p.json<Show>(["show", String(id)]).tasks;
  assert.deepEqual(
    tasks.map((t) => t.attempts.length),
    [1, 1, 2, 2],
  );
  const sleeper = Number(p.ok(["submit", "--batch", "filters-cancel", "--", "sleep", "30"]).trim());
  p.ok(["cancel", "batch=filters-cancel", "name~sl*"]);
  assert.equal(p.run(["wait", "batch=filters-cancel"]).code, 1, "a cancelled job is not a success");
  assert.equal(p.json<Show>(["show", String(sleeper)]).state, "cancelled");
  assert.equal(p.run(["cancel", "name~nothing-matches*"]).code, 0);
});
