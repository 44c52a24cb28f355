import os from "node:os";
import { configSection } from "../../config/project-config.js";
import { UsageError } from "../../domain/errors.js";
import type { JobSpec } from "../../domain/job.js";
import type { AttemptUsage } from "../../domain/usage.js";
import type { AttemptRow } from "../../store/rows.js";
import type { DoctorLine } from "../engine.js";
import { expandRanges } from "../cluster/chunks.js";
import { oneLine, runScheduler, SchedulerRejected } from "../cluster/run-command.js";
import type { AccountingVerdict, BatchScheduler, LiveJob, ObserveContext, Observation, ProbeResult, SubmissionRequest } from "../cluster/backend.js";
import { directiveJob } from "../cluster/directive-job.js";
import { passThroughArgs } from "../cluster/pass-through.js";
import { slurmDirectives } from "../../protocol/directives.js";

/** Job states after which Slurm still lists a job but it is not waiting to run (it is leaving). */
const RUNNING_STATES = new Set(["RUNNING", "COMPLETING", "SIGNALING", "STAGE_OUT", "SUSPENDED", "STOPPED"]);

/** sacct states that end a job for a reason the markers cannot tell. */
const FAILED_BY_SLURM = new Set(["TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE"]);

/** Parses `squeue -h -r -o '%F|%K|%T|%r|%k'`: array master, task index (N/A for plain jobs), state, reason, comment. */
export function parseSqueue(text: string, tag: string): Observation {
  const live = new Map<string, LiveJob>();
  const comments = new Map<string, string>();
  for (const line of text.split("\n")) {
    const parts = line.split("|");
    if (parts.length < 5) continue;
    const [master, task, state, reason] = parts as [string, string, string, string];
    const comment = parts.slice(4).join("|");
    if (!comment.startsWith(`corral:${tag}:`)) continue; // not this project's
    const ids = task === "N/A" ? [master] : expandRanges(task).map((i) => `${master}_${i}`);
    for (const id of ids) {
      live.set(id, { state, running: RUNNING_STATES.has(state), reason: reason === "None" ? null : reason });
      comments.set(id, comment);
    }
  }
  return { live, comments, fates: new Map() };
}

/** Slurm prints times as local time without a zone (2026-11-23T01:51:57). */
function localTimeS(text: string): number | null {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)$/.exec(text);
  if (!m) return null;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])).getTime() / 1000;
}

/** The sacct fields corral reads, in this order (see parseSacct). */
export const SACCT_FIELDS = "JobID,State,ExitCode,Submit,TotalCPU,MaxRSS,AllocCPUS,ReqMem,Timelimit,NNodes";

/**
 * A sacct duration as seconds: `[D-][HH:]MM:SS[.mmm]` (TotalCPU prints `00:00.283` or `01:02:03`,
 * Timelimit `1-00:00:00`); null for UNLIMITED, Partition_Limit, empty or unreadable.
 */
export function sacctDurationS(text: string | undefined): number | null {
  const m = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$/.exec(text?.trim() ?? "");
  if (!m) return null;
  const days = Number(m[1] ?? 0);
  // With a day part and only two more fields, Slurm means D-HH:MM (Timelimit 1-12:00 is a day and a half).
  const [h, min, sec] = m[1] !== undefined && m[2] === undefined ? [Number(m[3]), Number(m[4]), 0] : [Number(m[2] ?? 0), Number(m[3]), Number(m[4])];
  return Math.round((days * 86400 + h * 3600 + min * 60 + sec) * 1000) / 1000;
}

const UNIT_MB: Record<string, number> = { "": 1 / 1024 / 1024, K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024, P: 1024 * 1024 * 1024 };

/**
 * A sacct memory figure as MB (Slurm's units are powers of 1024): MaxRSS `313632K`, ReqMem `1G`, `4000M`, or
 * in releases before 21.08 `4000Mn` (per node) and `4000Mc` (per cpu), which `per` says. Null
 * when empty or unreadable; 0 is a figure (a step that never ran) only where the caller keeps it.
 */
export function sacctMemory(text: string | undefined): { mb: number; per: "job" | "node" | "cpu" } | null {
  const m = /^(\d+(?:\.\d+)?)([KMGTP]?)([nc]?)$/.exec(text?.trim() ?? "");
  if (!m) return null;
  return { mb: Number(m[1]) * UNIT_MB[m[2]!]!, per: m[3] === "n" ? "node" : m[3] === "c" ? "cpu" : "job" };
}

const tenth = (x: number) => Math.round(x * 10) / 10;

interface SacctRecord {
  verdict: AccountingVerdict;
  submittedS: number | null;
  usage?: AttemptUsage;
}

