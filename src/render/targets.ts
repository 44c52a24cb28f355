import type { ConfigTable } from "../config/project-config.js";
import {
  configuredPbsDialect,
  htcondorRequestLines,
  lsfDirectives,
  lsfWaitCondition,
  okAnyDependency,
  pbsDirectives,
  sgeDirectives,
  slurmDirectives,
  type DirectiveJob,
} from "../protocol/directives.js";
import { scriptBody, type NativeJob } from "./native-job.js";

export interface RenderedFile {
  readonly name: string;
  readonly content: string;
}

/** One scheduler's native form of a plan: a script per job and the file that submits them in order. */
export interface RenderTarget {
  readonly engine: string;
  /** `site`: the scheduler's table of the project's .corral/config.toml (Grid Engine's pe and gpu_resource). */
  render(batch: string, jobs: readonly NativeJob[], source: string, site?: ConfigTable): RenderedFile[];
}

const header = (source: string, job: NativeJob) =>
  `# Rendered by corral from ${source}: job ${job.name}. Runs the command directly (corral run submits it through its wrapper).`;
const varName = (job: NativeJob) => `jid_${job.name.replace(/[^A-Za-z0-9_]/g, "_")}`;

/** How one batch scheduler spells a job's script and its submission; the loop around them is shared. */
interface ScriptScheduler {
  readonly engine: string;
  /** The scheduler's name in prose. */
  readonly title: string;
  readonly extension: string;
  readonly indexVariable: string;
  readonly retryAdvice: string;
  readonly intro: readonly string[];
  /** The directive lines, from the writers the engines use too (protocol/directives.ts). */
  directives(job: NativeJob, byName: (name: string) => NativeJob, site: ConfigTable): string[];
  /** The line of submit.sh that submits the job; `ids(names)` gives the shell variables holding parents' ids. */
  submitLine(job: NativeJob, ids: (names: readonly string[]) => string[]): string;
  /** Whether submit.sh keeps (and finally prints) the ids the scheduler returned. */
  readonly keepsIds: boolean;
}

function scriptTarget(t: ScriptScheduler): RenderTarget {
  return {
    engine: t.engine,
    render(batch, jobs, source, site = {}) {
      const byName = (name: string) => jobs.find((x) => x.name === name)!;
      const ids = (names: readonly string[]) => names.map((n) => `$${varName(byName(n))}`);
      const files: RenderedFile[] = jobs.map((job) => ({
        name: `${job.name}.${t.extension}`,
        content: [
          "#!/bin/sh",
          ...t.directives(job, byName, site),
          header(source, job),
          ...(job.retries > 0 ? [`# retries = ${job.retries}: ${t.retryAdvice}`] : []),
          scriptBody(job, t.indexVariable),
          "",
        ].join("\n"),
      }));
      const submit = ["#!/bin/sh", `# Submits batch ${batch} to ${t.title} in dependency order.`, ...t.intro, "set -e"];
      for (const job of jobs) submit.push(t.keepsIds ? `${varName(job)}=$(${t.submitLine(job, ids)})` : t.submitLine(job, ids));
      if (t.keepsIds) submit.push(`echo "submitted: ${jobs.map((j) => `${j.name}=$${varName(j)}`).join(" ")}"`);
      submit.push("");
      return [...files, { name: "submit.sh", content: submit.join("\n") }];
    },
  };
}

/** A job as the directive writers take it; dependencies go on submit.sh's command line, where the ids are known. */
function directiveJob(job: NativeJob): DirectiveJob {
  return {
    name: job.qualified,
    cpus: job.cpus,
    memMb: job.memMb,
    timeS: job.timeS,
    gpus: job.gpus,
    queue: job.queue,
    array: job.indices ? { range: job.arrayText!, cap: job.cap } : null,
    outputPrefix: job.name,
  };
}

/** afterok:$a:$b,afterany:$c — the dependency list Slurm and PBS share. */
function okAnyList(job: NativeJob, ids: (names: readonly string[]) => string[]): string {
  return okAnyDependency(ids(job.after), ids(job.afterAny)) ?? "";
}

/** Slurm: sbatch scripts, chained with --dependency=afterok/afterany on the ids sbatch --parsable prints. */
const slurm = scriptTarget({
  engine: "slurm",
  title: "Slurm",
  extension: "sbatch",
  indexVariable: "$SLURM_ARRAY_TASK_ID",
  retryAdvice: "Slurm does not retry; resubmit failed tasks",
  intro: [],
  keepsIds: true,
  directives: (job) => slurmDirectives(directiveJob(job)),
  submitLine(job, ids) {
    const dep = okAnyList(job, ids);
    return `sbatch --parsable${dep ? ` --dependency=${dep}` : ""} ${job.name}.sbatch`;
  },
});

