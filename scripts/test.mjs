#!/usr/bin/env node
// Runs every test file under dist/ with Node's test runner, four files at a time, the longest first: the
// CPU-bound concurrency test starts beside the cluster suites, which mostly wait on their daemons, and the
// many short files fill in after. On the 2-core CI machine this packing, not the number of lanes, decides
// how long the suite takes. Extra arguments go to `node --test` (e.g. --test-name-pattern).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

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
const r = spawnSync(process.execPath, ["--test", "--test-concurrency=4", ...process.argv.slice(2), ...ordered.map((f) => path.join(root, f))], { stdio: "inherit" });
process.exit(r.status ?? 1);
