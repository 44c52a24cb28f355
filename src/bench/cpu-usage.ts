import { spawnSync } from "node:child_process";
import fs from "node:fs";

/**
 * CPU time used by a process tree, from /proc (Linux): on a machine shared with other work, wall-clock
 * figures say as much about the neighbours as about the program; CPU seconds per job do not.
 */
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** A process's command name, its own ticks (utime + stime) and its reaped children's (cutime + cstime). */
function processStat(pid: number): { comm: string; own: number; reaped: number } | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = text
      .slice(text.lastIndexOf(") ") + 2)
      .split(" ")
      .map(Number);
    return { comm: text.slice(text.indexOf("(") + 1, text.lastIndexOf(")")), own: f[11]! + f[12]!, reaped: f[13]! + f[14]! };
  } catch {
    return null; // exited meanwhile
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

/**
 * Seconds of CPU used so far by this process tree (live processes, and those they reaped), told apart:
 * `launchers`, what the local engine's Perl launchers used themselves; `reaped`, what the tree's processes
 * other than the root reaped (a launcher's wrappers and their commands, a plain worker's commands); `node`, the
 * rest (the root's own and what it reaped: the CLI commands it ran, with theirs).
 */
export function treeCpuParts(root: number = process.pid): { node: number; launchers: number; reaped: number } {
  const parts = { node: 0, launchers: 0, reaped: 0 };
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    const s = processStat(pid);
    if (s !== null) {
      if (s.comm === "perl") parts.launchers += s.own;
      else parts.node += s.own;
      if (pid === root) parts.node += s.reaped;
      else parts.reaped += s.reaped;
    }
    stack.push(...childrenOf(pid));
  }
  return { node: parts.node / CLK_TCK, launchers: parts.launchers / CLK_TCK, reaped: parts.reaped / CLK_TCK };
}

/** Seconds of CPU a process (not in this tree, such as the Redis server) has used so far. */
export function processCpuSeconds(pid: number): number {
  const s = processStat(pid);
  return s === null ? 0 : (s.own + s.reaped) / CLK_TCK;
}

/** Whether the figures mean anything here. */
export const cpuUsageAvailable = fs.existsSync(`/proc/${process.pid}/task/${process.pid}/children`);
