import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSacct, parseSqueue, sacctDurationS, sacctMemory } from "./slurm.js";

// Recorded from Slurm 22.05.8 on this project's CI machine (squeue -h -r -o '%F|%K|%T|%r|%k').
const SQUEUE = [
  "41|N/A|RUNNING|None|corral:a32c65cf:1:1:0",
  "42|2|PENDING|JobArrayTaskLimit|corral:a32c65cf:2:1:0",
  "42|[3-5]|PENDING|JobArrayTaskLimit|corral:a32c65cf:2:1:0",
  "42|1|RUNNING|None|corral:a32c65cf:2:1:0",
  "43|N/A|PENDING|Dependency|someone else's job",
  "44|N/A|PENDING|DependencyNeverSatisfied|corral:0badc0de:9:1:0",
].join("\n");

test("squeue: this project's tasks by id, array ranges expanded, other jobs ignored", () => {
  const { live, comments } = parseSqueue(SQUEUE, "a32c65cf");
  assert.deepEqual([...live.keys()].sort(), ["41", "42_1", "42_2", "42_3", "42_4", "42_5"]);
  assert.equal(live.get("41")!.running, true);
  assert.equal(live.get("42_4")!.running, false);
  assert.equal(live.get("42_4")!.reason, "JobArrayTaskLimit");
  assert.equal(comments.get("42_2"), "corral:a32c65cf:2:1:0");
});

// sacct -P -n -o JobID,State,ExitCode,Submit,TotalCPU,MaxRSS,AllocCPUS,ReqMem,Timelimit,NNodes (job lines only)
const SACCT = [
  "50|COMPLETED|0:0|2026-11-23T01:51:57",
  "51|FAILED|3:0|2026-11-23T01:51:57",
  "52|CANCELLED by 0|0:0|2026-11-23T01:51:58",
  "53|TIMEOUT|0:0|2026-11-23T01:51:59",
  "54|OUT_OF_MEMORY|0:125|2026-11-23T01:52:00",
  "55_[2-3]|CANCELLED by 0|0:0|2026-11-23T01:52:01",
  "56|RUNNING|0:0|2026-11-23T01:52:02",
].join("\n");

test("sacct: killed jobs get their reason, normal ends defer to markers, collapsed array tasks expand", () => {
  const r = parseSacct(SACCT);
  assert.equal(r.get("50")!.verdict.kind, "ended");
  assert.equal(r.get("51")!.verdict.kind, "ended");
  assert.deepEqual(r.get("52")!.verdict, { kind: "cancelled", keyword: "CANCELLED", detail: "CANCELLED by 0, ExitCode 0:0" });
  assert.equal(r.get("53")!.verdict.keyword, "TIMEOUT");
  assert.equal(r.get("54")!.verdict.kind, "failed");
  assert.equal(r.get("55_3")!.verdict.kind, "cancelled");
  assert.equal(r.has("56"), false, "a record that still says RUNNING tells nothing yet");
  assert.equal(r.get("50")!.submittedS, new Date(2026, 10, 23, 1, 51, 57).getTime() / 1000);
});

