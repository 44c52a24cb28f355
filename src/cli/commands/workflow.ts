import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { Corral } from "../../api/corral.js";
import type { RunReport } from "../../api/run-description.js";
import { UsageError } from "../../domain/errors.js";
import { MAX_SWEEP_POINTS, parameterValues, parseParamFlag, pointCount, sweepPoints, type ParamValue, type SweepMode } from "../../workflow/sweep.js";
import { placeholders } from "../../protocol/command-template.js";
import { collect, ExitCode, globalDb, type CliContext } from "../context.js";
import { printJson } from "../output.js";

function printReport(r: RunReport): void {
  const rows: [string, string, number, string][] = [
    ...r.created.map((e) => ["submitted", e.name, e.id, e.note] as [string, string, number, string]),
    ...r.rerun.map((e) => ["re-run", e.name, e.id, e.note] as [string, string, number, string]),
    ...r.kept.map((e) => ["kept", e.name, e.id, e.note] as [string, string, number, string]),
  ];
  process.stdout.write(
    `batch ${r.batch}: ${r.created.length} submitted, ${r.rerun.length} re-run, ${r.kept.length} kept${r.changed.length ? `, ${r.changed.length} changed` : ""}\n`,
  );
  for (const [what, name, id, note] of rows) process.stdout.write(`  ${what.padEnd(9)} ${name.padEnd(12)} ${String(id).padStart(5)}  ${note}\n`);
  if (r.changed.length > 0) {
    process.stderr.write(
      `corral: changed since the last run, not re-run: ${r.changed.map((e) => (e.id ? `${e.name} (job ${e.id}, ${e.note})` : `${e.name} (${e.note})`)).join(", ")}; run with --force to replace them\n`,
    );
  }
}

async function waitForBatch(corral: Corral, batch: string): Promise<void> {
  const result = await corral.wait({ ids: [], states: [], name: null, batch, all: false });
  for (const j of result.jobs.filter((x) => x.lifecycleState !== "succeeded"))
    process.stderr.write(`job ${j.id} (${j.name}) ${j.state}: corral show ${j.id}\n`);
  if (!result.succeeded) throw new ExitCode(1);
}

