import type { Command } from "commander";
import { formatParams } from "./list.js";
import { tailLines } from "../../api/logs.js";
import { UsageError } from "../../domain/errors.js";
import { formatDuration, formatMemory } from "../../domain/resources.js";
import { coreSharePercent, type AttemptUsage } from "../../domain/usage.js";
import { openRequired } from "../context.js";
import { c, colorState, elapsed, printJson } from "../output.js";

const STDERR_TAIL = 10;

export function registerShow(program: Command): void {
  program
    .command("show")
    .alias("explain")
    .description("everything about a job: command, environment, resources, every attempt, and why it failed")
    .argument("<id>")
    .option("--json", "print the job with its tasks and attempts")
    .action((idText: string, flags: { json?: boolean }, self: Command) => {
      if (!/^\d+$/.test(idText)) throw new UsageError(`'${idText}' is not a job id`);
      const corral = openRequired(self);
      try {
        const job = corral.show(Number(idText));
        if (flags.json) {
          printJson({ ...job, tasks: job.taskList, taskCounts: job.tasks, taskList: undefined });
          return;
        }
        const out: string[] = [];
        const head = `Job ${job.id} ${c.bold(job.name)}: ${colorState(job.state)}${job.exitCode !== null && job.exitCode !== 0 ? ` (exit ${job.exitCode})` : ""}`;
        out.push(head);
        out.push(`  command    ${job.command}`);
        if (job.script) out.push(`  script     ${job.script} (copied at submission)`);
        out.push(`  cwd        ${job.cwd}`);
        out.push(`  engine     ${job.engine}${job.batch ? `   batch ${job.batch}` : ""}${job.array ? `   array ${job.array}` : ""}`);
        const r = job.resources;
        out.push(
          `  resources  ${r.cpus} cpu${r.cpus === 1 ? "" : "s"}, mem ${r.memMb === null ? "-" : formatMemory(r.memMb)}, time ${r.timeLimitS === null ? "-" : formatDuration(r.timeLimitS)}, gpus ${r.gpus}${r.queue ? `, queue ${r.queue}` : ""}`,
        );
        const own = Object.entries(job.env);
        out.push(
          `  env        ${own.length > 0 ? own.map(([k, v]) => `${k}=${v}`).join(" ") : "-"} (+ ${job.inheritedEnvCount} inherited from the submitting shell)`,
        );
        if (job.dependencies.length > 0)
          out.push(`  after      ${job.dependencies.map((d) => (d.kind === "ok" ? String(d.id) : `${d.id} (${d.kind})`)).join(", ")}`);
        if (job.retries > 0) out.push(`  retries    ${job.retries}`);
        if (job.stderrFails) out.push("  stderr     output on stderr counts as failure");
        if (job.held) out.push(`  held       yes (corral release ${job.id})`);
        if (Object.keys(job.metadata).length > 0)
          out.push(
            `  metadata   ${Object.entries(job.metadata)
              .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
              .join(" ")}`,
          );
        out.push(`  created    ${job.createdAt}`);
        for (const t of job.taskList) {
          const ref = job.array ? `Task ${job.id}.${t.index}` : "Task";
          const exit = t.exitCode !== null ? ` exit ${t.exitCode}` : t.signal ? ` signal ${t.signal}` : "";
          out.push(
            `${ref}${t.params ? ` [${formatParams(t.params)}]` : ""}: ${colorState(t.state)}${t.label ? ` (${t.lifecycleState})` : ""}${exit}${t.reason && t.reason !== `exit code ${t.exitCode}` ? ` — ${t.reason}` : ""}`,
          );
          for (const a of t.attempts) {
            const aExit = a.exitCode !== null ? `exit ${a.exitCode}` : a.signal ? `signal ${a.signal}` : "";
            out.push(
              `  attempt ${a.n}: ${colorState(a.state)} ${aExit}${a.reason && a.reason !== `exit code ${a.exitCode}` ? ` (${a.reason})` : ""}` +
                `${a.host ? ` on ${a.host}` : ""}${a.engineId ? ` [${a.engine} ${a.engineId}]` : ""}` +
                `${a.startedAt ? `, started ${a.startedAt}` : ""}${a.endedAt ? `, ran ${elapsed(a.startedAt, a.endedAt)}` : ""}`,
            );
            const used = usageLine(a.usage, a.startedAt, a.endedAt);
            if (used) out.push(`    used   ${used}`);
            out.push(`    stdout ${a.stdout}`);
            out.push(`    stderr ${a.stderr}`);
            if (a.state === "failed" || a.state === "lost") {
              const tail = tailLines(a.stderr, STDERR_TAIL);
              if (tail && tail.length > 0) {
                out.push(c.dim(`    --- last ${tail.length} lines of stderr ---`));
                for (const line of tail) out.push(`    ${line}`);
              }
            }
          }
        }
        process.stdout.write(`${out.join("\n")}\n`);
      } finally {
        corral.close();
      }
    });
}

/** An attempt's usage, figure by figure, "unknown" for what was not measured (never 0), or null when nothing is known. */
function usageLine(u: AttemptUsage, startedAt: string | null, endedAt: string | null): string | null {
  if (u.cpuS === null && u.maxRssMb === null && u.allocCpus === null && u.allocMemMb === null) return null;
  const share = u.cpuS === null ? null : coreSharePercent(u.cpuS, startedAt, endedAt);
  const cpu = u.cpuS === null ? "cpu unknown" : `cpu ${u.cpuS.toFixed(1)}s${share === null ? "" : ` (${share}% of one core)`}`;
  const mem =
    u.maxRssMb === null ? "peak memory unknown" : `peak memory ${u.maxRssMb >= 1024 ? `${(u.maxRssMb / 1024).toFixed(2)}G` : `${u.maxRssMb.toFixed(0)}M`}`;
  const granted = [
    u.allocCpus !== null ? `${u.allocCpus} cpus` : null,
    u.allocMemMb !== null ? formatMemory(u.allocMemMb) : null,
    u.allocTimeS !== null ? formatDuration(u.allocTimeS) : null,
  ].filter(Boolean);
  return `${cpu}, ${mem}${granted.length > 0 ? `; granted ${granted.join(", ")}` : ""}${u.source ? ` [${u.source}]` : ""}`;
}
