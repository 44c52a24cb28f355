import type { Command } from "commander";
import type { JobSummary } from "../../domain/job.js";
import { UsageError } from "../../domain/errors.js";
import { addSelectionOptions, ExitCode, openOptional, selectionFrom, type SelectionFlags } from "../context.js";
import { colorEnabled, colorState, printJson } from "../output.js";

export function registerWait(program: Command): void {
  const cmd = program
    .command("wait")
    .description("wait until the selected jobs (default: all) have ended; exit 0 if all succeeded, 1 otherwise")
    .argument("[ids...]")
    .option("--timeout <seconds>", "give up after this many seconds (exit 1)")
    .option("--json", "print the jobs when done");
  addSelectionOptions(cmd, false).action(async (ids: string[], flags: SelectionFlags & { timeout?: string; json?: boolean }, self: Command) => {
    const sel = selectionFrom(ids, flags);
    let timeoutS: number | undefined;
    if (flags.timeout !== undefined) {
      if (!/^\d+(\.\d+)?$/.test(flags.timeout)) throw new UsageError(`--timeout '${flags.timeout}': expected a number of seconds`);
      timeoutS = Number(flags.timeout);
    }
    const corral = openOptional(self);
    if (!corral) {
      if (flags.json) printJson([]);
      return;
    }
    const started = Date.now();
    // The progress bar library is loaded only when there is a terminal to draw on.
    const cliProgress = process.stderr.isTTY && !flags.json ? (await import("cli-progress")).default : null;
    const bar = cliProgress
      ? new cliProgress.SingleBar(
          { format: " {bar} {value}/{total} done | {failed} failed | {elapsed}s", stream: process.stderr, hideCursor: true, clearOnComplete: false },
          cliProgress.Presets.shades_classic,
        )
      : null;
    const progress = (jobs: readonly JobSummary[]) => {
      if (!bar) return;
      const total = jobs.reduce((n, j) => n + j.tasks.total, 0);
      const done = jobs.reduce((n, j) => n + j.tasks.done, 0);
      const failed = jobs.reduce((n, j) => n + j.tasks.failed + j.tasks.lost, 0);
      const payload = { failed, elapsed: Math.round((Date.now() - started) / 1000) };
      if (bar.getTotal() !== total || !barStarted) {
        if (!barStarted) bar.start(total, done, payload);
        else bar.setTotal(total);
        barStarted = true;
      }
      bar.update(done, payload);
    };
    let barStarted = false;
    try {
      const stop = new AbortController();
      process.once("SIGINT", () => stop.abort());
      const result = await corral.wait(sel, { timeoutS, onProgress: progress, signal: stop.signal });
      bar?.stop();
      if (flags.json) printJson(result.jobs);
      else {
        const bad = result.jobs.filter((j) => j.lifecycleState !== "succeeded" && !["pending", "queued", "running"].includes(j.lifecycleState));
        for (const j of bad)
          process.stderr.write(
            `job ${j.id} (${j.name}) ${colorEnabled() ? colorState(j.state) : j.state}${j.exitCode ? ` exit ${j.exitCode}` : ""}: corral show ${j.id}\n`,
          );
        if (result.timedOut) process.stderr.write(`corral: gave up waiting after ${flags.timeout ?? "?"}s; jobs are still running\n`);
      }
      if (!result.succeeded) throw new ExitCode(1);
    } finally {
      bar?.stop();
      corral.close();
    }
  });
}
