import { HTCONDOR_MEMORY_HOLD } from "../../protocol/directives.js";
import type { AttemptUsage } from "../../domain/usage.js";
import type { AccountingVerdict } from "../cluster/backend.js";

/**
 * HTCondor's job event log (the submit description's `log =`), read as DAGMan reads it: each event is a
 * header line `NNN (cluster.proc.subproc) date time text`, lines of detail, and a line `...` that ends it.
 * An event without its `...` is still being written: reading stops before it and resumes there next time.
 */
export interface LogEvent {
  readonly code: number;
  /** `cluster.proc`, as corral names a task. */
  readonly id: string;
  /** The header's text after the time, and the detail lines (trimmed). */
  readonly text: string;
  readonly details: readonly string[];
}

const HEADER = /^(\d{3}) \((\d+)\.(\d+)\.\d+\) \S+ \S+ ?(.*)$/;

/** The complete events in `text`, and how many bytes of it they take (where the next read starts). */
export function parseEvents(text: string): { events: LogEvent[]; consumed: number } {
  const events: LogEvent[] = [];
  let consumed = 0;
  let at = 0;
  let current: { code: number; id: string; text: string; details: string[] } | null = null;
  while (at < text.length) {
    const nl = text.indexOf("\n", at);
    if (nl < 0) break; // a line still being written
    const line = text.slice(at, nl);
    at = nl + 1;
    if (line === "...") {
      if (current) events.push(current);
      current = null;
      consumed = at;
      continue;
    }
    const head: RegExpExecArray | null = current === null ? HEADER.exec(line) : null;
    if (head) current = { code: Number(head[1]), id: `${Number(head[2])}.${Number(head[3])}`, text: head[4]!.trim(), details: [] };
    else if (current) current.details.push(line.trim());
    else consumed = at; // a stray line between events (a damaged log): skipped, never a reason to stop
  }
  return { events, consumed };
}

/** What corral keeps of a job between reads of the log: its last state, why it waits, when it was last heard of. */
export interface JobNews {
  state: "idle" | "running" | "held" | "suspended";
  reason: string | null;
  /** Epoch seconds of the last event corral read for it. */
  at: number;
  /** Held for exceeding its memory request: a removal that follows is OUT_OF_MEMORY. */
  memoryHold?: boolean;
}

/** What one event does to a job: new news, an end (a fate), or nothing corral uses (image size, file transfer...). */
export type EventEffect = { readonly news: JobNews } | { readonly fate: AccountingVerdict } | null;

/**
 * The effect of one event, given what corral knew of the job before. Codes (HTCondor manual, "Job Event Log
 * Codes"): 000 submitted, 001 executing, 004 evicted, 005 terminated, 007 shadow exception, 009 aborted, 010
 * suspended, 011 unsuspended, 012 held, 013 released; any other is informational.
 */
export function effectOf(e: LogEvent, before: JobNews | undefined, nowS: number): EventEffect {
  const news = (state: JobNews["state"], reason: string | null, extra: Partial<JobNews> = {}): EventEffect => ({ news: { state, reason, at: nowS, ...extra } });
  switch (e.code) {
    case 0:
      return news("idle", null);
    case 1:
      return news("running", null);
    case 4:
      return news("idle", `evicted from its machine (preempted: ${(e.details[0] ?? "no reason given").replace(/^\(\d+\)\s*/, "")}); waiting to run again`);
    case 7:
      return news("idle", `shadow exception: ${e.details[0] ?? e.text}; waiting to run again`);
    case 10:
      return news("suspended", "suspended on its machine");
    case 11:
      return news("running", null);
    case 12: {
      const code = /^Code (\d+)/.exec(e.details.find((d) => /^Code \d+/.test(d)) ?? "");
      const why = e.details.find((d) => d !== "" && !/^Code \d+/.test(d)) ?? "no reason given";
      return news("held", `held: ${why}${code ? ` (HoldReasonCode ${code[1]})` : ""}; release with condor_release ${e.id}`, {
        memoryHold: Number(code?.[1]) === HTCONDOR_MEMORY_HOLD,
      });
    }
    case 13:
      return news("idle", null);
    case 5: {
      const how = e.details[0] ?? "";
      return { fate: { kind: "ended", keyword: "ENDED", detail: `terminated: ${how.replace(/^\(\d+\)\s*/, "")}`, usage: usageOfTerminate(e) } };
    }
    case 9: {
      const why = e.details.find((d) => d !== "") ?? "";
      const detail = `aborted: ${why || "no reason given"}`;
      // corral's own periodic_remove removes a job over its time limit, or one held for its memory.
      if (/PeriodicRemove/.test(why))
        return { fate: before?.memoryHold ? { kind: "failed", keyword: "OUT_OF_MEMORY", detail } : { kind: "failed", keyword: "TIMEOUT", detail } };
      return { fate: { kind: "cancelled", keyword: "CANCELLED", detail } };
    }
    default:
      return null;
  }
}

