import { formatMemory } from "./resources.js";

/**
 * What attempts used, and what to ask for next time: the arithmetic of `corral report`, kept free of I/O so
 * it is tested on seeded histories. A figure nobody measured is null and is never counted as 0.
 */

/** What an engine measured, or its accounting recorded, of one attempt. Null: not known (yet). */
export interface AttemptUsage {
  /** User + system CPU seconds of the attempt's whole process tree. */
  readonly cpuS: number | null;
  /** Peak memory in MB (the method says whether of the tree or of its largest process). */
  readonly maxRssMb: number | null;
  /** What the engine granted, where it tells. */
  readonly allocCpus: number | null;
  readonly allocMemMb: number | null;
  readonly allocTimeS: number | null;
  /** How the figures were obtained: "rusage", "cgroup", "sacct", "qacct", ... */
  readonly source: string | null;
}

/** One ended attempt as the report reads it. */
export interface UsageSample {
  /** The group it is reported in: a job id, a job name or a batch. */
  readonly group: string;
  readonly jobId: number;
  readonly index: number;
  readonly engine: string;
  readonly state: string;
  /** What ended it, when the engine said it was a limit. */
  readonly cause: "timeout" | "oom" | null;
  readonly wallS: number | null;
  readonly cpuS: number | null;
  readonly maxRssMb: number | null;
  /** The cpus it had: granted, else requested. */
  readonly cpus: number;
  /** What the job asked for. */
  readonly reqMemMb: number | null;
  readonly reqTimeS: number | null;
}

export interface Spread {
  readonly median: number;
  readonly p95: number;
  readonly max: number;
  /** How many attempts had this figure. */
  readonly measured: number;
}

export interface Suggestion {
  readonly cpus: number | null;
  readonly memMb: number | null;
  readonly timeS: number | null;
  /** The same as `corral submit` flags and as description-file keys. */
  readonly flags: string[];
  readonly keys: Record<string, string | number>;
  /** The margins and rounding behind the figures, said once. */
  readonly basis: string;
}

export interface GroupReport {
  readonly group: string;
  readonly engines: string[];
  readonly tasks: number;
  readonly attempts: number;
  readonly wallS: Spread | null;
  readonly memoryMb: Spread | null;
  /** Cores busy on average (CPU time ÷ wall time), per attempt. */
  readonly coresUsed: Spread | null;
  /** CPU time ÷ (wall × cpus), the mean over attempts that have both figures. */
  readonly cpuEfficiency: number | null;
  readonly requested: { readonly cpus: number; readonly memMb: number | null; readonly timeS: number | null };
  /** The longest wall time against the time limit (1 = used all of it), when there is a limit. */
  readonly timeUsed: number | null;
  readonly failures: { readonly oom: number; readonly timeout: number; readonly other: number };
  /** Waste and shortfall, in plain words. */
  readonly findings: string[];
  /** Whether the waste is large enough for `corral status` to mention. */
  readonly largeWaste: boolean;
  readonly suggestion: Suggestion | null;
}

/** The q-quantile of sorted values, interpolated between neighbours (as numpy's default does). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new Error("quantile of nothing");
  return quantileOf(sorted.length, (k) => sorted[k]!, q);
}

/** The q-quantile of n values, the k-th smallest given by nth(k): the one interpolation both forms share. */
function quantileOf(n: number, nth: (k: number) => number, q: number): number {
  const pos = (n - 1) * q;
  const lo = nth(Math.floor(pos));
  return lo + (nth(Math.ceil(pos)) - lo) * (pos - Math.floor(pos));
}

/**
 * The spread of values given as distinct ascending values and how many times each occurs: the same
 * quantiles as spread() over the values written out, without writing out 100,000 of them.
 */
export function spreadOfCounts(values: readonly number[], counts: readonly number[]): Spread | null {
  let total = 0;
  for (const c of counts) total += c;
  if (total === 0) return null;
  // The k-th smallest value (0-based), walking the cumulative counts.
  const nth = (k: number): number => {
    let seen = 0;
    for (let i = 0; i < values.length; i++) {
      seen += counts[i]!;
      if (k < seen) return values[i]!;
    }
    return values[values.length - 1]!;
  };
  return { median: quantileOf(total, nth, 0.5), p95: quantileOf(total, nth, 0.95), max: values[values.length - 1]!, measured: total };
}

function spread(values: readonly (number | null)[]): Spread | null {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  return { median: quantile(xs, 0.5), p95: quantile(xs, 0.95), max: xs[xs.length - 1]!, measured: xs.length };
}

/** Memory the engines take: 128M steps up to 1G, 512M steps up to 16G, whole G beyond. */
export function roundMemoryUp(mb: number): number {
  const step = mb <= 1024 ? 128 : mb <= 16 * 1024 ? 512 : 1024;
  return Math.max(step, Math.ceil(mb / step) * step);
}

