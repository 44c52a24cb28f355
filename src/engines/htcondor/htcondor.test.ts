import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { effectOf, parseEvents } from "./event-log.js";
import { htcondor, parseAutoformat, readLog, scheddArgs, storedCursor, submitDescription, verdictOfHistory, type LogCursor } from "./htcondor.js";
import type { SubmissionRequest } from "../cluster/backend.js";
import type { JobRow } from "../../store/rows.js";

const fixture = (name: string) => fs.readFileSync(fileURLToPath(new URL(`../../../src/engines/htcondor/fixtures/${name}`, import.meta.url)), "utf8");
const WATCHED = ["501.0", "501.1", "501.2", "502.0", "503.0", "504.0", "505.0"];

test("the event log's complete events are read; the one still being written is left for next time", () => {
  const log = fixture("events.log");
  const { events, consumed } = parseEvents(log);
  assert.equal(events.at(-1)!.code, 5, "the last complete event: 503.0 terminated");
  assert.ok(log.slice(consumed).startsWith("001 (505.000.000)"), "reading stops at the unfinished event");
  assert.deepEqual(
    [...new Set(events.map((e) => e.code))].sort((a, b) => a - b),
    [0, 1, 4, 5, 6, 7, 9, 10, 11, 12, 13, 28, 40],
  );
});

test("every way a job ends, as the log tells it: return values and signals go to the markers, removals are named", () => {
  const { fates, cursor, comments } = readLog(fixture("events.log"), null, WATCHED, 1000);
  const summary = Object.fromEntries([...fates].map(([id, v]) => [id, `${v.kind} ${v.keyword}: ${v.detail}`]));
  assert.deepEqual(summary, {
    "501.0": "ended ENDED: terminated: Normal termination (return value 0)",
    "501.1": "ended ENDED: terminated: Abnormal termination (signal 9)",
    "501.2": `failed OUT_OF_MEMORY: aborted: The job attribute PeriodicRemove expression '((JobStatus == 2) && (time() - EnteredCurrentStatus > 60)) || ((JobStatus == 5) && (HoldReasonCode == 34))' evaluated to TRUE`,
    "502.0":
      "failed TIMEOUT: aborted: The job attribute PeriodicRemove expression '(JobStatus == 2) && (time() - EnteredCurrentStatus > 60)' evaluated to TRUE",
    "503.0": "ended ENDED: terminated: Normal termination (return value 3)",
    "504.0": "cancelled CANCELLED: aborted: via condor_rm (by user alice)",
  });
  assert.deepEqual(Object.keys(cursor.jobs), ["505.0"], "only a job still there is remembered");
  assert.match(cursor.jobs["505.0"]!.reason!, /^shadow exception: Error from slot1_1@node7: Failed to execute/);
  assert.equal(comments.get("501.0"), "corral:tag1:7:1:0", "the comment comes with the log (job_ad_information_attrs)");
});

test("reading on from the cursor sees only what was appended; held, evicted, suspended and released jobs keep their news", () => {
  const log = fixture("events.log");
  const cut = log.indexOf("013 (503.000.000)");
  const first = readLog(log.slice(0, cut), null, WATCHED, 1000);
  assert.equal(first.cursor.offset, Buffer.byteLength(log.slice(0, cut)));
  assert.equal(first.cursor.jobs["503.0"]!.state, "held");
  assert.equal(first.cursor.jobs["503.0"]!.reason, "held: via condor_hold (by user alice) (HoldReasonCode 1); release with condor_release 503.0");
  const evicted = readLog(log.slice(0, log.indexOf("001 (501.001.000) 2026-12-01 07:52:00")), null, WATCHED, 1000);
  assert.deepEqual(evicted.cursor.jobs["501.1"]!.state, "idle", "evicted and not yet back");
  assert.match(evicted.cursor.jobs["501.1"]!.reason ?? "", /^evicted from its machine \(preempted: Job was not checkpointed\.\); waiting to run again$/);
  const stored = JSON.parse(JSON.stringify(first.cursor)) as LogCursor;
  const second = readLog(log, stored, WATCHED, 2000);
  assert.deepEqual([...second.fates.keys()], ["504.0", "503.0"], "earlier fates are not told twice");
  assert.equal(second.cursor.jobs["505.0"]!.state, "idle");
  // A job released and suspended in between: its last news is what counts.
  const upToSuspend = readLog(log.slice(0, log.indexOf("011 (503.000.000)")), stored, WATCHED, 1500);
  assert.equal(upToSuspend.cursor.jobs["503.0"]!.state, "suspended");
});

