import os from "node:os";
import { configSection } from "../../config/project-config.js";
import { parseArraySpec } from "../../domain/array-spec.js";
import { UsageError } from "../../domain/errors.js";
import type { JobSpec } from "../../domain/job.js";
import { configuredPbsDialect, pbsDependency, pbsDirectives, type PbsDialect } from "../../protocol/directives.js";
import type { AttemptRow } from "../../store/rows.js";
import type { DoctorLine } from "../engine.js";
import type { AccountingVerdict, BatchScheduler, LiveJob, ObserveContext, Observation, ProbeResult, SubmissionRequest } from "../cluster/backend.js";
import { directiveJob } from "../cluster/directive-job.js";
import { passThroughArgs } from "../cluster/pass-through.js";
import { oneLine, runScheduler, SchedulerRejected, SchedulerUnavailable } from "../cluster/run-command.js";
import { isOver, liveJobOf, parseQstatJson, parseQstatText, usageOfRecord, verdictOfRecord, type QstatRecord } from "./qstat-records.js";

/** `[pbs]` keys corral interprets itself rather than passing to qsub. */
const OWN_KEYS = ["dialect"] as const;

/** The dialect a request or an observation was made in: the probe's, else PBS Professional. */
const dialectOf = (d: string | null): PbsDialect => (d === "torque" ? "torque" : "pro");

/**
 * One qstat call. Exit status 153 with nothing printed is PBSE_UNKJOBID (15001) truncated to a byte: no such
 * job, which for a listing means no jobs at all (Slurm's Torque front end says so for an empty queue too).
 * Slurm's front end dies with "Problem loading jobs" when slurmctld does not answer.
 */
function qstat(args: readonly string[], timeoutMs?: number): string {
  try {
    return runScheduler("qstat", args, timeoutMs).stdout;
  } catch (err) {
    if (!(err instanceof SchedulerRejected)) throw err;
    if (/: exit status 153$/.test(err.message)) return "";
    if (/Problem loading/i.test(err.message)) throw new SchedulerUnavailable(err.message);
    throw err;
  }
}

/** What `qstat --version` says: PBS Professional prints pbs_version = X, Torque "Version: X"; Slurm's front end has no such option. */
export function dialectFromVersion(text: string): { dialect: PbsDialect; version: string | null } {
  const pro = /pbs_version\s*=\s*(\S+)/.exec(text);
  if (pro) return { dialect: "pro", version: pro[1]! };
  return { dialect: "torque", version: /Version:\s*(\S+)/.exec(text)?.[1] ?? null };
}

/** PBS Professional caps running subjobs (`-J 1-100%8`) since 2020.1 (OpenPBS 20.0). */
export function proCapsArrays(version: string | null): boolean {
  const major = Number((version ?? "").split(".")[0]);
  return !Number.isFinite(major) || major === 0 || major >= 20;
}

/** The ids an array subjob's parent is listed under: `12[].server` (PBS, Torque), `12` (Slurm's Torque front end). */
function parentIds(taskId: string): string[] {
  return [taskId.replace(/\[\d+\]/, "[]"), taskId.replace(/\[\d+\]/, "")];
}

/** The subjob's index, or null for a plain job. */
function subjobIndex(taskId: string): number | null {
  const m = /\[(\d+)\]/.exec(taskId);
  return m ? Number(m[1]) : null;
}

/** Whether a listed array parent still has the index to run or running (`array_indices_remaining`, PBS Professional). */
function parentHas(parent: QstatRecord, index: number): boolean {
  const remaining = parent.attrs.get("array_indices_remaining");
  if (remaining === undefined) return true;
  if (remaining === "-") return false;
  try {
    return parseArraySpec(remaining).indices.includes(index);
  } catch {
    return true; // unreadable: the job is still there, which is all a listing may conclude
  }
}

/**
 * One listing as an observation: live jobs by id (a subjob the listing does not show on its own line is
 * live while its array parent says so), and fates for finished records that say why they ended.
 */
