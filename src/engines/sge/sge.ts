import os from "node:os";
import { createRequire } from "node:module";
import { configSection } from "../../config/project-config.js";
import { UsageError } from "../../domain/errors.js";
import type { JobSpec } from "../../domain/job.js";
import type { AttemptUsage } from "../../domain/usage.js";
import type { AttemptRow } from "../../store/rows.js";
import type { DoctorLine } from "../engine.js";
import { expandRanges, formatRanges } from "../cluster/chunks.js";
import { directiveJob } from "../cluster/directive-job.js";
import { passThroughArgs } from "../cluster/pass-through.js";
import { sgeDirectives, sgeSiteProblem } from "../../protocol/directives.js";
import { oneLine, runScheduler, SchedulerRejected } from "../cluster/run-command.js";
import type { AccountingVerdict, BatchScheduler, LiveJob, ProbeResult, SubmissionRequest } from "../cluster/backend.js";

/** `[sge]` keys corral interprets itself rather than passing to qsub. */
const OWN_KEYS = ["pe", "gpu_resource"] as const;

// Loaded on first use: the XML parser costs ~70 ms to load, and most corral commands never read qstat.
let xml: import("fast-xml-parser").XMLParser | null = null;
function xmlParser(): import("fast-xml-parser").XMLParser {
  const { XMLParser } = createRequire(import.meta.url)("fast-xml-parser") as typeof import("fast-xml-parser");
  xml ??= new XMLParser({ ignoreAttributes: false, isArray: (name) => name === "job_list" });
  return xml;
}

interface XmlJob {
  JB_job_number: number | string;
  state: string | { "#text": string };
  tasks?: number | string;
  "@_state"?: string;
}

/** Parses `qstat -xml`: running tasks come one element each, pending ones grouped (`3-7:2`, `3,5`). */
export function parseQstatXml(text: string): Map<string, LiveJob> {
  const doc = xmlParser().parse(text) as { job_info?: { queue_info?: { job_list?: XmlJob[] } | ""; job_info?: { job_list?: XmlJob[] } | "" } };
  const root = doc.job_info ?? {};
  const lists = [
    ...((typeof root.queue_info === "object" && root.queue_info?.job_list) || []),
    ...((typeof root.job_info === "object" && root.job_info?.job_list) || []),
  ];
  const live = new Map<string, LiveJob>();
  for (const j of lists) {
    const id = String(j.JB_job_number);
    const state = typeof j.state === "object" ? j.state["#text"] : String(j.state);
    const info: LiveJob = {
      state,
      running: /[rtR]/.test(state) && !state.includes("q"),
      reason: state.includes("E")
        ? "error state: see qstat -j for why, then qdel or qmod -cj"
        : state.includes("h")
          ? "held (waiting for a dependency or a hold)"
          : null,
    };
    if (j.tasks === undefined || j.tasks === "") live.set(id, info);
    else for (const t of expandRanges(String(j.tasks))) live.set(`${id}.${t}`, info);
  }
  return live;
}

/** One finished task as qacct prints it. */
export interface QacctRecord {
  readonly id: string;
  readonly failed: string;
  readonly exitStatus: string;
  readonly submittedS: number | null;
  readonly usage: AttemptUsage;
}

/**
 * A qacct figure as a number, its unit suffix applied: 8.1.9 prints `306.598MB`, `0.167s`, `5s`; older
 * releases `306.598M`, `0.167`, or plain numbers. Null when absent or unreadable.
 */
export function qacctNumber(text: string | undefined): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:B|s|Bs)?$/.exec(text?.trim() ?? "");
  if (!m) return null;
  return Number(m[1]) * 1024 ** " KMGTP".indexOf(m[2] || " ");
}

const tenth = (x: number) => Math.round(x * 10) / 10;

/** `-l h_rt=60,h_vmem=100M` of a record's `category`, as seconds and MB (h_vmem is per slot). */
function requested(category: string | undefined, slots: number | null): { timeS: number | null; memMb: number | null } {
  const rt = /\bh_rt=([\d:]+)/.exec(category ?? "")?.[1];
  const vmem = /\bh_vmem=(\d+(?:\.\d+)?[KMGTkmgt]?)/.exec(category ?? "")?.[1];
  const timeS = rt === undefined ? null : rt.split(":").reduce((acc, p) => acc * 60 + Number(p), 0);
  const bytes = vmem === undefined ? null : qacctNumber(vmem.toUpperCase());
  return { timeS, memMb: bytes === null ? null : tenth((bytes / 1024 / 1024) * Math.max(1, slots ?? 1)) };
}

