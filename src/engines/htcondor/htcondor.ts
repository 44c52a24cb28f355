import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { clusterDurationS, configSection, type ConfigTable } from "../../config/project-config.js";
import { UsageError } from "../../domain/errors.js";
import type { JobSpec } from "../../domain/job.js";
import { htcondorRequestLines } from "../../protocol/directives.js";
import { projectDirOfRunDir } from "../../protocol/run-dir.js";
import type { AttemptRow } from "../../store/rows.js";
import type { DoctorLine } from "../engine.js";
import type { AccountingVerdict, BatchScheduler, LiveJob, ObserveContext, Observation, ProbeResult, SubmissionRequest } from "../cluster/backend.js";
import { directiveJob } from "../cluster/directive-job.js";
import { passThroughArgs } from "../cluster/pass-through.js";
import { oneLine, runScheduler, SchedulerRejected } from "../cluster/run-command.js";
import { adAttributes, effectOf, parseEvents, type JobNews } from "./event-log.js";

/** `[htcondor]` keys corral interprets itself; the others become submit-description commands (`-append`). */
const OWN_KEYS = ["schedd", "pool", "credential", "x509userproxy"] as const;

/** A job silent in the log for this long is looked for with condor_q, at most this often ([cluster] silent_check). */
const silentCheckS = (projectDir: string) => clusterDurationS(projectDir, "silent_check", "CORRAL_SILENT_CHECK_S", 300);

/** What the store keeps between reads of the log (Observation.cursor): where reading stopped, and each watched job's news. */
export interface LogCursor {
  offset: number;
  jobs: Record<string, JobNews>;
  /** When condor_q last looked for silent jobs (epoch s). */
  checkedAt: number;
}

/** The project's one event log, written by the schedd for every job corral submits. */
export function eventLogPath(projectDir: string): string {
  return path.join(projectDir, "htcondor", "events.log");
}

/** `-name SCHEDD -pool HOST` from [htcondor], for every command that talks to the schedd (a remote one, as the SAM-Grid client used). */
export function scheddArgs(site: ConfigTable): string[] {
  const out: string[] = [];
  for (const [key, flag] of [
    ["schedd", "-name"],
    ["pool", "-pool"],
  ] as const) {
    const v = site[key];
    if (v === undefined) continue;
    if (typeof v !== "string" || v === "") throw new UsageError(`[htcondor] ${key}: expected a host name`);
    out.push(flag, v);
  }
  return out;
}

/**
 * Reads the log on from the cursor and folds it into what corral knew: jobs still there (by their last event)
 * and fates (terminated, aborted). A log shorter than the offset was replaced: it is read again from the start.
 */
export function readLog(
  text: string,
  cursor: LogCursor | null,
  watched: readonly string[],
  nowS: number,
): { cursor: LogCursor; fates: Map<string, AccountingVerdict>; comments: Map<string, string> } {
  const start = cursor && cursor.offset <= Buffer.byteLength(text) ? cursor : { offset: 0, jobs: {}, checkedAt: cursor?.checkedAt ?? 0 };
  const fresh = Buffer.from(text).subarray(start.offset).toString("utf8");
  const { events, consumed } = parseEvents(fresh);
  const jobs: Record<string, JobNews> = { ...start.jobs };
  const fates = new Map<string, AccountingVerdict>();
  const comments = new Map<string, string>();
  for (const e of events) {
    if (e.code === 28) {
      const comment = adAttributes(e).get("CorralComment");
      if (comment) comments.set(e.id, comment);
      continue;
    }
    const effect = effectOf(e, jobs[e.id], nowS);
    if (effect === null) {
      if (jobs[e.id]) jobs[e.id]!.at = nowS;
    } else if ("news" in effect) jobs[e.id] = effect.news;
    else {
      fates.set(e.id, effect.fate);
      delete jobs[e.id];
    }
  }
  // Only jobs corral still watches are kept: finished ones are never asked about again.
  const keep = new Set(watched);
  for (const id of Object.keys(jobs)) if (!keep.has(id)) delete jobs[id];
  return { cursor: { offset: start.offset + Buffer.byteLength(fresh.slice(0, consumed)), jobs, checkedAt: start.checkedAt }, fates, comments };
}

