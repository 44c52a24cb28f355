import type { AttemptUsage } from "../../domain/usage.js";
import type { AccountingVerdict, LiveJob } from "../cluster/backend.js";
import { SchedulerUnavailable } from "../cluster/run-command.js";

/**
 * `qstat -f` as both PBS dialects print it: PBS Professional as JSON (`-F json`), Torque (and Slurm's Torque
 * front end) as text. Either becomes one record per job with the attributes corral reads, keyed as the text
 * form names them (`Resource_List.walltime`).
 */
export interface QstatRecord {
  readonly id: string;
  readonly attrs: ReadonlyMap<string, string>;
}

/** Parses `qstat -f -F json`; unreadable JSON is an answer nobody may conclude from (a truncated read, a server bug). */
export function parseQstatJson(text: string): QstatRecord[] {
  if (text.trim() === "") return [];
  let doc: { Jobs?: Record<string, Record<string, unknown>> };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch (err) {
    throw new SchedulerUnavailable(`qstat: unreadable JSON (${(err as Error).message})`);
  }
  return Object.entries(doc.Jobs ?? {}).map(([id, job]) => {
    const attrs = new Map<string, string>();
    for (const [key, value] of Object.entries(job)) {
      if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) attrs.set(`${key}.${k}`, String(v));
      else attrs.set(key, String(value));
    }
    return { id, attrs };
  });
}

/**
 * Parses `qstat -f` text: a `Job Id: ID` line, then `key = value` lines indented by spaces or a tab; a long
 * value continues on lines indented by a tab that have no ` = ` of their own.
 */
export function parseQstatText(text: string): QstatRecord[] {
  const out: { id: string; attrs: Map<string, string> }[] = [];
  let last: string | null = null;
  for (const line of text.split("\n")) {
    const head = /^Job Id:\s*(\S+)/.exec(line);
    if (head) {
      out.push({ id: head[1]!, attrs: new Map() });
      last = null;
      continue;
    }
    const current = out[out.length - 1];
    if (!current || line.trim() === "") continue;
    const kv = /^\s+([\w.]+) = (.*)$/.exec(line);
    if (kv) {
      current.attrs.set(kv[1]!, kv[2]!.trim());
      last = kv[1]!;
    } else if (last !== null && /^\t/.test(line)) current.attrs.set(last, current.attrs.get(last)! + line.trim());
  }
  return out;
}

/** States of a job that is over: Torque's C(ompleted), PBS Professional's F(inished) and X (a finished subjob). */
const OVER = new Set(["C", "F", "X"]);
/** States in which the job is executing (E: exiting, S/U: suspended on its node, B: an array with subjobs running). */
const RUNNING = new Set(["R", "E", "S", "U", "B"]);

export function isOver(r: QstatRecord): boolean {
  return OVER.has(r.attrs.get("job_state") ?? "");
}

/** What a listed job that is not over is doing; an unknown state is a job still there, waiting. */
export function liveJobOf(r: QstatRecord): LiveJob {
  const state = r.attrs.get("job_state") ?? "?";
  const comment = r.attrs.get("comment") ?? null;
  let reason: string | null = null;
  if (state === "H") reason = `held (Hold_Types ${r.attrs.get("Hold_Types") ?? "?"}): release it with qrls ${r.id}`;
  else if (state === "W") reason = "waiting for its start time (-a)";
  else if (state === "Q" && comment && !/^Job run at/.test(comment)) reason = comment;
  return { state, running: RUNNING.has(state), reason };
}

/** `HH:MM:SS` (or `MM:SS`, or seconds) as seconds; null when absent or unreadable. */
export function durationS(text: string | undefined): number | null {
  if (!text) return null;
  const parts = text.split(":").map(Number);
  if (parts.length > 3 || parts.some((p) => !Number.isFinite(p))) return null;
  return parts.reduce((acc, p) => acc * 60 + p, 0);
}

/** A date as qstat -f text prints it (`Tue Dec  1 07:48:50 2026`, local time), in epoch seconds. */
function dateS(text: string | undefined): number | null {
  const ms = text ? Date.parse(text.replace(/\s+/g, " ")) : Number.NaN;
  return Number.isNaN(ms) ? null : ms / 1000;
}

/**
 * How long the job ran, by its own record: resources_used.walltime where the server counts it (PBS
 * Professional, Torque); Slurm's Torque front end prints only mtime (its start) and ctime (its end).
 */
function ranS(r: QstatRecord): number | null {
  const used = durationS(r.attrs.get("resources_used.walltime"));
  if (used !== null) return used;
  const start = dateS(r.attrs.get("mtime"));
  const end = dateS(r.attrs.get("ctime"));
  return start !== null && end !== null && end >= start ? end - start : null;
}

/**
 * Exit statuses the two dialects give a job the server killed for a limit (OpenPBS's JOB_EXEC_KILL_* in
 * job.h; Torque's JOB_EXEC_OVERLIMIT_*, documented in "Job exit status").
 */