// Recorded from Slurm 22.05.8 on this project's CI machine (sacct -P -n -o SACCT_FIELDS -j 84,85,90): a job
// holding 300 MB and two burners under one sh with -c 2 (its TotalCPU raised to what two uncontended burners
// give: the machine was loaded), and one still running (its batch step already listed).
// Then, hand-written in the older releases' forms: ReqMem per cpu (Mc) and per node (Mn), an array task with
// its steps, a job whose batch step is not written yet, and a cancelled pending job (no steps at all).
const SACCT_USAGE = [
  "84|COMPLETED|0:0|2026-12-01T11:14:11|00:00.283||1|1G|UNLIMITED|1",
  "84.batch|COMPLETED|0:0|2026-12-01T11:14:14|00:00.283|313632K|1|||1",
  "85|COMPLETED|0:0|2026-12-01T11:14:11|00:07.935||2|2G|00:10:00|1",
  "85.batch|COMPLETED|0:0|2026-12-01T11:14:14|00:07.935|12960K|2|||1",
  "90|RUNNING|0:0|2026-12-01T11:14:11|00:00:00||1|1G|UNLIMITED|1",
  "90.batch|RUNNING|0:0|2026-12-01T11:14:14|00:00:00||1|||1",
  "91|COMPLETED|0:0|2026-12-01T11:14:11|01:02:03||4|4000Mc|1-12:00|1",
  "91.batch|COMPLETED|0:0|2026-12-01T11:14:11|00:00.500|10240K|4|4000Mc||1",
  "91.0|COMPLETED|0:0|2026-12-01T11:14:12|01:01:02.500|1.5G|4|4000Mc||1",
  "92|FAILED|3:0|2026-12-01T11:14:11|00:01.000||1|2000Mn|2-00:00:00|2",
  "92.batch|FAILED|3:0|2026-12-01T11:14:11|00:01.000|0|1|2000Mn||1",
  "93_2|TIMEOUT|0:0|2026-12-01T11:14:11|00:59.990||1|512M|00:01:00|1",
  "93_2.batch|CANCELLED|0:15|2026-12-01T11:14:11|00:59.990|2048K|1|||1",
  "93_2.extern|COMPLETED|0:0|2026-12-01T11:14:11|00:00:00|0|1|||1",
  "94|COMPLETED|0:0|2026-12-01T11:14:11|00:00:00||1|1G|UNLIMITED|1",
  "95_[1-2]|CANCELLED by 0|0:0|2026-12-01T11:14:11|00:00:00||0|1G|UNLIMITED|0",
  // Recorded here 1 s after a job ended: slurmdbd had its end and its batch step, not yet its own start record.
  "354|COMPLETED|0:0|2026-12-01T11:47:50|00:00.004||1|16?||1",
  "354.batch|COMPLETED|0:0|2026-12-01T11:47:51|00:00.004|3264K|1|||1",
].join("\n");

test("sacct usage: CPU of the whole job, the largest step's MaxRSS, and what was granted, once the batch step is written", () => {
  const r = parseSacct(SACCT_USAGE);
  assert.deepEqual(r.get("84")!.usage, { cpuS: 0.3, maxRssMb: 306.3, allocCpus: 1, allocMemMb: 1024, allocTimeS: null, source: "sacct" });
  assert.deepEqual(r.get("85")!.usage, { cpuS: 7.9, maxRssMb: 12.7, allocCpus: 2, allocMemMb: 2048, allocTimeS: 600, source: "sacct" });
  assert.equal(r.has("90"), false, "a running job tells nothing yet");
  assert.deepEqual(r.get("91")!.usage, { cpuS: 3723, maxRssMb: 1536, allocCpus: 4, allocMemMb: 16000, allocTimeS: 129600, source: "sacct" });
  const failed = r.get("92")!;
  assert.equal(failed.verdict.kind, "ended");
  assert.equal(failed.usage!.maxRssMb, null, "MaxRSS 0 is not a measurement");
  assert.equal(failed.usage!.allocMemMb, 4000, "per node, on two nodes");
  assert.equal(failed.usage!.allocTimeS, 172800);
  assert.equal(r.get("93_2")!.verdict.keyword, "TIMEOUT");
  assert.equal(r.get("93_2")!.usage!.maxRssMb, 2);
  assert.equal(r.get("94")!.verdict.kind, "ended");
  assert.equal(r.get("94")!.usage, undefined, "no batch step yet: the record is not complete, ask again");
  assert.equal(r.get("95_2")!.verdict.kind, "cancelled");
  assert.equal(r.get("95_2")!.usage, undefined);
  assert.equal(r.get("354")!.verdict.kind, "ended");
  assert.equal(r.get("354")!.usage, undefined, "the job's own line not written yet (ReqMem 16?, no Timelimit): ask again");
});

test("sacct durations and memory figures in every form Slurm prints", () => {
  assert.equal(sacctDurationS("00:00.283"), 0.283);
  assert.equal(sacctDurationS("01:02:03"), 3723);
  assert.equal(sacctDurationS("1-02:03:04"), 93784);
  assert.equal(sacctDurationS("1-12:00"), 129600);
  assert.equal(sacctDurationS("UNLIMITED"), null);
  assert.equal(sacctDurationS("Partition_Limit"), null);
  assert.equal(sacctDurationS(""), null);
  assert.deepEqual(sacctMemory("313632K"), { mb: 306.28125, per: "job" });
  assert.deepEqual(sacctMemory("4000Mc"), { mb: 4000, per: "cpu" });
  assert.deepEqual(sacctMemory("2Gn"), { mb: 2048, per: "node" });
  assert.equal(sacctMemory(""), null);
});
