import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSacct, parseSqueue } from "./slurm.js";

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

// sacct -P -n -X -o JobID,State,ExitCode,Submit
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
