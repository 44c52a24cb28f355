import assert from "node:assert/strict";
import type { TestProject } from "./project.js";

/**
 * Jobs whose use is known, the same on every engine (issue 14): one holds 300 MB, one burns 2.5 s of CPU,
 * one sleeps, and one runs two burners at once as a tree. The burners count their own CPU time (Perl's
 * `times`), so the truth does not depend on how busy the machine is; they print it for the test to compare.
 */
const HOLD_300MB = `perl -e 'my $x = ""; vec($x, 300*1024*1024 - 1, 8) = 1; sleep 2'`;
const burner = (cpuS: number) => `perl -e '1 while (times)[0] + (times)[1] < ${cpuS}; my ($u, $s) = times; print "cpu=", $u + $s, "\\n"'`;
const TREE = `perl -e "1 while (times)[0] + (times)[1] < 2" & perl -e "1 while (times)[0] + (times)[1] < 2"; wait`;

export interface UsageJobs {
  readonly memory: number;
  readonly busy: number;
  readonly sleeper: number;
  readonly tree: number;
  /** The cpus the tree asked for (an engine that grants one per task, such as a pool's slots, gets 1). */
  readonly treeCpus: number;
}

/** Submits the four jobs (ARGS go to every submit: engine, tags); the tree waits for the busy one, so the two never share the cores. */
export function submitUsageJobs(p: TestProject, args: readonly string[] = [], treeCpus = 2): UsageJobs {
  const id = (out: string) => Number(/\d+/.exec(out)![0]);
  const memory = id(p.ok(["submit", ...args, "--name", "memory", "--", "sh", "-c", HOLD_300MB]));
  const busy = id(p.ok(["submit", ...args, "--name", "busy", "--", "sh", "-c", burner(2.5)]));
  const sleeper = id(p.ok(["submit", ...args, "--name", "sleeper", "--", "sleep", "3"]));
  const cpus = treeCpus > 1 ? ["--cpus", String(treeCpus)] : [];
  const tree = id(p.ok(["submit", ...args, "--name", "tree", ...cpus, "--after", String(busy), "--", "sh", "-c", TREE]));
  return { memory, busy, sleeper, tree, treeCpus };
}

interface Group {
  group: string;
  wallS: { max: number } | null;
  memoryMb: { max: number } | null;
  cpuEfficiency: number | null;
  coresUsed: { max: number } | null;
}

/** The report's figures per job: the ones the user reads, through `corral report --by job --json`. */
export function reportByJob(p: TestProject): Map<number, Group> {
  const groups = JSON.parse(p.ok(["report", "--by", "job", "--json"])) as Group[];
  return new Map(groups.map((g) => [Number(g.group), g]));
}

/** Whether every one of the jobs has its CPU and memory recorded. */
export function usageComplete(p: TestProject, jobs: UsageJobs): boolean {
  const r = reportByJob(p);
  return [jobs.memory, jobs.busy, jobs.sleeper, jobs.tree].every(
    (id) => r.get(id)?.memoryMb && r.get(id)?.cpuEfficiency !== null && r.get(id)?.cpuEfficiency !== undefined,
  );
}

/**
 * The figures against the truth: peak memory within 15% of 300 MB; the burner's CPU as it counted it itself,
 * and an efficiency above 0.8 (the machine gave it its core: its own CPU over its wall says so) that agrees with
 * its own ratio; the sleeper below 0.1; the tree's CPU the sum of both burners.
 */
export function assertUsageTruth(p: TestProject, jobs: UsageJobs): void {
  const r = reportByJob(p);
  const get = (id: number) => {
    const g = r.get(id);
    assert.ok(g, `job ${id} is in the report: ${JSON.stringify([...r.keys()])}`);
    return g;
  };
  const memory = get(jobs.memory);
  assert.ok(memory.memoryMb, "the memory job's peak is known");
  assert.ok(Math.abs(memory.memoryMb.max - 300) <= 45, `peak memory ${memory.memoryMb.max} MB, truth 300 MB`);

  const busy = get(jobs.busy);
  const ownCpu = Number(/cpu=([\d.]+)/.exec(p.ok(["logs", String(jobs.busy)]))?.[1]);
  assert.ok(ownCpu >= 2.5, `the burner counted its own CPU: ${ownCpu}`);
  assert.ok(busy.cpuEfficiency !== null && busy.wallS, "the burner's efficiency is known");
  const cpu = busy.cpuEfficiency * busy.wallS.max;
  assert.ok(cpu >= ownCpu - 0.05 && cpu <= ownCpu + 0.5, `CPU recorded ${cpu.toFixed(2)} s, the job's own count ${ownCpu} s`);
  const ownRatio = ownCpu / busy.wallS.max;
  assert.ok(Math.abs(busy.cpuEfficiency - ownRatio) < 0.15, `efficiency ${busy.cpuEfficiency} against its own ratio ${ownRatio}`);
  // On a machine too busy to give the burner its core, its own ratio tells, and the figure above agrees with it.
  if (ownRatio >= 0.85) assert.ok(busy.cpuEfficiency > 0.8, `the busy job's efficiency ${busy.cpuEfficiency}`);

  const sleeper = get(jobs.sleeper);
  assert.ok(sleeper.cpuEfficiency !== null && sleeper.cpuEfficiency < 0.1, `the sleeper's efficiency ${sleeper.cpuEfficiency}`);

  const tree = get(jobs.tree);
  assert.ok(tree.cpuEfficiency !== null && tree.wallS, "the tree's efficiency is known");
  const treeCpu = tree.cpuEfficiency * tree.wallS.max * jobs.treeCpus;
  assert.ok(treeCpu >= 3.9 && treeCpu <= 5, `the tree's CPU ${treeCpu.toFixed(2)} s is both burners' (2 × 2 s)`);
}
