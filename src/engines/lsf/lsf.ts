import fs from "node:fs";
import os from "node:os";
import { configSection } from "../../config/project-config.js";
import { UsageError } from "../../domain/errors.js";
import type { JobSpec } from "../../domain/job.js";
import type { AttemptUsage } from "../../domain/usage.js";
import { lsfDirectives, lsfWaitCondition } from "../../protocol/directives.js";
import type { AttemptRow } from "../../store/rows.js";
import type { DoctorLine } from "../engine.js";
import type { AccountingVerdict, BatchScheduler, LiveJob, ObserveContext, Observation, ProbeResult, SubmissionRequest } from "../cluster/backend.js";
import { directiveJob } from "../cluster/directive-job.js";
import { passThroughArgs } from "../cluster/pass-through.js";
import { oneLine, runScheduler, SchedulerRejected, SchedulerUnavailable } from "../cluster/run-command.js";

/** The bjobs fields corral reads, in one `-o` list. */
const FIELDS = "jobid jobindex stat exit_code exit_reason pend_reason job_description";

/** States of a job that is executing, suspended while executing included (bjobs(1)). */
const RUNNING = new Set(["RUN", "USUSP", "SSUSP", "PROV"]);
const OVER = new Set(["DONE", "EXIT"]);

/**
 * Why LSF ended a job (the TERM_* reasons of bhist and bjobs -l; IBM's "Job termination reasons"): corral's
 * words for the ones the markers cannot tell. Any other TERM_ reason is a failure named by its own keyword.
 */
const TERM_VERDICTS: Record<string, Pick<AccountingVerdict, "kind" | "keyword">> = {
  TERM_RUNLIMIT: { kind: "failed", keyword: "TIMEOUT" },
  TERM_DEADLINE: { kind: "failed", keyword: "TIMEOUT" },
  TERM_MEMLIMIT: { kind: "failed", keyword: "OUT_OF_MEMORY" },
  TERM_SWAP: { kind: "failed", keyword: "OUT_OF_MEMORY" },
  TERM_CPULIMIT: { kind: "failed", keyword: "CPU_TIME_LIMIT" },
  TERM_PREEMPT: { kind: "failed", keyword: "PREEMPTED" },
  TERM_OWNER: { kind: "cancelled", keyword: "CANCELLED" },
  TERM_ADMIN: { kind: "cancelled", keyword: "CANCELLED" },
  TERM_FORCE_OWNER: { kind: "cancelled", keyword: "CANCELLED" },
  TERM_FORCE_ADMIN: { kind: "cancelled", keyword: "CANCELLED" },
  TERM_REQUEUE_OWNER: { kind: "cancelled", keyword: "CANCELLED" },
  TERM_REQUEUE_ADMIN: { kind: "cancelled", keyword: "CANCELLED" },
};

/** A finished job's verdict from its TERM_ reason; a job that exited by itself (no reason) is the markers' to tell. */
export function verdictOfTerm(text: string, exitCode: string | null): AccountingVerdict {
  const term = /\bTERM_[A-Z_]+/.exec(text)?.[0] ?? null;
  const detail = [text.trim() || "no reason given", ...(exitCode ? [`exit code ${exitCode}`] : [])].join(", ");
  if (term === null) return { kind: "ended", keyword: "ENDED", detail };
  return { ...(TERM_VERDICTS[term] ?? { kind: "failed", keyword: term }), detail };
}

interface BjobsRecord {
  readonly JOBID?: string;
  readonly JOBINDEX?: string;
  readonly STAT?: string;
  readonly EXIT_CODE?: string;
  readonly EXIT_REASON?: string;
  readonly PEND_REASON?: string;
  readonly JOB_DESCRIPTION?: string;
}

/** The task id of a bjobs record: `123` or `123[4]`. */
function recordId(r: BjobsRecord): string {
  const index = Number(r.JOBINDEX ?? "0");
  return index > 0 ? `${r.JOBID}[${index}]` : String(r.JOBID);
}

/**
 * Parses `bjobs -a -json -o "..."`: unfinished jobs are live, finished ones (DONE, EXIT, kept for
 * CLEAN_PERIOD) say how they ended, so most ends need no accounting call. Unreadable JSON concludes nothing.
 */