/** The job ad attributes a 028 (job ad information) event lists, such as corral's comment. */
export function adAttributes(e: LogEvent): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of e.details) {
    const m = /^(\w+) = (.*)$/.exec(d);
    if (m) out.set(m[1]!, m[2]!.replace(/^"(.*)"$/, "$1"));
  }
  return out;
}

/** `Usr 0 00:00:03, Sys 0 00:00:00` (days, then HH:MM:SS) as user + system seconds. */
function usrSysS(line: string | undefined): number | null {
  const m = /Usr (\d+) (\d+):(\d+):(\d+), Sys (\d+) (\d+):(\d+):(\d+)/.exec(line ?? "");
  if (!m) return null;
  const n = m.slice(1).map(Number);
  return n[0]! * 86400 + n[1]! * 3600 + n[2]! * 60 + n[3]! + n[4]! * 86400 + n[5]! * 3600 + n[6]! * 60 + n[7]!;
}

/**
 * The rows of a terminate event's `Partitionable Resources : Usage Request Allocated` table, by resource
 * name (`Cpus`, `Memory (MB)`, `Disk (KB)`), each by column; a blank column (Cpus' Usage is often left
 * empty) is missing from the row, which is read from the right.
 */
function resourceTable(details: readonly string[]): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  const at = details.findIndex((d) => /^Partitionable Resources\s*:/.test(d));
  if (at < 0) return out;
  const columns = details[at]!.split(":")[1]!.trim().split(/\s+/);
  for (const row of details.slice(at + 1)) {
    const m = /^(\w[\w ()]*?)\s*:\s*(.*)$/.exec(row);
    if (!m) break;
    const values = m[2]!.trim().split(/\s+/).filter(Boolean);
    const cells = new Map<string, number>();
    // Right-aligned: the last values belong to the last numeric columns (Assigned, when present, is text).
    const numeric = values.filter((v) => /^-?\d+(\.\d+)?$/.test(v));
    const named = columns.filter((c) => c !== "Assigned");
    for (const [i, v] of numeric.entries()) cells.set(named[named.length - numeric.length + i]!, Number(v));
    out.set(m[1]!, cells);
  }
  return out;
}

/**
 * What a terminated job used, from its 005 event: "Run Remote Usage" is the user + system CPU of the job's
 * processes in the run that ended (the starter counts the whole tree; "Total Remote Usage" adds runs that
 * were evicted, which corral's attempt did not keep, so it is read only when the run's line is missing), and
 * the Partitionable Resources table's Memory (MB) Usage is the job's peak memory (its MemoryUsage: the whole
 * tree's resident set, as the starter measured it), Cpus and Memory Allocated what its slot had. HTCondor has
 * no time limit of its own (corral's is a periodic_remove), so allocTimeS is unknown.
 */
export function usageOfTerminate(e: LogEvent): AttemptUsage {
  const line = (label: string) => e.details.find((d) => d.endsWith(`-  ${label}`));
  const table = resourceTable(e.details);
  const cpus = table.get("Cpus")?.get("Allocated") ?? null;
  const mem = table.get("Memory (MB)");
  const used = mem?.get("Usage") ?? null;
  return {
    cpuS: usrSysS(line("Run Remote Usage")) ?? usrSysS(line("Total Remote Usage")),
    maxRssMb: used === null || used === 0 ? null : used,
    allocCpus: cpus === null || cpus === 0 ? null : cpus,
    allocMemMb: mem?.get("Allocated") ?? null,
    allocTimeS: null,
    source: "htcondor event log",
  };
}
