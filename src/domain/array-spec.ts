import { UsageError } from "./errors.js";

/** A parsed `-a/--array` value: the task indices in order and an optional concurrency cap (`%N`). */
export interface ArraySpec {
  readonly text: string;
  readonly indices: readonly number[];
  readonly cap: number | null;
}

/** Far above any real array (Slurm's default MaxArraySize is 1001) but small enough to keep the store sane. */
export const MAX_ARRAY_TASKS = 1_000_000;

const RANGE_RE = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/;

/**
 * Parses the union of Slurm's and SGE's array syntax: `1-10:2`, `1,3,7`, `1-5,9`, with an optional
 * `%N` cap (`1-100%8`). Indices start at 1 as in SGE; duplicates and empty ranges are errors, not guesses.
 */
export function parseArraySpec(text: string, flag = "--array"): ArraySpec {
  const bad = (why: string) => new UsageError(`${flag} '${text}': ${why}`);
  let body = text.trim();
  let cap: number | null = null;
  const pct = body.indexOf("%");
  if (pct >= 0) {
    const capText = body.slice(pct + 1);
    if (!/^\d+$/.test(capText) || Number(capText) < 1) throw bad("the %N cap must be a whole number of at least 1");
    cap = Number(capText);
    body = body.slice(0, pct);
  }
  if (body === "") throw bad("expected indices such as 1-10, 1-10:2 or 1,3,7");
  const seen = new Set<number>();
  const indices: number[] = [];
  for (const part of body.split(",")) {
    const m = RANGE_RE.exec(part);
    if (!m) throw bad(`'${part}' is not an index or a range (N, N-M or N-M:STEP)`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    const step = m[3] === undefined ? 1 : Number(m[3]);
    if (from < 1) throw bad("indices start at 1");
    if (to < from) throw bad(`range ${from}-${to} is empty (the end is before the start)`);
    if (step < 1) throw bad("the step must be at least 1");
    if ((to - from) / step + 1 + indices.length > MAX_ARRAY_TASKS) throw bad(`more than ${MAX_ARRAY_TASKS} tasks`);
    for (let i = from; i <= to; i += step) {
      if (seen.has(i)) throw bad(`index ${i} is given twice`);
      seen.add(i);
      indices.push(i);
    }
  }
  return { text: text.trim(), indices, cap };
}
