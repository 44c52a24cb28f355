import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { planDescription } from "../api/plan.js";
import { DescriptionError } from "./description.js";
import { tempDir } from "../testing/temp.js";

const dir = tempDir("corral-descriptions-");
fs.writeFileSync(path.join(dir, "report.sh"), "#!/bin/sh\necho report\n");

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

function problems(name: string, text: string): string[] {
  try {
    planDescription(write(name, text));
  } catch (err) {
    if (err instanceof DescriptionError) return [...err.lines];
    throw err;
  }
  return [];
}

const job = (body: string, extra = "") => `batch = "b"\n${extra}[jobs.map]\n${body}\n`;

/** One defect per file: the line and column it is reported at, and what the message says. */
const CORPUS: { name: string; text: string; at: string; says: RegExp }[] = [
  { name: "unknown-top-key", text: `batchh = "b"\n[jobs.a]\ncommand = "true"\n`, at: "1:1", says: /batchh: unknown key \(did you mean 'batch'\?\)/ },
  { name: "missing-batch", text: `[jobs.a]\ncommand = "true"\n`, at: "1:1", says: /batch: missing: 'batch' is required/ },
  { name: "batch-not-string", text: `batch = 3\n[jobs.a]\ncommand = "true"\n`, at: "1:1", says: /batch: expected a string, got the number 3/ },
  { name: "missing-jobs", text: `batch = "b"\n`, at: "1:1", says: /jobs: missing: 'jobs' is required/ },
  { name: "empty-jobs", text: `batch = "b"\n[jobs]\n`, at: "2:1", says: /jobs: no jobs/ },
  { name: "unknown-job-key", text: job(`command = "true"\nretires = 2`), at: "4:1", says: /jobs\.map\.retires: unknown key \(did you mean 'retries'\?\)/ },
  { name: "command-and-script", text: job(`command = "true"\nscript = "report.sh"`), at: "4:1", says: /'command' and 'script' are mutually exclusive/ },
  { name: "neither-command-nor-script", text: job(`cpus = 1`), at: "2:1", says: /jobs\.map: needs 'command' or 'script'/ },
  {
    name: "array-and-sweep",
    text: job(`command = "true"\narray = "1-3"\nsweep = { x = [1, 2] }`),
    at: "5:1",
    says: /'array' and 'sweep' are mutually exclusive/,
  },
  { name: "sweep-mode-alone", text: job(`command = "true"\nsweep_mode = "zip"`), at: "4:1", says: /'sweep_mode' is only valid with 'sweep'/ },
  { name: "args-without-script", text: job(`command = "true"\nargs = ["x"]`), at: "4:1", says: /'args' is only valid with 'script'/ },
  { name: "on-without-retries", text: job(`command = "true"\non = ["timeout"]`), at: "4:1", says: /'on' is only valid with 'retries' above 0/ },
  { name: "escalate-without-retries", text: job(`command = "true"\nescalate = { time = 2 }`), at: "4:1", says: /'escalate' is only valid with 'retries'/ },
  { name: "cpus-string", text: job(`command = "true"\ncpus = "two"`), at: "4:1", says: /cpus: expected a whole number of at least 1, got the string "two"/ },
  { name: "cpus-zero", text: job(`command = "true"\ncpus = 0`), at: "4:1", says: /cpus: must be at least 1, got the number 0/ },
  { name: "mem-bad", text: job(`command = "true"\nmem = "lots"`), at: "4:1", says: /mem: 'lots': expected a size/ },
  { name: "time-bad", text: job(`command = "true"\ntime = "soon"`), at: "4:1", says: /time: 'soon'/ },
  { name: "engine-typo", text: job(`command = "true"\nengine = "slurmm"`), at: "4:1", says: /unknown engine 'slurmm' \(did you mean 'slurm'\?\)/ },
  {
    name: "after-unknown",
    text: `batch = "b"\n[jobs.map]\ncommand = "true"\n[jobs.reduce]\ncommand = "true"\nafter = ["mapp"]\n`,
    at: "6:10",
    says: /there is no job 'mapp' in this file \(did you mean 'map'\?\)/,
  },
  { name: "after-self", text: job(`command = "true"\nafter = ["map"]`), at: "4:10", says: /a job cannot wait for itself/ },
  {
    name: "cycle",
    text: `batch = "b"\n[jobs.a]\ncommand = "true"\nafter = ["b"]\n[jobs.b]\ncommand = "true"\nafter = ["a"]\n`,
    at: "4:1",
    says: /dependency cycle: a → b → a/,
  },
  {
    name: "after-and-after-any",
    text: `batch = "b"\n[jobs.a]\ncommand = "true"\n[jobs.b]\ncommand = "true"\nafter = ["a"]\nafter_any = ["a"]\n`,
    at: "7:1",
    says: /'a' is in both 'after' and 'after_any'/,
  },
  { name: "sweep-range-bad", text: job(`command = "echo {x}"\nsweep = { x = "1..x" }`), at: "4:11", says: /'1\.\.x' is not a range/ },
  {
    name: "sweep-zip-unequal",
    text: job(`command = "echo {x} {y}"\nsweep = { x = [1, 2], y = [1, 2, 3] }\nsweep_mode = "zip"`),
    at: "4:1",
    says: /zip pairs values one to one, but the lists have 2, 3 values/,
  },
  {
    name: "sweep-unknown-placeholder",
    text: job(`command = "echo {z}"\nsweep = { x = [1, 2] }`),
    at: "3:1",
    says: /\{z\} is not a parameter of the sweep \(parameters: x\)/,
  },
  { name: "sweep-param-name", text: job(`command = "true"\nsweep = { "1x" = [1, 2] }`), at: "4:11", says: /'1x' is not a parameter name/ },
  { name: "linspace-bad", text: job(`command = "true"\nsweep = { x = { linspace = [0, 1] } }`), at: "4:11", says: /linspace takes \[start, stop, count\]/ },
  { name: "sweep-value-type", text: job(`command = "true"\nsweep = { x = 3 }`), at: "4:11", says: /sweep\.x: expected a list, a range such as "1\.\.20"/ },
  { name: "array-bad", text: job(`command = "true"\narray = "1-x"`), at: "4:1", says: /array: / },
  { name: "env-bad-name", text: job(`command = "true"\nenv = { "1BAD" = "x" }`), at: "4:1", says: /'1BAD' is not a variable name/ },
  {
    name: "on-unknown-cause",
    text: job(`command = "true"\nretries = 1\non = ["crash"]`),
    at: "5:7",
    says: /on\.0: expected one of failed, timeout, oom, lost, got the string "crash"/,
  },
  { name: "script-missing", text: job(`script = "nope.sh"`), at: "3:1", says: /script: cannot read .*nope\.sh/ },
  { name: "pipe-outside-quotes", text: job(`command = "echo a | wc -l"`), at: "3:1", says: /'\|' outside quotes: corral runs the command without a shell/ },
  {
    name: "defaults-with-command",
    text: `batch = "b"\n[defaults]\ncommand = "true"\n[jobs.a]\ncommand = "true"\n`,
    at: "3:1",
    says: /defaults\.command: 'command' is set per job, not in \[defaults\]/,
  },
  {
    name: "escalate-below-one",
    text: job(`command = "true"\nretries = 1\nescalate = { time = 0.5 }`),
    at: "5:14",
    says: /escalate\.time: must be at least 1, got the number 0\.5/,
  },
  { name: "job-name", text: `batch = "b"\n[jobs."bad name"]\ncommand = "true"\n`, at: "2:1", says: /'bad name' is not a job name/ },
  { name: "cwd-missing", text: job(`command = "true"\ncwd = "no/such/dir"`), at: "4:1", says: /cwd: .*no\/such\/dir is not a directory/ },
  {
    name: "sweep-too-large",
    text: job(`command = "true"\nsweep = { x = "1..2000", y = "1..1000" }`),
    at: "4:1",
    says: /2,000,000 points: more than 1,000,000/,
  },
  { name: "tags-bad", text: job(`command = "true"\ntags = ["GPU"]`), at: "4:1", says: /tags: 'GPU': a tag is lower-case letters/ },
  {
    name: "tags-elsewhere",
    text: job(`command = "true"\nengine = "slurm"\ntags = ["gpu"]`),
    at: "5:1",
    says: /tags: only the redis engine routes tasks by worker tags \(engine here: slurm\)/,
  },
  { name: "toml-syntax", text: `batch = "b"\n[jobs.a\ncommand = "true"\n`, at: "3:1", says: /TOML syntax/ },
];

