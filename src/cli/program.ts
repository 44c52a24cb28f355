import { Command, CommanderError } from "commander";
import { rememberSubmitterUmask } from "../api/submit.js";
import { StoreError, UsageError } from "../domain/errors.js";
import { registerDoctor } from "./commands/doctor.js";
import { registerInbox } from "./commands/inbox.js";
import { registerJob } from "./commands/job.js";
import { registerList } from "./commands/list.js";
import { registerLogs } from "./commands/logs.js";
import { registerManage } from "./commands/manage.js";
import { registerShow } from "./commands/show.js";
import { registerReport } from "./commands/report.js";
import { registerStatus } from "./commands/status.js";
import { registerSubmit } from "./commands/submit.js";
import { registerUi } from "./commands/ui.js";
import { registerWait } from "./commands/wait.js";
import { registerWorker } from "./commands/worker.js";
import { registerWorkflow } from "./commands/workflow.js";
import { ExitCode, type CliContext } from "./context.js";

const VERSION = "0.1.0";

/** Everything after the first `--` is the job's command, exactly as typed: commander never sees it. */
function splitAtDashes(argv: readonly string[]): { head: string[]; tail: string[] | null } {
  const at = argv.indexOf("--");
  return at < 0 ? { head: [...argv], tail: null } : { head: argv.slice(0, at), tail: argv.slice(at + 1) };
}

function fail(message: string, code: number): never {
  process.stderr.write(`corral: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  // `corral ls | head` closes the pipe early: that is the reader's choice, not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE") process.exit(0);
      throw err;
    });
  }
  // Jobs get the submitting shell's umask back (the wrapper restores it); corral's own files are user-only.
  rememberSubmitterUmask(process.umask(0o077));
  const { head, tail } = splitAtDashes(process.argv.slice(2));
  const ctx: CliContext = { afterDashes: tail };
  const program = new Command("corral")
    .description("submit, track, explain and re-run batch jobs; every job is remembered in .corral/")
    .version(VERSION)
    .option("--db <path>", "the database to use (default: CORRAL_DB, or .corral/ here or in a parent folder)")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerSubmit(program, ctx);
  registerList(program);
  registerStatus(program);
  registerReport(program);
  registerShow(program);
  registerLogs(program);
  registerWait(program);
  registerManage(program);
  registerDoctor(program);
  registerWorkflow(program, ctx);
  registerJob(program, ctx);
  registerInbox(program);
  registerWorker(program);
  registerUi(program);
  program
    .command("supervisor", { hidden: true })
    .description("run the local engine's queue in the foreground (started on demand by other commands)")
    .action(async (_flags: unknown, self: Command) => {
      const db = (self.optsWithGlobals() as { db?: string }).db;
      if (!db) throw new UsageError("supervisor needs --db");
      const { runSupervisor } = await import("../engines/local/run-supervisor.js");
      const { applyRequests } = await import("../api/spawn.js");
      await runSupervisor(db, applyRequests);
    });
  for (const cmd of program.commands) cmd.exitOverride();

  if (tail !== null && !["submit", "sweep", "job"].includes(head[0] ?? "")) {
    fail(`'--' is only for the command of 'corral submit', 'corral sweep' and 'corral job spawn'`, 2);
  }
  try {
    await program.parseAsync(head, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; everything else commander rejects is bad usage.
      process.exit(err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help" ? 0 : 2);
    }
    if (err instanceof ExitCode) process.exit(err.code);
    if (err instanceof UsageError || err instanceof StoreError) fail(err.message, 2);
    throw err;
  }
}

/** Runs the command line on process.argv, as `corral` (bin/corral) does, from the bundle or the snapshot. */
export function runCli(): void {
  main().catch((err: unknown) => {
    process.stderr.write(`corral: internal error: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(70);
  });
}
