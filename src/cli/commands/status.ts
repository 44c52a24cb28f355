import type { Command } from "commander";
import { LIFECYCLE_STATES } from "../../domain/states.js";
import { openOptional } from "../context.js";
import { c, colorState, printJson, table } from "../output.js";

/** A dashboard, not a listing: beyond this many, point to `ls`. */
const ATTENTION_SHOWN = 20;

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("counts of jobs per batch and state, and what needs attention")
    .option("--json", "print {batches, attention}")
    .action((flags: { json?: boolean }, self: Command) => {
      const corral = openOptional(self);
      if (!corral) {
        if (flags.json) printJson({ batches: [], attention: [] });
        else process.stdout.write("no jobs\n");
        return;
      }
      try {
        const report = corral.status();
        if (flags.json) {
          printJson(report);
          return;
        }
        if (report.batches.length === 0) {
          process.stdout.write("no jobs\n");
          return;
        }
        const labels = [...new Set(report.batches.flatMap((b) => Object.keys(b.states)))].filter((s) => !(LIFECYCLE_STATES as readonly string[]).includes(s)).sort();
        const columns = [...LIFECYCLE_STATES, ...labels];
        const rows = report.batches.map((b) => [b.batch ?? "(none)", String(b.jobs), ...columns.map((s) => (b.states[s] ? String(b.states[s]) : "."))]);
        process.stdout.write(`${table(["batch", "jobs", ...columns], rows)}\n`);
        if (report.attention.length > 0) {
          process.stdout.write(`\n${c.bold("Needs attention:")}\n`);
          for (const j of report.attention.slice(0, ATTENTION_SHOWN)) {
            process.stdout.write(`  ${j.id}  ${j.name}  ${colorState(j.state)}${j.exitCode ? ` (exit ${j.exitCode})` : ""}  — corral show ${j.id}\n`);
          }
          const more = report.attention.length - ATTENTION_SHOWN;
          if (more > 0) process.stdout.write(`  … and ${more} more: corral ls --state failed --state lost\n`);
        }
      } finally {
        corral.close();
      }
    });
}