export function observationOf(records: readonly QstatRecord[], attempts: readonly AttemptRow[], dialect: PbsDialect, user: string): Observation {
  const mine = records.filter((r) => {
    const owner = r.attrs.get("Job_Owner");
    return owner === undefined || owner.split("@")[0] === user;
  });
  const byId = new Map(mine.map((r) => [r.id, r]));
  const live = new Map<string, LiveJob>();
  const fates = new Map<string, AccountingVerdict>();
  for (const r of mine) {
    if (!isOver(r)) live.set(r.id, liveJobOf(r));
    else {
      const v = verdictOfRecord(r, dialect);
      // Only what the markers cannot tell; a fate carries what the job used, so its usage needs no other call.
      const usage = usageOfRecord(r);
      if (v && v.kind !== "ended") fates.set(r.id, usage ? { ...v, usage } : v);
    }
  }
  for (const a of attempts) {
    const id = a.engine_id;
    const index = id === null ? null : subjobIndex(id);
    if (id === null || index === null || byId.has(id)) continue;
    const parent = parentIds(id)
      .map((p) => byId.get(p))
      .find((p) => p !== undefined);
    if (parent && !isOver(parent) && parentHas(parent, index)) live.set(id, liveJobOf(parent));
  }
  return { live, comments: new Map(), fates };
}

