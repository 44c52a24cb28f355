import fs from "node:fs";

/**
 * A process's start time in clock ticks since boot (field 22 of /proc/PID/stat). Together with the pid it
 * identifies a process across pid reuse. Null when the process does not exist or is a zombie.
 */
export function processStartTime(pid: number): string | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); field 22 is fields[19].
  if (fields[0] === "Z" || fields[0] === "X") return null;
  return fields[19] ?? null;
}

/**
 * Whether the process that was `pid` when it had start time `pidStart` is still running. Without a recorded
 * start time the answer is no: pids wrap around quickly on a busy machine (pid_max is often 32768), and a
 * reused pid must never be taken for the original.
 */
export function isSameProcessAlive(pid: number, pidStart: string | null): boolean {
  if (pidStart === null || pidStart === "") return false;
  return processStartTime(pid) === pidStart;
}

/**
 * Signals an attempt's process group (its wrapper leads a session of its own). Only the group, never the
 * bare pid: a group id cannot be reused while any member lives, so this reaches the attempt or nothing.
 */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    /* the group is gone */
  }
}