/**
 * Parses `sacct -P -n -o SACCT_FIELDS` (no -X: the steps' lines carry MaxRSS). A job's line (`12`, or the
 * array task `12_3`; cancelled pending ones may come collapsed as `12_[3-5]`) says how it ended; its steps
 * (`12.batch`, `12.extern`, `12.0`) follow it. Returns the verdicts keyed by task id, with each record's submit
 * time, and its usage once the record is complete: the job's state final, its batch step written, and its own
 * line whole (ReqMem and Timelimit there).
 *
 * Usage: TotalCPU is user + system CPU of every process of the job (the job's line sums its steps; each step's
 * is what slurmstepd reaped, children included); MaxRSS is per step the largest resident set of one task (with
 * jobacct_gather/linux, summed over the task's processes), so the peak is the largest over the steps.
 * AllocCPUS, ReqMem (per node or per cpu in old releases) and Timelimit are what was granted.
 */
export function parseSacct(text: string): Map<string, SacctRecord> {
  const jobs = new Map<string, { fields: string[]; steps: string[][] }>();
  for (const line of text.split("\n")) {
    const fields = line.split("|");
    const jobId = fields[0];
    if (!jobId || !fields[1]) continue;
    const dot = jobId.indexOf(".");
    if (dot < 0) jobs.set(jobId, { fields, steps: [] });
    else jobs.get(jobId.slice(0, dot))?.steps.push(fields);
  }
  const out = new Map<string, SacctRecord>();
  for (const [jobId, { fields, steps }] of jobs) {
    const [, stateText, exitCode, submit] = fields as [string, string, string | undefined, string | undefined];
    const keyword = stateText.split(" ")[0]!;
    const kind: AccountingVerdict["kind"] | null =
      keyword === "CANCELLED" ? "cancelled" : FAILED_BY_SLURM.has(keyword) ? "failed" : keyword === "COMPLETED" || keyword === "FAILED" ? "ended" : null;
    if (kind === null) continue; // PENDING, RUNNING...: accounting has not caught up
    const verdict: AccountingVerdict = { kind, keyword, detail: `${stateText}, ExitCode ${exitCode ?? "?"}` };
    // Complete: the batch step is written, and so is the job's own record. slurmdbd may list a job COMPLETED with
    // its batch step seconds before the job's start record is in (ReqMem `16?`, Timelimit empty: seen on 22.05).
    const complete = steps.some((s) => s[0]!.endsWith(".batch")) && sacctMemory(fields[7]) !== null && (fields[8] ?? "") !== "";
    const usage = complete ? usageOf(fields, steps) : undefined;
    const m = /^(\d+)_\[(.+)\]$/.exec(jobId);
    const ids = m ? expandRanges(m[2]!).map((i) => `${m[1]}_${i}`) : [jobId];
    for (const id of ids) out.set(id, { verdict, submittedS: submit ? localTimeS(submit) : null, ...(usage ? { usage } : {}) });
  }
  return out;
}

/** The usage of one finished job from its line and its steps' lines (fields in SACCT_FIELDS order). */
function usageOf(job: readonly string[], steps: readonly (readonly string[])[]): AttemptUsage {
  const cpu =
    sacctDurationS(job[4]) ?? steps.reduce<number | null>((sum, s) => (sacctDurationS(s[4]) === null ? sum : (sum ?? 0) + sacctDurationS(s[4])!), null);
  let rss: number | null = null;
  for (const s of steps) {
    const m = sacctMemory(s[5]);
    if (m && (rss === null || m.mb > rss)) rss = m.mb;
  }
  const allocCpus = /^\d+$/.test(job[6] ?? "") ? Number(job[6]) : null;
  const nodes = /^\d+$/.test(job[9] ?? "") ? Number(job[9]) : 1;
  const req = sacctMemory(job[7]);
  const allocMemMb =
    req === null || req.mb === 0 ? null : req.per === "cpu" ? (allocCpus === null ? null : req.mb * allocCpus) : req.per === "node" ? req.mb * nodes : req.mb;
  return {
    cpuS: cpu === null ? null : tenth(cpu),
    maxRssMb: rss === null || rss === 0 ? null : tenth(rss),
    allocCpus: allocCpus === 0 ? null : allocCpus,
    allocMemMb: allocMemMb === null ? null : tenth(allocMemMb),
    allocTimeS: sacctDurationS(job[8]),
    source: "sacct",
  };
}

