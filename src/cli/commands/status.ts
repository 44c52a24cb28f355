import type { Command } from "commander";
import { LIFECYCLE_STATES } from "../../domain/states.js";
import { openOptional } from "../context.js";
import { ageSeconds, c, colorState, printJson, table } from "../output.js";
import { buildSelection } from "../../domain/selection.js";
import { UsageError } from "../../domain/errors.js";

/** A dashboard, not a listing: beyond this many, point to `ls`. */
const ATTENTION_SHOWN = 20;

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description("a dashboard: jobs per batch and state (labels included), what runs now, what needs attention; filters as in ls (batch=genome)")
    .argument("[filters...]")
    .option("--json", "print {batches, attention, running}")
    .action((filters: string[], flags: { json?: boolean }, self: Command) => {
      const sel = buildSelection({ ids: filters });
      if (sel.ids.length > 0) throw new UsageError("status takes filters (batch=genome state=failed), not job ids: use corral show or ls");
      const corral = openOptional(self);
      if (!corral) {
        if (flags.json) printJson({ batches: [], attention: [], attentionTotal: 0, running: [], waste: [] });
        else process.stdout.write("no jobs\n");
        return;
      }
      try {
        // The text shows a few jobs needing attention and counts the rest; --json lists them all.
        const report = corral.status({}, sel, flags.json ? undefined : ATTENTION_SHOWN);
        if (flags.json) {
          printJson(report);
          return;
        }
        if (report.batches.length === 0) {
          process.stdout.write("no jobs\n");
          return;
        }
        const labels = [...new Set(report.batches.flatMap((b) => Object.keys(b.states)))]
          .filter((s) => !(LIFECYCLE_STATES as readonly string[]).includes(s))
          .sort();
        const columns = [...LIFECYCLE_STATES, ...labels];
        const rows = report.batches.map((b) => [b.batch ?? "(none)", String(b.jobs), ...columns.map((s) => (b.states[s] ? String(b.states[s]) : "."))]);
        process.stdout.write(`${table(["batch", "jobs", ...columns], rows)}\n`);
        if (report.running.length > 0) {
          process.stdout.write(`\n${c.bold("Running now:")}\n`);
          for (const r of report.running) {
            const since = r.since ? ` for ${ageSeconds((Date.now() - Date.parse(r.since)) / 1000)}` : "";
            process.stdout.write(
              `  ${c.green("●")} ${r.id}  ${r.name}${r.batch ? ` (${r.batch})` : ""}  ${r.running} task${r.running === 1 ? "" : "s"}${r.hosts ? ` on ${r.hosts}` : ""}${since}\n`,
            );
          }
        }
        if (report.waste.length > 0) {
          process.stdout.write(`\n${c.bold("Asked for far more than used:")}\n`);
          for (const w of report.waste) {
            process.stdout.write(`  ${w.batch}: ${w.findings.join("; ")}; next time ${w.next.join(" ")}  — corral report --by batch\n`);
          }
        }
        if (report.attentionTotal > 0) {
          process.stdout.write(`\n${c.bold("Needs attention:")}\n`);
          for (const j of report.attention) {
            process.stdout.write(`  ${j.id}  ${j.name}  ${colorState(j.state)}${j.exitCode ? ` (exit ${j.exitCode})` : ""}  — corral show ${j.id}\n`);
          }
          const more = report.attentionTotal - report.attention.length;
          if (more > 0) process.stdout.write(`  … and ${more} more: corral ls --state failed --state lost\n`);
        }
      } finally {
        corral.close();
      }
    });
}
