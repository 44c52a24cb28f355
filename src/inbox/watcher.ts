import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Corral } from "../api/corral.js";
import { UsageError } from "../domain/errors.js";
import { TERMINAL_STATES } from "../domain/states.js";
import type { JobDetail } from "../domain/job.js";
import { readFolderOptions } from "./folder-options.js";
import { folderNames, freeName, inboxDirs, quietSeconds, readJson, unreadable, writeHelper, type InboxDirs } from "./folders.js";
import { RootLock } from "./root-lock.js";

/** Helper files corral adds to a folder (docs: README, Drop folders). */
export const HELPERS = {
  /** Written before submitting: the token the job is recorded with, so a restart finds it instead of resubmitting. */
  submitting: "job_submitting.json",
  status: "job_status.json",
  output: "job_output.txt",
  error: "job_error.txt",
} as const;

export interface WatchOptions {
  readonly root: string;
  readonly engine?: string;
  readonly periodS: number;
  readonly maxActive: number;
  /** A folder is taken only once nothing in it changed for this long (a copy in progress). */
  readonly quietS: number;
  readonly exitWhenIdle: boolean;
  readonly event: (event: string, fields: Record<string, unknown>) => void;
  readonly heartbeat: () => void;
}

interface Status {
  job: number | null;
  state?: string;
  [k: string]: unknown;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

/**
 * Turns a folder tree into a queue: folders with a `job.sh` move inbox/ → pending/ → complete/. It keeps no
 * state of its own: what a folder's helper files and corral's database say is the whole state, so it can be
 * killed at any instant and started again. Every step is a rename within ROOT or a whole-file write.
 */
export class InboxWatcher {
  private readonly dirs: InboxDirs;
  readonly batch: string;

  constructor(
    private readonly corral: Corral,
    private readonly o: WatchOptions,
  ) {
    this.dirs = inboxDirs(o.root);
    this.batch = `inbox:${path.basename(this.dirs.root)}`;
    for (const d of [this.dirs.inbox, this.dirs.pending, this.dirs.complete]) {
      if (!fs.existsSync(d)) throw new UsageError(`${this.dirs.root}: no ${path.basename(d)}/ folder (create them with: corral inbox ${o.root} --setup)`);
    }
  }

  static setup(root: string): InboxDirs {
    const dirs = inboxDirs(root);
    for (const d of [dirs.inbox, dirs.pending, dirs.complete]) fs.mkdirSync(d, { recursive: true });
    return dirs;
  }

  /** Runs until stopped (between steps, never inside a move) or, with exitWhenIdle, until nothing is left. */
  async run(signal: AbortSignal): Promise<void> {
    const lock = RootLock.take(this.dirs.root);
    try {
      while (!signal.aborted) {
        // Between steps, never inside one: a watcher that finds its lock another's leaves the root to it.
        if (!lock.held()) throw new UsageError(`another corral inbox took ${lock.file}; this one stops`);
        const busy = this.tick(signal);
        this.o.heartbeat();
        if (!busy && this.o.exitWhenIdle) return;
        await sleep(this.o.periodS * 1000, signal);
      }
    } finally {
      lock.release();
    }
  }

  /** One pass: settle pending folders, then take new ones. Returns whether anything is left to do. */
  tick(signal: AbortSignal): boolean {
    this.corral.refresh();
    for (const name of folderNames(this.dirs.pending)) {
      if (signal.aborted) return true;
      this.settlePending(name);
    }
    let active = folderNames(this.dirs.pending).length;
    for (const name of folderNames(this.dirs.inbox)) {
      if (signal.aborted || active >= this.o.maxActive) break;
      if (this.take(name)) active++;
    }
    return folderNames(this.dirs.pending).length > 0 || folderNames(this.dirs.inbox).length > 0;
  }

  /** Moves a ready folder from inbox/ to pending/ and submits it; rejects a bad one to complete/. True if taken. */
  private take(name: string): boolean {
    const src = path.join(this.dirs.inbox, name);
    let quiet: number;
    try {
      quiet = quietSeconds(src);
    } catch {
      return false; // gone or changing under us: look again next period
    }
    if (quiet < this.o.quietS) return false; // still being copied in
    const problem = !fs.existsSync(path.join(src, "job.sh"))
      ? "no job.sh in the folder"
      : unreadable(src) !== null
        ? `cannot read ${unreadable(src)}`
        : fs.existsSync(path.join(this.dirs.pending, name))
          ? `a folder named ${name} is already in pending/`
          : null;
    const options = problem === null ? readFolderOptions(src) : null;
    const why = problem ?? (typeof options === "string" ? options : null);
    if (why !== null) {
      this.reject(src, name, why);
      return false;
    }
    const dst = path.join(this.dirs.pending, name);
    fs.renameSync(src, dst);
    this.o.event("taken", { folder: name });
    this.submit(name);
    return true;
  }

