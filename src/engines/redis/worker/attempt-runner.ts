import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { materializeAttempt } from "../../../lifecycle/attempt-files.js";
import { RUN_FILES } from "../../../protocol/wrapper.js";
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
  private child: ChildProcess | null = null;
  private readonly sentBytes = { stdout: 0, stderr: 0 };
  private readonly sentRequests = new Set<string>();
  private startedSent = false;
  private exited: Promise<number | null> | null = null;
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

  /** Writes the wrapper and starts it in a process group of its own (so a stop reaches the whole job). */
  start(): void {
    fs.rmSync(this.runDir, { recursive: true, force: true });
    const wrapper = materializeAttempt(this.task.launch, this.runDir);
    const child = spawn("/bin/sh", [wrapper], { detached: true, stdio: "ignore" });
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.on("error", () => resolve(127));
      child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 9) : null)));
    });
  }

  private readonly startMs = Date.now();

  /** Whether it has run past its time limit (then it is stopped, and the end says TIMEOUT). */
  overTime(now: number): boolean {
    return this.task.timeLimitS !== null && now - this.startMs > this.task.timeLimitS * 1000;
  }

  /** TERM to the attempt's process group, KILL after KILL_WAIT_MS; `verdict` names why, for corral. */
  stop(verdict: { keyword: string; detail: string } | null): void {
    if (!this.child || this.killTimer) return;
    this.verdict = verdict;
    this.signal("SIGTERM");
    this.killTimer = setTimeout(() => this.signal("SIGKILL"), KILL_WAIT_MS);
    this.killTimer.unref();
  }

  private signal(sig: NodeJS.Signals): void {
    try {
      process.kill(-this.child!.pid!, sig);
    } catch {
      // already gone
    }
  }

  /** Resolves with the wrapper's exit status once it has ended. */
  async wait(): Promise<number | null> {
    const status = await this.exited!;
    if (this.killTimer) clearTimeout(this.killTimer);
    return status;
  }

  /** What is new in the run directory since the last call: the started marker, output, finished requests. */
  collect(): ResultEntry[] {
    const out: ResultEntry[] = [];
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

  /** The last entries: whatever is left, then the ended marker (made up from the exit status if the wrapper was killed). */
  finish(status: number | null): ResultEntry[] {
    const out = this.collect();
    let ended = this.marker(RUN_FILES.ended, this.verdict);
    if (!ended) {
      const lines = [`status=${status ?? 255}`, ...(this.verdict ? [`verdict=${this.verdict.keyword}`, `detail=${this.verdict.detail}`] : []), `time=${Date.now() / 1000}`];
      ended = Buffer.from(`${lines.join("\n")}\nworker=${this.workerName}\nend\n`);
    }
    out.push(this.entry("ended", ended));
    return out;
  }

  /** An entry telling corral the attempt was cancelled before it ran. */
  static cancelledEntry(task: TaskPayload, workerName: string): ResultEntry {
    const data = Buffer.from(`status=143\ncancelled=cancelled by user\ntime=${Date.now() / 1000}\nworker=${workerName}\nend\n`);
    return { attempt: attemptKey(task.job, task.index, task.attempt), kind: "ended", offset: 0, name: "", data };
  }

  removeRunDir(): void {
    fs.rmSync(this.runDir, { recursive: true, force: true });
  }

  private entry(kind: ResultEntry["kind"], data: Buffer, offset = 0, name = ""): ResultEntry {
    return { attempt: this.key, kind, offset, name, data };
  }

  /** A complete marker (its `end` line written), with its time and this worker added, or null. */
  private marker(file: string, verdict: { keyword: string; detail: string } | null = null): Buffer | null {
    let text: string;
    let mtimeMs: number;
    try {
      text = fs.readFileSync(path.join(this.runDir, file), "utf8");
      mtimeMs = fs.statSync(path.join(this.runDir, file)).mtimeMs;
    } catch {
      return null;
    }
    if (!/(^|\n)end\n?$/.test(text)) return null;
    const body = text.replace(/(^|\n)end\n?$/, "$1");
    const extra = [...(verdict ? [`verdict=${verdict.keyword}`, `detail=${verdict.detail}`] : []), `time=${mtimeMs / 1000}`, `worker=${this.workerName}`];
    return Buffer.from(`${body}${extra.join("\n")}\nend\n`);
  }

  private newOutput(stream: "stdout" | "stderr"): ResultEntry[] {
    const file = path.join(this.runDir, RUN_FILES[stream]);
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

function signalNumber(sig: NodeJS.Signals): number | undefined {
  return os.constants.signals[sig];
}
