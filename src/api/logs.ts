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