for (const c of CORPUS) {
  test(`a broken description is rejected at its line with the reason: ${c.name}`, () => {
    const lines = problems(`${c.name}.toml`, c.text);
    assert.equal(lines.length, 1, `exactly one problem expected:\n${lines.join("\n")}`);
    assert.ok(lines[0]!.startsWith(`${path.join(dir, `${c.name}.toml`)}:${c.at}`), `${lines[0]} should be at ${c.at}`);
    assert.match(lines[0]!, c.says);
  });
}

test("YAML files follow the same schema, with their own lines and columns", () => {
  const lines = problems("typo.yaml", "batch: b\njobs:\n  a:\n    command: [echo, hi]\n    priorty: 3\n");
  assert.deepEqual(lines, [`${path.join(dir, "typo.yaml")}:5:5: jobs.a.priorty: unknown key (did you mean 'priority'?)`]);
  assert.match(problems("syntax.yaml", "batch: b\njobs:\n  a: [unclosed\n")[0]!, /syntax\.yaml:\d+:\d+: YAML syntax/);
});

test("every problem of a file is reported at once, in line order", () => {
  const lines = problems("many.toml", `batch = "b"\n[defaults]\nmem = "lots"\n[jobs.a]\nretires = 1\ncommand = "true"\ncpus = "x"\n`);
  assert.deepEqual(
    lines.map((l) => l.split(": ")[0]!.split(":").slice(-2).join(":")),
    ["3:1", "5:1", "7:1"],
  );
});