export function registerWorkflow(program: Command, ctx: CliContext): void {
  program
    .command("run")
    .description("submit a job description file (TOML or YAML); again on the same file, re-run only what failed")
    .argument("<file>")
    .option("--engine <name>", "run every job of the file on this engine")
    .option("--force", "replace jobs whose definition changed since the last run (and what depends on them)")
    .option("--wait", "wait for the batch to end; exit 1 if a job did not succeed")
    .option("--json", "print what was submitted, re-run, kept and changed")
    .action(async (file: string, flags: { engine?: string; force?: boolean; wait?: boolean; json?: boolean }, self: Command) => {
      // Everything is checked before the database is opened: a file with a problem changes nothing.
      // (The schema and file parsers load only here: they would slow down every other command.)
      const { planDescription } = await import("../../api/plan.js");
      const { runPlan } = await import("../../api/run-description.js");
      const plan = planDescription(file, { engine: flags.engine });
      const corral = Corral.open({ db: globalDb(self), create: true })!;
      try {
        const report = runPlan(corral, plan, { force: flags.force, cwd: path.dirname(path.resolve(file)) });
        if (flags.json) printJson(report);
        else printReport(report);
        if (flags.wait) await waitForBatch(corral, plan.batch);
      } finally {
        corral.close();
      }
    });

  program
    .command("render")
    .description("print, without submitting, the native form of a description file: submit scripts and the DAG (slurm, sge, pbs, lsf, htcondor)")
    .argument("<file>")
    .requiredOption("--engine <name>", "one of slurm, sge, pbs, lsf, htcondor")
    .option("--out <dir>", "write the files into DIR instead of printing them")
    .action(async (file: string, flags: { engine: string; out?: string }, cmd: Command) => {
      const { planDescription } = await import("../../api/plan.js");
      const { nativeJobs } = await import("../../render/native-job.js");
      const { RENDER_TARGETS } = await import("../../render/targets.js");
      const target = RENDER_TARGETS.get(flags.engine);
      if (!target) throw new UsageError(`--engine '${flags.engine}': render knows ${[...RENDER_TARGETS.keys()].join(", ")}`);
      const plan = planDescription(file);
      // The scheduler's settings of the project here (Grid Engine's pe, for one), as a submission would use them.
      const { projectDirFor } = await import("../../api/corral.js");
      const { configSection } = await import("../../config/project-config.js");
      const site = configSection(projectDirFor({ db: globalDb(cmd) }), flags.engine);
      const files = target.render(plan.batch, nativeJobs(plan), path.basename(file), site);
      if (flags.out) {
        fs.mkdirSync(flags.out, { recursive: true });
        for (const f of files) fs.writeFileSync(path.join(flags.out, f.name), f.content, { mode: f.content.startsWith("#!") ? 0o755 : 0o644 });
        process.stdout.write(`${files.map((f) => path.join(flags.out!, f.name)).join("\n")}\n`);
      } else process.stdout.write(files.map((f) => `==> ${f.name} <==\n${f.content}`).join("\n"));
    });

  program
    .command("sweep")
    .description("one array job over a parameter grid: corral sweep -p lr=0.1,0.01 -p seed=1..5 -- python train.py --lr {lr} --seed {seed}")
    .argument("[stray...]")
    .requiredOption(
      "-p, --param <NAME=VALUES>",
      "a parameter: a list (0.1,0.01), a range (1..5, 0..100:10), linspace(0,1,5) or logspace(-3,0,4) (repeatable)",
      collect,
      [],
    )
    .option("--zip", "pair the i-th values of every parameter instead of taking every combination")
    .option("-n, --name <name>", "job name")
    .option("--batch <name>", "batch")
    .option("--engine <name>", "where to run it")
    .option("--tags <tags>", "redis engine: run only on workers that declare these tags")
    .option("--cpus <n>", "cpus per task")
    .option("--mem <size>", "memory per task")
    .option("--time <limit>", "wall-time limit per task")
    .option("--retries <n>", "re-run a failed point up to N times")
    .option("--after <ids>", "run only after these jobs succeeded (repeatable)", collect, [])
    .option("--json", "print {id, points}")
    .action(
      (
        stray: string[],
        flags: {
          param: string[];
          zip?: boolean;
          name?: string;
          batch?: string;
          engine?: string;
          tags?: string;
          cpus?: string;
          mem?: string;
          time?: string;
          retries?: string;
          after: string[];
          json?: boolean;
        },
        self: Command,
      ) => {
        if (stray.length > 0) throw new UsageError(`put the command after --, as in: corral sweep -p x=1..3 -- echo {x}`);
        const command = ctx.afterDashes;
        if (!command || command.length === 0) throw new UsageError("missing command: put it after --, as in: corral sweep -p x=1..3 -- echo {x}");
        const names: string[] = [];
        const values: ParamValue[][] = [];
        for (const text of flags.param) {
          const p = parseParamFlag(text);
          if (typeof p === "string") throw new UsageError(p);
          if (names.includes(p.name)) throw new UsageError(`-p ${p.name}: given twice`);
          const v = parameterValues(p.spec);
          if (typeof v === "string") throw new UsageError(`-p ${p.name}: ${v}`);
          names.push(p.name);
          values.push(v);
        }
        const mode: SweepMode = flags.zip ? "zip" : "product";
        if (mode === "zip" && new Set(values.map((v) => v.length)).size > 1)
          throw new UsageError(`--zip pairs values one to one, but the parameters have ${values.map((v) => v.length).join(", ")} values`);
        const n = pointCount(values, mode);
        if (n > MAX_SWEEP_POINTS) throw new UsageError(`${n} points: more than ${MAX_SWEEP_POINTS} in one sweep`);
        const unknown = placeholders(command).filter((ph) => !names.includes(ph));
        if (unknown.length > 0) throw new UsageError(`{${unknown[0]}} in the command is not a parameter (parameters: ${names.join(", ")})`);
        const { id, corral } = Corral.submit(
          {
            command,
            points: sweepPoints(names, values, mode),
            name: flags.name,
            batch: flags.batch,
            engine: flags.engine,
            tags: flags.tags,
            cpus: flags.cpus,
            mem: flags.mem,
            time: flags.time,
            retries: flags.retries,
            after: flags.after,
          },
          { db: globalDb(self) },
        );
        corral.close();
        if (flags.json) printJson({ id, points: n });
        else process.stdout.write(`${id}\n`);
      },
    );
}
