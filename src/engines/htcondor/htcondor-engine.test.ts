import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, test } from "node:test";
import { buildJobSpec, commandText } from "../../api/submit.js";
import type { SubmitInput } from "../../domain/submit-input.js";
import { cancelTasks, recordJob } from "../../lifecycle/operations.js";
import { eventCursor } from "../../store/engine-polls.js";
import { taskViews } from "../../store/queries.js";
import { Store } from "../../store/store.js";
import { SchedulerEngine } from "../cluster/scheduler-engine.js";
import { eventLogPath, htcondor } from "./htcondor.js";
import { tempDir } from "../../testing/temp.js";

/**
 * The HTCondor engine driven through TrackedEngine with stand-ins for HTCondor's commands (no schedd is
 * packaged for Debian). The stand-ins write the job event log in the format of the recorded fixtures and run
 * each job's script at once; what a job does is chosen by its name: "held" waits held, "oom" is held for its
 * memory then removed by corral's periodic_remove, "slow" is removed by it for time, "silent" is removed while
 * nothing reaches the log. Every call is logged, so the tests count exactly what corral asked.
 */
const STANDIN = String.raw`
const fs = require("node:fs");
const { spawnSync } = require("node:child_process");
const [cmd, ...args] = process.argv.slice(2);
const dir = process.env.CONDOR_STANDIN_DIR;
fs.appendFileSync(dir + "/calls", cmd + " " + args.join(" ") + "\n");
const stamp = () => new Date().toISOString().replace("T", " ").slice(0, 19);
const event = (log, code, id, text, details = []) =>
  fs.appendFileSync(log, code + " (" + id.cluster + "." + String(id.proc).padStart(3, "0") + ".000) " + stamp() + " " + text + "\n" + details.map((d) => "\t" + d + "\n").join("") + "...\n");
const lines = (file) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : []);
if (cmd === "condor_version") console.log("$CondorVersion: 24.0.1 2024-10-31 BuildID: 765651 PackageID: 24.0.1-1 $");
else if (cmd === "condor_q" && args.includes("-totals")) console.log("Total for all users: 0 jobs; 0 completed, 0 removed, 0 idle, 0 running, 0 held, 0 suspended");
else if (cmd === "condor_q") for (const id of lines(dir + "/queue")) console.log(id + "\t5");
else if (cmd === "condor_history") {
  for (const id of args.filter((a) => /^\d+\.\d+$/.test(a)))
    if (lines(dir + "/removed").includes(id)) console.log(id + "\t3\tundefined\tfalse\tundefined\tvia condor_rm (by user root)");
} else if (cmd === "condor_rm") {
  const sub = fs.readFileSync(dir + "/last-log", "utf8");
  for (const id of args.filter((a) => /^\d+\.\d+$/.test(a))) {
    const [cluster, proc] = id.split(".");
    event(sub, "009", { cluster, proc: Number(proc) }, "Job was aborted.", ["via condor_rm (by user tester)"]);
  }
} else if (cmd === "condor_release") {
  const log = fs.readFileSync(dir + "/last-log", "utf8");
  for (const id of args.filter((a) => /^\d+\.\d+$/.test(a))) {
    const [cluster, proc] = id.split(".").map(Number);
    event(log, "013", { cluster, proc }, "Job was released.", ["via condor_release (by user tester)"]);
    event(log, "001", { cluster, proc }, "Job executing on host: <127.0.0.1:9618>");
    const r = spawnSync("/bin/sh", [fs.readFileSync(dir + "/exec-" + id, "utf8")], { env: { ...process.env, CORRAL_CONDOR_PROCESS: String(proc) } });
    event(log, "005", { cluster, proc }, "Job terminated.", ["(1) Normal termination (return value " + r.status + ")"]);
  }
} else if (cmd === "condor_submit") {
  const desc = fs.readFileSync(args[args.length - 1], "utf8");
  const get = (k) => (new RegExp("^" + k.replace("+", "\\+") + " = (.*)$", "m").exec(desc) || [])[1];
  const log = get("log");
  fs.writeFileSync(dir + "/last-log", log);
  const cluster = 100 + lines(dir + "/calls").filter((l) => l.startsWith("condor_submit")).length;
  const n = Number(/^queue (\d+)$/m.exec(desc)[1]);
  const name = get("batch_name");
  for (let proc = 0; proc < n; proc++) {
    const id = { cluster, proc };
    event(log, "000", id, "Job submitted from host: <127.0.0.1:9618?addrs=127.0.0.1-9618>");
    fs.appendFileSync(log, "028 (" + cluster + "." + String(proc).padStart(3, "0") + ".000) " + stamp() + " Job ad information event triggered.\nCorralComment = " + get("+CorralComment") + "\n...\n");
    if (name === "held") {
      event(log, "012", id, "Job was held.", ["via condor_hold (by user tester)", "Code 1 Subcode 0"]);
      fs.appendFileSync(dir + "/queue", cluster + "." + proc + "\n");
      fs.writeFileSync(dir + "/exec-" + cluster + "." + proc, get("executable"));
    } else if (name === "oom") {
      event(log, "001", id, "Job executing on host: <127.0.0.1:9618>");
      event(log, "012", id, "Job was held.", ["Error from slot1@vm: Job has gone over cgroup memory limit of 100 megabytes.", "Code 34 Subcode 0"]);
      event(log, "009", id, "Job was aborted.", ["The job attribute PeriodicRemove expression '" + get("periodic_remove") + "' evaluated to TRUE"]);
    } else if (name === "slow") {
      event(log, "001", id, "Job executing on host: <127.0.0.1:9618>");
      event(log, "009", id, "Job was aborted.", ["The job attribute PeriodicRemove expression '" + get("periodic_remove") + "' evaluated to TRUE"]);
    } else if (name === "silent") {
      fs.appendFileSync(dir + "/removed", cluster + "." + proc + "\n");
    } else {
      event(log, "001", id, "Job executing on host: <127.0.0.1:9618>");
      const r = spawnSync("/bin/sh", [get("executable")], { env: { ...process.env, CORRAL_CONDOR_PROCESS: String(proc) } });
      event(log, "005", id, "Job terminated.", [
        "(1) Normal termination (return value " + r.status + ")",
        "\tUsr 0 00:00:03, Sys 0 00:00:01  -  Run Remote Usage",
        "\tUsr 0 00:00:00, Sys 0 00:00:00  -  Run Local Usage",
        "\tUsr 0 00:00:03, Sys 0 00:00:01  -  Total Remote Usage",
        "\tUsr 0 00:00:00, Sys 0 00:00:00  -  Total Local Usage",
        "Partitionable Resources :    Usage  Request Allocated",
        "   Cpus                 :                 1         1",
        "   Memory (MB)          :      306     1024      1024",
      ]);
    }
  }
  console.log(cluster + ".0 - " + cluster + "." + (n - 1));
}
`;

