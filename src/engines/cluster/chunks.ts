/**
 * How the tasks of one submission are split into scheduler calls. Slurm caps the array INDEX (not the
 * count) at MaxArraySize - 1, so a large array is cut into windows, each with an offset that the submit
 * script adds back; Grid Engine's -t takes one start-end:step range per call.
 */
export interface Chunk {
  /** corral index = scheduler index + offset. */
  readonly offset: number;
  /** The corral indices in this call, ascending. */
  readonly indices: readonly number[];
  /** The scheduler's array spec for them, relative to offset. */
  readonly range: string;
}

export interface ChunkLimits {
  readonly minIndex: number;
  readonly maxIndex: number | null;
  readonly singleRange: boolean;
  /** One call carries consecutive indices counted from minIndex (HTCondor's `queue N`, indexed by $(Process)). */
  readonly fromZero?: boolean;
}

/** Compresses ascending numbers into `a-b:s` runs (3 or more evenly spaced) and single numbers. */
export function formatRanges(sorted: readonly number[]): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i]!;
    if (i + 2 < sorted.length) {
      const step = sorted[i + 1]! - start;
      let j = i + 1;
      while (j + 1 < sorted.length && sorted[j + 1]! - sorted[j]! === step) j++;
      if (j - i >= 2) {
        out.push(`${start}-${sorted[j]}${step === 1 ? "" : `:${step}`}`);
        i = j + 1;
        continue;
      }
    }
    out.push(String(start));
    i++;
  }
  return out;
}

/** Evenly spaced runs, for schedulers that take one range per call. */
function arithmeticRuns(sorted: readonly number[]): number[][] {
  const runs: number[][] = [];
  let i = 0;
  while (i < sorted.length) {
    const run = [sorted[i]!];
    if (i + 1 < sorted.length) {
      const step = sorted[i + 1]! - sorted[i]!;
      let j = i + 1;
      run.push(sorted[j]!);
      while (j + 1 < sorted.length && sorted[j + 1]! - sorted[j]! === step) run.push(sorted[++j]!);
      i = j + 1;
    } else i++;
    runs.push(run);
  }
  return runs;
}

/** Runs of consecutive numbers. */
function consecutiveRuns(sorted: readonly number[]): number[][] {
  const runs: number[][] = [];
  for (const x of sorted) {
    const last = runs[runs.length - 1];
    if (last && x === last[last.length - 1]! + 1) last.push(x);
    else runs.push([x]);
  }
  return runs;
}

function rangeOf(run: readonly number[], offset: number): string {
  const rel = run.map((x) => x - offset);
  if (rel.length === 1) return String(rel[0]);
  const step = rel[1]! - rel[0]!;
  return `${rel[0]}-${rel[rel.length - 1]}${step === 1 ? "" : `:${step}`}`;
}

export function planChunks(indices: readonly number[], limits: ChunkLimits): Chunk[] {
  const sorted = [...indices].sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  // Windows of indices that fit under the scheduler's largest index. Offset 0 when they all fit, so the
  // scheduler shows the same index as corral in the common case.
  const windows: { offset: number; indices: number[] }[] = [];
  const max = limits.maxIndex;
  if (max === null || sorted[sorted.length - 1]! <= max) windows.push({ offset: 0, indices: sorted });
  else {
    let i = 0;
    while (i < sorted.length) {
      const offset = sorted[i]! - limits.minIndex;
      const w: number[] = [];
      while (i < sorted.length && sorted[i]! - offset <= max) w.push(sorted[i++]!);
      windows.push({ offset, indices: w });
    }
  }
  const chunks: Chunk[] = [];
  for (const w of windows) {
    if (limits.fromZero) {
      for (const run of consecutiveRuns(w.indices)) {
        const offset = run[0]! - limits.minIndex;
        chunks.push({ offset, indices: run, range: rangeOf(run, offset) });
      }
    } else if (limits.singleRange) {
      for (const run of arithmeticRuns(w.indices)) chunks.push({ offset: w.offset, indices: run, range: rangeOf(run, w.offset) });
    } else {
      chunks.push({ offset: w.offset, indices: w.indices, range: formatRanges(w.indices.map((x) => x - w.offset)).join(",") });
    }
  }
  return chunks;
}

/** Expands a scheduler's list of ranges (`3-7:2,9`, `[1-3]`) back into numbers. */
export function expandRanges(text: string): number[] {
  const out: number[] = [];
  for (const part of text.replace(/^\[|\]$/g, "").split(",")) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?(?:%\d+)?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    const s = m[3] === undefined ? 1 : Number(m[3]);
    for (let x = a; x <= b; x += s) out.push(x);
  }
  return out;
}
