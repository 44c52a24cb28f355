import type { Command } from "commander";
import type { Point } from "../../domain/params.js";

/** A sweep point as `lr=0.1 seed=3`. */
export function formatParams(p: Point): string {
  return Object.entries(p)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(" ");
}
import { addSelectionOptions, openOptional, selectionFrom, type SelectionFlags } from "../context.js";
import { elapsed, lastColumnRoom, paintState, printJson, stateEscapes, table, tableHeader } from "../output.js";
import { matchesStates } from "../../domain/selection.js";

export function registerList(program: Command): void {
  const cmd = program
    .command("list")
    .alias("ls")
    .description("list jobs (ids and ranges like 3 5-9 12.4 narrow it)")
    .argument("[ids...]")
    .option("--tasks", "one line per task instead of per job")
    .option("--json", "print an array of job objects");
  addSelectionOptions(cmd, false).action((ids: string[], flags: SelectionFlags & { tasks?: boolean; json?: boolean }, self: Command) => {
    const sel = selectionFrom(ids, flags);
    const corral = openOptional(self);
    if (!corral) {
      if (flags.json) printJson([]);
      return;
    }
    try {
      if (flags.tasks) {
        const jobs = corral.list({ ...sel, states: [] });
        const rows: Record<string, unknown>[] = [];
        const lines: string[][] = [];
        for (const job of jobs) {
          for (const t of corral.view.tasks(job.id)) {
            if (!matchesStates(sel.states, t.lifecycleState, t.label)) continue;
            const last = t.attempts[t.attempts.length - 1];
            rows.push({
              id: `${job.id}.${t.index}`,
              job: job.id,
              index: t.index,
              name: job.name,
              state: t.state,
              exitCode: t.exitCode,
              signal: t.signal,
              reason: t.reason,
              attempts: t.attempts.length,
              host: last?.host ?? null,
              params: t.params,
            });
            lines.push([
              `${job.id}.${t.index}`,
              t.params ? `${job.name} ${formatParams(t.params)}` : job.name,
              t.state,
              t.exitCode === null ? (t.signal ?? "") : String(t.exitCode),
              String(t.attempts.length),
              last?.host ?? "",
              elapsed(last?.startedAt ?? null, last?.endedAt ?? null),
              t.reason ?? "",
            ]);
          }
        }
        if (flags.json) printJson(rows);
        else if (lines.length > 0)
          process.stdout.write(`${table(["task", "name", "state", "exit", "tries", "host", "elapsed", "reason"], lines, { 2: paintState })}\n`);
        return;
      }
      // 100,000 jobs: the store formats the text in SQL, written a chunk at a time (no object per job).
      corral.refresh();
      if (flags.json) {
        for (const chunk of corral.view.listJson(sel)) process.stdout.write(chunk);
        process.stdout.write("\n");
        return;
      }
      const now = Date.now() / 1000;
      const header = ["id", "name", "state", "tasks", "engine", "age", "command"];
      const found = corral.view.listingWidths(
        sel,
        now,
        header.slice(0, 6).map((h) => h.length),
      );
      if (found.rows === 0) return;
      const widths = found.widths;
      process.stdout.write(`${tableHeader(header, widths)}\n`);
      const layout = { widths, now, paint: stateEscapes(), commandRoom: lastColumnRoom(widths) };
      for (const chunk of corral.view.listingLines(sel, layout)) process.stdout.write(`${chunk}\n`);
    } finally {
      corral.close();
    }
  });
}