export function parseBjobsJson(text: string): Observation {
  let doc: { RECORDS?: BjobsRecord[] };
  try {
    doc = text.trim() === "" ? {} : (JSON.parse(text) as typeof doc);
  } catch (err) {
    throw new SchedulerUnavailable(`bjobs: unreadable JSON (${(err as Error).message})`);
  }
  const live = new Map<string, LiveJob>();
  const fates = new Map<string, AccountingVerdict>();
  const comments = new Map<string, string>();
  for (const r of doc.RECORDS ?? []) {
    if (!r.JOBID) continue;
    const id = recordId(r);
    const stat = r.STAT ?? "?";
    if (r.JOB_DESCRIPTION?.startsWith("corral:")) comments.set(id, r.JOB_DESCRIPTION);
    if (OVER.has(stat)) {
      const v = verdictOfTerm(r.EXIT_REASON ?? "", r.EXIT_CODE || null);
      if (v.kind !== "ended") fates.set(id, v);
      continue;
    }
    const reason =
      stat === "PSUSP" ? `held (PSUSP): release it with bresume ${id}` : stat === "PEND" && r.PEND_REASON ? r.PEND_REASON.replace(/;\s*$/, "") : null;
    // An unknown state (UNKWN, ZOMBI, one added later) is a job still there, never a failure.
    live.set(id, { state: stat, running: RUNNING.has(stat), reason });
  }
  return { live, comments, fates };
}

const LSF_UNIT_MB: Record<string, number> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };
const tenth = (x: number) => Math.round(x * 10) / 10;

/**
 * What a finished job used, from its bhist -l block: "The CPU time used is N seconds" (all the job's
 * processes, as LSF's res collects them), "MAX MEM" (the largest total memory of the job's processes together,
 * as sampled), the slots it was allocated, and its RUNLIMIT and MEMLIMIT when it had them.
 */
export function usageOfBhist(block: string): AttemptUsage {
  const cpu = /The CPU time used is ([\d.]+) seconds?/.exec(block)?.[1];
  const mem = /MAX MEM: ([\d.]+) ([KMGT])bytes/.exec(block);
  const slots = /Allocated (\d+) Slot\(s\)/.exec(block)?.[1] ?? /Dispatched (\d+) Task\(s\)/.exec(block)?.[1];
  const runlimit = /RUNLIMIT\s*\n\s*([\d.]+) min/.exec(block)?.[1];
  const memlimit = /MEMLIMIT\s*\n\s*([\d.]+) ([KMGT])/.exec(block);
  return {
    cpuS: cpu === undefined ? null : Number(cpu),
    maxRssMb: mem ? tenth(Number(mem[1]) * LSF_UNIT_MB[mem[2]!]!) || null : null,
    allocCpus: slots === undefined ? null : Number(slots),
    allocMemMb: memlimit ? tenth(Number(memlimit[1]) * LSF_UNIT_MB[memlimit[2]!]!) : null,
    allocTimeS: runlimit === undefined ? null : Math.round(Number(runlimit) * 60),
    source: "bhist",
  };
}

/**
 * Parses `bhist -l`: one block per job, starting `Job <123[4]>`, its lines wrapped at 80 columns with a
 * 21-space indent. Returns each job's TERM_ reason and exit code, if it ended, with what it used (the record
 * of a finished job is complete).
 */
export function parseBhist(text: string): Map<string, AccountingVerdict> {
  const out = new Map<string, AccountingVerdict>();
  const joined = text.replace(/\n {21}/g, "");
  for (const block of joined.split(/^-{10,}$/m)) {
    const id = /Job <(\d+(?:\[\d+\])?)>/.exec(block)?.[1];
    if (!id) continue;
    const term = /(TERM_[A-Z_]+[^\n.]*)/.exec(block)?.[1] ?? "";
    const exited = /Exited with exit code (\d+)/.exec(block)?.[1] ?? null;
    const done = /Done successfully/.test(block);
    if (!term && !exited && !done) continue; // still pending or running
    out.set(id, { ...verdictOfTerm(term, exited), usage: usageOfBhist(block) });
  }
  return out;
}

/** "Job <123> is submitted to queue <normal>." */
export function bsubJobId(text: string): string | null {
  return /Job <(\d+)> is submitted/.exec(text)?.[1] ?? null;
}