  /** Submits a folder in pending/, or finds the job a killed predecessor submitted for it. */
  private submit(name: string): void {
    const dir = path.join(this.dirs.pending, name);
    const ahead = readJson<{ token: string }>(path.join(dir, HELPERS.submitting));
    if (ahead) {
      // A predecessor was killed after writing its marker: the database says whether the job was recorded.
      const id = this.corral.jobWithToken(this.batch, name, ahead.token);
      if (id !== undefined) {
        this.recorded(name, id, "found");
        return;
      }
    }
    const token = ahead?.token ?? randomBytes(8).toString("hex");
    if (!ahead) writeHelper(dir, HELPERS.submitting, `${JSON.stringify({ token, at: new Date().toISOString() })}\n`);
    const options = readFolderOptions(dir);
    if (typeof options === "string") {
      this.finish(name, null, options);
      return;
    }
    let id: number;
    try {
      id = this.corral.submit(
        {
          command: ["/bin/sh", "job.sh"],
          cwd: dir,
          name: options.name ?? name,
          batch: this.batch,
          engine: this.o.engine ?? options.engine,
          cpus: options.cpus,
          mem: options.mem,
          time: typeof options.time === "number" ? String(options.time) : options.time,
          gpus: options.gpus,
          queue: options.queue,
          retries: options.retries,
          env: Object.fromEntries(Object.entries(options.env ?? {}).map(([k, v]) => [k, String(v)])),
          schedArgs: options.sched_args,
          metadata: { inbox: this.dirs.root, folder: name, token },
        },
        dir,
      );
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      // Refused before it could start (bad resources, a scheduler's refusal): the folder says why.
      this.finish(name, null, err.message);
      return;
    }
    this.recorded(name, id, "submitted");
  }

  private recorded(name: string, id: number, how: string): void {
    const dir = path.join(this.dirs.pending, name);
    writeHelper(dir, HELPERS.status, `${JSON.stringify({ job: id, state: "queued" }, null, 2)}\n`);
    fs.rmSync(path.join(dir, HELPERS.submitting), { force: true });
    this.o.event(how, { folder: name, job: id });
  }

  /** A folder in pending/: submit it if it never was, finish it if its job ended. */
  private settlePending(name: string): void {
    const dir = path.join(this.dirs.pending, name);
    const status = readJson<Status>(path.join(dir, HELPERS.status));
    if (!status) {
      this.submit(name);
      return;
    }
    // Refused before it ran, and killed before the move: finish the move.
    if (status.job === null) {
      this.finish(name, null, typeof status.error === "string" ? status.error : "refused");
      return;
    }
    let job: JobDetail;
    try {
      job = this.corral.show(status.job);
    } catch {
      this.finish(name, null, `job ${status.job} is no longer in corral's database`);
      return;
    }
    if (!(TERMINAL_STATES as readonly string[]).includes(job.lifecycleState)) return;
    this.finish(name, job, job.lifecycleState === "succeeded" ? null : errorLine(job));
  }

  /** Writes the helper files and moves the folder to complete/ (renamed if the name is taken). */
  private finish(name: string, job: JobDetail | null, error: string | null): void {
    const dir = path.join(this.dirs.pending, name);
    const attempt = job?.taskList[0]?.attempts.at(-1);
    if (attempt) {
      const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
      writeHelper(dir, HELPERS.output, `${read(attempt.stdout)}${read(attempt.stderr)}`);
    }
    const status = {
      job: job?.id ?? null,
      state: job?.lifecycleState ?? "failed",
      exitCode: job?.exitCode ?? null,
      engine: job?.engine ?? null,
      schedulerIds: job ? job.taskList.flatMap((t) => t.attempts.map((a) => a.engineId)).filter(Boolean) : [],
      attempts: job?.taskList[0]?.attempts.length ?? 0,
      ended: new Date().toISOString(),
      error,
    };
    writeHelper(dir, HELPERS.status, `${JSON.stringify(status, null, 2)}\n`);
    if (error !== null) writeHelper(dir, HELPERS.error, `${error}\n`);
    else fs.rmSync(path.join(dir, HELPERS.error), { force: true });
    const target = freeName(this.dirs.complete, name);
    fs.renameSync(dir, path.join(this.dirs.complete, target));
    this.o.event(error === null ? "complete" : "failed", {
      folder: name,
      job: job?.id ?? null,
      ...(target !== name ? { as: target } : {}),
      ...(error ? { error } : {}),
    });
  }

  /** A folder that cannot be run goes to complete/ (renamed if needed) with the reason, straight from inbox/. */
  private reject(src: string, name: string, why: string): void {
    try {
      writeHelper(src, HELPERS.error, `${why}\n`);
    } catch {
      /* an unwritable folder still moves; the event log says why */
    }
    const target = freeName(this.dirs.complete, name);
    fs.renameSync(src, path.join(this.dirs.complete, target));
    this.o.event("rejected", { folder: name, error: why, ...(target !== name ? { as: target } : {}) });
  }
}

/** What went wrong, in one line: the exit code or signal and the scheduler's reason. */
function errorLine(job: JobDetail): string {
  const t = job.taskList[0];
  const parts: string[] = [job.lifecycleState];
  if (t?.exitCode !== null && t?.exitCode !== undefined) parts.push(`exit code ${t.exitCode}`);
  if (t?.signal) parts.push(`signal ${t.signal}`);
  if (t?.reason && !/^exit code \d+$/.test(t.reason)) parts.push(t.reason);
  return parts.join(": ");
}
