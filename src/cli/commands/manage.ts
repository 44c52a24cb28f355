import type { Command } from "commander";
import { describeJobs, describeTasks } from "../../api/changes.js";
import type { TaskRef } from "../../domain/job.js";
import { UsageError } from "../../domain/errors.js";
import { parseIdItem } from "../../domain/selection.js";
import { addSelectionOptions, openRequired, selectionFrom, type SelectionFlags } from "../context.js";
import { printJson } from "../output.js";

function taskIds(tasks: readonly TaskRef[]): string[] {
  return tasks.map((t) => `${t.jobId}.${t.index}`);
}

function summarise(verb: string, tasks: readonly TaskRef[]): string {
  return `${describeTasks(verb, tasks)}\n`;
}

export function registerManage(program: Command): void {
  addSelectionOptions(
    program
      .command("cancel")
      .description("cancel the selected jobs or tasks (waiting ones at once, running ones by signal)")
      .argument("[ids...]")
      .option("--json", "print the cancelled tasks"),
    true,
  ).action((ids: string[], flags: SelectionFlags & { json?: boolean }, self: Command) => {
    const sel = selectionFrom(ids, flags);
    const corral = openRequired(self);
    try {
      const tasks = corral.cancel(sel);
      if (flags.json) printJson(taskIds(tasks));
      else process.stdout.write(summarise("cancelled", tasks));
    } finally {
      corral.close();
    }
  });

  addSelectionOptions(
    program
      .command("resubmit")
      .description("run failed, cancelled and lost tasks again (or those of --state) as new attempts, keeping the history")
      .argument("[ids...]")
      .option("--clean", "delete the earlier attempts' stdout and stderr")
      .option("--json", "print the resubmitted tasks"),
    true,
  ).action((ids: string[], flags: SelectionFlags & { clean?: boolean; json?: boolean }, self: Command) => {
    const sel = selectionFrom(ids, flags);
    const corral = openRequired(self);
    try {
      const tasks = corral.resubmit(sel, { clean: flags.clean });
      if (flags.json) printJson(taskIds(tasks));
      else process.stdout.write(summarise("resubmitted", tasks));
    } finally {
      corral.close();
    }
  });

  addSelectionOptions(
    program
      .command("delete")
      .description("remove jobs from the database, with their logs unless --keep-logs (running ones are killed)")
      .argument("[ids...]")
      .option("--keep-logs", "leave the run directories on disk")
      .option("--json", "print the deleted job ids"),
    true,
  ).action(async (ids: string[], flags: SelectionFlags & { keepLogs?: boolean; json?: boolean }, self: Command) => {
    const sel = selectionFrom(ids, flags);
    const corral = openRequired(self);
    try {
      const deleted = await corral.delete(sel, { keepLogs: flags.keepLogs });
      if (flags.json) printJson(deleted);
      else process.stdout.write(`${describeJobs("deleted", deleted)}\n`);
    } finally {
      corral.close();
    }
  });

  addSelectionOptions(
    program
      .command("mark")
      .description("set a user label (e.g. collected) on the selected jobs or tasks: corral mark 3 5-9 collected")
      .argument("[ids-and-label...]")
      .option("--clear", "remove the label instead")
      .option("--json", "print the labelled tasks"),
    true,
  ).action((args: string[], flags: SelectionFlags & { clear?: boolean; json?: boolean }, self: Command) => {
    let label: string | null = null;
    let ids = args;
    if (!flags.clear) {
      const last = args[args.length - 1];
      if (last === undefined || isIdLike(last)) throw new UsageError("missing label: corral mark SELECTION LABEL (e.g. corral mark 3 collected)");
      label = last;
      ids = args.slice(0, -1);
    }
    const sel = selectionFrom(ids, flags);
    const corral = openRequired(self);
    try {
      const tasks = corral.mark(sel, label);
      if (flags.json) printJson(taskIds(tasks));
      else process.stdout.write(summarise(label ? `labelled '${label}'` : "cleared the label of", tasks));
    } finally {
      corral.close();
    }
  });

  addSelectionOptions(program.command("release").description("let held jobs (--hold) run").argument("[ids...]"), true).action(
    (ids: string[], flags: SelectionFlags, self: Command) => {
      const corral = openRequired(self);
      try {
        const jobs = corral.release(selectionFrom(ids, flags));
        process.stdout.write(`${describeJobs("released", jobs)}\n`);
      } finally {
        corral.close();
      }
    },
  );

  program
    .command("refresh")
    .description("ask every engine now (markers, and the scheduler even if asked a moment ago) and report what needs attention")
    .action((_flags: unknown, self: Command) => {
      const corral = openRequired(self);
      try {
        const report = corral.status({ force: true });
        if (report.attention.length > 0) {
          process.stdout.write("These jobs require attention:\n");
          for (const j of report.attention) process.stdout.write(`  ${j.id}  ${j.name}  ${j.state}  ${j.command}\n`);
        }
      } finally {
        corral.close();
      }
    });
}

function isIdLike(s: string): boolean {
  try {
    parseIdItem(s);
    return true;
  } catch {
    return false;
  }
}