/** Time limits: whole minutes up to an hour, 15 minutes up to a day, whole hours beyond. */
export function roundTimeUp(s: number): number {
  const step = s <= 3600 ? 60 : s <= 86400 ? 900 : 3600;
  return Math.max(step, Math.ceil(s / step) * step);
}

/** A duration as a person writes it and `--time` reads it: 45m, 2h, 1h30m → 90m, 1-12:00:00 for days. */
export function formatLimit(s: number): string {
  if (s % 3600 === 0 && s < 86400 * 2) return `${s / 3600}h`;
  if (s % 60 === 0 && s < 86400) return `${s / 60}m`;
  if (s % 60 === 0) {
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    return `${d}-${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:00`;
  }
  return `${Math.round(s)}s`;
}

/** A short human duration for findings: 40s, 20m, 3.5h. */
function humanDuration(s: number): string {
  if (s < 10) return `${Number(s.toFixed(1))}s`;
  if (s < 90) return `${Math.round(s)}s`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  return `${Number((s / 3600).toFixed(1))}h`;
}

function humanMemory(mb: number): string {
  return mb >= 1024 ? `${Number((mb / 1024).toFixed(1))}G` : `${Math.round(mb)}M`;
}

const MEM_MARGIN = 1.2;
const MEM_OVER_MAX = 1.05;
const TIME_MARGIN = 1.5;
const BASIS =
  "memory: 20% over p95 and 5% over the largest; time: 50% over the longest; cpus: the p95 of cores busy, rounded up; rounded to 128M/512M/1G and minute/15-minute/hour steps";

/** What a group's attempts used, aggregated: by the store in SQL, or by figuresOf() from samples. */
export type GroupFigures = Pick<
  GroupReport,
  "group" | "engines" | "tasks" | "attempts" | "wallS" | "memoryMb" | "coresUsed" | "cpuEfficiency" | "requested" | "failures"
>;

/**
 * The figures of one group from its samples, in memory: what the store's SQL computes for a whole project
 * (store/usage.ts; a test holds the two together). Spreads count succeeded and failed attempts only.
 */
export function figuresOf(group: string, samples: readonly UsageSample[]): GroupFigures {
  const counted = samples.filter((s) => s.state === "succeeded" || s.state === "failed");
  // Cores busy only from attempts of a second or more: the CPU figure covers the wrapper's own start and end
  // around the command, which in a job of a few milliseconds would read as dozens of cores.
  const cores = counted.map((s) => (s.cpuS !== null && s.wallS !== null && s.wallS >= 1 ? s.cpuS / s.wallS : null));
  const effs = counted.flatMap((s, i) => (cores[i] === null || cores[i] === undefined ? [] : [cores[i]! / Math.max(1, s.cpus)]));
  return {
    group,
    engines: [...new Set(samples.map((s) => s.engine))].sort(),
    tasks: new Set(samples.map((s) => `${s.jobId}.${s.index}`)).size,
    attempts: samples.length,
    wallS: spread(counted.map((s) => s.wallS)),
    memoryMb: spread(counted.map((s) => s.maxRssMb)),
    coresUsed: spread(cores),
    cpuEfficiency: effs.length === 0 ? null : effs.reduce((a, b) => a + b, 0) / effs.length,
    requested: {
      cpus: samples.reduce((m, s) => Math.max(m, s.cpus), 1),
      memMb: maxOrNull(samples.map((s) => s.reqMemMb)),
      timeS: maxOrNull(samples.map((s) => s.reqTimeS)),
    },
    failures: {
      oom: samples.filter((s) => s.cause === "oom").length,
      timeout: samples.filter((s) => s.cause === "timeout").length,
      other: samples.filter((s) => s.state === "failed" && s.cause === null).length,
    },
  };
}

/** The report of one group of attempts, from its samples. */
export function groupReport(group: string, samples: readonly UsageSample[]): GroupReport {
  return assessGroup(figuresOf(group, samples));
}

/** Asking for less than this much memory, or time, is never large waste, however little of it is used. */
const LARGE_ASK_MEM_MB = 1024;
const LARGE_ASK_TIME_S = 3600;

/**
 * Whether a group that asked for this much could be of large waste (assessGroup's `largeWaste`) at all:
 * only by asking for at least a gigabyte, an hour or two cpus. `corral status` asks this of the most that
 * recent attempts asked for, before computing their figures: most projects ask for nothing.
 */
export function couldWasteLargely(requested: GroupFigures["requested"]): boolean {
  return (requested.memMb ?? 0) >= LARGE_ASK_MEM_MB || requested.cpus > 1 || (requested.timeS ?? 0) >= LARGE_ASK_TIME_S;
}