test("a damaged or replaced log: stray lines are skipped, an unknown event changes nothing, a shorter log is read from the start", () => {
  const log = fixture("events.log");
  const damaged = `garbage line\n${log.slice(0, log.indexOf("001 (501.000.000)"))}999 (501.000.000) 2026-12-01 07:50:01 Some future event\n...\n`;
  const read = readLog(damaged, null, WATCHED, 10);
  assert.equal(read.cursor.jobs["501.0"]!.state, "idle");
  assert.equal(read.cursor.offset, Buffer.byteLength(damaged));
  const replaced = readLog("", { offset: 99_999, jobs: {}, checkedAt: 5 }, WATCHED, 10);
  assert.equal(replaced.cursor.offset, 0);
  assert.equal(replaced.cursor.checkedAt, 5);
  assert.equal(effectOf({ code: 42, id: "1.0", text: "", details: [] }, undefined, 0), null);
  assert.equal(storedCursor("1234"), null, "a cursor corral cannot read: the log is read from the start");
  assert.equal(storedCursor("{not json"), null);
  assert.deepEqual(storedCursor('{"offset":5,"jobs":{},"checkedAt":0}'), { offset: 5, jobs: {}, checkedAt: 0 });
});

test("condor_history's records: completed goes to the markers, condor_rm is cancelled, corral's periodic_remove is TIMEOUT", () => {
  const records = parseAutoformat(fixture("condor_history.txt"));
  assert.deepEqual(
    [...records].map(([id, f]) => [id, verdictOfHistory(f)?.keyword ?? null]),
    [
      ["601.0", "ENDED"],
      ["601.1", "ENDED"],
      ["602.0", "CANCELLED"],
      ["603.0", "TIMEOUT"],
      ["604.0", null],
    ],
  );
  assert.equal(verdictOfHistory(records.get("601.1")!)!.detail, "completed by signal 9");
});

test("a submit description per chunk: the script as executable, queue N indexed by $(Process), the project's one log", () => {
  const job = { id: 7, name: "fit", cpus: 2, mem_mb: 512, time_limit_s: 90, gpus: 0, queue: null } as JobRow;
  const req = {
    job,
    attemptN: 1,
    offset: 5,
    range: "0-2",
    singleIndex: null,
    indices: [5, 6, 7],
    projectDir: "/p/.corral",
    comment: "corral:t:7:1:5",
    logDir: "/p/.corral/runs/7",
  } as unknown as SubmissionRequest;
  const sub = submitDescription("/p/.corral/runs/7/submit-1-5.sh", req);
  for (const line of [
    "executable = /p/.corral/runs/7/submit-1-5.sh",
    "request_cpus = 2",
    "request_memory = 512",
    "periodic_remove = ((JobStatus == 2) && (time() - EnteredCurrentStatus > 90)) || ((JobStatus == 5) && (HoldReasonCode == 34))",
    'environment = "CORRAL_CONDOR_PROCESS=$(Process)"',
    "log = /p/.corral/htcondor/events.log",
    '+CorralComment = "corral:t:7:1:5"',
    "queue 3",
  ])
    assert.ok(sub.split("\n").includes(line), `${line}\n---\n${sub}`);
  assert.equal(htcondor.taskId("505", 2), "505.2");
  assert.equal(htcondor.indexOfTask("505.2", 5), 7);
  assert.equal(htcondor.jobIdOf("505.2"), "505");
});

test("[htcondor] schedd and pool become -name/-pool; anything else there is refused with the key", () => {
  assert.deepEqual(scheddArgs({ schedd: "submit.fnal.gov", pool: "cm.fnal.gov" }), ["-name", "submit.fnal.gov", "-pool", "cm.fnal.gov"]);
  assert.throws(() => scheddArgs({ schedd: 3 }), /^UsageError: \[htcondor\] schedd: expected a host name$/);
  assert.equal(fixture("condor_submit-terse.txt").trim(), "505.0 - 505.9");
});

test("a terminate event tells what the job used: its run's CPU, the resource table's memory usage and allocation", () => {
  const { events } = parseEvents(fixture("events-usage.log"));
  const usage = (id: string) => {
    const e = events.find((x) => x.id === id && x.code === 5)!;
    const effect = effectOf(e, undefined, 0);
    return effect !== null && "fate" in effect ? effect.fate.usage : undefined;
  };
  const source = "htcondor event log";
  assert.deepEqual(usage("601.0"), { cpuS: 0, maxRssMb: 306, allocCpus: 1, allocMemMb: 1024, allocTimeS: null, source });
  assert.deepEqual(usage("601.1"), { cpuS: 8, maxRssMb: 11, allocCpus: 2, allocMemMb: 512, allocTimeS: null, source }, "with the Assigned column");
  assert.deepEqual(
    usage("601.2"),
    { cpuS: 3630, maxRssMb: null, allocCpus: null, allocMemMb: null, allocTimeS: null, source },
    "the run, not the evicted ones before it",
  );
  assert.equal(htcondor.usageInObservation, true);
  // The older fixture's terminate events have a table with a blank Cpus usage column.
  const old = parseEvents(fixture("events.log")).events.find((x) => x.id === "501.0" && x.code === 5)!;
  const fate = effectOf(old, undefined, 0) as { fate: { usage: { maxRssMb: number; allocCpus: number } } };
  assert.equal(fate.fate.usage.maxRssMb, 3);
  assert.equal(fate.fate.usage.allocCpus, 1);
});
