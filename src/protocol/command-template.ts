import { createRequire } from "node:module";
import type { Point } from "../domain/params.js";

/**
 * A `command = "..."` string is split into arguments as a POSIX shell would (quotes, escapes), without
 * running a shell: no pipes, redirections or variables outside quotes, since nothing would interpret them.
 * Returns the argv, or a reason.
 */
export function splitCommand(text: string): string[] | string {
  // Variables are kept as written: the job's shell (if any) expands them, not corral.
  // Loaded here, not at startup: only description files need it.
  const { parse: parseShellWords } = createRequire(import.meta.url)("shell-quote") as typeof import("shell-quote");
  const words = parseShellWords(text, (name) => `$${name}`);
  const argv: string[] = [];
  for (const w of words) {
    if (typeof w === "string") argv.push(w);
    else if ("op" in w && w.op === "glob") argv.push(w.pattern);
    else return `'${"op" in w ? w.op : "comment"}' outside quotes: corral runs the command without a shell; use a list, or "sh -c '...'"`;
  }
  if (argv.length === 0) return "the command is empty";
  return argv;
}

const PLACEHOLDER_RE = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The `{name}` placeholders an argv uses. */
export function placeholders(argv: readonly string[]): string[] {
  const out = new Set<string>();
  for (const a of argv) for (const m of a.matchAll(PLACEHOLDER_RE)) out.add(m[1]!);
  return [...out];
}

/** Fills `{name}` with the point's values; other braces are left as they are (awk, find -exec {}). */
export function fillPlaceholders(argv: readonly string[], point: Point): string[] {
  return argv.map((a) => a.replace(PLACEHOLDER_RE, (whole, name: string) => (name in point ? String(point[name]) : whole)));
}