/** Slurm's Torque front end prints sbatch's refusal inside three lines of its own: keep sbatch's words. */
export function qsubRefusal(message: string): string {
  const errors = message.match(/sbatch: error: [^;']*/g);
  return errors ? `qsub: ${[...new Set(errors)].join("; ")}` : message;
}

export const pbs: BatchScheduler = {
  name: "pbs",
  capabilities: { nativeArrays: true, nativeDependencies: "ok+any", cancelTask: true, accounting: true, tagRouting: false, remoteRunDirs: false },
  minArrayIndex: 0,
  // PBS Professional's -J takes one start-end:step range (Torque's -t takes lists, but one range serves both).
  singleRangeArrays: true,
  speaksDialects: true,
  pollMinAgeS: 5,
  // PBS Professional sets PBS_ARRAY_INDEX, Torque PBS_ARRAYID, and Slurm's Torque front end only Slurm's own.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, not a template
  arrayIndexVariable: "{PBS_ARRAY_INDEX:-${PBS_ARRAYID:-$SLURM_ARRAY_TASK_ID}}",
  handOver: 'exec /bin/sh "$corral_dir/wrapper.sh"',

  probe(projectDir: string, thorough: boolean): ProbeResult {
    const configured = configuredPbsDialect(configSection(projectDir, "pbs"));
    const lines: DoctorLine[] = [];
    const line = (usable: boolean, text: string) => lines.push({ engine: "pbs", usable, text });
    try {
      qstat(["-Q"], 20_000);
    } catch (err) {
      const why = (err as Error).message;
      line(
        false,
        /not found/.test(why)
          ? "not usable: qstat is not on PATH (install your site's PBS or Torque client, or load its module)"
          : `not usable: the PBS server does not answer (${why}); is pbs_server running? try: qstat -B`,
      );
      return { usable: false, lines, maxArrayIndex: null, accounting: false };
    }
    let versionText = "";
    try {
      versionText = runScheduler("qstat", ["--version"], 20_000).stdout;
    } catch (err) {
      if (!(err instanceof SchedulerRejected)) throw err; // no --version: an old Torque, or Slurm's front end
    }
    const detected = dialectFromVersion(versionText);
    const dialect = configured ?? detected.dialect;
    const arrayCaps = dialect === "torque" || proCapsArrays(detected.version);
    const named = dialect === "pro" ? "PBS Professional" : "Torque";
    const how = configured ? "as [pbs] dialect says" : "detected; set dialect under [pbs] to choose";
    line(true, `usable: ${named} ${detected.version ?? "(no version given)"}, ${how}`);
    if (dialect === "pro") {
      if (!arrayCaps) line(true, `this server cannot cap running subjobs (-J ...%N came with 2020.1): arrays with a %N cap are refused`);
      if (thorough) line(true, "accounting on: finished jobs are read with qstat -x (TIMEOUT, memory kills and qdel are reported)");
    } else if (thorough) {
      line(true, "finished jobs are read from the listing while the server keeps them (keep_completed); after that, markers alone");
    }
    return { usable: true, lines, maxArrayIndex: null, accounting: dialect === "pro", dialect, arrayCaps };
  },

  checkResources(spec: JobSpec, projectDir: string, probe?: ProbeResult): void {
    configuredPbsDialect(configSection(projectDir, "pbs"));
    if (spec.array?.cap && probe?.arrayCaps === false)
      throw new UsageError(`--array %${spec.array.cap}: this PBS Professional server cannot cap running subjobs (it came with 2020.1); drop the cap`);
    if (spec.resources.gpus > 0 && spec.resources.gpus !== Math.floor(spec.resources.gpus))
      throw new UsageError(`--gpus ${spec.resources.gpus}: expected a whole number`);
  },

  configArgs(projectDir: string): string[] {
    return passThroughArgs(configSection(projectDir, "pbs"), "pbs", (k, v) => (v === true ? `-${k}` : [`-${k}`, v]), OWN_KEYS);
  },

  directives(req: SubmissionRequest): string[] {
    return pbsDirectives(directiveJob(req, "pbs"), dialectOf(req.dialect));
  },

  submit(scriptPath: string, passThrough: readonly string[], req: SubmissionRequest): string {
    // Output and dependencies are given on the command line as well as in the script: Slurm's Torque front end
    // reads them only from there (its qsub names an output file of its own otherwise), and they are the same values.
    const dep = pbsDependency(req.afterOk, req.afterAny, dialectOf(req.dialect));
    const own = ["-j", "oe", "-o", `${req.logDir}/pbs-${req.attemptN}-${req.indices[0]}.out`, ...(dep ? ["-W", `depend=${dep}`] : [])];
    let out: string;
    try {
      out = runScheduler("qsub", [...own, ...passThrough, scriptPath]).stdout.trim();
    } catch (err) {
      if (err instanceof SchedulerRejected) throw new SchedulerRejected(qsubRefusal(err.message));
      throw err;
    }
    const id = out.split("\n").pop()!.trim();
    if (!/^\d+(\[\])?(\.[\w.-]+)?$/.test(id)) throw new SchedulerRejected(`qsub: unexpected answer '${oneLine(out)}'`);
    return id;
  },

  taskId(jobId: string, arrayIndex: number | null): string {
    if (arrayIndex === null) return jobId;
    return jobId.includes("[]") ? jobId.replace("[]", `[${arrayIndex}]`) : `${jobId}[${arrayIndex}]`;
  },

  indexOfTask(taskId: string, offset: number): number | null {
    const index = subjobIndex(taskId);
    return index === null ? null : index + offset;
  },

  jobIdOf(taskId: string): string {
    return taskId.replace(/\[\d+\]/, "[]");
  },

  observe(ctx: ObserveContext): Observation {
    const dialect = dialectOf(ctx.dialect);
    // PBS Professional lists subjobs with -t; Torque's -t is not understood by Slurm's front end, so Torque arrays
    // are watched through their parent's line.
    const records = dialect === "pro" ? parseQstatJson(qstat(["-f", "-F", "json", "-t"])) : parseQstatText(qstat(["-f"]));
    return observationOf(records, ctx.attempts, dialect, os.userInfo().username);
  },

  account(attempts: readonly AttemptRow[], dialect: string | null): Map<number, AccountingVerdict> {
    const out = new Map<number, AccountingVerdict>();
    if (dialectOf(dialect) !== "pro") return out; // Torque's finished jobs come with the listing (observe's fates)
    const ids = [...new Set(attempts.map((a) => a.engine_id!))];
    let records: QstatRecord[];
    try {
      records = parseQstatJson(qstat(["-x", "-f", "-F", "json", "-t", ...ids]));
    } catch (err) {
      if (err instanceof SchedulerRejected) return out; // e.g. history purged for one of them: markers alone
      throw err;
    }
    const byId = new Map(records.map((r) => [r.id, r]));
    for (const a of attempts) {
      const r = byId.get(a.engine_id!);
      if (!r || !isOver(r)) continue;
      // Job ids are reused after a server's sequence wraps: a record older than our submission is someone else's.
      const queued = Date.parse((r.attrs.get("qtime") ?? "").replace(/\s+/g, " "));
      if (!Number.isNaN(queued) && queued / 1000 < Math.floor(a.submitted_at) - 1) continue;
      // A clean end (the markers tell how) still brings what the job used: "ended" with the record's usage.
      const usage = usageOfRecord(r);
      const v = verdictOfRecord(r, "pro") ?? (usage ? { kind: "ended" as const, keyword: "ENDED", detail: `job_state ${r.attrs.get("job_state")}` } : null);
      if (v) out.set(a.id, usage ? { ...v, usage } : v);
    }
    return out;
  },

  release(taskIds: readonly string[]): void {
    try {
      runScheduler("qrls", [...new Set(taskIds)]);
    } catch (err) {
      if (!(err instanceof SchedulerRejected)) throw err; // not held: nothing to release
    }
  },

  cancel(taskIds: readonly string[]): void {
    // One qdel for all; ids that already ended are refused ("Unknown Job Id"), which is what cancelling wanted.
    try {
      runScheduler("qdel", [...new Set(taskIds)]);
    } catch (err) {
      if (!(err instanceof SchedulerRejected)) throw err;
    }
  },
};
