#!/usr/bin/env node
// Runs every test file under dist/ with Node's test runner, four files at a time, the longest first: the
// CPU-bound concurrency test starts beside the cluster suites, which mostly wait on their daemons, and the
// many short files fill in after. On the 2-core CI machine this packing, not the number of lanes, decides
// how long the suite takes. Extra arguments go to `node --test` (e.g. --test-name-pattern).
//
// The TAP output passes through unchanged, except that a digest of the failed tests (name, file, error) is
// printed as TAP comments just before the closing summary: CI keeps only the tail of a long log, and a
// failure far up in it would otherwise be out of sight.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "dist");
const LONGEST_FIRST = [
  "cli/concurrency.test.js",
  "engines/slurm/slurm-engine.test.js",
  "engines/sge/sge-engine.test.js",
  "engines/pbs/pbs-engine.test.js",
  "inbox/inbox.test.js",
  "engines/redis/redis-engine.test.js",
  "server/dashboard.test.js",
  "engines/local/supervisor.test.js",
  "cli/jobs.test.js",
  "cli/dependencies.test.js",
  "cli/workflow.test.js",
];
const all = [];
(function walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith(".test.js")) all.push(path.relative(root, p));
  }
})(root);
const ordered = [...LONGEST_FIRST.filter((f) => all.includes(f)), ...all.filter((f) => !LONGEST_FIRST.includes(f)).sort()];
const child = spawn(process.execPath, ["--test", "--test-concurrency=4", ...process.argv.slice(2), ...ordered.map((f) => path.join(root, f))], {
  stdio: ["inherit", "pipe", "inherit"],
});

/** Failures seen so far: the `not ok` line and the diagnostic lines that say where and why. */
const failures = [];
let current = null;
/** The closing plan and summary, held back until the digest is printed. */
const tail = [];
const KEEP = /^\s*(location|error|code|failureType|expected|actual|operator):|^\s{4,}\S/;
const rl = readline.createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY });
rl.on("line", (line) => {
  if (tail.length > 0 || /^1\.\.\d+$/.test(line)) {
    tail.push(line);
    return;
  }
  process.stdout.write(`${line}\n`);
  if (/^\s*not ok \d+ - /.test(line)) {
    current = { title: line.trim(), details: [] };
    failures.push(current);
  } else if (current && /^\s*\.\.\.$/.test(line)) current = null;
  else if (current && KEEP.test(line) && current.details.length < 12) current.details.push(line.trim().slice(0, 300));
});
child.on("close", (code) => {
  // A `not ok` whose only reason is failed subtests says nothing the subtests do not.
  const telling = failures.filter((f) => !f.details.some((d) => /subtestsFailed/.test(d)));
  if (telling.length > 0) {
    process.stdout.write(`# ${telling.length} failed:\n`);
    for (const f of telling.slice(0, 30)) {
      process.stdout.write(`# ${f.title}\n`);
      for (const d of f.details) process.stdout.write(`#     ${d}\n`);
    }
  }
  for (const line of tail) process.stdout.write(`${line}\n`);
  process.exit(code ?? 1);
});