const LIMIT_KILLS: Record<"pro" | "torque", Record<number, string>> = {
  pro: { [-29]: "TIMEOUT", [-27]: "OUT_OF_MEMORY", [-26]: "OUT_OF_MEMORY", [-28]: "CPU_TIME_LIMIT", [-25]: "CPU_LIMIT", [-24]: "CPU_LIMIT" },
  torque: { [-11]: "TIMEOUT", [-10]: "OUT_OF_MEMORY", [-12]: "CPU_TIME_LIMIT" },
};

/**
 * What a finished job's record says about why it ended, or null when it says nothing corral can use (the
 * markers decide). 0-255 is the script's own status; 256+N is a signal the server sent (qdel, or a limit on
 * servers that report limits that way: a job that ran its whole walltime was killed for it); negative values
 * are the server's own codes.
 */
export function verdictOfRecord(r: QstatRecord, dialect: "pro" | "torque"): AccountingVerdict | null {
  const statusText = r.attrs.get("Exit_status") ?? r.attrs.get("exit_status");
  const status = statusText === undefined || statusText.trim() === "" ? null : Number(statusText);
  const walltime = durationS(r.attrs.get("Resource_List.walltime"));
  const ran = ranS(r);
  const ranItsWalltime = walltime !== null && ran !== null && ran >= walltime;
  const comment = r.attrs.get("comment");
  const detail = [
    `job_state ${r.attrs.get("job_state") ?? "?"}`,
    ...(status !== null ? [`Exit_status ${statusText}`] : []),
    ...(ran !== null ? [`ran ${ran} s${walltime !== null ? ` of walltime ${walltime} s` : ""}`] : []),
    ...(comment ? [`comment "${comment}"`] : []),
  ].join(", ");
  if (status === null || Number.isNaN(status)) return ranItsWalltime ? { kind: "failed", keyword: "TIMEOUT", detail } : null;
  const limit = LIMIT_KILLS[dialect][status];
  if (limit) return { kind: "failed", keyword: limit, detail };
  if (status >= 0 && status < 256) return { kind: "ended", keyword: "ENDED", detail };
  if (status >= 256) return ranItsWalltime ? { kind: "failed", keyword: "TIMEOUT", detail } : { kind: "cancelled", keyword: "CANCELLED", detail };
  return { kind: "failed", keyword: `JOB_EXEC ${status}`, detail };
}

/** A PBS size (`313632kb`, `1gb`, `100mb`, `4096b`, `2w` in 8-byte words) in MB; null when absent or unreadable. */
export function pbsSizeMb(text: string | undefined): number | null {
  const m = /^(\d+(?:\.\d+)?)(b|kb|mb|gb|tb|pb|w|kw|mw|gw)?$/i.exec(text?.trim() ?? "");
  if (!m) return null;
  const unit = (m[2] ?? "b").toLowerCase();
  const word = unit.endsWith("w") ? 8 : 1;
  const power = ["", "k", "m", "g", "t", "p"].indexOf(unit.replace(/[bw]$/, ""));
  return (Number(m[1]) * word * 1024 ** power) / 1024 / 1024;
}

const tenth = (x: number) => Math.round(x * 10) / 10;

/** The cpus a record was granted: Resource_List.ncpus (PBS Professional), else Torque's `nodes = N:ppn=P`. */
function grantedCpus(r: QstatRecord): number | null {
  const ncpus = Number(r.attrs.get("Resource_List.ncpus") ?? Number.NaN);
  if (Number.isFinite(ncpus) && ncpus > 0) return ncpus;
  const nodes = /^(\d+)(?::ppn=(\d+))?/.exec(r.attrs.get("Resource_List.nodes") ?? "");
  return nodes ? Number(nodes[1]) * Number(nodes[2] ?? 1) : null;
}

/**
 * What a finished job used, from its record, or undefined while it is not over (the record is not complete) or
 * when it has no resources_used at all.
 * Both dialects' MoM samples the job's processes: resources_used.cput is the CPU time of all of them,
 * resources_used.mem the largest total resident memory of all of them together (the tree, as sampled: a
 * short peak between samples is missed). Resource_List.ncpus/nodes, mem and walltime are what was granted.
 */
export function usageOfRecord(r: QstatRecord): AttemptUsage | undefined {
  // Slurm's Torque front end (and a job that never ran) keeps no resources_used: nothing measured to tell.
  if (!isOver(r) || ![...r.attrs.keys()].some((k) => k.startsWith("resources_used."))) return undefined;
  const cpu = durationS(r.attrs.get("resources_used.cput"));
  const mem = pbsSizeMb(r.attrs.get("resources_used.mem"));
  const asked = pbsSizeMb(r.attrs.get("Resource_List.mem"));
  return {
    cpuS: cpu,
    maxRssMb: mem === null || mem === 0 ? null : tenth(mem),
    allocCpus: grantedCpus(r),
    allocMemMb: asked === null || asked === 0 ? null : tenth(asked),
    allocTimeS: durationS(r.attrs.get("Resource_List.walltime")),
    source: "qstat resources_used",
  };
}