const dir = tempDir("corral-condor-");
const bin = path.join(dir, "bin");
const store = Store.open({ path: path.join(dir, "project", ".corral", "corral.db"), create: true });
const engine = new SchedulerEngine(htcondor);
const saved = { PATH: process.env.PATH, CONDOR_STANDIN_DIR: process.env.CONDOR_STANDIN_DIR };
const calls = () => fs.readFileSync(path.join(dir, "calls"), "utf8").split("\n").filter(Boolean);

before(() => {
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(dir, "standin.cjs"), STANDIN);
  for (const cmd of ["condor_version", "condor_q", "condor_submit", "condor_rm", "condor_release", "condor_history"])
    fs.writeFileSync(path.join(bin, cmd), `#!/bin/sh\nexec '${process.execPath}' '${dir}/standin.cjs' ${cmd} "$@"\n`, { mode: 0o755 });
  process.env.PATH = `${bin}:${process.env.PATH}`;
  process.env.CONDOR_STANDIN_DIR = dir;
});
after(() => {
  process.env.PATH = saved.PATH;
  process.env.CONDOR_STANDIN_DIR = saved.CONDOR_STANDIN_DIR;
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function submit(input: SubmitInput): number {
  const spec = { ...buildJobSpec(input, path.join(dir, "project")), engine: "htcondor" };
  const id = recordJob(store, spec, commandText(spec.argv, null));
  engine.submitJob(store, id);
  return id;
}
const task = (id: number, index?: number) => taskViews(store, id).find((t) => index === undefined || t.index === index)!;

test("jobs and an array end through the event log alone: no condor_q and no condor_history call, and the log's position is kept", () => {
  const ok = submit({ command: ["true"], name: "ok" });
  const bad = submit({ command: ["sh", "-c", "exit 3"], name: "bad" });
  const arr = submit({ command: ["sh", "-c", 'echo "task $CORRAL_TASK_ID"'], name: "arr", array: "4-6" });
  const before = calls().length;
  // The markers already tell these: a refresh reads them and asks HTCondor nothing.
  engine.refresh(store, { force: true });
  assert.deepEqual(calls().slice(before), []);
  assert.equal(task(ok).lifecycleState, "succeeded");
  assert.equal(task(bad).exitCode, 3);
  assert.deepEqual(
    taskViews(store, arr).map((t) => [t.index, t.lifecycleState]),
    [
      [4, "succeeded"],
      [5, "succeeded"],
      [6, "succeeded"],
    ],
  );
  assert.deepEqual(
    taskViews(store, arr).map((t) => t.attempts[0]!.engineId),
    ["103.0", "103.1", "103.2"],
    "one cluster for the array: corral index = $(Process) + 4",
  );
  assert.equal(calls().filter((c) => c.startsWith("condor_submit")).length, 3);
});

test("removals corral's periodic_remove made are TIMEOUT and OUT_OF_MEMORY in show, from the log, with no other call", () => {
  const slow = submit({ command: ["sleep", "100"], name: "slow", time: "1m" });
  const oom = submit({ command: ["true"], name: "oom", mem: "100M" });
  const before = calls().length;
  engine.refresh(store, { force: true });
  assert.deepEqual(calls().slice(before), [], "the log told everything");
  assert.equal(task(slow).lifecycleState, "failed");
  assert.match(task(slow).reason ?? "", /^TIMEOUT: exceeded the time limit of 00:01:00 \(htcondor: aborted: The job attribute PeriodicRemove expression/);
  assert.match(task(oom).reason ?? "", /^OUT_OF_MEMORY: exceeded the memory limit of 100M \(htcondor: aborted: /);
  assert.equal(eventCursor(store, "htcondor") !== null && JSON.parse(eventCursor(store, "htcondor")!).offset, fs.statSync(eventLogPath(store.dir)).size);
});

test("a held job is shown held with HTCondor's reason; release runs it with one condor_release, cancel removes one with one condor_rm", () => {
  const held = submit({ command: ["sh", "-c", "echo released"], name: "held" });
  const doomed = submit({ command: ["true"], name: "held" });
  engine.refresh(store, { force: true });
  assert.equal(task(held).lifecycleState, "queued");
  assert.match(
    task(held).reason ?? "",
    /^waiting in htcondor: held: via condor_hold \(by user tester\) \(HoldReasonCode 1\); release with condor_release 10\d\.0$/,
  );
  let before = calls().length;
  engine.releaseHeld(store, [held]);
  assert.deepEqual(
    calls()
      .slice(before)
      .map((c) => c.split(" ")[0]),
    ["condor_release"],
  );
  engine.refresh(store, { force: true });
  assert.equal(task(held).lifecycleState, "succeeded");
  cancelTasks(store, [{ jobId: doomed, index: task(doomed).index }]);
  before = calls().length;
  engine.cancel(store);
  assert.deepEqual(
    calls()
      .slice(before)
      .map((c) => c.split(" ")[0]),
    ["condor_rm"],
  );
  engine.refresh(store, { force: true });
  assert.equal(task(doomed).lifecycleState, "cancelled");
  assert.equal(task(doomed).reason, "cancelled by user");
});

test("a job silent in the log is looked for with one condor_q; gone from the queue, condor_history tells how it left", () => {
  process.env.CORRAL_SILENT_CHECK_S = "0";
  try {
    const silent = submit({ command: ["true"], name: "silent" });
    const before = calls().length;
    engine.refresh(store, { force: true });
    assert.deepEqual(
      calls()
        .slice(before)
        .map((c) => c.split(" ")[0]),
      ["condor_q", "condor_history"],
    );
    assert.equal(task(silent).lifecycleState, "cancelled");
    assert.match(task(silent).reason ?? "", /^cancelled outside corral \(htcondor: removed: via condor_rm \(by user root\)\)$/);
  } finally {
    delete process.env.CORRAL_SILENT_CHECK_S;
  }
});

test("what a job used comes with its terminate event: recorded for the attempt, with no condor_history call", () => {
  const used = submit({ command: ["true"], name: "used", mem: "1G" });
  const before = calls().length;
  engine.refresh(store, { force: true });
  engine.refresh(store, { force: true });
  assert.deepEqual(calls().slice(before), [], "the log told everything");
  assert.equal(task(used).lifecycleState, "succeeded");
  assert.deepEqual(task(used).attempts[0]!.usage, { cpuS: 4, maxRssMb: 306, allocCpus: 1, allocMemMb: 1024, allocTimeS: null, source: "htcondor event log" });
});