/**
 * Parses `qacct -j`: one block per task, separated by lines of '='. A record is written once the task has
 * ended, so its usage is complete: `cpu` is user + system seconds of every process of the job (Grid Engine
 * tracks them by an added group id), `ru_maxrss` the largest resident set of any one process, `maxvmem` the
 * peak virtual memory of the whole job (all its processes together). Peak memory prefers ru_maxrss when it is
 * not 0, and says which in `source`. ru_maxrss is in KB, but 8.1.9 prints it as if it were bytes
 * (`304.777KB` for 312,092 KB): the number with its suffix applied is the KB figure in either form.
 */
export function parseQacct(text: string): QacctRecord[] {
  const out: QacctRecord[] = [];
  for (const block of text.split(/^=+$/m)) {
    const fields = new Map<string, string>();
    for (const line of block.split("\n")) {
      const m = /^(\w+)\s+(.*?)\s*$/.exec(line);
      if (m) fields.set(m[1]!, m[2]!);
    }
    const job = fields.get("jobnumber");
    if (!job) continue;
    const task = fields.get("taskid");
    const submitted = Date.parse((fields.get("qsub_time") ?? "").replace(/\s+/g, " "));
    const rssKb = qacctNumber(fields.get("ru_maxrss"));
    const vmem = qacctNumber(fields.get("maxvmem"));
    const slots = qacctNumber(fields.get("slots"));
    const req = requested(fields.get("category"), slots);
    const cpu = qacctNumber(fields.get("cpu"));
    const [maxRssMb, source] =
      rssKb !== null && rssKb > 0
        ? [tenth(rssKb / 1024), "qacct ru_maxrss"]
        : vmem !== null && vmem > 0
          ? [tenth(vmem / 1024 / 1024), "qacct maxvmem"]
          : [null, "qacct"];
    out.push({
      id: task === undefined || task === "undefined" ? job : `${job}.${task}`,
      failed: fields.get("failed") ?? "0",
      exitStatus: (fields.get("exit_status") ?? "").split(/\s/)[0]!,
      submittedS: Number.isNaN(submitted) ? null : submitted / 1000,
      usage: {
        cpuS: cpu === null ? null : tenth(cpu),
        maxRssMb,
        allocCpus: slots === null || slots === 0 ? null : slots,
        allocMemMb: req.memMb,
        allocTimeS: req.timeS,
        source,
      },
    });
  }
  return out;
}

