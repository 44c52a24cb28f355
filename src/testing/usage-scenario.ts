import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import type { AttemptUsage, GroupReport } from "../domain/usage.js";
import { needScheduler, schedulerProblem } from "./clusters.js";
import { TestProject } from "./project.js";

/**
 * What a 300 MB job really peaks at: `/usr/bin/time -f %M` of the same perl on the CI machine reads
 * 311,992 KB (the 300 MiB string and perl itself).
 */
export const MEM_JOB_TRUTH_MB = 304.7;

/** Burns a CPU for 4 s of wall time, then prints the CPU seconds it got (on a loaded machine, less than 4). */
const BURN = `perl -MTime::HiRes=time -e '$t = time; 1 while time - $t < 4; @c = times; printf "%.2f\\n", $c[0] + $c[1]'`;

/**
 * One test that submits the usage jobs to a real scheduler together: one holding 300 MB, one burning a CPU for
 * 4 s, one sleeping 4 s, and two burners under one `sh` with --cpus 2 (after the single burner, so the two jobs
 * do not share the machine's two cores). Once they are done and refreshed, each attempt's usage must be the
 * accounting's and match the truth: peak memory within 15%, CPU within 15% of what the burners measured of
 * themselves, the burner's efficiency above 0.8 and the sleeper's below 0.1, and the pair counted as a tree
 * (about twice its wall time). A burner that itself measured under 85% of a core (other work on the machine)
 * cannot reach 0.8: its efficiency is then checked against what it got, and the shortfall is said.
 */
export function usageScenario(opts: { engine: string; source: RegExp; config?: string; timeoutMs?: number }): void {
  const { engine } = opts;
  test(`${engine} accounting: each attempt's CPU, peak memory and grant, true to what the jobs did`, { timeout: opts.timeoutMs ?? 150_000 }, async (t) => {
    if (!needScheduler(t, engine, schedulerProblem(engine))) return;
    const p = new TestProject(`corral-${engine}-usage-`, { CORRAL_POLL_MIN_AGE_S: "0" });
    try {
      if (opts.config) {
        fs.mkdirSync(p.path(".corral"), { recursive: true });
        fs.writeFileSync(p.path(".corral", "config.toml"), opts.config);
      }
      const base = ["--engine", engine, "--time", "10m"];
      const mem = p.submit([...base, "--mem", "1G"], ["perl", "-e", 'my $x = ""; vec($x, 300*1024*1024 - 1, 8) = 1; sleep 5']);
      const burn = p.submit([...base, "--mem", "256M"], ["sh", "-c", BURN]);
      const sleeper = p.submit([...base, "--mem", "256M"], ["sleep", "4"]);
      const pair = p.submit([...base, "--mem", "512M", "--cpus", "2", "--after", String(burn)], ["sh", "-c", `${BURN} & ${BURN} & wait`]);
      const ids = [mem, burn, sleeper, pair];
      const waited = await p.runAsync(["wait", ...ids.map(String), "--timeout", "120"]);
      assert.equal(waited.code, 0, `${waited.stdout}${waited.stderr}`);

      // Accounting may lag the end: refresh (any command does) until every attempt has its usage.
      type Attempt = { startedAt: string; endedAt: string; usage: AttemptUsage };
      const attemptOf = (id: number) => p.json<{ tasks: { attempts: Attempt[] }[] }>(["show", String(id)]).tasks[0]!.attempts[0]!;
      const end = Date.now() + 60_000;
      let attempts = ids.map(attemptOf);
      while (attempts.some((a) => a.usage.cpuS === null || a.usage.source === null) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 1000));
        attempts = ids.map(attemptOf);
      }
      const [m, b, s, pr] = attempts as [Attempt, Attempt, Attempt, Attempt];
      for (const a of attempts) assert.match(a.usage.source ?? "none", opts.source, JSON.stringify(a.usage));
      const wallS = (a: Attempt) => (Date.parse(a.endedAt) - Date.parse(a.startedAt)) / 1000;
      const self = (id: number) =>
        p
          .ok(["logs", String(id)])
          .trim()
          .split("\n")
          .reduce((sum, l) => sum + Number(l), 0);
      const figures = {
        mem: m.usage,
        burner: { ...b.usage, wallS: wallS(b), selfCpuS: self(burn) },
        sleeper: { ...s.usage, wallS: wallS(s) },
        pair: { ...pr.usage, wallS: wallS(pr), selfCpuS: self(pair) },
      };
      t.diagnostic(JSON.stringify(figures));

      assert.ok(Math.abs(m.usage.maxRssMb! - MEM_JOB_TRUTH_MB) / MEM_JOB_TRUTH_MB < 0.15, `peak memory ${m.usage.maxRssMb} MB, truth ${MEM_JOB_TRUTH_MB}`);
      assert.equal(m.usage.allocMemMb, 1024);
      assert.equal(m.usage.allocTimeS, 600);
      assert.equal(pr.usage.allocCpus, 2);

      for (const [name, a, id] of [
        ["burner", b, burn],
        ["pair", pr, pair],
      ] as const) {
        const truth = self(id);
        assert.ok(Math.abs(a.usage.cpuS! - truth) / truth < 0.15, `${name}: cpu ${a.usage.cpuS} s, the job measured ${truth} s`);
      }
      const burnerEff = b.usage.cpuS! / wallS(b);
      if (self(burn) >= 4 * 0.85) assert.ok(burnerEff > 0.8, `burner efficiency ${burnerEff.toFixed(2)}`);
      else {
        t.diagnostic(`the burner got only ${self(burn)} CPU s of 4 (a loaded machine): efficiency ${burnerEff.toFixed(2)} checked against that`);
        assert.ok(burnerEff > (0.8 * self(burn)) / 4);
      }
      assert.ok(s.usage.cpuS! / wallS(s) < 0.1, `sleeper efficiency ${(s.usage.cpuS! / wallS(s)).toFixed(2)}`);
      // A tree: both burners' CPU counted, about twice the pair's wall time when it had the two cores.
      const coresUsed = pr.usage.cpuS! / wallS(pr);
      assert.ok(coresUsed > Math.min(1.6, (0.8 * self(pair)) / 4), `the pair used ${coresUsed.toFixed(2)} cores`);

      assert.match(p.ok(["show", String(mem)]), /used {3}cpu [\d.]+s .*peak memory 3\d\dM/);
      const reports = new Map(p.json<GroupReport[]>(["report", "--by", "job"]).map((r) => [r.group, r]));
      assert.ok(Math.abs(reports.get(String(mem))!.memoryMb!.max - MEM_JOB_TRUTH_MB) / MEM_JOB_TRUTH_MB < 0.15);
      assert.ok(reports.get(String(sleeper))!.cpuEfficiency! < 0.1);
      assert.ok(reports.get(String(pair))!.coresUsed!.max > Math.min(1.6, (0.8 * self(pair)) / 4));
    } finally {
      await p.cleanup();
    }
  });
}
