import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import { TestProject } from "../testing/project.js";

const p = new TestProject("corral-bad-");
let snapshot: Buffer;

before(async () => {
  const id = p.submit([], ["true"]);
  p.ok(["wait", String(id)]);
  await p.quiesce();
  snapshot = fs.readFileSync(p.dbPath);
});
after(() => p.cleanup());

/** A bad command: exit 2, one line on stderr naming the problem, and the database byte-identical. */
function rejected(args: string[], pattern: RegExp, opts: { cwd?: string } = {}): void {
  const r = p.run(args, opts);
  assert.equal(r.code, 2, `exit code of corral ${args.join(" ")}: ${r.stderr}`);
  const lines = r.stderr
    .trim()
    .split("\n")
    .filter((l) => !l.startsWith("(run with --help"));
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.deepEqual(fs.readFileSync(p.dbPath), snapshot, `database changed by corral ${args.join(" ")}`);
  assert.equal(r.stdout, "");
}

test("malformed array specs are refused", () => {
  rejected(["submit", "-a", "5-1", "--", "true"], /--array '5-1'.*empty/);
  rejected(["submit", "-a", "0", "--", "true"], /--array '0'.*start at 1/);
  rejected(["submit", "-a", "1-x", "--", "true"], /--array '1-x'/);
});

test("malformed resources are refused", () => {
  rejected(["submit", "--mem", "lots", "--", "true"], /--mem 'lots'/);
  rejected(["submit", "--time", "99:99", "--", "true"], /--time '99:99'.*below 60/);
  rejected(["submit", "--cpus", "0", "--", "true"], /--cpus '0'/);
  rejected(["submit", "--retries", "-1", "--", "true"], /retries|unknown option|argument/);
});

test("requests the local engine could never satisfy are refused at submission", () => {
  rejected(["submit", "--cpus", "100000", "--", "true"], /--cpus 100000: the local engine has/);
  rejected(["submit", "--mem", "900T", "--", "true"], /--mem 900T: the local engine has/);
});

test("dependencies on jobs that do not exist are refused", () => {
  rejected(["submit", "--after", "999", "--", "true"], /--after 999: there is no job 999/);
  rejected(["submit", "--after-any", "1,998", "--", "true"], /--after-any 998: there is no job 998/);
  rejected(["submit", "--after", "x", "--", "true"], /--after 'x'/);
});

test("an unknown engine is refused", () => {
  rejected(["submit", "--engine", "pbs-pro-max", "--", "true"], /--engine 'pbs-pro-max': unknown engine/);
});

test("a submit without a command after -- is refused", () => {
  rejected(["submit"], /missing command/);
  rejected(["submit", "--"], /missing command/);
  rejected(["submit", "echo", "hi"], /put the command after --/);
});

test("an unreadable working directory is refused", () => {
  rejected(["submit", "--cwd", "/no/such/dir", "--", "true"], /--cwd '\/no\/such\/dir': not a readable directory/);
  rejected(["submit", "--cwd", p.dbPath, "--", "true"], /not a readable directory/);
});

test("unknown options, ids and labels are refused", () => {
  rejected(["submit", "--frobnicate", "--", "true"], /unknown option/);
  rejected(["show", "999"], /there is no job 999/);
  rejected(["cancel", "abc"], /'abc' is not a job id/);
  rejected(["mark", "1", "failed"], /built-in state/);
  rejected(["ls", "--state", "Nope!"], /--state 'Nope!'/);
  rejected(["logs", "1", "--grep", "("], /--grep/);
});

test("a corrupt database is refused and not touched", () => {
  const q = new TestProject("corral-corrupt-");
  try {
    fs.mkdirSync(path.dirname(q.dbPath), { recursive: true });
    fs.writeFileSync(q.dbPath, Buffer.alloc(4096, 7));
    const before = fs.readFileSync(q.dbPath);
    const r = q.run(["ls"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /corrupt|unreadable/);
    assert.equal(q.run(["submit", "--", "true"]).code, 2);
    assert.deepEqual(fs.readFileSync(q.dbPath), before);
  } finally {
    fs.rmSync(q.dir, { recursive: true, force: true });
  }
});

test("a database written by a newer corral is refused and not touched", () => {
  const q = new TestProject("corral-newer-");
  try {
    q.ok(["submit", "--hold", "--", "true"]);
    const raw = new Database(q.dbPath);
    raw.prepare("UPDATE schema_version SET version = version + 1").run();
    raw.close();
    const before = fs.readFileSync(q.dbPath);
    for (const args of [["ls"], ["submit", "--", "true"], ["status"]]) {
      const r = q.run(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, /newer than this corral/);
    }
    assert.deepEqual(fs.readFileSync(q.dbPath), before);
  } finally {
    fs.rmSync(q.dir, { recursive: true, force: true });
  }
});

test("a bad submit in a folder without a database does not create one", () => {
  const q = new TestProject("corral-nodb-");
  try {
    assert.equal(q.run(["submit", "--after", "1", "--", "true"]).code, 2);
    assert.equal(q.run(["submit", "--mem", "lots", "--", "true"]).code, 2);
    assert.ok(!fs.existsSync(path.join(q.dir, ".corral")));
  } finally {
    fs.rmSync(q.dir, { recursive: true, force: true });
  }
});
