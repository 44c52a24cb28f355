import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { CLI, TestProject } from "../testing/project.js";
import { tempDir } from "../testing/temp.js";

/**
 * bin/corral, the installed command: node starts from the startup snapshot when one was built for it, and
 * from the bundle otherwise; either way the command is the same program, with the same output and exit codes,
 * in the launcher's own process (it execs), found through symlinks as npm link and node_modules/.bin make them.
 */

const ROOT = path.resolve(path.dirname(CLI), "..");
const BUNDLE = path.join(ROOT, "dist", "bin", "corral.js");
const SNAPSHOT = path.join(ROOT, "dist", "bin", "snapshot");

function startedFrom(command: string, p: TestProject, env: NodeJS.ProcessEnv = {}, cwd = p.dir): string {
  const r = spawnSync(command, ["--db", p.dbPath, "doctor", "--engine", "local"], { cwd, env: { ...p.env, ...env }, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const line = r.stdout.split("\n").find((l) => l.startsWith("started from: "));
  assert.ok(line, r.stdout);
  return line.slice("started from: ".length);
}

test("bin/corral starts from the startup snapshot built for this node, and from the bundle when told not to", () => {
  const p = new TestProject();
  assert.equal(startedFrom(CLI, p), `the startup snapshot ${path.join(SNAPSHOT, "corral.blob")}`);
  assert.match(startedFrom(CLI, p, { CORRAL_SNAPSHOT: "off" }), /^the bundle /);
  // NODE_OPTIONS may hold flags a snapshot cannot start with: the launcher leaves it to the bundle.
  assert.match(startedFrom(CLI, p, { NODE_OPTIONS: "--max-old-space-size=300" }), /^the bundle /);
});

test("without a whole snapshot made by the node on PATH, bin/corral runs the bundle; called by a relative path or through symlinks and spaces, it finds its files", () => {
  const p = new TestProject();
  // An install with no snapshot: the launcher beside a dist/ holding the bundle, then an empty snapshot file too.
  const bare = tempDir("corral-launcher-");
  const bareSnapshot = path.join(bare, "dist", "bin", "snapshot");
  const launcher = path.join(bare, "bin", "corral");
  fs.mkdirSync(path.join(bare, "bin"));
  fs.mkdirSync(bareSnapshot, { recursive: true });
  fs.copyFileSync(CLI, launcher);
  fs.symlinkSync(BUNDLE, path.join(bare, "dist", "bin", "corral.js"));
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(bare, "node_modules"));
  assert.match(startedFrom(launcher, p), /^the bundle /);
  fs.writeFileSync(path.join(bareSnapshot, "corral.blob"), "");
  fs.symlinkSync(fs.realpathSync(process.execPath), path.join(bareSnapshot, "node"));
  assert.match(startedFrom(launcher, p), /^the bundle /);
  // A whole snapshot, made by another node binary: not the file on PATH.
  fs.rmSync(path.join(bareSnapshot, "corral.blob"));
  fs.copyFileSync(path.join(SNAPSHOT, "corral.blob"), path.join(bareSnapshot, "corral.blob"));
  fs.rmSync(path.join(bareSnapshot, "node"));
  fs.symlinkSync("/bin/sh", path.join(bareSnapshot, "node"));
  assert.match(startedFrom(launcher, p), /^the bundle /);
  // The node on PATH another file that runs this node (a version manager's shim): then the version, system
  // and machine the snapshot was made by decide.
  const shims = tempDir("corral-shim-");
  fs.writeFileSync(path.join(shims, "node"), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} "$@"\n`, { mode: 0o755 });
  const shimmed = { PATH: `${shims}:${p.env.PATH ?? process.env.PATH}` };
  fs.copyFileSync(path.join(SNAPSHOT, "made-by"), path.join(bareSnapshot, "made-by"));
  assert.match(startedFrom(launcher, p, shimmed), /^the startup snapshot /);
  fs.writeFileSync(path.join(bareSnapshot, "made-by"), `v0.0.1 ${os.type()} ${os.machine()}\n`);
  assert.match(startedFrom(launcher, p, shimmed), /^the bundle /);
  // Made by this node's file, but before that file last changed (a node replaced in place).
  fs.rmSync(path.join(bareSnapshot, "node"));
  fs.symlinkSync(fs.realpathSync(process.execPath), path.join(bareSnapshot, "node"));
  assert.match(startedFrom(launcher, p), /^the startup snapshot /, "the copied snapshot fits this node");
  const before = fs.statSync(process.execPath).mtime.getTime() / 1000 - 60;
  fs.utimesSync(path.join(bareSnapshot, "corral.blob"), before, before);
  assert.match(startedFrom(launcher, p), /^the bundle /);
  // Called as bin/corral from its own folder (a relative path, also to the bundle node is given).
  assert.match(startedFrom("bin/corral", p, {}, ROOT), /^the startup snapshot /);
  // As `npm link` and node_modules/.bin call it: a symlink, here in a folder with a space in its name.
  const linked = path.join(tempDir("corral-launcher-"), "my tools");
  fs.mkdirSync(linked);
  fs.symlinkSync(CLI, path.join(linked, "corral"));
  assert.match(startedFrom(path.join(linked, "corral"), p), /^the startup snapshot /);
});

test("from the snapshot and from the bundle, a command prints the same and exits with the same code", () => {
  const p = new TestProject();
  p.ok(["submit", "-n", "same", "--", "sh", "-c", "echo out; exit 3"]);
  p.run(["wait"]);
  // Texts with an age in them ("2s") could tick over between the two runs: their JSON forms are compared.
  for (const args of [["ls", "--json"], ["show", "1", "--json"], ["status", "--json"], ["logs", "1"], ["ls", "12x"], ["--version"], ["--help"], ["nonsense"]]) {
    const snap = p.run(args);
    const bundle = p.run(args, { env: { CORRAL_SNAPSHOT: "off" } });
    assert.deepEqual(
      { code: snap.code, stdout: snap.stdout, stderr: snap.stderr },
      { code: bundle.code, stdout: bundle.stdout, stderr: bundle.stderr },
      args.join(" "),
    );
  }
  assert.equal(p.run(["ls", "12x"]).code, 2);
});

test("the launcher execs: the command runs in its process, which a signal stops", async () => {
  const p = new TestProject();
  const root = p.path("drop");
  p.ok(["inbox", root, "--setup"]);
  const child = spawn(CLI, ["inbox", root, "--period", "0.1"], { cwd: p.dir, env: p.env, stdio: "ignore" });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const lock = path.join(root, ".corral-inbox.lock");
  for (let i = 0; i < 300 && !fs.existsSync(lock); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(fs.existsSync(lock), "the watcher took its lock");
  const cmdline = fs.readFileSync(`/proc/${child.pid}/cmdline`, "utf8").split("\0");
  assert.ok(cmdline.includes("--snapshot-blob"), `the process is node itself: ${cmdline.join(" ")}`);
  child.kill("SIGTERM");
  assert.equal(await exited, 0);
});