/** A time as qacct's -b reads it, [[CC]YY]MMDDhhmm[.SS], in local time. */
export function qacctTime(epochS: number): string {
  const d = new Date(epochS * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}${p(d.getHours())}${p(d.getMinutes())}.${p(d.getSeconds())}`;
}

/** What qacct's `failed` field means for corral (sge_status(5) lists the codes). */
export function verdictOf(failed: string, exitStatus: string): AccountingVerdict {
  const code = Number(failed.split(/\s/)[0]);
  const detail = `failed ${failed.replace(/\s+/g, " ")}, exit_status ${exitStatus}`.replace(/\s+/g, " ");
  if (code === 0) return { kind: "ended", keyword: "ENDED", detail };
  if (code === 37) return { kind: "failed", keyword: "TIMEOUT", detail };
  if (code === 100 && exitStatus === "137") return { kind: "cancelled", keyword: "CANCELLED", detail };
  return { kind: "failed", keyword: `FAILED ${code}`, detail };
}

/** Grid Engine's -t task ranges per job id, for qdel. */
function groupTasks(taskIds: readonly string[]): Map<string, number[] | null> {
  const out = new Map<string, number[] | null>();
  for (const t of taskIds) {
    const [job, task] = t.split(".") as [string, string | undefined];
    if (task === undefined) out.set(job, null);
    else if (out.get(job) !== null) out.set(job, [...(out.get(job) ?? []), Number(task)]);
  }
  return out;
}

export const sge: BatchScheduler = {
  name: "sge",
  capabilities: { nativeArrays: true, nativeDependencies: "any", cancelTask: true, accounting: true, tagRouting: false, remoteRunDirs: false },
  minArrayIndex: 1,
  singleRangeArrays: true,
  pollMinAgeS: 5,
  arrayIndexVariable: "SGE_TASK_ID",
  // Not exec: to Grid Engine, exit 99 means "reschedule" and 100 "put the job in error state"; the marker keeps the real status.
  handOver: `/bin/sh "$corral_dir/wrapper.sh"
corral_status=$?
case $corral_status in 99|100) exit 1 ;; esac
exit $corral_status`,

  probe(_projectDir: string, thorough: boolean): ProbeResult {
    const lines: DoctorLine[] = [];
    try {
      runScheduler("qstat", ["-g", "c"], 20_000);
    } catch (err) {
      const why = (err as Error).message;
      lines.push({
        engine: "sge",
        usable: false,
        text: /not found/.test(why)
          ? "not usable: qstat is not on PATH (install gridengine-client, or source your cell's settings.sh)"
          : `not usable: sge_qmaster does not answer (${why}); is it running?`,
      });
      return { usable: false, lines, maxArrayIndex: null, accounting: false };
    }
    const version = thorough ? oneLine(runScheduler("qstat", ["-help"], 20_000).stdout.split("\n")[0] ?? "") : "Grid Engine";
    lines.push({
      engine: "sge",
      usable: true,
      text: `usable: ${version}; its dependencies (-hold_jid) mean "after any", so corral checks --after parents before a job runs`,
    });
    let accounting = true;
    if (thorough) {
      try {
        runScheduler("qacct", ["-help"], 20_000);
        lines.push({ engine: "sge", usable: true, text: "accounting on: qacct answers (TIMEOUT from h_rt, jobs deleted with qdel)" });
      } catch {
        accounting = false;
        lines.push({ engine: "sge", usable: true, text: "accounting off: qacct is missing; reasons come from markers alone" });
      }
    }
    return { usable: true, lines, maxArrayIndex: null, accounting };
  },

  checkResources(spec: JobSpec, projectDir: string): void {
    const problem = sgeSiteProblem(configSection(projectDir, "sge"), spec.resources.cpus, spec.resources.gpus);
    if (problem) throw new UsageError(problem);
  },

  configArgs(projectDir: string): string[] {
    return passThroughArgs(configSection(projectDir, "sge"), "sge", (k, v) => (v === true ? `-${k}` : [`-${k}`, v]), OWN_KEYS);
  },

  directives(req: SubmissionRequest): string[] {
    return sgeDirectives(directiveJob(req, "sge"), req.settings);
  },

  submit(scriptPath: string, passThrough: readonly string[]): string {
    const out = runScheduler("qsub", ["-terse", ...passThrough, scriptPath]).stdout.trim();
    const id = out.split("\n").pop()!.split(".")[0]!.trim();
    if (!/^\d+$/.test(id)) throw new SchedulerRejected(`qsub: unexpected answer '${oneLine(out)}'`);
    return id;
  },

  taskId(jobId: string, arrayIndex: number | null): string {
    return arrayIndex === null ? jobId : `${jobId}.${arrayIndex}`;
  },

  indexOfTask(taskId: string, offset: number): number | null {
    const m = /^\d+\.(\d+)$/.exec(taskId);
    return m ? Number(m[1]) + offset : null;
  },

  jobIdOf(taskId: string): string {
    return taskId.split(".")[0]!;
  },

  observe() {
    const user = os.userInfo().username;
    // Grid Engine lists no comments: an interrupted launch is recovered by fencing, not adopted.
    return { live: parseQstatXml(runScheduler("qstat", ["-xml", "-u", user]).stdout), comments: new Map<string, string>(), fates: new Map() };
  },

  account(attempts: readonly AttemptRow[]): Map<number, AccountingVerdict> {
    const out = new Map<number, AccountingVerdict>();
    const jobs = new Set(attempts.map((a) => sge.jobIdOf(a.engine_id!)));
    if (jobs.size === 0) return out;
    // qacct takes one job id (or one name pattern) per -j, and reads the whole accounting file on every call.
    // So: one job, `-j ID`; several, ONE call for this user's jobs that ended since the earliest of their
    // submissions (-E -b: end time; a job ends after it was submitted), and keep those asked about. Job names
    // cannot select them: corral gives the user's names, which other projects share.
    const since = Math.min(...attempts.map((a) => a.submitted_at)) - 60;
    const args = jobs.size === 1 ? ["-j", [...jobs][0]!] : ["-o", os.userInfo().username, "-E", "-b", qacctTime(since), "-j"];
    let text: string;
    try {
      text = runScheduler("qacct", args).stdout;
    } catch (err) {
      if (err instanceof SchedulerRejected) return out; // "job id N not found": deleted before it ran, or not flushed yet
      throw err;
    }
    const records = new Map<string, QacctRecord>();
    // A reused id may have several records: the newest (the last written) is ours, if any.
    for (const r of parseQacct(text)) records.set(r.id, r);
    for (const a of attempts) {
      const r = records.get(a.engine_id!);
      if (!r || (r.submittedS !== null && r.submittedS < Math.floor(a.submitted_at) - 1)) continue;
      out.set(a.id, { ...verdictOf(r.failed, r.exitStatus), usage: r.usage });
    }
    return out;
  },

  cancel(taskIds: readonly string[]): void {
    // qdel takes one task range per job: one call per job and evenly spaced run of its tasks. A job that
    // already ended is refused ("does not exist"), which is what cancelling it wanted anyway.
    const calls: string[][] = [];
    for (const [job, tasks] of groupTasks(taskIds)) {
      if (tasks === null) calls.push([job]);
      else for (const range of formatRanges([...new Set(tasks)].sort((a, b) => a - b))) calls.push([job, "-t", range]);
    }
    for (const args of calls) {
      try {
        runScheduler("qdel", args);
      } catch (err) {
        if (!(err instanceof SchedulerRejected)) throw err;
      }
    }
  },
};
