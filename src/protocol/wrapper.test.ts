import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { fateOf, readEnded, readStarted } from "./markers.js";
import { fenceAttempt } from "../lifecycle/attempt-files.js";
import { renderWrapper, RUN_FILES } from "./wrapper.js";
import { tempDir } from "../testing/temp.js";

function runDir(): string {
  return tempDir("corral-wrapper-");
}

function runWrapper(argv: string[], env: Record<string, string> = {}, cwd = os.tmpdir()) {
  const dir = runDir();
  const file = path.join(dir, RUN_FILES.wrapper);
  fs.writeFileSync(file, renderWrapper({ runDir: dir, cwd, argv, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, umask: 0o022 }));
  const r = spawnSync("/bin/sh", [file], { env: { PATH: "/usr/bin:/bin" }, encoding: "utf8" });
  return {
    dir,
    status: r.status,
    stdout: () => fs.readFileSync(path.join(dir, RUN_FILES.stdout), "utf8"),
    stderr: () => fs.readFileSync(path.join(dir, RUN_FILES.stderr), "utf8"),
  };
}

const DUMP_ARGV = path.join(tempDir("corral-dump-"), "dump-argv.cjs");
fs.writeFileSync(DUMP_ARGV, "process.stdout.write(JSON.stringify(process.argv.slice(2)))");

// Characters that break naive quoting, plus multi-byte text.
const tricky = fc.constantFrom(
  "'",
  '"',
  "$",
  "\\",
  "\n",
  "`",
  " ",
  "\t",
  "*",
  "?",
  "$(id)",
  "$" + "{HOME}",
  "é",
  "日本語",
  "🚀",
  "-",
  "--",
  "=",
  "!",
  ";",
  "|",
  "&",
  "a",
  "Z",
  "0",
);
const argString = fc.oneof(fc.string({ unit: tricky, maxLength: 12 }), fc.string({ unit: "grapheme", maxLength: 12 })).filter((s) => !s.includes("\0"));

test("arguments with quotes, $, backslashes, newlines and non-ASCII reach the program byte for byte", () => {
  fc.assert(
    fc.property(fc.array(argString, { maxLength: 6 }), (args) => {
      const r = runWrapper([process.execPath, DUMP_ARGV, ...args]);
      assert.equal(r.status, 0, r.stderr());
      assert.deepEqual(JSON.parse(r.stdout()), args);
    }),
    { numRuns: 40 },
  );
});

test("the wrapper publishes started and ended markers with pid, host and exit status", () => {
  const r = runWrapper(["sh", "-c", "echo out; echo err >&2; exit 3"]);
  assert.equal(r.status, 3);
  const started = readStarted(r.dir)!;
  assert.ok(started.pid && started.pid > 0);
  assert.equal(started.host, os.hostname());
  assert.match(started.pidStart ?? "", /^\d+$/);
  const ended = readEnded(r.dir)!;
  assert.equal(ended.status, 3);
  assert.deepEqual(fateOf(ended), { exitCode: 3, signal: null, failed: true, reason: "exit code 3" });
  assert.equal(r.stdout(), "out\n");
  assert.equal(r.stderr(), "err\n");
  assert.deepEqual(
    fs.readdirSync(r.dir).sort(),
    ["ended", "started", "stderr", "stdout", "wrapper.sh"],
    "nothing else is left behind: the claim is the started marker",
  );
  assert.ok(fs.readFileSync(path.join(r.dir, RUN_FILES.ended), "utf8").endsWith("\nend\n"), "a marker ends with its end line");
});

test("a command that kills itself with TERM is recorded as killed by that signal", () => {
  const r = runWrapper(["sh", "-c", "kill -TERM $$"]);
  assert.deepEqual(fateOf(readEnded(r.dir)!), { exitCode: null, signal: "TERM", failed: true, reason: "killed by signal TERM" });
});

