import type { Command } from "commander";
import type { GroupReport, Spread } from "../../domain/usage.js";
import { UsageError } from "../../domain/errors.js";
import { formatMemory } from "../../domain/resources.js";
import { addSelectionOptions, openOptional, selectionFrom, type SelectionFlags } from "../context.js";
import { c, printJson } from "../output.js";

const GROUPINGS = ["job", "name", "batch"] as const;

const seconds = (s: number) => (s < 90 ? `${s.toFixed(s < 10 ? 1 : 0)}s` : s < 5400 ? `${(s / 60).toFixed(0)}m` : `${(s / 3600).toFixed(1)}h`);
const megabytes = (mb: number) => (mb >= 1024 ? `${(mb / 1024).toFixed(1)}G` : `${Math.round(mb)}M`);

/** median / p95 / max, or "unknown" when no attempt of the group has the figure. */
function spreadText(s: Spread | null, unit: (x: number) => string, of: number): string {
  if (s === null) return "unknown";
  const part = s.measured < of ? ` (${s.measured} of ${of} measured)` : "";
  return `${unit(s.median)} / ${unit(s.p95)} / ${unit(s.max)}${part}`;
}

function groupText(r: GroupReport, by: string): string[] {
  const out: string[] = [];
  const counted = r.wallS?.measured ?? 0;
  out.push(
    `${c.bold(`${by} ${r.group}`)}  ${r.tasks} task${r.tasks === 1 ? "" : "s"}, ${r.attempts} attempt${r.attempts === 1 ? "" : "s"} (${r.engines.join(", ")})`,
  );
  const req = r.requested;
  out.push(`  wall time   median / p95 / max  ${spreadText(r.wallS, seconds, counted)}${req.timeS !== null ? `   limit ${seconds(req.timeS)}` : ""}`);
  out.push(`  memory      median / p95 / max  ${spreadText(r.memoryMb, megabytes, counted)}${req.memMb !== null ? `   asked ${formatMemory(req.memMb)}` : ""}`);
  const eff = r.cpuEfficiency === null ? "unknown" : `${(r.cpuEfficiency * 100).toFixed(0)}%`;
  out.push(
    `  cpu         efficiency ${eff} of ${req.cpus} cpu${req.cpus === 1 ? "" : "s"}${r.coresUsed ? `, cores busy p95 ${r.coresUsed.p95.toFixed(1)}` : ""}`,
  );
  const f = r.failures;
  if (f.oom + f.timeout + f.other > 0) out.push(`  failures    ${f.oom} out of memory, ${f.timeout} timeout, ${f.other} other`);
  for (const finding of r.findings) out.push(`  ${c.yellow("!")} ${finding}`);
  if (r.suggestion) {
    out.push(`  next time   ${r.suggestion.flags.join(" ")}`);
    out.push(
      `              ${Object.entries(r.suggestion.keys)
        .map(([k, v]) => `${k} = ${typeof v === "string" ? `"${v}"` : v}`)
        .join(", ")}  (in a description file)`,
    );
  }
  return out;
}

export function registerReport(program: Command): void {
  const cmd = program
    .command("report")
    .description("what the jobs used against what they asked for (time, memory, cpus), and what to ask for next time; filters as in ls")
    .argument("[ids...]")
    .option("--by <group>", "one report per job, name or batch", "name")
    .option("--json", "print every figure");
  addSelectionOptions(cmd, false).action((ids: string[], flags: SelectionFlags & { by: string; json?: boolean }, self: Command) => {
    if (!(GROUPINGS as readonly string[]).includes(flags.by)) throw new UsageError(`--by '${flags.by}': expected one of ${GROUPINGS.join(", ")}`);
    const by = flags.by as (typeof GROUPINGS)[number];
    const sel = selectionFrom(ids, flags);
    const corral = openOptional(self);
    if (!corral) {
      if (flags.json) printJson([]);
      else process.stdout.write("no jobs\n");
      return;
    }
    try {
      const reports = corral.report(sel, by);
      if (flags.json) {
        printJson(reports);
        return;
      }
      if (reports.length === 0) {
        process.stdout.write("no attempt has ended yet\n");
        return;
      }
      const basis = reports.find((r) => r.suggestion)?.suggestion?.basis;
      process.stdout.write(`${reports.flatMap((r) => [...groupText(r, by), ""]).join("\n")}${basis ? c.dim(`(${basis})\n`) : ""}`);
    } finally {
      corral.close();
    }
  });
}
