import fs from "node:fs";
import path from "node:path";
import { jobRunsDir, runDirFor } from "../../protocol/run-dir.js";
import { RUN_FILES } from "../../protocol/wrapper.js";

/**
 * What a worker sends back about an attempt, through the project's results stream (docs/run-protocol.md,
 * "Redis workers"), and how corral writes it into the attempt's run directory on the submitting host. Every
 * write is idempotent (markers and requests by rename, output at its offset), so an entry applied twice (corral
 * killed between writing and deleting it from the stream) changes nothing.
 */
export type ResultKind = "started" | "stdout" | "stderr" | "request" | "ended";

export interface ResultEntry {
  /** `job.index.attempt`. */
  readonly attempt: string;
  readonly kind: ResultKind;
  /** Byte offset of an output chunk. */
  readonly offset: number;
  /** A request file's name. */
  readonly name: string;
  readonly data: Buffer;
}

/** Largest output chunk a worker sends in one entry, so a 10 MB log never sits whole in memory or in one entry. */
export const CHUNK_BYTES = 256 * 1024;

export function attemptKey(jobId: number, index: number, attempt: number): string {
  return `${jobId}.${index}.${attempt}`;
}

/**
 * The stream entries that carry these results, in order. Consecutive results of one attempt share an entry
 * while their data fits in CHUNK_BYTES: a short task's started marker, output and ended marker travel as one
 * entry (fields `a ATTEMPT`, then `k KIND o OFFSET n NAME d DATA` per result), rather than one entry each.
 */
export function streamEntries(results: readonly ResultEntry[]): (string | Buffer)[][] {
  const out: (string | Buffer)[][] = [];
  let fields: (string | Buffer)[] | null = null;
  let attempt = "";
  let bytes = 0;
  for (const e of results) {
    if (fields === null || e.attempt !== attempt || bytes + e.data.length > CHUNK_BYTES) {
      fields = ["a", e.attempt];
      out.push(fields);
      attempt = e.attempt;
      bytes = 0;
    }
    fields.push("k", e.kind, "o", String(e.offset), "n", e.name, "d", e.data);
    bytes += e.data.length;
  }
  return out;
}

const ATTEMPT_RE = /^\d+\.\d+\.\d+$/;

/** The results one stream entry carries, in order (none if it is not one of corral's). */
export function parseEntry(fields: readonly Buffer[]): ResultEntry[] {
  const out: ResultEntry[] = [];
  let attempt: string | null = null;
  let part: { kind: string | null; offset: number; name: string; data: Buffer } | null = null;
  const close = () => {
    if (part?.kind && attempt !== null) out.push({ attempt, kind: part.kind as ResultKind, offset: part.offset, name: part.name, data: part.data });
  };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const key = fields[i]!.toString();
    const value = fields[i + 1]!;
    if (key === "a") attempt = value.toString();
    else if (key === "k") {
      close();
      part = { kind: value.toString(), offset: 0, name: "", data: Buffer.alloc(0) };
    } else if (part === null) continue;
    else if (key === "o") part.offset = Number(value.toString());
    else if (key === "n") part.name = value.toString();
    else if (key === "d") part.data = value;
  }
  close();
  return attempt !== null && ATTEMPT_RE.test(attempt) ? out : [];
}

const REQUEST_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Writes entries into run directories under `runsDir`. Entries for an attempt whose run directory is gone
 * (its job was removed) are dropped. Returns how many were written.
 */
export function applyResults(runsDir: string, entries: readonly ResultEntry[]): number {
  const fds = new Map<string, number>();
  const made = new Set<string>();
  const jobExists = new Map<string, boolean>();
  let written = 0;
  try {
    for (const e of entries) {
      // Run directories are made here, on the first result: a job's own folder (made at submission) is the
      // sign the job still exists; results for a removed job are dropped.
      const [job, index, attempt] = e.attempt.split(".") as [string, string, string];
      const runDir = runDirFor(runsDir, job, index, attempt);
      if (!made.has(runDir)) {
        let exists = jobExists.get(job);
        if (exists === undefined) {
          exists = fs.existsSync(jobRunsDir(runsDir, job));
          jobExists.set(job, exists);
        }
        if (!exists) continue;
        makeRunDir(runDir);
        made.add(runDir);
      }
      switch (e.kind) {
        case "stdout":
        case "stderr": {
          const file = path.join(runDir, e.kind === "stdout" ? RUN_FILES.stdout : RUN_FILES.stderr);
          let fd = fds.get(file);
          if (fd === undefined) {
            fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o600);
            fds.set(file, fd);
          }
          fs.writeSync(fd, e.data, 0, e.data.length, e.offset);
          break;
        }
        // Markers, like the wrapper's own, in one write: a reader counts one only once its last line 'end' is there.
        case "started":
          fs.writeFileSync(path.join(runDir, RUN_FILES.started), e.data, { mode: 0o600 });
          break;
        case "ended":
          fs.writeFileSync(path.join(runDir, RUN_FILES.ended), e.data, { mode: 0o600 });
          break;
        case "request": {
          if (!REQUEST_NAME_RE.test(e.name)) continue;
          const dir = path.join(runDir, RUN_FILES.requests);
          fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
          replaceFile(path.join(dir, e.name), e.data);
          break;
        }
      }
      written++;
    }
  } finally {
    for (const fd of fds.values()) fs.closeSync(fd);
  }
  return written;
}

/** The attempt's folder and its task's (two mkdir calls, where a recursive mkdir would make three). */
function makeRunDir(runDir: string): void {
  for (const dir of [path.dirname(runDir), runDir]) {
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
}

/** Whole-file writes appear at once: written under a dot-name, then renamed (readers skip dot-names). */
function replaceFile(file: string, data: Buffer): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}`);
  fs.writeFileSync(tmp, data, { mode: 0o600 });
  fs.renameSync(tmp, file);
}
