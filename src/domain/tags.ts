import { UsageError } from "./errors.js";

/**
 * Worker tags (`--tags gpu,bigmem`): what a task needs from the worker that runs it, on engines that route
 * tasks by tags. Lower-case words, so they can name queues.
 */
const TAG_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** Parses `gpu,bigmem`: lower-case letters, digits, '-' and '_'; sorted, without repeats. */
export function parseTags(text: string, flag: string): string[] {
  const tags = text
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
  for (const t of tags) {
    if (!TAG_RE.test(t)) throw new UsageError(`${flag} '${t}': a tag is lower-case letters, digits, '-' and '_' (up to 32)`);
  }
  return [...new Set(tags)].sort();
}
