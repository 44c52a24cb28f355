import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { AttemptRow } from "../../store/rows.js";
import { SchedulerUnavailable } from "../cluster/run-command.js";
import { dialectFromVersion, observationOf, pbs, proCapsArrays, qsubRefusal } from "./pbs.js";
import { liveJobOf, parseQstatJson, parseQstatText, pbsSizeMb, usageOfRecord, verdictOfRecord, type QstatRecord } from "./qstat-records.js";
import { tempDir } from "../../testing/temp.js";

const fixture = (name: string) => fs.readFileSync(fileURLToPath(new URL(`../../../src/engines/pbs/fixtures/${name}`, import.meta.url)), "utf8");
const attempt = (engineId: string, submittedAt = 1796110000): AttemptRow =>
  ({ id: Number(engineId.replace(/\D/g, "")), engine_id: engineId, submitted_at: submittedAt }) as AttemptRow;
const byId = (records: QstatRecord[]) => new Map(records.map((r) => [r.id, r]));

test("a PBS Professional listing: queued with the scheduler's reason, running, held with how to release, other users' jobs left out", () => {
  const seen = observationOf(parseQstatJson(fixture("pro-qstat-f.json")), [], "pro", "alice");
  assert.deepEqual(seen.live.get("101.pbs01"), {
    state: "Q",
    running: false,
    reason: "Not Running: Insufficient amount of resource: ncpus (R: 8 A: 4 T: 4)",
  });
  assert.deepEqual(seen.live.get("102.pbs01"), { state: "R", running: true, reason: null });
  assert.match(seen.live.get("103.pbs01")!.reason!, /^held \(Hold_Types u\): release it with qrls 103\.pbs01$/);
  assert.equal(seen.live.has("105.pbs01"), false, "bob's job is not the project's");
  assert.deepEqual(seen.live.get("107.pbs01"), { state: "Z", running: false, reason: null }, "an unknown state is a job still there, never a failure");
});

test("PBS Professional subjobs: finished ones (X) are not live and say why; one without its own line is live while its parent still has its index", () => {
  const attempts = ["104[1].pbs01", "104[3].pbs01", "104[5].pbs01", "104[7].pbs01", "104[9].pbs01"].map((id) => attempt(id));
  const seen = observationOf(parseQstatJson(fixture("pro-qstat-f.json")), attempts, "pro", "alice");
  assert.equal(seen.live.has("104[1].pbs01"), false);
  assert.equal(seen.fates.has("104[1].pbs01"), false, "exit 0: the markers tell the rest");
  assert.equal(seen.fates.get("104[3].pbs01")?.keyword, "TIMEOUT");
  assert.equal(seen.live.get("104[5].pbs01")?.running, true);
  assert.equal(seen.live.get("104[7].pbs01")?.state, "B", "7 is in array_indices_remaining: live through the parent");
  assert.equal(seen.live.has("104[9].pbs01"), false, "9 is not: it left");
});

test("PBS Professional's finished records name each way a job ends", () => {
  const records = byId(parseQstatJson(fixture("pro-qstat-x.json")));
  const verdict = (id: string) => verdictOfRecord(records.get(id)!, "pro");
  assert.equal(verdict("201.pbs01")?.kind, "ended");
  assert.equal(verdict("202.pbs01")?.kind, "ended", "the script's own status: the markers decide");
  assert.deepEqual(
    ["203.pbs01", "204.pbs01", "205.pbs01", "206.pbs01", "207.pbs01", "209[2].pbs01"].map((id) => [verdict(id)?.kind, verdict(id)?.keyword]),
    [
      ["failed", "TIMEOUT"],
      ["failed", "OUT_OF_MEMORY"],
      ["cancelled", "CANCELLED"],
      ["failed", "TIMEOUT"],
      ["failed", "JOB_EXEC -1"],
      ["failed", "OUT_OF_MEMORY"],
    ],
  );
  assert.match(verdict("203.pbs01")!.detail, /Exit_status -29, ran 62 s of walltime 60 s/);
});

