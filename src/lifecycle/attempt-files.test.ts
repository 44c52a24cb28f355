import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { createLauncher } from "../engines/local/launcher-process.js";
import { tempDir } from "../testing/temp.js";
import { claimedLaunchScript, type AttemptLaunch } from "./attempt-files.js";

/**
 * A launch for a launcher that claims attempts itself hands the job's variables over as sh's environment, and
 * falls back to wrapper.sh, which exports them, only where they would not fit: the command sees the same
 * variables either way.
 */
test("a launcher's launch carries the variables as sh's environment, and in wrapper.sh only when they are too big for it", async (t) => {
  const events = new Map<number, () => void>();
  const launcher = createLauncher({
    started: () => undefined,
    exited: (id) => events.get(id)?.(),
    failed: (id, why) => assert.fail(`attempt ${id}: ${why}`),
    lost: () => assert.fail("the launcher died"),
  });
  t.after(() => launcher.close());
  const base = tempDir("corral-attempt-files-");
  let id = 0;
  for (const [size, form] of [
    [10, "environment"],
    [45_000, "environment"],
    [55_000, "wrapper.sh"],
  ] as const) {
    const runDir = path.join(base, String(++id));
    const dump = path.join(base, `big-${id}`);
    const big = "v".repeat(size);
    const launch: AttemptLaunch = {
      cwd: os.tmpdir(),
      argv: ["sh", "-c", `printf %s "$BIG" > ${dump}`],
      script: null,
      env: { PATH: "/usr/bin:/bin", BIG: big, OTHER: "x".repeat(size) },
      info: {},
      umask: 0o022,
    };
    const claimed = claimedLaunchScript(launch, runDir);
    assert.equal(claimed.env.BIG !== undefined, form === "environment", `${size}: variables as sh's environment`);
    assert.doesNotMatch(claimed.script, /^export \w+=/m, `${size}: the script exports nothing itself`);
    assert.equal(fs.existsSync(path.join(runDir, "wrapper.sh")), form === "wrapper.sh", `${size}: wrapper.sh`);
    const ran = new Promise<void>((resolve) => events.set(id, resolve));
    launcher.launchClaimed!(id, runDir, claimed);
    await ran;
    assert.equal(fs.readFileSync(dump, "utf8"), big, `${size}: the command sees the variable (${form})`);
  }
});