test("a TERM sent to the attempt's process group reaches the command and is recorded", async () => {
  const dir = runDir();
  const file = path.join(dir, RUN_FILES.wrapper);
  fs.writeFileSync(
    file,
    renderWrapper({
      runDir: dir,
      cwd: dir,
      argv: ["sh", "-c", "trap 'echo got-term; exit 9' TERM; sleep 20 & wait"],
      env: { PATH: "/usr/bin:/bin" },
      umask: 0o022,
    }),
  );
  const child = spawn("/bin/sh", [file], { stdio: "ignore", detached: true });
  for (let i = 0; i < 100 && !readStarted(dir); i++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200));
  process.kill(-child.pid!, "SIGTERM");
  await new Promise((r) => child.on("exit", r));
  const ended = readEnded(dir)!;
  assert.equal(ended.caught, "TERM");
  assert.equal(ended.status, 9, "the command's own exit status is kept");
  assert.equal(fs.readFileSync(path.join(dir, RUN_FILES.stdout), "utf8"), "got-term\n");
  assert.equal(fateOf(ended).signal, "TERM");
});

test("the command starts with default handling of INT and QUIT, not ignored as background commands would be", () => {
  const r = runWrapper(["sh", "-c", "grep SigIgn /proc/self/status"]);
  const mask = BigInt(`0x${/SigIgn:\s+([0-9a-f]+)/.exec(r.stdout())![1]}`);
  assert.equal(mask & 0b110n, 0n, "SIGINT (bit 2) and SIGQUIT (bit 3) are not ignored");
});

test("a missing executable fails with 127 and says so on stderr", () => {
  const r = runWrapper(["/no/such/program", "x"]);
  assert.equal(readEnded(r.dir)!.status, 127);
  assert.match(r.stderr(), /corral: command not found: \/no\/such\/program/);
});

test("an attempt runs at most once: a second start of the same wrapper does nothing", () => {
  const r = runWrapper(["sh", "-c", 'echo ran >> "$CORRAL_RUN_DIR/../ledger-$$"; echo ran']);
  assert.equal(r.stdout(), "ran\n");
  const again = spawnSync("/bin/sh", [path.join(r.dir, RUN_FILES.wrapper)], { encoding: "utf8" });
  assert.equal(again.status, 0);
  assert.equal(r.stdout(), "ran\n", "the started marker, created exclusively, stops the second run before the command");
});

test("an attempt corral fenced before its wrapper started never runs, and its fence is no start", () => {
  const dir = runDir();
  assert.equal(fenceAttempt(dir), true);
  assert.equal(fenceAttempt(dir), true, "fencing again (after a crash between fence and record) finds corral's own fence");
  const file = path.join(dir, RUN_FILES.wrapper);
  const ledger = path.join(dir, "ran");
  fs.writeFileSync(file, renderWrapper({ runDir: dir, cwd: dir, argv: ["touch", ledger], env: { PATH: "/usr/bin:/bin" }, umask: 0o022 }));
  assert.equal(spawnSync("/bin/sh", [file]).status, 0);
  assert.equal(fs.existsSync(ledger), false, "the command did not run");
  assert.equal(readStarted(dir), null, "a fence is not a start");
  assert.equal(readEnded(dir), null);
});

test("a wrapper that already claimed its attempt cannot be fenced", () => {
  const r = runWrapper(["true"]);
  assert.equal(fenceAttempt(r.dir), false);
  assert.ok(readStarted(r.dir)?.pid, "its started marker is untouched");
});

test("the launcher's form of the wrapper leaves the claim and the started marker to whoever starts it", () => {
  const dir = runDir();
  const file = path.join(dir, RUN_FILES.wrapper);
  fs.writeFileSync(file, renderWrapper({ runDir: dir, cwd: dir, argv: ["true"], env: { PATH: "/usr/bin:/bin" }, umask: 0o022, startedBy: "launcher" }));
  assert.equal(spawnSync("/bin/sh", [file]).status, 0);
  assert.equal(readEnded(dir)?.status, 0);
  assert.equal(fs.existsSync(path.join(dir, RUN_FILES.started)), false);
});

test("the job sees its environment, its working directory and the submitter's umask", () => {
  const cwd = runDir();
  const r = runWrapper(["sh", "-c", 'printf "%s|%s|%s" "$MY_VAR" "$PWD" "$(umask)"'], { MY_VAR: "a b\nc" }, cwd);
  assert.equal(r.stdout(), `a b\nc|${cwd}|0022`);
});

test("an unusable working directory ends the attempt with a clear error instead of running elsewhere", () => {
  const r = runWrapper(["true"], {}, "/no/such/dir");
  const ended = readEnded(r.dir)!;
  assert.equal(ended.status, 126);
  assert.match(fateOf(ended).reason ?? "", /working directory/);
});
