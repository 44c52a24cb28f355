import { UsageError } from "../../domain/errors.js";
import type { ConfigTable } from "../../config/project-config.js";

/**
 * Turns a scheduler's table in .corral/config.toml into its command-line arguments: `key = value` becomes
 * an option by the scheduler's own convention, `key = true` a flag, and `args = [...]` is appended untouched.
 * Keys corral itself interprets (listed in `own`) are skipped.
 */
export function passThroughArgs(
  table: ConfigTable,
  section: string,
  option: (key: string, value: string | true) => string | string[],
  own: readonly string[] = [],
): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(table)) {
    if (own.includes(key)) continue;
    if (key === "args") {
      if (!Array.isArray(value) || !value.every((x) => typeof x === "string")) throw new UsageError(`[${section}] args: expected a list of strings`);
      out.push(...(value as string[]));
    } else if (value === true) out.push(...[option(key, true)].flat());
    else if (typeof value === "string" || typeof value === "number") out.push(...[option(key, String(value))].flat());
    else if (value !== false) throw new UsageError(`[${section}] ${key}: expected a string, number or true`);
  }
  return out;
}

/** A job name every scheduler accepts (Grid Engine refuses /, :, @, \, *, ? and whitespace in -N). */
export function schedulerJobName(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._+-]/g, "_").replace(/^(\d)/, "j$1");
  return (safe || "corral").slice(0, 64);
}