export const slurm: BatchScheduler = {
  name: "slurm",
  capabilities: { nativeArrays: true, nativeDependencies: "ok+any", cancelTask: true, accounting: true, tagRouting: false, remoteRunDirs: false },
  minArrayIndex: 0,
  singleRangeArrays: false,
  pollMinAgeS: 5,
  arrayIndexVariable: "SLURM_ARRAY_TASK_ID",
  handOver: 'exec /bin/sh "$corral_dir/wrapper.sh"',

  probe(_projectDir: string, thorough: boolean): ProbeResult {
    const lines: DoctorLine[] = [];
    const line = (usable: boolean, text: string) => lines.push({ engine: "slurm", usable, text });
    let config: string;
    try {
      config = runScheduler("scontrol", ["show", "config"], 20_000).stdout;
    } catch (err) {
      const why = (err as Error).message;
      line(
        false,
        /not found/.test(why)
          ? "not usable: scontrol is not on PATH (install slurm-client, or load your site's Slurm module)"
          : `not usable: slurmctld does not answer (${why}); is it running? try: scontrol ping`,
      );
      return { usable: false, lines, maxArrayIndex: null, accounting: false };
    }
    const get = (key: string) => new RegExp(`^${key}\\s*=\\s*(.*)$`, "m").exec(config)?.[1]?.trim() ?? null;
    const maxArraySize = Number(get("MaxArraySize") ?? "1001");
    const storage = get("AccountingStorageType") ?? "";
    line(true, `usable: Slurm ${get("SLURM_VERSION") ?? "?"}, cluster ${get("ClusterName") ?? "?"}, MaxArraySize ${maxArraySize} (larger arrays are split)`);
    const accounting = /slurmdbd/.test(storage);
    if (!accounting) {
      line(true, `accounting off (AccountingStorageType=${storage || "none"}): reasons such as TIMEOUT and OUT_OF_MEMORY come from markers alone`);
    } else if (thorough) {
      try {
        runScheduler("sacct", ["-n", "-X", "-P", "-o", "JobID", "-j", "1"], 20_000);
        line(true, "accounting on: sacct answers (reasons such as TIMEOUT, OUT_OF_MEMORY and NODE_FAIL are reported)");
      } catch (err) {
        line(true, `accounting unreachable (${(err as Error).message}): reasons come from markers alone until slurmdbd answers`);
      }
    }
    return { usable: true, lines, maxArrayIndex: maxArraySize - 1, accounting };
  },

  checkResources(spec: JobSpec): void {
    if (spec.resources.gpus > 0 && spec.resources.gpus !== Math.floor(spec.resources.gpus))
      throw new UsageError(`--gpus ${spec.resources.gpus}: expected a whole number`);
  },

  configArgs(projectDir: string): string[] {
    return passThroughArgs(configSection(projectDir, "slurm"), "slurm", (k, v) => (v === true ? `--${k}` : `--${k}=${v}`));
  },

  directives(req: SubmissionRequest): string[] {
    return slurmDirectives(directiveJob(req, "slurm"));
  },

  submit(scriptPath: string, passThrough: readonly string[]): string {
    // Pass-through arguments on the command line: they override the script's directives, byte for byte.
    const out = runScheduler("sbatch", ["--parsable", ...passThrough, scriptPath]).stdout.trim();
    const id = out.split(";")[0]!.split("\n").pop()!.trim();
    if (!/^\d+$/.test(id)) throw new SchedulerRejected(`sbatch: unexpected answer '${oneLine(out)}'`);
    return id;
  },

  taskId(jobId: string, arrayIndex: number | null): string {
    return arrayIndex === null ? jobId : `${jobId}_${arrayIndex}`;
  },

  indexOfTask(taskId: string, offset: number): number | null {
    const m = /^\d+_(\d+)$/.exec(taskId);
    return m ? Number(m[1]) + offset : null;
  },

  jobIdOf(taskId: string): string {
    return taskId.split("_")[0]!;
  },

  observe({ tag }: ObserveContext) {
    const user = os.userInfo().username;
    return parseSqueue(runScheduler("squeue", ["-h", "-r", "-u", user, "-o", "%F|%K|%T|%r|%k"]).stdout, tag);
  },

  account(attempts: readonly AttemptRow[]): Map<number, AccountingVerdict> {
    const out = new Map<number, AccountingVerdict>();
    const ids = [...new Set(attempts.map((a) => a.engine_id!))];
    let text: string;
    try {
      // No -X: the batch step's line carries MaxRSS, and its presence says the record is complete.
      text = runScheduler("sacct", ["-P", "-n", "-o", SACCT_FIELDS, "-j", ids.join(",")]).stdout;
    } catch (err) {
      if (err instanceof SchedulerRejected) return out; // e.g. accounting storage disabled: markers alone
      throw err;
    }
    const records = parseSacct(text);
    for (const a of attempts) {
      const r = records.get(a.engine_id!);
      // Job ids are reused (a reset controller starts again at 1): a record older than our submission is someone else's.
      if (!r || (r.submittedS !== null && r.submittedS < Math.floor(a.submitted_at) - 1)) continue;
      out.set(a.id, r.usage ? { ...r.verdict, usage: r.usage } : r.verdict);
    }
    return out;
  },

  cancel(taskIds: readonly string[]): void {
    runScheduler("scancel", [...taskIds]);
  },
};