export const lsf: BatchScheduler = {
  name: "lsf",
  capabilities: { nativeArrays: true, nativeDependencies: "ok+any", cancelTask: true, accounting: true, tagRouting: false, remoteRunDirs: false },
  // LSF array indices start at 1.
  minArrayIndex: 1,
  singleRangeArrays: false,
  pollMinAgeS: 5,
  arrayIndexVariable: "LSB_JOBINDEX",
  handOver: 'exec /bin/sh "$corral_dir/wrapper.sh"',

  probe(_projectDir: string, thorough: boolean): ProbeResult {
    const lines: DoctorLine[] = [];
    const line = (usable: boolean, text: string) => lines.push({ engine: "lsf", usable, text });
    let id: string;
    try {
      id = runScheduler("lsid", [], 20_000).stdout;
    } catch (err) {
      const why = (err as Error).message;
      line(
        false,
        /not found/.test(why) ? "not usable: lsid is not on PATH (source your cluster's profile.lsf)" : `not usable: LSF does not answer (${why}); try: lsid`,
      );
      return { usable: false, lines, maxArrayIndex: null, accounting: false };
    }
    // MAX_JOB_ARRAY_SIZE (default 1000) bounds the index: larger arrays are split.
    let maxIndex = 1000;
    try {
      const m = /MAX_JOB_ARRAY_SIZE\s*=\s*(\d+)/.exec(runScheduler("bparams", ["-a"], 20_000).stdout);
      if (m) maxIndex = Number(m[1]);
    } catch (err) {
      if (!(err instanceof SchedulerRejected)) throw err;
    }
    const first = oneLine(id.split("\n")[0] ?? "");
    const cluster = /My cluster name is (\S+)/.exec(id)?.[1] ?? "?";
    line(true, `usable: ${first}, cluster ${cluster}, MAX_JOB_ARRAY_SIZE ${maxIndex} (larger arrays are split)`);
    if (thorough)
      line(true, "finished jobs are read with bjobs -a while LSF keeps them (CLEAN_PERIOD), then with bhist -l (TERM_RUNLIMIT, TERM_MEMLIMIT, TERM_OWNER...)");
    return { usable: true, lines, maxArrayIndex: maxIndex, accounting: true };
  },

  checkResources(spec: JobSpec): void {
    if (spec.resources.gpus > 0 && spec.resources.gpus !== Math.floor(spec.resources.gpus))
      throw new UsageError(`--gpus ${spec.resources.gpus}: expected a whole number`);
  },

  configArgs(projectDir: string): string[] {
    return passThroughArgs(configSection(projectDir, "lsf"), "lsf", (k, v) => (v === true ? `-${k}` : [`-${k}`, v]));
  },

  directives(req: SubmissionRequest): string[] {
    return lsfDirectives(directiveJob(req, "lsf"), lsfWaitCondition(req.afterOk, req.afterAny));
  },

  submit(scriptPath: string, passThrough: readonly string[]): string {
    // bsub reads a script's #BSUB lines when the script comes on its standard input.
    const out = runScheduler("bsub", [...passThrough], 60_000, fs.readFileSync(scriptPath, "utf8"));
    const id = bsubJobId(`${out.stdout}\n${out.stderr}`);
    if (id === null) throw new SchedulerRejected(`bsub: unexpected answer '${oneLine(`${out.stdout}\n${out.stderr}`)}'`);
    return id;
  },

  taskId(jobId: string, arrayIndex: number | null): string {
    return arrayIndex === null ? jobId : `${jobId}[${arrayIndex}]`;
  },

  indexOfTask(taskId: string, offset: number): number | null {
    const m = /^\d+\[(\d+)\]$/.exec(taskId);
    return m ? Number(m[1]) + offset : null;
  },

  jobIdOf(taskId: string): string {
    return taskId.replace(/\[\d+\]$/, "");
  },

  observe(_ctx: ObserveContext): Observation {
    let text: string;
    try {
      text = runScheduler("bjobs", ["-a", "-u", os.userInfo().username, "-json", "-o", FIELDS]).stdout;
    } catch (err) {
      if (err instanceof SchedulerRejected && /No (unfinished )?job found/i.test(err.message))
        return { live: new Map(), comments: new Map(), fates: new Map() };
      throw err;
    }
    return parseBjobsJson(text);
  },

  account(attempts: readonly AttemptRow[]): Map<number, AccountingVerdict> {
    const out = new Map<number, AccountingVerdict>();
    const ids = [...new Set(attempts.map((a) => a.engine_id!))];
    let text: string;
    try {
      // -n 0: search every event log file, since the job may be older than the current one.
      text = runScheduler("bhist", ["-l", "-n", "0", ...ids]).stdout;
    } catch (err) {
      if (err instanceof SchedulerRejected) return out; // "No matching job found": markers alone
      throw err;
    }
    const records = parseBhist(text);
    for (const a of attempts) {
      const v = records.get(a.engine_id!);
      if (v) out.set(a.id, v);
    }
    return out;
  },

  release(taskIds: readonly string[]): void {
    try {
      runScheduler("bresume", [...new Set(taskIds)]);
    } catch (err) {
      if (!(err instanceof SchedulerRejected)) throw err; // not suspended: nothing to release
    }
  },

  cancel(taskIds: readonly string[]): void {
    try {
      runScheduler("bkill", [...new Set(taskIds)]);
    } catch (err) {
      if (!(err instanceof SchedulerRejected)) throw err; // "Job has already finished": what cancelling wanted
    }
  },
};
