import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fenceAttempt } from "../../lifecycle/attempt-files.js";
import { readEnded, readStarted } from "../../protocol/markers.js";
import type { AttemptUsage } from "../../domain/usage.js";
import { renderWrapper, type ClaimedScript } from "../../protocol/wrapper.js";
import { createLauncher, type Launcher } from "./launcher-process.js";
import { processStartTime } from "./processes.js";
import { tempDir } from "../../testing/temp.js";

/** A Perl launcher whose events resolve per attempt: its pid once started, and its exit. */
function launcher(): {
  l: Launcher;
  started: Map<number, number>;
  exited: (id: number) => Promise<void>;
  failed: Map<number, string>;
  usage: Map<number, AttemptUsage | null>;
} {
  const started = new Map<number, number>();
  const usage = new Map<number, AttemptUsage | null>();
  const failed = new Map<number, string>();
  const waiting = new Map<number, () => void>();
  const done = new Set<number>();
  const l = createLauncher({
    started: (id, pid) => started.set(id, pid),
    exited: (id, used) => {
      usage.set(id, used);
      done.add(id);
      waiting.get(id)?.();
    },
    failed: (id, why) => {
      failed.set(id, why);
      done.add(id);
      waiting.get(id)?.();
    },
    lost: () => undefined,
  });
  const exited = (id: number) => (done.has(id) ? Promise.resolve() : new Promise<void>((r) => waiting.set(id, r)));
  return { l, started, exited, failed, usage };
}

/** A wrapper as the supervisor hands it over: the job's variables as sh's environment, or (`exports`) in its text. */
function wrapper(runDir: string, argv: string[], vars: Record<string, string> = {}, exports = false): ClaimedScript {
  const env = { PATH: "/usr/bin:/bin", SECRET: "s3cret", ...vars };
  const script = renderWrapper({ runDir, cwd: os.tmpdir(), argv, env, umask: 0o022, startedBy: "launcher", envInProcess: !exports });
  return { script, env: exports ? {} : env };
}

test("the launcher makes the run directory and claims the attempt with a started marker for the process that runs it", async (t) => {
  const { l, started, exited } = launcher();
  t.after(() => l.close());
  assert.ok(l.launchClaimed, "perl is there on the machines corral is tested on");
  const base = tempDir("corral-launcher-");
  const runDir = path.join(base, "7", "3", "1");
  const seen = path.join(base, "seen");
  // The command records its own view: its wrapper's pid and start time, its command line, its environment.
  const probe = `echo "$PPID $(cut -d' ' -f22 /proc/$PPID/stat)" > ${seen}; tr '\\0' ' ' < /proc/$PPID/cmdline >> ${seen}; echo; env >> ${seen}`;
  l.launchClaimed!(1, runDir, wrapper(runDir, ["sh", "-c", probe]));
  await exited(1);
  const marker = readStarted(runDir)!;
  const [ppid, pstart] = fs.readFileSync(seen, "utf8").split("\n")[0]!.split(" ");
  assert.equal(marker.pid, Number(ppid), "the marker names the wrapper's own process");
  assert.equal(marker.pidStart, pstart);
  assert.equal(marker.host, os.hostname());
  assert.equal(started.get(1), marker.pid);
  assert.equal(readEnded(runDir)?.status, 0);
  const seenText = fs.readFileSync(seen, "utf8");
  assert.doesNotMatch(seenText.split("\n")[1]!, /s3cret/, "the job's variables are not on the wrapper's command line");
  assert.match(seenText, /^SECRET=s3cret$/m);
  assert.doesNotMatch(seenText, /^CORRAL_WRAPPER=/m, "the command does not inherit the wrapper's text");
  assert.deepEqual(fs.readdirSync(runDir).sort(), ["ended", "started", "stderr", "stdout"], "no wrapper.sh, no claim file");
});

