import fs from "node:fs";
import { UsageError } from "../domain/errors.js";
import type { AttemptView } from "../domain/job.js";
import type { Store } from "../store/store.js";
import { getJobRow, taskViews } from "../store/queries.js";

export type LogStream = "stdout" | "stderr";

export interface LogFile {
  readonly jobId: number;
  readonly index: number;
  readonly attempt: AttemptView;
  readonly stream: LogStream;
  readonly path: string;
}

/** `12` or `12.4` as a job and an optional task index. */
export function parseLogRef(ref: string): { jobId: number; index: number | null } {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(ref);
  if (!m) throw new UsageError(`'${ref}' is not a job id or a task (12 or 12.4)`);
  return { jobId: Number(m[1]), index: m[2] === undefined ? null : Number(m[2]) };
}

/** The log files of a job's tasks (all of them, or one), of the latest attempt or of attempt `attempt`. */
export function logFiles(store: Store, ref: { jobId: number; index: number | null }, streams: readonly LogStream[], attempt?: number): LogFile[] {
  getJobRow(store, ref.jobId);
  const tasks = taskViews(store, ref.jobId, ref.index ?? undefined);
  if (tasks.length === 0) throw new UsageError(`job ${ref.jobId} has no task ${ref.index}`);
  const out: LogFile[] = [];
  for (const t of tasks) {
    const a = attempt === undefined ? t.attempts[t.attempts.length - 1] : t.attempts.find((x) => x.n === attempt);
    if (!a) {
      if (attempt !== undefined) throw new UsageError(`task ${ref.jobId}.${t.index} has no attempt ${attempt}`);
      continue; // not started yet: nothing to show
    }
    for (const stream of streams) out.push({ jobId: ref.jobId, index: t.index, attempt: a, stream, path: a[stream] });
  }
  return out;
}

/** The last `n` lines of a file (reading only its end), or null when it does not exist. */
export function tailLines(file: string, n: number): string[] | null {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return null;
  }
  try {
    const size = fs.fstatSync(fd).size;
    let start = size;
    let text = "";
    const chunk = 64 * 1024;
    while (start > 0) {
      const len = Math.min(chunk, start);
      start -= len;
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, start);
      text = buf.toString("utf8") + text;
      if (text.split("\n").length > n + 1) break;
    }
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    return lines.slice(-n);
  } finally {
    fs.closeSync(fd);
  }
}

/** A piece of a log file: its bytes from `from` to `to` (the file's size when read), as text. */
export interface LogChunk {
  readonly exists: boolean;
  readonly from: number;
  readonly to: number;
  readonly text: string;
}

/**
 * Reads at most `maxBytes` of a log: from byte `from` on (following a growing file), or, with `from` null, its
 * end (the tail first), starting after a line break so no half line is shown. A chunk that ends inside a
 * multi-byte character stops before it, so the next read resumes on a character boundary.
 */
export function readLogChunk(file: string, from: number | null, maxBytes: number): LogChunk {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return { exists: false, from: 0, to: 0, text: "" };
  }
  try {
    const size = fs.fstatSync(fd).size;
    let start = from === null ? Math.max(0, size - maxBytes) : Math.min(from, size);
    const buf = Buffer.alloc(Math.min(maxBytes, size - start));
    const read = fs.readSync(fd, buf, 0, buf.length, start);
    let bytes = buf.subarray(0, read);
    if (from === null && start > 0) {
      const nl = bytes.indexOf(0x0a);
      if (nl >= 0) {
        bytes = bytes.subarray(nl + 1);
        start += nl + 1;
      }
    }
    const end = utf8Boundary(bytes);
    return { exists: true, from: start, to: start + end, text: bytes.subarray(0, end).toString("utf8") };
  } finally {
    fs.closeSync(fd);
  }
}

/** The length of the longest prefix that does not end inside a UTF-8 sequence. */
function utf8Boundary(b: Buffer): number {
  for (let back = 1; back <= Math.min(4, b.length); back++) {
    const byte = b[b.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back for its lead
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? b.length - back : b.length;
  }
  return b.length;
}