/** The cursor the store kept; one it cannot read (an older corral's) means reading the log from the start. */
export function storedCursor(text: string | null): LogCursor | null {
  if (text === null) return null;
  try {
    const c = JSON.parse(text) as LogCursor;
    return typeof c.offset === "number" && typeof c.jobs === "object" && c.jobs !== null ? c : null;
  } catch {
    return null;
  }
}

function liveOf(news: JobNews | undefined): LiveJob {
  if (!news) return { state: "submitted", running: false, reason: null };
  return { state: news.state, running: news.state === "running" || news.state === "suspended", reason: news.reason };
}

/** Parses `condor_q -af:jt JobStatus` / `condor_history -af:jt ...`: a job id, then tab-separated attributes. */
export function parseAutoformat(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const [id, ...rest] = line.split("\t");
    if (id && /^\d+\.\d+$/.test(id.trim()))
      out.set(
        id.trim(),
        rest.map((x) => x.trim()),
      );
  }
  return out;
}

/** condor_history's record of a job that left the queue: JobStatus 3 is removed, 4 completed (ExitCode, or ExitBySignal). */
export function verdictOfHistory(fields: readonly string[]): AccountingVerdict | null {
  const [status, exitCode, bySignal, signal, ...removeReason] = fields;
  const reason = removeReason.join(" ");
  if (status === "3") {
    const detail = `removed: ${reason && reason !== "undefined" ? reason : "no reason given"}`;
    return /PeriodicRemove/.test(reason) ? { kind: "failed", keyword: "TIMEOUT", detail } : { kind: "cancelled", keyword: "CANCELLED", detail };
  }
  if (status === "4")
    return { kind: "ended", keyword: "ENDED", detail: bySignal === "true" ? `completed by signal ${signal}` : `completed, ExitCode ${exitCode}` };
  return null; // still queued or held somewhere: not an ending
}

/** The X.509 proxy the pool wants: [htcondor] x509userproxy, X509_USER_PROXY, or the default /tmp/x509up_u<uid>. */
function proxyPath(site: ConfigTable): string {
  if (typeof site.x509userproxy === "string") return site.x509userproxy;
  return process.env.X509_USER_PROXY ?? `/tmp/x509up_u${os.userInfo().uid}`;
}

/** The credential check doctor and every submission run once: null when fine, else what to do. */
function credentialProblem(site: ConfigTable): string | null {
  const kind = site.credential ?? "none";
  if (kind === "none") return null;
  if (kind === "token") {
    let tokens = "";
    try {
      tokens = runScheduler("condor_token_list", [], 20_000).stdout;
    } catch (err) {
      return `not usable: condor_token_list failed (${(err as Error).message}); get a token with condor_token_fetch`;
    }
    return tokens.trim() === "" ? "not usable: no IDTOKEN (condor_token_list lists none); get one with condor_token_fetch" : null;
  }
  if (kind === "x509") {
    const proxy = proxyPath(site);
    if (!fs.existsSync(proxy)) return `not usable: no X.509 proxy at ${proxy}; create one with voms-proxy-init (or grid-proxy-init)`;
    try {
      // openssl exits 1 when the certificate expires within the given seconds.
      runScheduler("openssl", ["x509", "-checkend", "600", "-noout", "-in", proxy], 20_000);
    } catch {
      return `not usable: the X.509 proxy ${proxy} has less than 10 minutes left; renew it with voms-proxy-init`;
    }
    return null;
  }
  throw new UsageError(`[htcondor] credential: expected "none", "token" or "x509", not ${JSON.stringify(kind)}`);
}

/** The submit description for one chunk: the script is the executable; `queue N` for an array, indexed by $(Process). */
export function submitDescription(scriptPath: string, req: SubmissionRequest): string {
  const count = req.range === null ? 1 : req.indices.length;
  const out = `${req.logDir}/htcondor-${req.attemptN}-${req.indices[0]}`;
  return [
    "universe = vanilla",
    `executable = ${scriptPath}`,
    `initialdir = ${req.logDir}`,
    // The run directories are on a shared filesystem, as for every batch scheduler corral drives.
    "should_transfer_files = NO",
    ...htcondorRequestLines(directiveJob(req, "htcondor"), { removeHeldForMemory: true }),
    `environment = "CORRAL_CONDOR_PROCESS=$(Process)"`,
    `output = ${out}.$(Process).out`,
    `error = ${out}.$(Process).err`,
    `log = ${eventLogPath(req.projectDir)}`,
    `+CorralComment = "${req.comment}"`,
    // Written to the log with every event, so an interrupted launch is found there with no condor_q call.
    "job_ad_information_attrs = CorralComment",
    `batch_name = ${directiveJob(req, "htcondor").name}`,
    `queue ${count}`,
    "",
  ].join("\n");
}

