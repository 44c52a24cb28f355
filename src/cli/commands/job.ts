import type { Command } from "commander";
import { requestProblem, type JobRequest } from "../../protocol/request-file.js";
import { parseEnvAssignments } from "../../domain/env.js";
import { UsageError } from "../../domain/errors.js";
import { writeRequest } from "../../protocol/request-file.js";
import { collect, type CliContext } from "../context.js";

/** Inside a job: its run directory, from the variable the wrapper exports. */
function runDir(): string {
  const dir = process.env.CORRAL_RUN_DIR;
  if (!dir) throw new UsageError("corral job: only inside a job run by corral (CORRAL_RUN_DIR is not set)");
  return dir;
}

function request(r: JobRequest): void {
  const problem = requestProblem(r);
  if (problem) throw new UsageError(problem);
  writeRequest(runDir(), r);
}

/** `corral job ...`: what a running job may ask of corral. It never opens the database: it writes request files. */
export function registerJob(program: Command, ctx: CliContext): void {
  const job = program.command("job").description("inside a running job: its info, metadata, label, and new jobs (written as requests; corral applies them)");
  job
    .command("info")
    .description("print this job's id, name, batch, metadata, task index and sweep parameters as JSON")
    .action(() => {
      runDir();
      const info = process.env.CORRAL_JOB_INFO;
      if (!info) throw new UsageError("corral job info: CORRAL_JOB_INFO is not set (a job started by an older corral?)");
      process.stdout.write(`${JSON.stringify(JSON.parse(info), null, 2)}\n`);
    });
  job
    .command("set")
    .description("store KEY=VALUE in the job's metadata (shown by corral show)")
    .argument("<assignments...>")
    .action((assignments: string[]) => {
      for (const a of assignments) {
        const eq = a.indexOf("=");
        if (eq <= 0) throw new UsageError(`'${a}': expected KEY=VALUE`);
        request({ op: "set", key: a.slice(0, eq), value: a.slice(eq + 1) });
      }
    });
  job
    .command("mark")
    .description("set a user state (label) on this task, e.g. corral job mark collected")
    .argument("[label]")
    .option("--clear", "remove the label")
    .action((label: string | undefined, flags: { clear?: boolean }) => {
      if (!flags.clear && !label) throw new UsageError("give a label, or --clear");
      request({ op: "mark", label: flags.clear ? null : label! });
    });
  job
    .command("spawn")
    .description("add a job to this job's batch: corral job spawn [options] -- CMD ARGS...")
    .argument("[stray...]")
    .option("-n, --name <name>", "job name")
    .option("-a, --array <spec>", "array job")
    .option("--env <K=V>", "a variable for the new job (repeatable)", collect, [])
    .option("--cpus <n>", "cpus per task")
    .option("--mem <size>", "memory per task")
    .option("--time <limit>", "wall-time limit")
    .option("--gpus <n>", "gpus per task")
    .option("-q, --queue <name>", "queue/partition")
    .option("--engine <name>", "engine (default: this job's)")
    .option("--retries <n>", "retries")
    .option("--after <ids>", "wait for these job ids to succeed (repeatable)", collect, [])
    .option("--before <name>", "make the waiting job NAME of this batch wait for the new one too")
    .action(
      (
        stray: string[],
        f: {
          name?: string;
          array?: string;
          env: string[];
          cpus?: string;
          mem?: string;
          time?: string;
          gpus?: string;
          queue?: string;
          engine?: string;
          retries?: string;
          after: string[];
          before?: string;
        },
      ) => {
        if (stray.length > 0) throw new UsageError(`put the command after --, as in: corral job spawn -- ${stray.join(" ")}`);
        const command = ctx.afterDashes;
        if (!command || command.length === 0) throw new UsageError("missing command: corral job spawn [options] -- CMD ARGS...");
        const after = f.after
          .flatMap((x) => x.split(","))
          .map((x) => {
            if (!/^\d+$/.test(x.trim())) throw new UsageError(`--after '${x}': expected job ids`);
            return Number(x);
          });
        request({
          op: "spawn",
          command: [...command],
          name: f.name,
          array: f.array,
          env: parseEnvAssignments(f.env),
          cpus: f.cpus,
          mem: f.mem,
          time: f.time,
          gpus: f.gpus,
          queue: f.queue,
          engine: f.engine,
          retries: f.retries,
          after: after.length ? after : undefined,
          before: f.before,
        });
      },
    );
}
