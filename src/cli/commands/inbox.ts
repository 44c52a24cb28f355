import type { Command } from "commander";
import { Corral } from "../../api/corral.js";
import { UsageError } from "../../domain/errors.js";
import { globalDb } from "../context.js";

function number(text: string | undefined, flag: string, dflt: number, min: number): number {
  if (text === undefined) return dflt;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`${flag} '${text}': expected a number of at least ${min}`);
  return n;
}

export function registerInbox(program: Command): void {
  program
    .command("inbox")
    .description("drop-folder mode: run every folder with a job.sh dropped into ROOT/inbox/, in name order; results land in ROOT/complete/")
    .argument("<root>")
    .option("--setup", "create ROOT/inbox, ROOT/pending and ROOT/complete, then exit")
    .option("--engine <name>", "where to run the jobs (default: the project's)")
    .option("--period <seconds>", "how often to look (default 5)")
    .option("--max-active <n>", "how many folders may be in pending/ at once (default 10)")
    .option("--quiet <seconds>", "take a folder only once nothing in it changed for this long (default 2)")
    .option("--exit-when-idle", "exit once inbox/ and pending/ are empty (for scripts and tests)")
    .action(
      async (
        root: string,
        flags: { setup?: boolean; engine?: string; period?: string; maxActive?: string; quiet?: string; exitWhenIdle?: boolean },
        self: Command,
      ) => {
        // The watcher and its job.toml checks load only for this command.
        const { InboxWatcher } = await import("../../inbox/watcher.js");
        if (flags.setup) {
          const dirs = InboxWatcher.setup(root);
          process.stdout.write(`${dirs.inbox}\n${dirs.pending}\n${dirs.complete}\n`);
          return;
        }
        const periodS = number(flags.period, "--period", 5, 0.05);
        const maxActive = number(flags.maxActive, "--max-active", 10, 1);
        const quietS = number(flags.quiet, "--quiet", 2, 0);
        const corral = Corral.open({ db: globalDb(self), create: true })!;
        const tty = Boolean(process.stdout.isTTY);
        let dots = 0;
        const stop = new AbortController();
        // Ctrl-C and SIGTERM stop between steps, never inside a move.
        for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => stop.abort());
        try {
          const watcher = new InboxWatcher(corral, {
            root,
            engine: flags.engine,
            periodS,
            maxActive,
            quietS,
            exitWhenIdle: flags.exitWhenIdle ?? false,
            event: (event, fields) => {
              if (tty) {
                if (dots > 0) process.stdout.write("\n");
                dots = 0;
                process.stdout.write(
                  `${new Date().toLocaleTimeString()} ${event} ${Object.entries(fields)
                    .map(([k, v]) => `${k}=${String(v)}`)
                    .join(" ")}\n`,
                );
              } else process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`);
            },
            heartbeat: () => {
              if (!tty) return;
              process.stdout.write(".");
              if (++dots % 20 === 0) process.stdout.write("\n");
            },
          });
          if (!tty)
            process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), event: "watching", root, batch: watcher.batch, periodS, maxActive })}\n`);
          await watcher.run(stop.signal);
        } finally {
          corral.close();
        }
      },
    );
}