test("the launcher reports what the attempt used when it reaps it: the tree's CPU, the largest process's memory", async (t) => {
  const { l, exited, usage: reported } = launcher();
  t.after(() => l.close());
  const runDir = path.join(tempDir("corral-launcher-"), "1");
  // Two children, each burning 0.5 s of CPU by its own count, one holding 100 MB while it does.
  const burn = (extra: string) => `perl -e '${extra}1 while (times)[0] + (times)[1] < 0.5'`;
  l.launchClaimed!(5, runDir, wrapper(runDir, ["sh", "-c", `${burn('my $x = ""; vec($x, 100*1024*1024 - 1, 8) = 1; ')} & ${burn("")}; wait`]));
  await exited(5);
  const usage = reported.get(5);
  assert.ok(usage, "the exit report carries usage");
  assert.equal(usage.source, "wait4");
  assert.ok(usage.cpuS !== null && usage.cpuS >= 1 && usage.cpuS < 1.5, `both children's CPU: ${usage.cpuS}`);
  assert.ok(usage.maxRssMb !== null && usage.maxRssMb > 95 && usage.maxRssMb < 130, `the larger child's peak, not the sum: ${usage.maxRssMb}`);
});

test("an attempt fenced before the launcher got to it runs nothing", async (t) => {
  const { l, exited, usage } = launcher();
  t.after(() => l.close());
  const runDir = tempDir("corral-launcher-");
  assert.equal(fenceAttempt(runDir), true);
  const ledger = path.join(runDir, "ran");
  l.launchClaimed!(2, runDir, wrapper(runDir, ["touch", ledger]));
  await exited(2);
  assert.equal(fs.existsSync(ledger), false);
  assert.equal(readStarted(runDir), null, "the fence is still there");
  assert.equal(readEnded(runDir), null);
  assert.equal(usage.get(2), null, "the child that lost the claim reports no usage");
});

test("a run directory that cannot be made fails the launch with the reason", async (t) => {
  const { l, exited, failed } = launcher();
  t.after(() => l.close());
  const file = path.join(tempDir("corral-launcher-"), "a-file");
  fs.writeFileSync(file, "");
  const runDir = path.join(file, "1", "1");
  l.launchClaimed!(3, runDir, wrapper(runDir, ["true"]));
  await exited(3);
  assert.match(failed.get(3) ?? "", /cannot create the run directory/);
});

test("the started marker's start time is the one the supervisor reads for the same pid", async (t) => {
  const { l, started, exited } = launcher();
  t.after(() => l.close());
  const runDir = path.join(tempDir("corral-launcher-"), "1");
  const release = path.join(path.dirname(runDir), "release");
  l.launchClaimed!(4, runDir, wrapper(runDir, ["sh", "-c", `while [ ! -e ${release} ]; do sleep 0.05; done`]));
  for (let i = 0; i < 200 && (!started.has(4) || !readStarted(runDir)); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(readStarted(runDir)?.pidStart, processStartTime(started.get(4)!));
  fs.writeFileSync(release, "");
  await exited(4);
});

test("the command sees the job's variables alike whether they come as sh's environment or as exports, and none of an earlier attempt's", async (t) => {
  const { l, exited } = launcher();
  t.after(() => l.close());
  const base = tempDir("corral-launcher-");
  const tricky = { MULTI: "line one\nline two", QUOTES: `it's "quoted" $HOME \\`, EQUALS: "a=b=c", EMPTY: "", LONE: "x" };
  const envOf = async (id: number, vars: Record<string, string>, exports: boolean) => {
    const runDir = path.join(base, String(id));
    const dump = path.join(base, `env-${id}`);
    // NUL-separated, so a value's newline cannot pass for another variable.
    l.launchClaimed!(id, runDir, wrapper(runDir, ["sh", "-c", `env -0 > ${dump}`], vars, exports));
    await exited(id);
    const pairs = fs.readFileSync(dump, "utf8").split("\0").filter(Boolean);
    return new Map(pairs.map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)]));
  };
  const given = await envOf(1, tricky, false);
  const exported = await envOf(2, tricky, true);
  for (const [k, v] of Object.entries(tricky)) {
    assert.equal(given.get(k), v, `${k} as sh's environment`);
    assert.equal(exported.get(k), v, `${k} exported`);
  }
  assert.equal(given.get("PATH"), "/usr/bin:/bin");
  assert.equal(given.has("CORRAL_WRAPPER"), false, "the command does not inherit the wrapper's text");
  const next = await envOf(3, {}, false);
  assert.equal(next.has("LONE"), false, "an earlier attempt's variables are gone");
  assert.equal(next.get("SECRET"), "s3cret");
});
