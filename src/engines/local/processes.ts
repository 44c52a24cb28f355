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

/** Whether the process that was `pid` when it had start time `pidStart` is still running. */
export function isSameProcessAlive(pid: number, pidStart: string | null): boolean {
  const now = processStartTime(pid);
  if (now === null) return false;
  return pidStart === null || pidStart === "" || now === pidStart;
}

/** Signals a whole process group (the wrapper is its session leader), ignoring one that is already gone. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}
