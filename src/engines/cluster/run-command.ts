import { spawnSync } from "node:child_process";

/** The scheduler could not be asked (binary missing, daemon down, timeout): nothing may be concluded. */
export class SchedulerUnavailable extends Error {}

/** The scheduler answered and refused (unknown partition, bad option): the user's input is at fault. */
export class SchedulerRejected extends Error {}

/** Messages by which Slurm, Grid Engine, PBS, LSF and HTCondor clients say they could not reach their daemon. */
const UNREACHABLE =
  /unable to contact|socket timed out|connection refused|zero bytes were transmitted|communication|cannot connect|can't connect|unable to connect|commlib error|no route to host|timed out|can't find address of|couldn't contact|failed to connect|lsf is down|daemon not responding/i;

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Calls and time spent in them, per command, so benchmarks can tell corral's own time from the scheduler's. */
export const schedulerCalls = { counts: new Map<string, number>(), ms: 0 };

/**
 * Runs one scheduler command without a shell (arguments are passed byte for byte). A missing binary, a
 * timeout or a "cannot reach the daemon" message is SchedulerUnavailable; any other failure is
 * SchedulerRejected with the scheduler's own message on one line.
 */
export function runScheduler(cmd: string, args: readonly string[], timeoutMs = 60_000, input?: string): CommandResult {
  schedulerCalls.counts.set(cmd, (schedulerCalls.counts.get(cmd) ?? 0) + 1);
  const t0 = performance.now();
  // `input` goes to the command's standard input (LSF's bsub reads a script's #BSUB lines only from there).
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 256 * 1024 * 1024,
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    ...(input === undefined ? {} : { input }),
  });
  schedulerCalls.ms += performance.now() - t0;
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new SchedulerUnavailable(`${cmd}: not found on PATH`);
    throw new SchedulerUnavailable(`${cmd}: ${code === "ETIMEDOUT" ? `no answer within ${timeoutMs / 1000} s` : r.error.message}`);
  }
  if (r.status !== 0) {
    const message = oneLine(`${r.stderr}\n${r.stdout}`, cmd) || `exit status ${r.status ?? r.signal}`;
    if (UNREACHABLE.test(message)) throw new SchedulerUnavailable(`${cmd}: ${message}`);
    throw new SchedulerRejected(`${cmd}: ${message}`);
  }
  return { stdout: r.stdout, stderr: r.stderr };
}

/** A scheduler's multi-line complaint as one line, most specific part last, without repeated prefixes. */
export function oneLine(text: string, cmd?: string): string {
  const prefix = cmd ? new RegExp(`^${cmd}:\\s*(error:\\s*)?`, "i") : null;
  const lines = text
    .split("\n")
    .map((l) => (prefix ? l.trim().replace(prefix, "") : l.trim()))
    .filter((l) => l !== "" && !/^Exiting\.?$/.test(l));
  return [...new Set(lines)].join("; ");
}
