import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { AttemptRow } from "../../store/rows.js";
import { parseQacct, parseQstatXml, qacctNumber, qacctTime, sge, verdictOf } from "./sge.js";
import { tempDir } from "../../testing/temp.js";

// Recorded from Son of Grid Engine 8.1.9 (qstat -xml -u root): two running tasks and pending ones grouped.
const QSTAT = `<?xml version='1.0'?>
<job_info  xmlns:xsd="http://arc.liv.ac.uk/repos/darcs/sge/source/dist/util/resources/schemas/qstat/qstat.xsd">
  <queue_info>
    <job_list state="running">
      <JB_job_number>1</JB_job_number>
      <JAT_prio>0.50000</JAT_prio>
      <JB_name>t1</JB_name>
      <JB_owner>root</JB_owner>
      <state>r</state>
      <JAT_start_time>2026-11-23T01:52:12</JAT_start_time>
      <queue_name>all.q@vm</queue_name>
      <slots>1</slots>
      <tasks>1</tasks>
    </job_list>
  </queue_info>
  <job_info>
    <job_list state="pending">
      <JB_job_number>1</JB_job_number>
      <JAT_prio>0.50000</JAT_prio>
      <JB_name>t1</JB_name>
      <JB_owner>root</JB_owner>
      <state>qw</state>
      <JB_submission_time>2026-11-23T01:52:12</JB_submission_time>
      <queue_name></queue_name>
      <slots>1</slots>
      <tasks>3-5:2</tasks>
    </job_list>
    <job_list state="pending">
      <JB_job_number>2</JB_job_number>
      <JAT_prio>0.00000</JAT_prio>
      <JB_name>echo</JB_name>
      <JB_owner>root</JB_owner>
      <state>hqw</state>
      <JB_submission_time>2026-11-23T01:52:13</JB_submission_time>
      <queue_name></queue_name>
      <slots>1</slots>
    </job_list>
  </job_info>
</job_info>`;

test("qstat -xml: running tasks one by one, pending ranges expanded, plain jobs by number", () => {
  const live = parseQstatXml(QSTAT);
  assert.deepEqual([...live.keys()].sort(), ["1.1", "1.3", "1.5", "2"]);
  assert.equal(live.get("1.1")!.running, true);
  assert.equal(live.get("1.3")!.running, false);
  assert.match(live.get("2")!.reason ?? "", /held/);
});

test("qstat -xml with no jobs at all is an empty listing", () => {
  assert.equal(parseQstatXml("<?xml version='1.0'?>\n<job_info>\n  <queue_info>\n  </queue_info>\n  <job_info>\n  </job_info>\n</job_info>").size, 0);
});

const QACCT = `==============================================================
qname        all.q
hostname     vm
jobnumber    30
taskid       undefined
qsub_time    Mon Nov 23 02:09:57 2026
failed       100 : assumedly after job
exit_status  137                  (Killed)
==============================================================
qname        all.q
jobnumber    31
taskid       2
qsub_time    Mon Nov 23 02:10:01 2026
failed       37  : qmaster enforced h_rt, h_cpu, or h_vmem limit
exit_status  137
`;

test("qacct: one record per task, with what failed and exit_status mean", () => {
  const records = parseQacct(QACCT);
  assert.deepEqual(
    records.map((r) => [r.id, r.exitStatus]),
    [
      ["30", "137"],
      ["31.2", "137"],
    ],
  );
  assert.equal(verdictOf(records[0]!.failed, records[0]!.exitStatus).kind, "cancelled");
  assert.equal(verdictOf(records[1]!.failed, records[1]!.exitStatus).keyword, "TIMEOUT");
  assert.equal(verdictOf("0", "3").kind, "ended");
  assert.equal(records[0]!.submittedS, new Date(2026, 10, 23, 2, 9, 57).getTime() / 1000);
});

const fixture = (name: string) => fs.readFileSync(fileURLToPath(new URL(`../../../src/engines/sge/fixtures/${name}`, import.meta.url)), "utf8");

test("qacct usage: cpu of the whole job, the largest process's ru_maxrss (else maxvmem), slots and what was asked", () => {
  const byId = new Map(parseQacct(fixture("qacct-j.txt")).map((r) => [r.id, r]));
  assert.deepEqual([...byId.keys()], ["29", "28", "30", "31.2"]);
  assert.deepEqual(byId.get("28")!.usage, { cpuS: 0.2, maxRssMb: 304.8, allocCpus: 1, allocMemMb: null, allocTimeS: null, source: "qacct ru_maxrss" });
  assert.deepEqual(byId.get("29")!.usage, { cpuS: 3.2, maxRssMb: 4.6, allocCpus: 1, allocMemMb: null, allocTimeS: null, source: "qacct ru_maxrss" });
  assert.deepEqual(byId.get("30")!.usage, { cpuS: 2.7, maxRssMb: 4.8, allocCpus: 2, allocMemMb: 1000, allocTimeS: 60, source: "qacct ru_maxrss" });
  const old = byId.get("31.2")!;
  assert.deepEqual(old.usage, { cpuS: 59.8, maxRssMb: 1536, allocCpus: 1, allocMemMb: 2048, allocTimeS: 60, source: "qacct maxvmem" });
  assert.equal(verdictOf(old.failed, old.exitStatus).keyword, "TIMEOUT");
});

test("qacct figures with and without unit suffixes; -b times in local time", () => {
  assert.equal(qacctNumber("306.598MB"), 306.598 * 1024 * 1024);
  assert.equal(qacctNumber("304.777KB"), 304.777 * 1024);
  assert.equal(qacctNumber("0.167s"), 0.167);
  assert.equal(qacctNumber("5s"), 5);
  assert.equal(qacctNumber("1.500G"), 1.5 * 1024 ** 3);
  assert.equal(qacctNumber("59.750"), 59.75);
  assert.equal(qacctNumber("undefined"), null);
  assert.equal(qacctTime(new Date(2026, 11, 1, 9, 5, 7).getTime() / 1000), "202612010905.07");
});

test("the accounting call: qacct -j ID for one job, ONE time-bounded qacct -o USER -E -b -j for several", () => {
  const dir = tempDir("corral-sge-qacct-");
  fs.writeFileSync(path.join(dir, "answer"), fixture("qacct-j.txt"));
  fs.writeFileSync(path.join(dir, "qacct"), `#!/bin/sh\necho "$*" >> '${dir}/calls'\ncat '${dir}/answer'\n`, { mode: 0o755 });
  const saved = process.env.PATH;
  process.env.PATH = `${dir}:${saved}`;
  try {
    const submitted = new Date(2026, 11, 1, 11, 19, 0).getTime() / 1000;
    const rows = ["28", "29", "30", "31.2"].map((engine_id, i) => ({ id: i + 1, engine_id, submitted_at: submitted }) as AttemptRow);
    const verdicts = sge.account!(rows, null);
    assert.deepEqual(
      [...verdicts].map(([id, v]) => [id, v.kind, v.usage?.maxRssMb]),
      [
        [1, "ended", 304.8],
        [2, "ended", 4.6],
        [3, "ended", 4.8],
      ],
      "31.2's record is older than the submission: a reused id, someone else's",
    );
    sge.account!(rows.slice(0, 1), null);
    const user = os.userInfo().username;
    assert.deepEqual(fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n"), [`-o ${user} -E -b ${qacctTime(submitted - 60)} -j`, "-j 28"]);
  } finally {
    process.env.PATH = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