/** Grid Engine: qsub scripts; -hold_jid waits for a job however it ended (there is no afterok). */
const sge = scriptTarget({
  engine: "sge",
  title: "Grid Engine",
  extension: "sge",
  indexVariable: "$SGE_TASK_ID",
  retryAdvice: "Grid Engine does not retry; resubmit failed tasks",
  intro: ["# Note: -hold_jid releases a job however its parents ended (Grid Engine has no afterok)."],
  keepsIds: true,
  // The site's parallel environment and GPU consumable come from [sge], as for submissions.
  directives: (job, _byName, site) => sgeDirectives(directiveJob(job), site, { cwd: true }),
  submitLine(job, ids) {
    const parents = ids([...job.after, ...job.afterAny]);
    return `qsub -terse${parents.length ? ` -hold_jid ${parents.join(",")}` : ""} ${job.name}.sge | cut -d. -f1`;
  },
});

/**
 * PBS: qsub scripts chained with -W depend=afterok/afterany; PBS Professional's select/-J by default, Torque's
 * nodes/ppn and -t when the project's [pbs] table says dialect = "torque" (as for submissions).
 */
const pbs = scriptTarget({
  engine: "pbs",
  title: "PBS",
  extension: "pbs",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a template
  indexVariable: "${PBS_ARRAY_INDEX:-$PBS_ARRAYID}",
  retryAdvice: "PBS does not retry; resubmit failed subjobs",
  intro: [],
  keepsIds: true,
  directives: (job, _byName, site) => pbsDirectives(directiveJob(job), configuredPbsDialect(site) ?? "pro"),
  submitLine(job, ids) {
    const dep = okAnyList(job, ids);
    return `qsub${dep ? ` -W depend=${dep}` : ""} ${job.name}.pbs`;
  },
});

/** LSF: bsub scripts; arrays as NAME[1-20]%cap; dependencies by job name, done() and ended(). */
const lsf = scriptTarget({
  engine: "lsf",
  title: "LSF",
  extension: "lsf",
  indexVariable: "$LSB_JOBINDEX",
  retryAdvice: 'LSF can retry: add #BSUB -Q "all ~0" with a requeue limit',
  intro: ["# Dependencies name the jobs (-w), so the order only matters for readability."],
  keepsIds: false,
  directives(job, byName) {
    const name = (n: string) => byName(n).qualified;
    return lsfDirectives(directiveJob(job), lsfWaitCondition(job.after.map(name), job.afterAny.map(name)));
  },
  submitLine(job) {
    return `bsub < ${job.name}.lsf`;
  },
});

/** HTCondor: a submit description and an executable per job, and a DAGMan file with PARENT/CHILD and RETRY. */
const htcondor: RenderTarget = {
  engine: "htcondor",
  render(batch, jobs, source) {
    const files: RenderedFile[] = [];
    const dag = [`# DAGMan workflow for batch ${batch}, rendered by corral from ${source}. Submit with: condor_submit_dag ${batch}.dag`];
    for (const job of jobs) {
      // Each task is one item of `queue task in (...)`, its index passed as the script's argument.
      files.push({ name: `${job.name}.sh`, content: ["#!/bin/sh", header(source, job), scriptBody(job, "$1"), ""].join("\n") });
      const sub = [
        "universe = vanilla",
        `executable = ${job.name}.sh`,
        ...(job.indices ? ["arguments = $(task)"] : []),
        `initialdir = ${job.cwd}`,
        // The same request lines as corral's own submissions (protocol/directives.ts).
        ...htcondorRequestLines(directiveJob(job)),
      ];
      if (job.queue) sub.push(`# queue '${job.queue}': HTCondor has no queues; use requirements to pick machines`);
      sub.push(`output = ${job.name}.$(Cluster).$(Process).out`, `error = ${job.name}.$(Cluster).$(Process).err`, `log = ${batch}.log`);
      sub.push(job.indices ? `queue task in (${job.indices.join(", ")})` : "queue 1", "");
      files.push({ name: `${job.name}.sub`, content: sub.join("\n") });
      dag.push(`JOB ${job.name} ${job.name}.sub`);
      if (job.retries > 0) dag.push(`RETRY ${job.name} ${job.retries}`);
    }
    for (const job of jobs) {
      const parents = [...job.after, ...job.afterAny];
      if (parents.length) dag.push(`PARENT ${parents.join(" ")} CHILD ${job.name}`);
      if (job.afterAny.length) dag.push(`# ${job.name} after_any ${job.afterAny.join(" ")}: DAGMan runs a child only after its parents succeeded`);
    }
    const caps = jobs.filter((j) => j.cap);
    for (const j of caps) dag.push(`# ${j.name}: at most ${j.cap} at once (use a CATEGORY with MAXJOBS, or max_materialize in ${j.name}.sub)`);
    dag.push("");
    return [...files, { name: `${batch}.dag`, content: dag.join("\n") }];
  },
};

export const RENDER_TARGETS: ReadonlyMap<string, RenderTarget> = new Map([slurm, sge, pbs, lsf, htcondor].map((t) => [t.engine, t]));
