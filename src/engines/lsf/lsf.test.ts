import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { AttemptRow } from "../../store/rows.js";
import type { SubmissionRequest } from "../cluster/backend.js";
import { SchedulerRejected, SchedulerUnavailable } from "../cluster/run-command.js";
import { bsubJobId, lsf, parseBhist, parseBjobsJson, usageOfBhist, verdictOfTerm } from "./lsf.js";
import { tempDir } from "../../testing/temp.js";

const fixture = (name: string) => fs.readFileSync(fileURLToPath(new URL(`../../../src/engines/lsf/fixtures/${name}`, import.meta.url)), "utf8");

/** Runs fn with stand-ins for LSF commands on PATH: each logs its arguments and standard input, then prints its answer. */
function withStandIns(answers: Record<string, { out: string; status?: number }>, fn: (calls: () => string) => void): void {
  const dir = tempDir("corral-lsf-");
  for (const [cmd, a] of Object.entries(answers)) {
    fs.writeFileSync(path.join(dir, `${cmd}.answer`), a.out);
    fs.writeFileSync(
      path.join(dir, cmd),
      `#!/bin/sh\necho "${cmd} $*" >> '${dir}/calls'\n[ -t 0 ] || cat >> '${dir}/calls'\ncat '${dir}/${cmd}.answer'\nexit ${a.status ?? 0}\n`,
      { mode: 0o755 },
    );
  }
  const saved = process.env.PATH;
  process.env.PATH = `${dir}:${saved}`;
  try {
    fn(() => (fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8") : ""));
  } finally {
    process.env.PATH = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("one bjobs -a listing: pending with LSF's reason, running, held (PSUSP) with how to release, array elements, corral's comments", () => {
  const seen = parseBjobsJson(fixture("bjobs-a.json"));
  assert.deepEqual(seen.live.get("7001"), { state: "PEND", running: false, reason: "New job is waiting for scheduling" });
  assert.equal(seen.live.get("7002")?.running, true);
  assert.equal(seen.live.get("7003")?.reason, "held (PSUSP): release it with bresume 7003");
  assert.equal(seen.live.has("7004[1]"), false, "DONE: left the queue, the markers tell how");
  assert.equal(seen.live.get("7004[3]")?.running, true);
  assert.match(seen.live.get("7004[5]")!.reason!, /JOB_ARRAY_LIMIT/);
  assert.deepEqual(seen.live.get("7009"), { state: "ZOMBI", running: false, reason: null }, "an unknown state is a job still there");
  assert.equal(seen.comments.get("7004[3]"), "corral:tag1:5:1:0");
});

test("finished jobs in the listing say why LSF ended them, so no accounting call is needed for them", () => {
  const seen = parseBjobsJson(fixture("bjobs-a.json"));
  assert.deepEqual(
    [...seen.fates].map(([id, v]) => [id, v.kind, v.keyword]),
    [
      ["7005", "failed", "TIMEOUT"],
      ["7006", "failed", "OUT_OF_MEMORY"],
      ["7007", "cancelled", "CANCELLED"],
    ],
    "7008 exited 3 by itself: the markers' to tell",
  );
  assert.equal(seen.fates.get("7005")!.detail, "TERM_RUNLIMIT: job killed after reaching LSF run time limit, exit code 140");
  assert.equal(verdictOfTerm("TERM_UNHEARD_OF: something new", null).keyword, "TERM_UNHEARD_OF");
});

test("bhist -l, wrapped at 80 columns: each ended job's TERM_ reason; one still running says nothing", () => {
  const records = parseBhist(fixture("bhist-l.txt"));
  assert.deepEqual(
    [...records].map(([id, v]) => [id, v.keyword]),
    [
      ["7101", "TIMEOUT"],
      ["7102[2]", "ENDED"],
      ["7103", "CANCELLED"],
    ],
  );
  assert.match(records.get("7101")!.detail, /^TERM_RUNLIMIT: job killed after reaching LSF run time limit, exit code 140$/);
});

test("malformed answers: truncated JSON concludes nothing; no jobs at all is an empty listing", () => {
  const json = fixture("bjobs-a.json");
  assert.throws(() => parseBjobsJson(json.slice(0, 200)), SchedulerUnavailable);
  assert.equal(parseBjobsJson("").live.size, 0);
  assert.equal(parseBhist("garbage").size, 0);
  withStandIns({ bjobs: { out: "No unfinished job found\n", status: 255 } }, () => {
    assert.equal(lsf.observe({} as never).live.size, 0);
  });
});

test("bsub gets the script on its standard input (where it reads #BSUB lines), pass-through arguments on its command line", () => {
  const dir = tempDir("corral-lsf-script-");
  const script = path.join(dir, "submit-1-1.sh");
  fs.writeFileSync(script, '#!/bin/sh\n#BSUB -J "fit[1-3]%2"\nexec /bin/sh "$corral_dir/wrapper.sh"\n');
  withStandIns({ bsub: { out: fixture("bsub.txt") } }, (calls) => {
    assert.equal(lsf.submit(script, ["-P", "proj"], {} as SubmissionRequest), "7201");
    assert.equal(calls(), `bsub -P proj\n${fs.readFileSync(script, "utf8")}`);
  });
  withStandIns({ bsub: { out: fixture("bsub-refused.txt"), status: 255 } }, () => {
    assert.throws(
      () => lsf.submit(script, [], {} as SubmissionRequest),
      (err: Error) => err instanceof SchedulerRejected && /No such queue/.test(err.message),
    );
  });
  assert.equal(bsubJobId("Job <42> is submitted to queue <short>."), "42");
  fs.rmSync(dir, { recursive: true, force: true });
});

test("the accounting call is one bhist -l for all the attempts that left the listing", () => {
  withStandIns({ bhist: { out: fixture("bhist-l.txt") } }, (calls) => {
    const rows = ["7101", "7103", "7104"].map((engine_id, i) => ({ id: i + 1, engine_id }) as AttemptRow);
    assert.deepEqual(
      [...lsf.account!(rows, null)].map(([id, v]) => [id, v.keyword]),
      [
        [1, "TIMEOUT"],
        [2, "CANCELLED"],
      ],
    );
    assert.equal(calls(), "bhist -l -n 0 7101 7103 7104\n");
  });
});

test("LSF's grammar: array elements are ID[index], their job is ID, directives ask for the job's resources and parents", () => {
  assert.equal(lsf.taskId("7004", 3), "7004[3]");
  assert.equal(lsf.jobIdOf("7004[3]"), "7004");
  assert.equal(lsf.indexOfTask("7004[3]", 10), 13);
  const job = { id: 3, name: "fit", cpus: 2, mem_mb: 1024, time_limit_s: 90, gpus: 0, queue: "short" };
  const lines = lsf.directives({
    job,
    range: "1-3",
    cap: 2,
    comment: "corral:t:3:1:0",
    logDir: "/p/runs/3",
    afterOk: ["7001"],
    afterAny: ["7004"],
  } as unknown as SubmissionRequest);
  assert.deepEqual(lines, [
    '#BSUB -J "fit[1-3]%2"',
    '#BSUB -Jd "corral:t:3:1:0"',
    "#BSUB -n 2",
    "#BSUB -o /p/runs/3/lsf.%J.%I.out",
    "#BSUB -M 1024MB",
    '#BSUB -R "rusage[mem=1024MB]"',
    "#BSUB -W 2",
    "#BSUB -q short",
    '#BSUB -w "done(7001) && ended(7004)"',
  ]);
});

test("bhist -l gives what a finished job used: its CPU time, MAX MEM, the slots allocated and its limits", () => {
  const records = parseBhist(fixture("bhist-l-usage.txt"));
  assert.deepEqual(records.get("7201")!.usage, { cpuS: 0.2, maxRssMb: 306, allocCpus: 1, allocMemMb: 1024, allocTimeS: 600, source: "bhist" });
  assert.deepEqual(records.get("7202")!.usage, { cpuS: 8, maxRssMb: 11, allocCpus: 2, allocMemMb: null, allocTimeS: null, source: "bhist" });
  assert.equal(records.get("7203")!.keyword, "OUT_OF_MEMORY");
  assert.equal(records.get("7203")!.usage!.maxRssMb, 1228.8);
  // Older releases print no MEMORY USAGE section: the figure is unknown, never 0.
  const old = parseBhist(fixture("bhist-l.txt"));
  assert.deepEqual(old.get("7102[2]")!.usage, { cpuS: 0.1, maxRssMb: null, allocCpus: 1, allocMemMb: null, allocTimeS: null, source: "bhist" });
  assert.equal(usageOfBhist("").cpuS, null);
});
