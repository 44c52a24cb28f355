import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLauncher, type Launcher } from "../engines/local/launcher-process.js";
import { exportableEnv, renderWrapper } from "../protocol/wrapper.js";
import { runDirFor } from "../protocol/run-dir.js";

/**
 * The run protocol alone: N attempts of `true` through the local engine's own launcher and wrapper (run directory,
 * `started` claim, sh, `stdout`, `stderr`, `ended`), `slots` at a time, every one queued in the launcher's lanes at
 * the start: no supervisor, no database, no round trip to Node. What no local run that keeps these markers and
 * logs can beat on this machine; returns seconds.
 */
export async function protocolFloor(n: number, slots: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-floor-"));
  const runsDir = path.join(dir, ".corral", "runs");
  const env = { ...process.env, CORRAL_JOB_ID: "1", CORRAL_JOB_NAME: "true" } as Record<string, string>;
  const attempt = (index: number) => {
    const runDir = runDirFor(runsDir, 1, index, 1);
    const vars = { ...env, CORRAL_TASK_ID: String(index), CORRAL_ATTEMPT: "1", CORRAL_RUN_DIR: runDir };
    // As the supervisor hands them over (lifecycle/attempt-files.ts, claimedLaunchScript): the variables as sh's environment.
    const script = renderWrapper({ runDir, cwd: dir, argv: ["true"], env: vars, umask: 0o022, startedBy: "launcher", envInProcess: true });
    return { runDir, script: { script, env: exportableEnv(vars) } };
  };
  let ended = 0;
  let launcher: Launcher | null = null;
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    launcher = createLauncher({
      started: () => undefined,
      exited: () => {
        if (++ended === n) resolve();
      },
      failed: (id, why) => reject(new Error(`attempt ${id}: ${why}`)),
      lost: () => reject(new Error("the launcher died")),
    });
    const l = launcher;
    if (!l.launchClaimed || !l.queueClaimed) return reject(new Error("no Perl launcher here"));
    // Lane k is opened by attempt k and takes every slots-th attempt after it.
    for (let index = 1; index <= n; index++) {
      const { runDir, script } = attempt(index);
      const lane = ((index - 1) % slots) + 1;
      if (index <= slots) l.launchClaimed(index, runDir, script, lane);
      else l.queueClaimed(index, runDir, script, lane);
    }
  });
  const seconds = (performance.now() - t0) / 1000;
  launcher!.close();
  const last = fs.readFileSync(path.join(runDirFor(runsDir, 1, n, 1), "ended"), "utf8");
  fs.rmSync(dir, { recursive: true, force: true });
  if (!last.startsWith("status=0")) throw new Error(`the last attempt did not succeed: ${last}`);
  return seconds;
}
