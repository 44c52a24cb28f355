import fs from "node:fs";
import path from "node:path";
import { claimedLaunchScript, materializeAttempt, type AttemptLaunch } from "../../../lifecycle/attempt-files.js";
import { usageLines } from "../../../protocol/markers.js";
import type { AttemptUsage } from "../../../domain/usage.js";
import { RUN_FILES, type ClaimedScript } from "../../../protocol/wrapper.js";
import { attemptKey, CHUNK_BYTES, type ResultEntry } from "../results.js";
import type { TaskPayload } from "../task-payload.js";

/** How long a stopped attempt gets between TERM and KILL (Slurm's KillWait default). */
const KILL_WAIT_MS = 10_000;

/**
 * One attempt on a worker: runs the task's wrapper in a run directory of the worker's own, and turns what the
 * wrapper writes there into result entries (started, output chunks, requests, ended) for the submitting
 * host, in that order, each exactly once. The caller sends them; nothing here talks to Redis.
 */
export class AttemptRunner {
  readonly key: string;
  private readonly sentBytes = { stdout: 0, stderr: 0 };
  private readonly sentRequests = new Set<string>();
  private startedSent = false;
  /** Why the worker stopped it, if it did: recorded in the ended marker for corral (verdict=, detail=). */
  private verdict: { keyword: string; detail: string } | null = null;
  private killTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly task: TaskPayload,
    readonly runDir: string,
    private readonly workerName: string,
  ) {
    this.key = attemptKey(task.job, task.index, task.attempt);
  }

  /** Writes the run directory; returns the wrapper to start (in a session of its own, by the worker's launcher). */
  prepare(launch: AttemptLaunch): string {
    AttemptRunner.clear(this.runDir);
    this.prepared = true;
    return materializeAttempt(launch, this.runDir);
  }

  /**
   * Empties the run directory; returns the script and variables for a launcher that claims the attempt itself
   * (creates the `started` marker for the process it forks: one read of /proc where sh takes hundreds, and no
   * wrapper.sh).
   */
  prepareClaimed(launch: AttemptLaunch): ClaimedScript {
    AttemptRunner.clear(this.runDir);
    this.prepared = true;
    return claimedLaunchScript(launch, this.runDir);
  }

  /**
   * Empties a slot's folder for its next attempt. The folder itself is kept: creating and removing a folder per
   * attempt is the dearest file operation of a short task on some filesystems (ext4 mounted with discard).
   * Files are unlinked, never truncated, so a process an earlier attempt left behind writes into its own files.
   */
  static clear(runDir: string): void {
    for (const name of fs.readdirSync(runDir)) {
      const entry = path.join(runDir, name);
      try {
        fs.unlinkSync(entry);
      } catch (err) {
        // A folder: requests/, or one the job made in $CORRAL_RUN_DIR.
        if ((err as NodeJS.ErrnoException).code !== "EISDIR" && (err as NodeJS.ErrnoException).code !== "EPERM") throw err;
        fs.rmSync(entry, { recursive: true, force: true });
      }
    }
  }

  private readonly startMs = Date.now();
  /**
   * Whether this attempt's folder has been emptied for it: until then it holds the previous attempt's files,
   * which must never be read as this one's (its launch may wait for its environment, or fail before).
   */
  private prepared = false;
  private over = false;
  /** A stop asked for before the launcher reported the process: sent as soon as it does. */
  private pendingStop: { verdict: { keyword: string; detail: string } | null } | null = null;
  private pid: number | null = null;
  private done: (() => void) | null = null;
  private readonly ended = new Promise<void>((resolve) => (this.done = resolve));
  private failure: string | null = null;

  onStarted(pid: number): void {
    this.pid = pid;
    if (this.pendingStop) this.stop(this.pendingStop.verdict);
  }

  private end(): void {
    this.over = true;
    this.done!();
  }

  /** Whether it has ended already (failed, or its launcher died) before being launched. */
  get isOver(): boolean {
    return this.over;
  }

  /** Its wrapper was reaped; `usage` is what the launcher learned of it, added to the ended marker sent. */
  onExited(usage: AttemptUsage | null = null): void {
    this.usage = usage;
    this.end();
  }

  private usage: AttemptUsage | null = null;

  private endSeenAt: number | null = null;

  /**
   * A safety net under the launcher's exit reports: an attempt whose ended marker has been complete for a
   * tick is over (writing it is the wrapper's last act). True when it has just been declared so.
   */
  settleIfEnded(now: number): boolean {
    if (!this.prepared) return false;
    if (this.endSeenAt === null) {
      if (this.marker(RUN_FILES.ended) !== null) this.endSeenAt = now;
      return false;
    }
    if (now - this.endSeenAt < 400) return false;
    this.end();
    return true;
  }

  onFailed(why: string): void {
    this.failure = why;
    this.end();
  }

  /** Whether it has run past its time limit (then it is stopped, and the end says TIMEOUT). */
  overTime(now: number): boolean {
    return this.task.timeLimitS !== null && now - this.startMs > this.task.timeLimitS * 1000;
  }

  /** TERM to the attempt's process group, KILL after KILL_WAIT_MS; `verdict` names why, for corral. */
  stop(verdict: { keyword: string; detail: string } | null): void {
    if (this.pid === null) {
      this.pendingStop ??= { verdict };
      return;
    }
    if (this.killTimer) return;
    this.verdict = verdict;
    this.signal("SIGTERM");
    this.killTimer = setTimeout(() => this.signal("SIGKILL"), KILL_WAIT_MS);
    this.killTimer.unref();
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      process.kill(-this.pid!, sig);
    } catch {
      // already gone
    }
  }

  /** Resolves once the wrapper has ended. */
  async wait(): Promise<void> {
    await this.ended;
    if (this.killTimer) clearTimeout(this.killTimer);
  }

  /** What is new in the run directory since the last call: the started marker, output, finished requests. */
  collect(): ResultEntry[] {
    const out: ResultEntry[] = [];
    if (!this.prepared) return out;
    if (!this.startedSent) {
      const started = this.marker(RUN_FILES.started);
      if (started) {
        out.push(this.entry("started", started));
        this.startedSent = true;
      }
    }
    for (const stream of ["stdout", "stderr"] as const) out.push(...this.newOutput(stream));
    out.push(...this.newRequests());
    return out;
  }

  /**
   * The last entries: whatever is left, then the ended marker (made up if the wrapper could not write one:
   * killed, or never started), with what the attempt used added to it, so corral finishes it with its usage.
   */
  finish(): ResultEntry[] {
    const out = this.collect();
    let ended = this.prepared ? this.marker(RUN_FILES.ended, this.verdict) : null;
    if (!ended) {
      const why =
        this.failure !== null
          ? [`status=127`, `error=the worker could not start it: ${this.failure}`]
          : this.killTimer
            ? ["status=137", "signal=KILL"]
            : ["status=255", "error=its wrapper ended without an end marker"];
      const lines = [...why, ...(this.verdict ? [`verdict=${this.verdict.keyword}`, `detail=${this.verdict.detail}`] : []), `time=${Date.now() / 1000}`];
      ended = Buffer.from(`${lines.join("\n")}\nworker=${this.workerName}\n${this.usageText()}end\n`);
    }
    out.push(this.entry("ended", ended));
    return out;
  }

  private entry(kind: ResultEntry["kind"], data: Buffer, offset = 0, name = ""): ResultEntry {
    return { attempt: this.key, kind, offset, name, data };
  }

  /** A complete marker (its `end` line written), with its time and this worker added, or null. */
  private marker(file: string, verdict: { keyword: string; detail: string } | null = null): Buffer | null {
    let text: string;
    let mtimeMs: number;
    let fd: number | null = null;
    try {
      fd = fs.openSync(path.join(this.runDir, file), "r");
      mtimeMs = fs.fstatSync(fd).mtimeMs;
      text = fs.readFileSync(fd, "utf8");
    } catch {
      return null;
    } finally {
      if (fd !== null) fs.closeSync(fd);
    }
    if (!/(^|\n)end\n?$/.test(text)) return null;
    const body = text.replace(/(^|\n)end\n?$/, "$1");
    const extra = [...(verdict ? [`verdict=${verdict.keyword}`, `detail=${verdict.detail}`] : []), `time=${mtimeMs / 1000}`, `worker=${this.workerName}`];
    return Buffer.from(`${body}${extra.join("\n")}\n${file === RUN_FILES.ended ? this.usageText() : ""}end\n`);
  }

  /** The ended marker's usage lines (each ending in a newline), or nothing when the launcher could not tell. */
  private usageText(): string {
    return this.usage ? `${usageLines(this.usage).join("\n")}\n` : "";
  }

  private newOutput(stream: "stdout" | "stderr"): ResultEntry[] {
    const file = path.join(this.runDir, RUN_FILES[stream]);
    // One stat to see whether there is anything new (usually not): system calls are what short tasks cost.
    const size = fs.statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    if (size <= this.sentBytes[stream]) return [];
    let fd: number;
    try {
      fd = fs.openSync(file, "r");
    } catch {
      return [];
    }
    const out: ResultEntry[] = [];
    try {
      const size = fs.fstatSync(fd).size;
      while (this.sentBytes[stream] < size) {
        const buf = Buffer.alloc(Math.min(CHUNK_BYTES, size - this.sentBytes[stream]));
        const n = fs.readSync(fd, buf, 0, buf.length, this.sentBytes[stream]);
        if (n <= 0) break;
        out.push(this.entry(stream, buf.subarray(0, n), this.sentBytes[stream]));
        this.sentBytes[stream] += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    return out;
  }

  /** Request files (corral job spawn/set/mark) appear by rename, complete: each is sent once. */
  private newRequests(): ResultEntry[] {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(this.runDir, RUN_FILES.requests));
    } catch {
      return [];
    }
    const out: ResultEntry[] = [];
    for (const name of names.sort()) {
      if (name.startsWith(".") || this.sentRequests.has(name)) continue;
      try {
        out.push(this.entry("request", fs.readFileSync(path.join(this.runDir, RUN_FILES.requests, name)), 0, name));
        this.sentRequests.add(name);
      } catch {
        // vanished: nothing to send
      }
    }
    return out;
  }
}