export const htcondor: BatchScheduler = {
  name: "htcondor",
  // No native dependencies outside DAGMan: corral releases dependents itself when it sees their parents end.
  capabilities: { nativeArrays: true, nativeDependencies: "none", cancelTask: true, accounting: true, tagRouting: false, remoteRunDirs: false },
  // What a job used comes with its terminate event (005) in the user log, which observe reads anyway.
  usageInObservation: true,
  minArrayIndex: 0,
  singleRangeArrays: true,
  arraysFromZero: true,
  pollMinAgeS: 5,
  arrayIndexVariable: "CORRAL_CONDOR_PROCESS",
  handOver: 'exec /bin/sh "$corral_dir/wrapper.sh"',

  probe(projectDir: string, thorough: boolean): ProbeResult {
    const site = configSection(projectDir, "htcondor");
    const lines: DoctorLine[] = [];
    const line = (usable: boolean, text: string) => lines.push({ engine: "htcondor", usable, text });
    const unusable = (text: string): ProbeResult => {
      line(false, text);
      return { usable: false, lines, maxArrayIndex: null, accounting: false };
    };
    let version: string;
    try {
      version = oneLine(runScheduler("condor_version", [], 20_000).stdout.split("\n")[0] ?? "");
    } catch (err) {
      const why = (err as Error).message;
      return unusable(/not found/.test(why) ? "not usable: condor_version is not on PATH (install HTCondor, or load its module)" : `not usable: ${why}`);
    }
    try {
      runScheduler("condor_q", [...scheddArgs(site), "-totals"], 20_000);
    } catch (err) {
      if (err instanceof UsageError) throw err;
      return unusable(`not usable: the schedd does not answer (${(err as Error).message}); check [htcondor] schedd/pool, or try: condor_q -totals`);
    }
    const credential = credentialProblem(site);
    if (credential) return unusable(credential);
    line(true, `usable: ${version}${site.schedd ? ` (schedd ${String(site.schedd)})` : ""}; jobs are watched through the project's event log`);
    if (thorough) line(true, "jobs silent in the log are looked for with condor_q at most every 5 minutes; condor_history tells how those that left ended");
    return { usable: true, lines, maxArrayIndex: null, accounting: true };
  },

  checkResources(spec: JobSpec, projectDir: string): void {
    scheddArgs(configSection(projectDir, "htcondor"));
    if (spec.resources.queue !== null)
      throw new UsageError(`--queue ${spec.resources.queue}: HTCondor has no queues; choose machines with --sched-arg="-a" --sched-arg="requirements = ..."`);
    if (spec.resources.gpus > 0 && spec.resources.gpus !== Math.floor(spec.resources.gpus))
      throw new UsageError(`--gpus ${spec.resources.gpus}: expected a whole number`);
  },

  configArgs(projectDir: string): string[] {
    const site = configSection(projectDir, "htcondor");
    return [...scheddArgs(site), ...passThroughArgs(site, "htcondor", (k, v) => ["-append", `${k} = ${v === true ? "true" : v}`], OWN_KEYS)];
  },

  // The script's own lines say nothing to HTCondor: what it asks for is in the submit description.
  directives(req: SubmissionRequest): string[] {
    return [`# HTCondor job (submit description beside this script): ${htcondorRequestLines(directiveJob(req, "htcondor")).join("; ")}`];
  },

  submit(scriptPath: string, passThrough: readonly string[], req: SubmissionRequest): string {
    fs.mkdirSync(path.dirname(eventLogPath(req.projectDir)), { recursive: true });
    const description = scriptPath.replace(/\.sh$/, ".sub");
    fs.writeFileSync(description, submitDescription(scriptPath, req));
    const out = runScheduler("condor_submit", ["-terse", ...passThrough, description]).stdout.trim();
    // -terse prints the first and last job ids of the cluster: "123.0 - 123.9".
    const m = /^(\d+)\.\d+ - \1\.\d+$/m.exec(out);
    if (!m) throw new SchedulerRejected(`condor_submit: unexpected answer '${oneLine(out)}'`);
    return m[1]!;
  },

  taskId(jobId: string, arrayIndex: number | null): string {
    return `${jobId}.${arrayIndex ?? 0}`;
  },

  indexOfTask(taskId: string, offset: number): number | null {
    const m = /^\d+\.(\d+)$/.exec(taskId);
    return m ? Number(m[1]) + offset : null;
  },

  jobIdOf(taskId: string): string {
    return taskId.split(".")[0]!;
  },

  observe(ctx: ObserveContext): Observation {
    const nowS = Date.now() / 1000;
    const log = eventLogPath(ctx.projectDir);
    const text = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "";
    const watched = ctx.attempts.filter((a) => a.engine_id !== null).map((a) => a.engine_id!);
    const read = readLog(text, storedCursor(ctx.cursor), watched, nowS);
    const live = new Map<string, LiveJob>();
    for (const a of ctx.attempts) if (a.engine_id !== null && !read.fates.has(a.engine_id)) live.set(a.engine_id, liveOf(read.cursor.jobs[a.engine_id]));
    // The log is the truth, but a job removed while the schedd could not write it says nothing: one condor_q,
    // rarely, for those silent for a while; the ones it does not list have left (account asks condor_history how).
    const quiet = silentCheckS(ctx.projectDir);
    const silent = ctx.attempts.filter(
      (a) => a.engine_id !== null && live.has(a.engine_id) && nowS - (read.cursor.jobs[a.engine_id]?.at ?? a.submitted_at) >= quiet,
    );
    if (silent.length > 0 && nowS - read.cursor.checkedAt >= quiet) {
      const clusters = [...new Set(silent.map((a) => htcondor.jobIdOf(a.engine_id!)))];
      const site = configSection(ctx.projectDir, "htcondor");
      const listed = parseAutoformat(runScheduler("condor_q", [...scheddArgs(site), ...clusters, "-af:jt", "JobStatus"]).stdout);
      for (const a of silent) if (!listed.has(a.engine_id!)) live.delete(a.engine_id!);
      read.cursor.checkedAt = nowS;
    }
    return { live, comments: read.comments, fates: read.fates, cursor: JSON.stringify(read.cursor) };
  },

  account(attempts: readonly AttemptRow[]): Map<number, AccountingVerdict> {
    const out = new Map<number, AccountingVerdict>();
    // Only attempts that left without a reason come here: usage comes with the log's terminate events
    // (usageInObservation), so TrackedEngine never asks condor_history for it.
    if (attempts.length === 0) return out;
    const site = configSection(projectDirOfRunDir(attempts[0]!.run_dir), "htcondor");
    const ids = [...new Set(attempts.map((a) => a.engine_id!))];
    let text: string;
    try {
      text = runScheduler("condor_history", [
        ...scheddArgs(site),
        ...ids,
        "-af:jt",
        "JobStatus",
        "ExitCode",
        "ExitBySignal",
        "ExitSignal",
        "RemoveReason",
      ]).stdout;
    } catch (err) {
      if (err instanceof SchedulerRejected) return out; // history off or rotated away: markers alone
      throw err;
    }
    const records = parseAutoformat(text);
    for (const a of attempts) {
      const fields = records.get(a.engine_id!);
      const v = fields ? verdictOfHistory(fields) : null;
      if (v) out.set(a.id, v);
    }
    return out;
  },

  release(taskIds: readonly string[], projectDir: string): void {
    try {
      runScheduler("condor_release", [...scheddArgs(configSection(projectDir, "htcondor")), ...new Set(taskIds)]);
    } catch (err) {
      if (!(err instanceof SchedulerRejected)) throw err; // not held: nothing to release
    }
  },

  cancel(taskIds: readonly string[], projectDir: string): void {
    try {
      runScheduler("condor_rm", [...scheddArgs(configSection(projectDir, "htcondor")), ...new Set(taskIds)]);
    } catch (err) {
      if (!(err instanceof SchedulerRejected)) throw err; // already gone: what cancelling wanted
    }
  },
};
