import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AttemptUsage } from "../domain/usage.js";
import { RUN_FILES } from "./wrapper.js";

export interface StartedMarker {
  readonly pid: number | null;
  readonly pidStart: string | null;
  readonly host: string | null;
  /** Epoch ms: the `time` key if a writer gave one, else the marker's modification time. */
  readonly time: number;
}

export interface EndedMarker {
  /** The wait status as sh reports it (128+N when the command died of signal N). */
  readonly status: number;
  /** A signal the wrapper itself received and forwarded (TERM, INT, XCPU), if any. */
  readonly caught: string | null;
  readonly warned: string | null;
  readonly error: string | null;
  /** Set when the attempt was refused before running (a dependency gate), with the reason. */
  readonly cancelled: string | null;
  /** Why whatever ran the attempt stopped it (a Redis worker's TIMEOUT), with its words: `verdict=`, `detail=`. */
  readonly verdict: { readonly keyword: string; readonly detail: string } | null;
  readonly time: number;
  /** What the attempt used, where the one who reaped the wrapper added it (a pool worker). */
  readonly usage: AttemptUsage | null;
}

/** Parses `key=value` lines; a marker without its final `end` line is not complete and counts as absent. */
function readKeyValues(file: string): { values: Map<string, string>; mtimeMs: number } | null {
  let text: string;
  let mtimeMs: number;
  try {
    const fd = fs.openSync(file, "r");
    try {
      text = fs.readFileSync(fd, "utf8");
      mtimeMs = fs.fstatSync(fd).mtimeMs;
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || (err as NodeJS.ErrnoException).code === "ENOTDIR") return null;
    throw err;
  }
  const lines = text.split("\n");
  if (!lines.includes("end")) return null;
  const values = new Map<string, string>();
  for (const line of lines) {
    if (line === "end") break;
    const eq = line.indexOf("=");
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return { values, mtimeMs };
}

function intOrNull(v: string | undefined): number | null {
  return v !== undefined && /^-?\d+$/.test(v) ? Number(v) : null;
}

function timeOf(values: Map<string, string>, mtimeMs: number): number {
  const t = values.get("time");
  return t !== undefined && /^\d+(\.\d+)?$/.test(t) ? Number(t) * 1000 : mtimeMs;
}

/**
 * A `started` marker that holds the claim for someone who will never run the attempt: corral fencing an
 * attempt whose launch was interrupted, or a dependency gate refusing it. `who` says which.
 */
export function fenceMarker(who: string): string {
  return `fenced=${who}\nend\n`;
}

/** The attempt's start, or null while there is none, or when its claim is a fence (it never ran). */
export function readStarted(runDir: string): StartedMarker | null {
  const kv = readKeyValues(path.join(runDir, RUN_FILES.started));
  if (!kv || kv.values.has("fenced")) return null;
  const { values } = kv;
  return {
    pid: intOrNull(values.get("pid")),
    pidStart: values.get("pstart") || null,
    host: values.get("host") || null,
    time: timeOf(values, kv.mtimeMs),
  };
}

export function readEnded(runDir: string): EndedMarker | null {
  const kv = readKeyValues(path.join(runDir, RUN_FILES.ended));
  if (!kv) return null;
  const { values } = kv;
  return {
    status: intOrNull(values.get("status")) ?? 255,
    caught: values.get("signal") || null,
    warned: values.get("warned") || null,
    error: values.get("error") || null,
    cancelled: values.get("cancelled") || null,
    verdict: values.get("verdict") ? { keyword: values.get("verdict")!, detail: values.get("detail") || values.get("verdict")! } : null,
    time: timeOf(values, kv.mtimeMs),
    usage: usageOf(values),
  };
}

/**
 * What the attempt used, where whatever reaped its wrapper added it to the ended marker (a pool worker, from its
 * launcher's wait4(2); docs/run-protocol.md, "Usage"): `cpu=` user + system seconds of the wrapper and every
 * descendant waited for, `maxrss_kb=` the largest resident set of any one of them, `usage=` the method. Null
 * where none was added; a figure it lacks stays unknown.
 */
function usageOf(values: Map<string, string>): AttemptUsage | null {
  const method = values.get("usage");
  if (!method) return null;
  const num = (key: string): number | null => {
    const v = values.get(key);
    return v !== undefined && /^\d+(\.\d+)?$/.test(v) ? Number(v) : null;
  };
  const rssKb = num("maxrss_kb");
  return {
    cpuS: num("cpu"),
    maxRssMb: rssKb === null || rssKb === 0 ? null : Math.round((rssKb / 1024) * 10) / 10,
    allocCpus: null,
    allocMemMb: null,
    allocTimeS: null,
    source: method,
  };
}

/** The ended marker's lines that carry what an attempt used (see usageOf), for a worker to add to the marker it sends. */
export function usageLines(usage: AttemptUsage): string[] {
  return [
    ...(usage.cpuS === null ? [] : [`cpu=${usage.cpuS}`]),
    ...(usage.maxRssMb === null ? [] : [`maxrss_kb=${Math.round(usage.maxRssMb * 1024)}`]),
    `usage=${usage.source ?? "unknown"}`,
  ];
}

const SIGNAL_NAMES = new Map<number, string>(Object.entries(os.constants.signals).map(([name, num]) => [num, name.replace(/^SIG/, "")]));

export interface Fate {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly failed: boolean;
  readonly reason: string | null;
}

/**
 * Turns an ended marker into an outcome. sh reports death by signal N as 128+N; an exit(143) cannot be told
 * apart from a TERM, so statuses 129..192 are read as signals (as bash and Slurm's wrappers do).
 */
export function fateOf(ended: EndedMarker): Fate {
  if (ended.error) return { exitCode: ended.status, signal: null, failed: true, reason: ended.error };
  if (ended.caught) {
    return { exitCode: null, signal: ended.caught, failed: true, reason: `killed by signal ${ended.caught}` };
  }
  if (ended.status > 128 && ended.status <= 128 + 64) {
    const sig = SIGNAL_NAMES.get(ended.status - 128) ?? String(ended.status - 128);
    return { exitCode: null, signal: sig, failed: true, reason: `killed by signal ${sig}` };
  }
  if (ended.status !== 0) return { exitCode: ended.status, signal: null, failed: true, reason: `exit code ${ended.status}` };
  return { exitCode: 0, signal: null, failed: false, reason: null };
}
