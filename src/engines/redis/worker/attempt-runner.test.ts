import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { createLauncher, type Launcher } from "../../local/launcher-process.js";
import { AttemptRunner } from "./attempt-runner.js";

/** Runs one attempt of `sh -c 'echo hi; exit 3'` through a real launcher, the way a pool worker does. */
async function runOnce(claimed: boolean): Promise<{ entries: Map<string, string>; pid: number; files: string[]; launcher: string }> {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "corral-runner-"));
  try {
    const launch = { cwd: os.tmpdir(), argv: ["sh", "-c", "echo hi; exit 3"], script: null, info: {}, umask: 0o22 };
    const runner = new AttemptRunner(
      { project: "p", job: 7, index: 2, attempt: 1, name: "t", timeLimitS: null, launch: { ...launch, ownEnv: {}, sharedEnv: "corral:env:test" } },
      folder,
      "w1",
    );
    const landed = { ...launch, env: { PATH: "/usr/bin:/bin" } };
    let pid = 0;
    const launcher: Launcher = createLauncher({
      started: (_id, p) => {
        pid = p;
        runner.onStarted(p);
      },
      exited: (_id, usage) => runner.onExited(usage),
      failed: (_id, why) => runner.onFailed(why),
      lost: () => runner.onFailed("the launcher died"),
    });
    try {
      if (claimed) launcher.launchClaimed!(1, folder, runner.prepareClaimed(landed));
      else launcher.launch(1, runner.prepare(landed));
      await runner.wait();
      const entries = new Map(runner.finish().map((e) => [e.kind, e.data.toString()]));
      return { entries, pid, files: fs.readdirSync(folder).sort(), launcher: launcher.kind };
    } finally {
      launcher.close();
    }
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

test("an attempt its launcher claims sends the same start, output and end as one its wrapper claims", async () => {
  const byWrapper = await runOnce(false);
  const byLauncher = await runOnce(true);
  assert.equal(byLauncher.launcher, "perl", "the launcher that claims attempts is the one here");
  for (const run of [byWrapper, byLauncher]) {
    const started = run.entries.get("started") ?? "";
    assert.match(started, new RegExp(`^pid=${run.pid}\\npstart=\\d+\\nhost=${os.hostname()}\\n(.*\\n)*worker=w1\\nend\\n$`), started);
    assert.equal(run.entries.get("stdout"), "hi\n");
    assert.match(run.entries.get("ended") ?? "", /^status=3\n(.*\n)*worker=w1\n(.*\n)*end\n$/);
  }
  assert.ok(byWrapper.files.includes("wrapper.sh"));
  assert.deepEqual(byLauncher.files, ["ended", "started", "stderr", "stdout"], "no wrapper file: the script travelled in the environment");
});