/** Waste and shortfall in plain words, and what to ask for next time, from a group's figures. */
export function assessGroup(figures: GroupFigures): GroupReport {
  const { wallS, memoryMb, coresUsed, requested, failures } = figures;
  const timeUsed = requested.timeS !== null && wallS !== null ? wallS.max / requested.timeS : null;
  const findings: string[] = [];
  let largeWaste = false;
  if (requested.memMb !== null && memoryMb !== null && memoryMb.p95 < requested.memMb / 2 && failures.oom === 0) {
    findings.push(`asked ${formatMemory(requested.memMb)} per task, p95 used ${humanMemory(memoryMb.p95)}`);
    largeWaste ||= requested.memMb >= LARGE_ASK_MEM_MB && memoryMb.p95 < requested.memMb / 4;
  }
  const meanCores = figures.cpuEfficiency === null ? null : figures.cpuEfficiency * requested.cpus;
  if (requested.cpus > 1 && meanCores !== null && meanCores < requested.cpus / 2) {
    findings.push(`asked ${requested.cpus} cpus, used ${meanCores.toFixed(1)} on average`);
    largeWaste ||= meanCores < requested.cpus / 4;
  }
  if (requested.timeS !== null && wallS !== null && failures.timeout === 0 && wallS.max < requested.timeS / 4) {
    findings.push(`asked ${humanDuration(requested.timeS)}, the longest task took ${humanDuration(wallS.max)}`);
    largeWaste ||= requested.timeS >= LARGE_ASK_TIME_S && wallS.max < requested.timeS / 10;
  }
  if (failures.timeout > 0) {
    const limit = requested.timeS === null ? "its time" : `the ${humanDuration(requested.timeS)}`;
    findings.push(`${failures.timeout} task${failures.timeout === 1 ? "" : "s"} hit ${limit} limit`);
  }
  if (failures.oom > 0) {
    const limit = requested.memMb === null ? "memory" : formatMemory(requested.memMb);
    findings.push(`${failures.oom} task${failures.oom === 1 ? "" : "s"} ran out of ${limit}`);
  }
  return { ...figures, timeUsed, findings, largeWaste, suggestion: suggest(wallS, memoryMb, coresUsed, requested, failures) };
}

/**
 * What to ask for next time, from what was used with a margin. A limit that was hit is doubled instead
 * (the used figure says nothing about how much more was needed), as retries escalate.
 */
function suggest(
  wallS: Spread | null,
  memoryMb: Spread | null,
  coresUsed: Spread | null,
  requested: GroupReport["requested"],
  failures: GroupReport["failures"],
): Suggestion | null {
  const memMb =
    failures.oom > 0 && requested.memMb !== null
      ? roundMemoryUp(requested.memMb * 2)
      : memoryMb === null
        ? null
        : roundMemoryUp(Math.max(memoryMb.p95 * MEM_MARGIN, memoryMb.max * MEM_OVER_MAX));
  const timeS =
    failures.timeout > 0 && requested.timeS !== null ? roundTimeUp(requested.timeS * 2) : wallS === null ? null : roundTimeUp(wallS.max * TIME_MARGIN);
  const cpus = coresUsed === null ? null : Math.max(1, Math.ceil(coresUsed.p95 - 0.05));
  if (memMb === null && timeS === null && cpus === null) return null;
  const flags: string[] = [];
  const keys: Record<string, string | number> = {};
  if (cpus !== null) {
    flags.push(`--cpus ${cpus}`);
    keys.cpus = cpus;
  }
  if (memMb !== null) {
    flags.push(`--mem ${formatMemory(memMb)}`);
    keys.mem = formatMemory(memMb);
  }
  if (timeS !== null) {
    flags.push(`--time ${formatLimit(timeS)}`);
    keys.time = formatLimit(timeS);
  }
  return { cpus, memMb, timeS, flags, keys, basis: BASIS };
}

function maxOrNull(xs: readonly (number | null)[]): number | null {
  // A loop, not Math.max(...xs): 100,000 arguments overflow the stack.
  let best: number | null = null;
  for (const x of xs) if (x !== null && (best === null || x > best)) best = x;
  return best;
}

/**
 * The shortest run whose share of one core is shown: its start and end are the markers' times, milliseconds
 * apart at best, so a job of a few milliseconds came out at "226% of one core".
 */
const MIN_WALL_FOR_SHARE_S = 1;

/**
 * `cpuS` as a share of one core over the attempt's run, in percent (rounded), or null where its run was too short
 * (or its start or end unknown) for the figure to mean anything. What `corral show` and the dashboard print.
 */
export function coreSharePercent(cpuS: number, startedAt: string | null, endedAt: string | null): number | null {
  if (!startedAt || !endedAt) return null;
  const wallS = (Date.parse(endedAt) - Date.parse(startedAt)) / 1000;
  return Number.isFinite(wallS) && wallS >= MIN_WALL_FOR_SHARE_S ? Math.round((cpuS / wallS) * 100) : null;
}
