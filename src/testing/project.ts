import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The command as installed (package.json's bin): bin/corral, which starts the startup snapshot or else the
 * bundle of dist/cli/main.js (scripts/snapshot.mjs, scripts/bundle.mjs). Run it as a program, not with node.
 */
export const CLI = fileURLToPath(new URL("../../bin/corral", import.meta.url));

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A throw-away project folder driven through the real `corral` CLI, as a user would: separate processes,
 * a real supervisor, real jobs. Supervisor timings are shortened so tests do not wait on idle timers.
 */
export class TestProject {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;

  constructor(prefix = "corral-test-", env: NodeJS.ProcessEnv = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    const base = { ...process.env };
    delete base.CORRAL_DB;
    delete base.NO_COLOR;
    this.env = {
      ...base,
      CORRAL_SUPERVISOR_IDLE_MS: "300",
      CORRAL_SUPERVISOR_POLL_MS: "100",
      CORRAL_KILL_GRACE_MS: "1500",
      CORRAL_LAUNCH_GRACE_MS: "3000",
      ...env,
    };
  }

  get dbPath(): string {
    return path.join(this.dir, ".corral", "corral.db");
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  run(args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): RunResult {
    const r = spawnSync(CLI, args, { cwd: opts.cwd ?? this.dir, env: { ...this.env, ...opts.env }, encoding: "utf8" });
    return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
  }

  runAsync(args: readonly string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
    return new Promise((resolve) => {
      const child = spawn(CLI, args, { cwd: this.dir, env: { ...this.env, ...opts.env } });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("close", (code) => resolve({ code: code ?? 128, stdout, stderr }));
    });
  }

  /** Runs a command that must succeed, returning its stdout. */
  ok(args: readonly string[], opts: { env?: NodeJS.ProcessEnv } = {}): string {
    const r = this.run(args, opts);
    if (r.code !== 0) throw new Error(`corral ${args.join(" ")} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  }

  submit(args: readonly string[], command: readonly string[]): number {
    return Number(this.ok(["submit", ...args, "--", ...command]).trim());
  }

  json<T = unknown>(args: readonly string[]): T {
    return JSON.parse(this.ok([...args, "--json"])) as T;
  }

  /**
   * The live supervisor of this project. A supervisor killed with -9 leaves its pidfile behind and pids are
   * reused quickly, so the pid counts only if that process really is our supervisor.
   */
  supervisorPid(): number | null {
    try {
      const pid = Number(fs.readFileSync(path.join(this.dir, ".corral", "supervisor.pid"), "utf8").trim());
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      return cmdline.includes("supervisor") && cmdline.includes(this.dbPath) ? pid : null;
    } catch {
      return null;
    }
  }

  /**
   * Every process running a supervisor of this project's database. Not only the pidfile's: two commands racing
   * a slow start may spawn two, and the second can take the lease (and write the database) after the first
   * has exited and removed its pidfile.
   */
  supervisorProcesses(): number[] {
    const pids: number[] = [];
    for (const entry of fs.readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
        if (cmdline.includes("supervisor") && cmdline.includes(this.dbPath)) pids.push(Number(entry));
      } catch {
        /* exited meanwhile */
      }
    }
    return pids;
  }

  /** Waits until no supervisor runs for this project (each exits once idle), so the database is quiet. */
  async quiesce(timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (this.supervisorProcesses().length === 0) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("the supervisor did not exit");
  }

  async cleanup(): Promise<void> {
    const pid = this.supervisorPid();
    if (pid !== null) {
      try {
        process.kill(pid, "SIGTERM");
      } catch {
        /* gone */
      }
    }
    await this.quiesce().catch(() => undefined);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
