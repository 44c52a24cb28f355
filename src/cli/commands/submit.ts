import type { Command } from "commander";
import { Corral } from "../../api/corral.js";
import { UsageError } from "../../domain/errors.js";
import { collect, globalDb, type CliContext } from "../context.js";
import { printJson } from "../output.js";

interface SubmitFlags {
  name?: string;
  array?: string;
  env: string[];
  cwd?: string;
  cpus?: string;
  mem?: string;
  time?: string;
  gpus?: string;
  queue?: string;
  after: string[];
  afterAny: string[];
  retries?: string;
  retryOn?: string;
  priority?: string;
  tags?: string;
  stderrFails?: boolean;
  hold?: boolean;
  batch?: string;
  engine?: string;
  schedArg: string[];
  script?: string;
  json?: boolean;
}

const CAUSES = ["failed", "timeout", "oom", "lost"] as const;

function parseRetryOn(text: string): (typeof CAUSES)[number][] {
  const causes = text.split(",").map((s) => s.trim());
  for (const c of causes) if (!(CAUSES as readonly string[]).includes(c)) throw new UsageError(`--retry-on '${c}': expected some of ${CAUSES.join(", ")}`);
  return causes as (typeof CAUSES)[number][];
}

function parsePriority(text: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw new UsageError(`--priority '${text}': expected a whole number`);
  return Number(text);
}

export function registerSubmit(program: Command, ctx: CliContext): void {
  program
    .command("submit")
    .description("submit a job: corral submit [options] -- COMMAND [ARGS...]")
    .argument("[stray...]")
    .option("-n, --name <name>", "job name (default: the command's name)")
    .option("-a, --array <spec>", "array job: 1-10, 1-10:2, 1,3,7, with an optional %N concurrency cap (1-100%8)")
    .option("-t <spec>", "alias of --array (SGE's qsub -t)")
    .option("--env <K=V>", "set a variable for the job (repeatable)", collect, [])
    .option("--cwd <dir>", "working directory (default: the current one)")
    .option("--cpus <n>", "cpus per task (default 1)")
    .option("--mem <size>", "memory per task: 512M, 4G")
    .option("--time <limit>", "wall-time limit: MM, MM:SS, HH:MM:SS, D-HH:MM:SS, 90s, 2h")
    .option("--gpus <n>", "gpus per task")
    .option("-q, --queue <name>", "queue/partition (for cluster engines)")
    .option("--after <ids>", "run only after these jobs succeeded; if one fails, this job is cancelled (repeatable)", collect, [])
    .option("--after-any <ids>", "run after these jobs ended, however they ended (repeatable)", collect, [])
    .option("--retries <n>", "re-run a failed attempt automatically up to N times")
    .option(
      "--retry-on <causes>",
      "which failures --retries re-runs: failed,timeout,oom,lost (default failed,timeout,oom); a TIMEOUT doubles the next attempt's time, an OOM gives it 1.5× the memory",
    )
    .option("--priority <n>", "above 100: runs before the jobs of every other batch on the local engine")
    .option("--stderr-fails", "count output on stderr as a failure (as the original jman did)")
    .option("--hold", "record the job but do not run it until `corral release`")
    .option("--batch <name>", "group the job into a named batch")
    .option("--engine <name>", "where to run it: local, slurm, sge, redis (default: `engine` in .corral/config.toml, else local)")
    .option("--tags <tags>", "redis engine: run only on workers that declare all these tags, e.g. gpu,bigmem")
    .option("--sched-arg <arg>", "pass an argument to the scheduler untouched, e.g. --sched-arg=--constraint=avx2 (repeatable)", collect, [])
    .option("--script <file>", "run this script file (copied now); arguments after -- are passed to it")
    .option("--json", 'print {"id": N, ...}')
    .action((stray: string[], flags: SubmitFlags & { t?: string }, cmd: Command) => {
      if (stray.length > 0) throw new UsageError(`put the command after --, as in: corral submit -- ${stray.join(" ")}`);
      if (flags.array !== undefined && flags.t !== undefined) throw new UsageError("give either -a/--array or -t, not both");
      const command = ctx.afterDashes ?? [];
      if (ctx.afterDashes === null && flags.script === undefined) {
        throw new UsageError("missing command: put it after --, as in: corral submit -- python train.py");
      }
      const { id, corral } = Corral.submit(
        {
          command,
          script: flags.script,
          name: flags.name,
          batch: flags.batch,
          cwd: flags.cwd,
          env: flags.env,
          cpus: flags.cpus,
          mem: flags.mem,
          time: flags.time,
          gpus: flags.gpus,
          queue: flags.queue,
          engine: flags.engine,
          schedArgs: flags.schedArg,
          tags: flags.tags,
          array: flags.array ?? flags.t,
          after: flags.after,
          afterAny: flags.afterAny,
          retries: flags.retries,
          retryOn: flags.retryOn === undefined ? undefined : parseRetryOn(flags.retryOn),
          priority: flags.priority === undefined ? undefined : parsePriority(flags.priority),
          stderrFails: flags.stderrFails,
          hold: flags.hold,
        },
        { db: globalDb(cmd) },
      );
      try {
        const job = corral.peek(id);
        if (flags.json) printJson({ id, name: job.name, state: job.state, engine: job.engine, tasks: job.tasks.total, database: corral.store.path });
        else process.stdout.write(`${id}\n`);
      } finally {
        corral.close();
      }
    });
}
