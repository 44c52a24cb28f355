import fs from "node:fs";
import type { Command } from "commander";
import { parseLogRef, tailLines, type LogFile, type LogStream } from "../../api/logs.js";
import { isActiveAttempt, isTerminal } from "../../domain/states.js";
import { UsageError } from "../../domain/errors.js";
import { parseCount } from "../../domain/resources.js";
import type { Corral } from "../../api/corral.js";
import { openRequired } from "../context.js";
import { c } from "../output.js";

interface LogsFlags {
  stderr?: boolean;
  both?: boolean;
  attempt?: string;
  tail?: string;
  grep?: string;
  follow?: boolean;
}

function readLines(file: LogFile, tail: number | null): string[] | null {
  if (tail !== null) return tailLines(file.path, tail);
  try {
    const text = fs.readFileSync(file.path, "utf8");
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    return lines;
  } catch {
    return null;
  }
}

export function registerLogs(program: Command): void {
  program
    .command("logs")
    .description("print a job's output (stdout by default) of its latest attempt")
    .argument("<ref>", "a job (12) or one task of an array (12.4)")
    .option("--stderr", "print stderr instead of stdout")
    .option("--both", "print stdout, then stderr")
    .option("--attempt <n>", "an earlier attempt instead of the latest")
    .option("--tail <n>", "only the last N lines")
    .option("--grep <regex>", "only lines matching this regular expression")
    .option("-f, --follow", "keep printing new output until the attempt ends")
    .action(async (refText: string, flags: LogsFlags, self: Command) => {
      const ref = parseLogRef(refText);
      const streams: LogStream[] = flags.both ? ["stdout", "stderr"] : flags.stderr ? ["stderr"] : ["stdout"];
      const attempt = flags.attempt === undefined ? undefined : parseCount(flags.attempt, "--attempt", 1);
      const tail = flags.tail === undefined ? null : parseCount(flags.tail, "--tail", 1);
      let grep: RegExp | null = null;
      if (flags.grep !== undefined) {
        try {
          grep = new RegExp(flags.grep);
        } catch (err) {
          throw new UsageError(`--grep '${flags.grep}': ${(err as Error).message}`);
        }
      }
      const corral = openRequired(self);
      try {
        corral.refresh();
        if (flags.follow) {
          const tasks = corral.view.tasks(ref.jobId, ref.index ?? undefined);
          if (tasks.length !== 1) throw new UsageError(`--follow needs one task: give ${ref.jobId}.N for an array job`);
          const files = await firstAttemptFiles(corral, ref, streams, attempt);
          if (files.length > 0) await follow(corral, files, grep);
          return;
        }
        const files = corral.view.logFiles(ref, streams, attempt);
        const headers = files.length > 1;
        for (const f of files) {
          if (headers) process.stdout.write(`${c.dim(`==> ${f.jobId}.${f.index} attempt ${f.attempt.n} ${f.stream} (${f.path}) <==`)}\n`);
          if (tail === null && grep === null && fs.existsSync(f.path)) {
            // Unfiltered output is copied byte for byte, as the job wrote it.
            const bytes = fs.readFileSync(f.path);
            process.stdout.write(bytes);
            if (headers && bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) process.stdout.write("\n");
            continue;
          }
          const lines = readLines(f, tail);
          if (lines === null) {
            if (headers || f.attempt.state !== "running")
              process.stderr.write(`corral: no ${f.stream} at ${f.path}${f.attempt.state === "launching" ? " yet" : ""}\n`);
            continue;
          }
          const shown = grep ? lines.filter((l) => grep!.test(l)) : lines;
          if (shown.length > 0) process.stdout.write(`${shown.join("\n")}\n`);
        }
      } finally {
        corral.close();
      }
    });
}

/** Waits until the task has an attempt to follow; none if it ends without ever starting (e.g. cancelled). */
async function firstAttemptFiles(corral: Corral, ref: { jobId: number; index: number | null }, streams: LogStream[], attempt?: number): Promise<LogFile[]> {
  for (;;) {
    const files = corral.view.logFiles(ref, streams, attempt);
    if (files.length > 0) return files;
    const [task] = corral.view.tasks(ref.jobId, ref.index ?? undefined);
    if (!task || isTerminal(task.lifecycleState)) return [];
    await new Promise((r) => setTimeout(r, 100));
    corral.refresh();
  }
}

/** Prints new bytes as they arrive, then the rest once the attempt has ended. */
async function follow(corral: Corral, files: LogFile[], grep: RegExp | null): Promise<void> {
  const offsets = new Map<string, number>();
  const pending = new Map<string, string>();
  const pump = () => {
    for (const f of files) {
      let fd: number;
      try {
        fd = fs.openSync(f.path, "r");
      } catch {
        continue;
      }
      try {
        const size = fs.fstatSync(fd).size;
        const from = offsets.get(f.path) ?? 0;
        if (size <= from) continue;
        const buf = Buffer.alloc(size - from);
        fs.readSync(fd, buf, 0, buf.length, from);
        offsets.set(f.path, size);
        const text = (pending.get(f.path) ?? "") + buf.toString("utf8");
        const cut = text.lastIndexOf("\n");
        pending.set(f.path, text.slice(cut + 1));
        const lines = cut < 0 ? [] : text.slice(0, cut).split("\n");
        const out = f.stream === "stderr" ? process.stderr : process.stdout;
        for (const line of lines) if (!grep || grep.test(line)) out.write(`${line}\n`);
      } finally {
        fs.closeSync(fd);
      }
    }
  };
  const file = files[0]!;
  for (;;) {
    pump();
    corral.refresh();
    const state = corral.view.attemptState(file.jobId, file.index, file.attempt.n);
    if (state === null || !isActiveAttempt(state)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  pump();
  for (const f of files) {
    const rest = pending.get(f.path);
    if (rest) (f.stream === "stderr" ? process.stderr : process.stdout).write(`${rest}\n`);
  }
}