test("the issue's example plans map (20 points), reduce and report, with defaults applied", () => {
  const file = write(
    "genome.toml",
    `batch = "genome"\n[defaults]\nengine = "local"\nmem = "1G"\nenv = { REF = "hg38" }\n\n[jobs.map]\ncommand = "sh -c 'echo map {chunk} > out.{chunk}'"\nsweep = { chunk = "1..20" }\nretries = 1\n\n[jobs.reduce]\ncommand = ["sh", "-c", "cat out.* > all.txt"]\nafter = ["map"]\n\n[jobs.report]\nscript = "report.sh"\nafter = ["reduce"]\n`,
  );
  const plan = planDescription(file);
  assert.equal(plan.batch, "genome");
  assert.deepEqual(
    plan.jobs.map((j) => j.name),
    ["map", "reduce", "report"],
  );
  const map = plan.jobs[0]!;
  assert.deepEqual(map.input.command, ["sh", "-c", "echo map {chunk} > out.{chunk}"]);
  assert.equal(map.input.points?.length, 20);
  assert.deepEqual(map.input.points?.[4], { chunk: 5 });
  assert.equal(map.input.mem, "1G");
  assert.deepEqual(map.input.env, { REF: "hg38" });
  assert.deepEqual(plan.jobs[2]!.after, ["reduce"]);
  assert.equal(planDescription(file).jobs[2]!.hash, plan.jobs[2]!.hash, "the same file plans the same hashes");
});

test("priority groups: each job waits for every job of the next higher priority", () => {
  const plan = planDescription(
    write(
      "groups.toml",
      `batch = "g"\n[jobs.a]\ncommand = "true"\npriority = 10\n[jobs.b]\ncommand = "true"\npriority = 10\n[jobs.c]\ncommand = "true"\n[jobs.d]\ncommand = "true"\npriority = -1\n`,
    ),
  );
  const byName = new Map(plan.jobs.map((j) => [j.name, j]));
  assert.deepEqual(byName.get("a")!.afterGroup, []);
  assert.deepEqual(byName.get("c")!.afterGroup, ["a", "b"]);
  assert.deepEqual(byName.get("d")!.afterGroup, ["c"]);
});

test("the keys a misspelling is matched against come from the schema itself, tags included", () => {
  const inDefaults = problems("tag-in-defaults", `batch = "b"\n[defaults]\ntag = ["gpu"]\n[jobs.a]\ncommand = "true"\n`);
  assert.equal(inDefaults.length, 1, inDefaults.join("\n"));
  assert.match(inDefaults[0]!, /:3:1: defaults\.tag: unknown key \(did you mean 'tags'\?\)/);
  const inJob = problems("tag-in-job", job(`command = "true"\ntagz = ["gpu"]`));
  assert.match(inJob[0]!, /jobs\.map\.tagz: unknown key \(did you mean 'tags'\?\)/);
  const jobOnly = problems("after-in-defaults", `batch = "b"\n[defaults]\nafter = ["a"]\n[jobs.a]\ncommand = "true"\n`);
  assert.match(jobOnly[0]!, /defaults\.after: 'after' is set per job, not in \[defaults\]/);
});
