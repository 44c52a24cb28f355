import assert from "node:assert/strict";
import fs from "node:fs";
import Database from "better-sqlite3";
import { after, test } from "node:test";
import { needScheduler, schedulerProblem, unreachableSlurmConf, useTorqueFrontEnd } from "../../testing/clusters.js";
import { clusterScenarios } from "../../testing/cluster-scenarios.js";
import { TestProject } from "../../testing/project.js";

// The PBS engine in its Torque dialect, through Slurm's Torque front end (Debian's slurm-wlm-torque, put in a
// folder of its own by scripts/torque-up.sh) driving the real Slurm of the test cluster. What this proves and
// what it does not is in the README's engine table: the front end's qsub/qstat/qdel are Torque's commands and
// options, not a pbs_server.
useTorqueFrontEnd();

clusterScenarios({
  engine: "pbs",
  submitCommand: "qsub",
  statusCommand: "qstat",
  // The Torque dialect has no accounting call: finished jobs come with the one listing (qstat -f), so every
  // qstat counts against the single status call.
  accountingCommand: "qstat",
  commands: ["qsub", "qstat", "qdel"],
  killOutside: (id) => ["qdel", id],
  holdArgs: ["-h"],
  // Slurm enforces the walltime in whole minutes, checked about every 30 s.
  shortTime: "1",
  timeoutTestMs: 150_000,
  unreachableEnv: { SLURM_CONF: unreachableSlurmConf() },
  cannot: {
    "array-task-cancel": "the front end's qdel takes Slurm's numeric job ids only, so `qdel 12[2]` deletes the whole array",
    render: "the front end's qsub writes its own output file names over the script's, so the rendered example's output is elsewhere",
  },
});

const problem = schedulerProblem("pbs");
const p = new TestProject("corral-pbs-own-", { CORRAL_POLL_MIN_AGE_S: "0" });
after(() => p.cleanup());

test("doctor names the dialect it found; a [pbs] dialect that is neither is refused with the key, exit 2, nothing recorded", async (t) => {
  if (!needScheduler(t, "pbs", problem)) return;
  assert.match(p.ok(["doctor", "--engine", "pbs"]), /pbs\s+ok\s+usable: Torque .*detected; set dialect under \[pbs\]/);
  fs.mkdirSync(p.path(".corral"), { recursive: true });
  fs.writeFileSync(p.path(".corral", "config.toml"), '[pbs]\ndialect = "openpbs"\n');
  try {
    const r = p.run(["submit", "--engine", "pbs", "--", "true"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^corral: .*\[pbs\] dialect: expected "pro" .* or "torque", not "openpbs"\n$/);
    assert.equal(p.run(["ls", "--json"]).stdout.trim(), "[]");
  } finally {
    fs.rmSync(p.path(".corral", "config.toml"));
  }
});

test("[pbs] settings and --sched-arg reach qsub untouched, after corral's own options", async (t) => {
  if (!needScheduler(t, "pbs", problem)) return;
  fs.mkdirSync(p.path(".corral"), { recursive: true });
  fs.writeFileSync(p.path(".corral", "config.toml"), '[pbs]\nN = "from_config"\n');
  try {
    // The front end hands -N to sbatch as the job's name, and -a (a start time) as --begin.
    const id = p.submit(["--engine", "pbs", "--sched-arg=-a", "--sched-arg=now"], ["sh", "-c", 'echo "$SLURM_JOB_NAME"']);
    assert.equal((await p.runAsync(["wait", String(id)])).code, 0);
    assert.equal(p.ok(["logs", String(id)]), "from_config\n");
  } finally {
    fs.rmSync(p.path(".corral", "config.toml"));
  }
});

test("a job held in PBS (qsub -h) waits there, and corral release releases it with qrls", async (t) => {
  if (!needScheduler(t, "pbs", problem)) return;
  const id = p.submit(["--engine", "pbs", "--sched-arg=-h"], ["echo", "released"]);
  p.ok(["refresh"]);
  assert.equal(p.json<{ state: string }>(["show", String(id)]).state, "queued");
  p.ok(["release", String(id)]);
  assert.equal((await p.runAsync(["wait", String(id), "--timeout", "60"])).code, 0);
  assert.equal(p.ok(["logs", String(id)]), "released\n");
});

test("a refresh while the server is down, before any command has learnt its dialect, asks nothing in the wrong one and changes nothing", async (t) => {
  if (!needScheduler(t, "pbs", problem)) return;
  const id = p.submit(["--engine", "pbs"], ["sleep", "20"]);
  // As in a project whose last probe was forgotten (a submit refused while the server was down forgets it).
  const db = new Database(p.dbPath);
  db.prepare("UPDATE engine_polls SET probe = NULL, probed_at = NULL WHERE engine = 'pbs'").run();
  db.close();
  const down = p.run(["refresh"], { env: { SLURM_CONF: unreachableSlurmConf(), CORRAL_LOST_GRACE_S: "0" } });
  assert.equal(down.code, 0, down.stderr);
  const state = p.json<{ state: string }>(["show", String(id)]).state;
  assert.ok(["queued", "running"].includes(state), state);
  assert.equal((await p.runAsync(["wait", String(id), "--timeout", "60"])).code, 0);
});
