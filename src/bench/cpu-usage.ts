import { spawnSync } from "node:child_process";
import fs from "node:fs";

/**
 * CPU time used by a process tree, from /proc (Linux): on a machine shared with other work, wall-clock
 * figures say as much about the neighbours as about the program; CPU seconds per job do not.
 */
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** utime + stime of a process, plus cutime + cstime (what its children that it has reaped used). */
function processTicks(pid: number): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ").map(Number);
    return f[11]! + f[12]! + f[13]! + f[14]!;
  } catch {
    return 0; // exited meanwhile
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tasks) {
    try {
      for (const c of fs.readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim().split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** Seconds of CPU used so far by this process tree: live processes, and those they reaped. */
export function treeCpuSeconds(root: number = process.pid): number {
  let ticks = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    ticks += processTicks(pid);
    stack.push(...childrenOf(pid));
  }
  return ticks / CLK_TCK;
}

/** Seconds of CPU a process (not in this tree, such as the Redis server) has used so far. */
export function processCpuSeconds(pid: number): number {
  return processTicks(pid) / CLK_TCK;
}

/** Whether the figures mean anything here. */
export const cpuUsageAvailable = fs.existsSync(`/proc/${process.pid}/task/${process.pid}/children`);
