import type { Command } from "commander";
import { Corral } from "../api/corral.js";
import { UsageError } from "../domain/errors.js";
import { buildSelection, type Selection } from "../domain/selection.js";

/** Thrown by a command to end with a given exit code after its output (1: jobs it waited for failed). */
export class ExitCode extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export interface CliContext {
  /** The command after `--`, exactly as given; null when there was no `--`. */
  readonly afterDashes: readonly string[] | null;
}

export function globalDb(cmd: Command): string | undefined {
  return (cmd.optsWithGlobals() as { db?: string }).db;
}

/** The project's database, or null when there is none (read commands then show nothing). */
export function openOptional(cmd: Command): Corral | null {
  return Corral.open({ db: globalDb(cmd) });
}

export function openRequired(cmd: Command): Corral {
  const corral = openOptional(cmd);
  if (!corral) throw new UsageError("no corral database here or in any parent folder (submit a job first, or give --db)");
  return corral;
}

export interface SelectionFlags {
  state?: string[];
  name?: string;
  batch?: string;
  all?: boolean;
}

export function addSelectionOptions(cmd: Command, withAll: boolean): Command {
  cmd
    .option("--state <state>", "only jobs/tasks in this state or with this label (repeatable, or comma-separated)", collect, [])
    .option("--name <glob>", "only jobs whose name matches the glob ('map*')")
    .option("--batch <name>", "only jobs of this batch");
  if (withAll) cmd.option("--all", "act on every job when no ids or filters are given");
  return cmd;
}

export function selectionFrom(ids: readonly string[], flags: SelectionFlags): Selection {
  return buildSelection({ ids, states: flags.state ?? [], name: flags.name ?? null, batch: flags.batch ?? null, all: flags.all ?? false });
}

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
