import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { planDescription } from "../api/plan.js";
import type { SubmissionRequest } from "../engines/cluster/backend.js";
import { lsf } from "../engines/lsf/lsf.js";
import { pbs } from "../engines/pbs/pbs.js";
import { sge } from "../engines/sge/sge.js";
import { slurm } from "../engines/slurm/slurm.js";
import type { JobRow } from "../store/rows.js";
import { nativeJobs } from "./native-job.js";
import { RENDER_TARGETS } from "./targets.js";
import { tempDir } from "../testing/temp.js";

// The directives that ask for resources, which `corral render` and a submission must spell the same way.
const RESOURCE_LINE = /^(#SBATCH --(cpus-per-task|mem|time|gres|partition|array)=|#\$ -(pe|l|q|t|tc) |#PBS -(l|J|t|q) |#BSUB -(n|M|R|W|gpu|q) )/;

function plannedJob(): { rendered: (engine: string, site: Record<string, unknown>) => string[]; row: JobRow } {
  const dir = tempDir("corral-agree-");
  const file = path.join(dir, "big.toml");
  fs.writeFileSync(file, `batch = "b"\n[jobs.fit]\ncommand = "true"\narray = "1-10:3%2"\ncpus = 4\nmem = "3G"\ntime = "1:30:30"\ngpus = 1\nqueue = "long"\n`);
  const plan = planDescription(file);
  const rendered = (engine: string, site: Record<string, unknown>) =>
    RENDER_TARGETS.get(engine)!
      .render(plan.batch, nativeJobs(plan), "big.toml", site)[0]!
      .content.split("\n")
      .filter((l) => RESOURCE_LINE.test(l));
  const row = { id: 7, name: "fit", cpus: 4, mem_mb: 3072, time_limit_s: 5430, gpus: 1, queue: "long", array_cap: 2 } as JobRow;
  return { rendered, row };
}

function request(row: JobRow, settings: Record<string, unknown>, dialect: string | null = null): SubmissionRequest {
  return {
    job: row,
    attemptN: 1,
    offset: 0,
    range: "1-10:3",
    singleIndex: null,
    indices: [1, 4, 7, 10],
    cap: 2,
    afterOk: [],
    afterAny: [],
    projectDir: "/p/.corral",
    tag: "t",
    comment: "corral:t:7:1:0",
    logDir: "/p/.corral/runs/7",
    settings,
    dialect,
  };
}

test("corral render and a Slurm submission ask for the same resources, the time to the second", () => {
  const { rendered, row } = plannedJob();
  const submitted = slurm.directives(request(row, {})).filter((l) => RESOURCE_LINE.test(l));
  assert.deepEqual(rendered("slurm", {}), submitted);
  assert.ok(submitted.includes("#SBATCH --time=0-01:30:30"), submitted.join("\n"));
});

test("corral render and a Grid Engine submission use the site's parallel environment and GPU consumable alike", () => {
  const { rendered, row } = plannedJob();
  const site = { pe: "mpi-smp", gpu_resource: "gpus" };
  const submitted = sge.directives(request(row, site)).filter((l) => RESOURCE_LINE.test(l));
  assert.deepEqual(rendered("sge", site), submitted);
  assert.ok(submitted.includes("#$ -pe mpi-smp 4") && submitted.includes("#$ -l gpus=1"), submitted.join("\n"));
  // Without the site's names, both refuse with the same words rather than guess.
  assert.throws(() => rendered("sge", {}), /Grid Engine needs a parallel environment.*\[sge\]/);
  assert.throws(
    () => sge.checkResources({ resources: { cpus: 4, gpus: 0 } } as never, tempDir("corral-agree-")),
    /Grid Engine needs a parallel environment.*\[sge\]/,
  );
});

test("corral render and a PBS submission ask for the same resources, in each dialect", () => {
  const { rendered, row } = plannedJob();
  const pro = pbs.directives(request(row, {}, "pro")).filter((l) => RESOURCE_LINE.test(l));
  assert.deepEqual(rendered("pbs", {}), pro);
  assert.deepEqual(pro, ["#PBS -l select=1:ncpus=4:mem=3072mb:ngpus=1", "#PBS -l walltime=01:30:30", "#PBS -J 1-10:3%2", "#PBS -q long"]);
  const torque = pbs.directives(request(row, { dialect: "torque" }, "torque")).filter((l) => RESOURCE_LINE.test(l));
  assert.deepEqual(rendered("pbs", { dialect: "torque" }), torque);
  assert.deepEqual(torque, ["#PBS -l nodes=1:ppn=4:gpus=1,mem=3072mb", "#PBS -l walltime=01:30:30", "#PBS -t 1,4,7,10%2", "#PBS -q long"]);
});

test("corral render and an LSF submission ask for the same resources", () => {
  const { rendered, row } = plannedJob();
  const submitted = lsf.directives(request(row, {})).filter((l) => RESOURCE_LINE.test(l));
  assert.deepEqual(rendered("lsf", {}), submitted);
  assert.ok(submitted.includes("#BSUB -W 91") && submitted.includes('#BSUB -gpu "num=1"'), submitted.join("\n"));
});