test("the accounting call is one qstat -x for all the attempts, and keeps only records of our own submissions", () => {
  // A stand-in qstat that logs its arguments and prints the recorded answer.
  const dir = tempDir("corral-pbs-qstat-");
  const answer = path.join(dir, "answer.json");
  fs.writeFileSync(answer, fixture("pro-qstat-x.json"));
  fs.writeFileSync(path.join(dir, "qstat"), `#!/bin/sh\necho "$@" >> '${dir}/calls'\ncat '${answer}'\n`, { mode: 0o755 });
  const saved = process.env.PATH;
  process.env.PATH = `${dir}:${saved}`;
  try {
    const submitted = Date.parse("Tue Dec 1 07:49:00 2026") / 1000;
    const rows = ["203.pbs01", "205.pbs01", "208.pbs01", "201.pbs01"].map((id, i) => ({ ...attempt(id, submitted), id: i + 1 }));
    const verdicts = pbs.account!(rows, "pro");
    assert.deepEqual(
      [...verdicts].map(([id, v]) => [id, v.keyword]),
      [
        [1, "TIMEOUT"],
        [2, "CANCELLED"],
        [4, "ENDED"],
      ],
      "208's record is older than the submission: a reused id, someone else's",
    );
    assert.equal(fs.readFileSync(path.join(dir, "calls"), "utf8"), "-x -f -F json -t 203.pbs01 205.pbs01 208.pbs01 201.pbs01\n");
    assert.equal(pbs.account!(rows, "torque").size, 0, "Torque's finished jobs come with the listing: no call");
    assert.equal(fs.readFileSync(path.join(dir, "calls"), "utf8").split("\n").length, 2);
  } finally {
    process.env.PATH = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a Torque listing: text with continued values, an array summary standing for its subjobs, completed jobs' exit statuses", () => {
  const records = parseQstatText(fixture("torque-qstat-f.txt"));
  assert.equal(records.length, 8);
  assert.match(byId(records).get("301.torque01")!.attrs.get("Variable_List")!, /PBS_O_QUEUE=batch,.*PBS_O_LOGNAME=alice,PBS_O_WORKDIR=/);
  const seen = observationOf(records, [attempt("303[5].torque01"), attempt("304.torque01")], "torque", "alice");
  assert.equal(seen.live.get("303[5].torque01")?.running, true, "live through its array's summary line");
  assert.equal(seen.live.has("302.torque01") && seen.live.get("302.torque01")!.reason!.startsWith("held"), true);
  assert.equal(seen.live.has("308.torque01"), false);
  assert.deepEqual(
    ["304.torque01", "305.torque01", "306.torque01", "307.torque01"].map((id) => seen.fates.get(id)?.keyword ?? null),
    ["TIMEOUT", "OUT_OF_MEMORY", "CANCELLED", null],
  );
});

test("Slurm's Torque front end: a walltime kill is told by the record's own start and end; array tasks are live through the array's id", () => {
  const records = parseQstatText(fixture("front-end-qstat-f.txt"));
  const seen = observationOf(records, [attempt("40[3]"), attempt("29")], "torque", "root");
  assert.deepEqual(seen.fates.get("29"), {
    kind: "failed",
    keyword: "TIMEOUT",
    detail: "job_state C, ran 61 s of walltime 60 s",
  });
  assert.equal(seen.live.get("40[3]")?.state, "Q");
  assert.equal(seen.live.get("42")?.running, true);
});

test("unreadable listings: truncated JSON is no answer at all; truncated text keeps the whole records; an empty listing is no jobs", () => {
  const json = fixture("pro-qstat-f.json");
  assert.throws(() => parseQstatJson(json.slice(0, json.length / 2)), SchedulerUnavailable);
  assert.deepEqual(parseQstatJson(""), []);
  const text = fixture("torque-qstat-f.txt");
  const cut = parseQstatText(text.slice(0, text.indexOf("Job Id: 303")));
  assert.deepEqual(
    cut.map((r) => r.id),
    ["301.torque01", "302.torque01"],
  );
  assert.deepEqual(parseQstatText("garbage\n= = =\n"), []);
  assert.equal(liveJobOf({ id: "1", attrs: new Map() }).state, "?");
});

test("task ids follow PBS's grammar, with or without a server suffix", () => {
  assert.equal(pbs.taskId("12[].pbs01", 4), "12[4].pbs01");
  assert.equal(pbs.taskId("12", 4), "12[4]", "the front end prints the bare number");
  assert.equal(pbs.taskId("13.pbs01", null), "13.pbs01");
  assert.equal(pbs.jobIdOf("12[4].pbs01"), "12[].pbs01");
  assert.equal(pbs.indexOfTask("12[4].pbs01", 100), 104);
  assert.equal(pbs.indexOfTask("13.pbs01", 0), null);
});

test("the dialect comes from qstat --version, and PBS Professional caps subjobs only from 2020 on", () => {
  assert.deepEqual(dialectFromVersion("pbs_version = 2022.1.1\n"), { dialect: "pro", version: "2022.1.1" });
  assert.deepEqual(dialectFromVersion("Version: 6.1.2\nCommit: abc\n"), { dialect: "torque", version: "6.1.2" });
  assert.deepEqual(dialectFromVersion(""), { dialect: "torque", version: null });
  assert.equal(proCapsArrays("19.1.3"), false);
  assert.equal(proCapsArrays("2020.1"), true);
  assert.equal(proCapsArrays("20.0.1"), true, "OpenPBS numbers its releases 20, 22, 23");
});

test("the front end's refusal is sbatch's own words on one line", () => {
  assert.equal(
    qsubRefusal(fixture("front-end-qsub-refused.txt").split("\n").join("; ")),
    "qsub: sbatch: error: invalid partition specified: no_such_queue; sbatch: error: Batch job submission failed: Invalid partition name specified",
  );
  assert.equal(qsubRefusal("qsub: Unknown queue"), "qsub: Unknown queue");
});

test("an array cap on a PBS Professional server that cannot cap subjobs is refused with one line; Torque and newer servers take it", () => {
  const dir = tempDir("corral-pbs-cap-");
  const spec = { array: { cap: 8 }, resources: { gpus: 0 } } as never;
  const probe = (arrayCaps: boolean) => ({ usable: true, lines: [], maxArrayIndex: null, accounting: true, dialect: "pro", arrayCaps });
  assert.throws(
    () => pbs.checkResources(spec, dir, probe(false)),
    /^UsageError: --array %8: this PBS Professional server cannot cap running subjobs \(it came with 2020\.1\); drop the cap$/,
  );
  assert.doesNotThrow(() => pbs.checkResources(spec, dir, probe(true)));
  fs.writeFileSync(path.join(dir, "config.toml"), '[pbs]\ndialect = "PBSPro"\n');
  assert.throws(() => pbs.checkResources(spec, dir, probe(true)), /\[pbs\] dialect: expected "pro"/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("finished PBS records give what the job used: cput and mem of all its processes, and what it was granted", () => {
  const pro = byId(parseQstatJson(fixture("pro-qstat-x-usage.json")));
  const source = "qstat resources_used";
  assert.deepEqual(usageOfRecord(pro.get("301.pbs01")!), { cpuS: 0, maxRssMb: 306.3, allocCpus: 1, allocMemMb: 1024, allocTimeS: 600, source });
  assert.deepEqual(usageOfRecord(pro.get("302.pbs01")!), { cpuS: 8, maxRssMb: 11, allocCpus: 2, allocMemMb: 512, allocTimeS: 600, source });
  assert.deepEqual(usageOfRecord(pro.get("303.pbs01")!), { cpuS: 60, maxRssMb: 2, allocCpus: 1, allocMemMb: null, allocTimeS: 60, source });
  assert.equal(usageOfRecord(pro.get("304.pbs01")!), undefined, "never ran: nothing measured");
  assert.equal(usageOfRecord(pro.get("305.pbs01")!), undefined, "still running: not complete");

  const torque = parseQstatText(fixture("torque-qstat-f-usage.txt"));
  assert.deepEqual(usageOfRecord(byId(torque).get("411.torque01")!), { cpuS: 8, maxRssMb: 11, allocCpus: 2, allocMemMb: 512, allocTimeS: 600, source });
  const seen = observationOf(torque, [], "torque", "alice");
  assert.equal(seen.fates.get("412.torque01")!.keyword, "OUT_OF_MEMORY");
  assert.equal(seen.fates.get("412.torque01")!.usage!.maxRssMb, 102, "a fate carries the usage of its record");
  assert.equal(seen.fates.has("411.torque01"), false, "a clean end is the markers' to tell");

  assert.equal(pbsSizeMb("1gb"), 1024);
  assert.equal(pbsSizeMb("2w"), 16 / 1024 / 1024);
  assert.equal(pbsSizeMb("4096"), 4096 / 1024 / 1024);
  assert.equal(pbsSizeMb("lots"), null);
});

test("PBS Professional's accounting call brings usage for clean ends too, in the same one qstat -x", () => {
  const dir = tempDir("corral-pbs-qstat-");
  fs.writeFileSync(path.join(dir, "answer.json"), fixture("pro-qstat-x-usage.json"));
  fs.writeFileSync(path.join(dir, "qstat"), `#!/bin/sh\necho "$@" >> '${dir}/calls'\ncat '${dir}/answer.json'\n`, { mode: 0o755 });
  const saved = process.env.PATH;
  process.env.PATH = `${dir}:${saved}`;
  try {
    const submitted = Date.parse("Tue Dec 1 07:49:00 2026") / 1000;
    const rows = ["301.pbs01", "302.pbs01", "303.pbs01", "305.pbs01"].map((id, i) => ({ ...attempt(id, submitted), id: i + 1 }));
    const verdicts = pbs.account!(rows, "pro");
    assert.deepEqual(
      [...verdicts].map(([id, v]) => [id, v.kind, v.usage?.cpuS]),
      [
        [1, "ended", 0],
        [2, "ended", 8],
        [3, "failed", 60],
      ],
    );
    assert.equal(fs.readFileSync(path.join(dir, "calls"), "utf8"), "-x -f -F json -t 301.pbs01 302.pbs01 303.pbs01 305.pbs01\n");
  } finally {
    process.env.PATH = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
