import { isUnnarrowed, type Selection } from "../domain/selection.js";
import { type GroupFigures, type Spread, spreadOfCounts, type UsageSample } from "../domain/usage.js";
import { jobFilter, stateFilter } from "./queries.js";
import type { Store } from "./store.js";

/** How `corral report` groups attempts. */
export const REPORT_GROUPINGS = ["job", "name", "batch"] as const;
export type ReportGrouping = (typeof REPORT_GROUPINGS)[number];

const GROUP_SQL: Record<ReportGrouping, string> = {
  job: "CAST(j.id AS TEXT)",
  name: "j.name",
  batch: "coalesce(j.batch, '(none)')",
};

/**
 * One row per ended attempt of the selected jobs: what it used (wall time from the markers' times; figures
 * only for attempts that ran to an end, succeeded or failed) and what its job asked for. The cause is the
 * engine's keyword at the start of the reason (TIMEOUT, OUT_OF_MEMORY).
 */
function samplesSql(sel: Selection, by: ReportGrouping, afterAttempt: number | null = null): { sql: string; params: unknown[] } {
  const f = jobFilter(sel);
  const st = stateFilter(sel.states);
  // Only attempts after a given one: a range of the rowid, read instead of the state index (`+` keeps it unused).
  const ended = `${afterAttempt === null ? "" : "+"}a.state IN ('succeeded', 'failed', 'cancelled', 'lost')`;
  const after = afterAttempt === null ? "" : " AND a.id > ?";
  const ran = "a.state IN ('succeeded', 'failed')";
  return {
    sql: `SELECT ${GROUP_SQL[by]} AS grp, a.job_id, a.idx, a.n, a.engine, a.state,
              CASE WHEN a.reason GLOB 'TIMEOUT*' THEN 'timeout' WHEN a.reason GLOB 'OUT_OF_MEMORY*' THEN 'oom' END AS cause,
              CASE WHEN ${ran} AND a.started_at IS NOT NULL AND a.ended_at IS NOT NULL THEN max(0, a.ended_at - a.started_at) END AS wall,
              CASE WHEN ${ran} THEN a.cpu_s END AS cpu, CASE WHEN ${ran} THEN a.max_rss_mb END AS mem,
              CASE WHEN ${ran} AND a.cpu_s IS NOT NULL AND a.ended_at - a.started_at >= 1 THEN a.cpu_s / (a.ended_at - a.started_at) END AS cores,
              coalesce(a.alloc_cpus, j.cpus) AS cpus, j.mem_mb AS req_mem, j.time_limit_s AS req_time
       FROM attempts a CROSS JOIN jobs j ON j.id = a.job_id
       WHERE ${ended} AND ${f.where} AND ${st.where}${after}`,
    params: [...f.params, ...st.params, ...(afterAttempt === null ? [] : [afterAttempt])],
  };
}

/** The ended attempts as samples, in job, task and attempt order (for a job's own page, or a test). */
export function usageSamples(store: Store, sel: Selection, by: ReportGrouping): UsageSample[] {
  const { sql, params } = samplesSql(sel, by);
  const rows = store
    .stmt(`SELECT grp, job_id, idx, engine, state, cause, wall, cpu, mem, cpus, req_mem, req_time FROM (${sql}) ORDER BY job_id, idx`)
    .raw()
    .all(...params) as [
    string,
    number,
    number,
    string,
    string,
    "timeout" | "oom" | null,
    number | null,
    number | null,
    number | null,
    number,
    number | null,
    number | null,
  ][];
  return rows.map(([group, jobId, index, engine, state, cause, wallS, cpuS, maxRssMb, cpus, reqMemMb, reqTimeS]) => ({
    group,
    jobId,
    index,
    engine,
    state,
    cause,
    wallS,
    cpuS,
    maxRssMb,
    cpus,
    reqMemMb,
    reqTimeS,
  }));
}

/**
 * Each group's figures computed by SQLite (median and percentile interpolate as numpy does), one row per
 * group: 100,000 attempts become a few numbers without a JavaScript object each. Groups come in the order of
 * their first job. Agrees with domain/usage.ts's figuresOf() on the same attempts (a test holds them together).
 */
export function usageFigures(store: Store, sel: Selection, by: ReportGrouping): GroupFigures[] {
  return keptUsageFigures(store, sel, by) ?? figuresRows(store, sel, by, null).groups;
}

/**
 * usageFigures over the last `count` attempts only (by id: the latest recorded), whatever the history's size:
 * what `corral status` assesses for large waste, at a cost that does not grow with the project.
 */
export function recentUsageFigures(store: Store, sel: Selection, by: ReportGrouping, count: number): GroupFigures[] {
  return figuresRows(store, sel, by, null, recentStart(store, count)).groups;
}

/**
 * The most that any of the last `count` attempts asked for (as recentUsageFigures' groups count it): what
 * any of its groups could be judged against, in one pass that computes nothing per attempt but the maxima.
 */
export function recentRequests(store: Store, sel: Selection, count: number): GroupFigures["requested"] {
  const { sql, params } = samplesSql(sel, "batch", recentStart(store, count));
  const [cpus, memMb, timeS] = store
    .stmt(`SELECT coalesce(max(max(1, cpus)), 1), max(req_mem), max(req_time) FROM (${sql})`)
    .raw()
    .get(...params) as [number, number | null, number | null];
  return { cpus, memMb, timeS };
}

/** The id after which the last `count` attempts come (by id: the latest recorded). */
function recentStart(store: Store, count: number): number {
  return (store.stmt("SELECT coalesce(max(id), 0) FROM attempts").pluck().get() as number) - count;
}

/**
 * One page of usageFigures (groups `offset` to `offset + limit - 1`, in the same order) and how many groups
 * there are in all, in one statement: a page of a dashboard never carries 100,000 jobs' groups.
 */
export function usageFiguresPage(
  store: Store,
  sel: Selection,
  by: ReportGrouping,
  page: { offset: number; limit: number },
): { total: number; groups: GroupFigures[] } {
  const kept = keptUsageFigures(store, sel, by);
  if (kept !== null) return { total: kept.length, groups: kept.slice(page.offset, page.offset + page.limit) };
  return figuresRows(store, sel, by, page);
}

/**
 * The figures of every job name or batch from usage_groups and usage_values (migration 8), which triggers
 * keep as attempts end: a report of a whole project reads a few rows per group instead of every attempt
 * (100,000 attempts: 600 ms of aggregates become about 100 ms). Quantiles are those of the values kept: wall
 * time and memory at three significant digits (within 0.5%), cores busy to 0.01; counts, failures, requests
 * and efficiency are exact. Null when the rollup does not answer: a narrowed selection, grouping by job, or
 * groups so small that reading their attempts is cheaper.
 */
export function keptUsageFigures(store: Store, sel: Selection, by: ReportGrouping): GroupFigures[] | null {
  if (!isUnnarrowed(sel) || by === "job") return null;
  // Its two reads see one moment: a commit between them would pair counts with other values.
  return store.read(() => readKeptFigures(store, by));
}

function readKeptFigures(store: Store, by: "name" | "batch"): GroupFigures[] | null {
  const kept = store
    .stmt("SELECT name, batch, attempts, tasks, first_job, oom, timeout, other, eff_n, eff_sum FROM usage_groups WHERE attempts > 0")
    .raw()
    .all() as [string, string, number, number, number, number, number, number, number, number][];
  let attempts = 0;
  for (const k of kept) attempts += k[2];
  // A group is a few rows, plus one per distinct figure; a row costs a JavaScript value where an attempt costs
  // two dozen aggregate steps: groups of fewer than four attempts are cheaper read as attempts.
  if (kept.length * 4 > attempts) return null;
  const groups = new Map<string, RollupGroup>();
  // By name, then batch: no separator to collide with what a name or a batch may contain.
  const pairs = new Map<string, Map<string, RollupGroup>>();
  for (const [name, batch, n, tasks, first, oom, timeout, other, effN, effSum] of kept) {
    const grp = by === "name" ? name : batch;
    const g = groups.get(grp) ?? emptyGroup(first);
    groups.set(grp, g);
    g.first = Math.min(g.first, first);
    g.attempts += n;
    g.tasks += tasks;
    g.oom += oom;
    g.timeout += timeout;
    g.other += other;
    g.effN += effN;
    g.effSum += effSum;
    const ofName = pairs.get(name) ?? new Map<string, RollupGroup>();
    pairs.set(name, ofName.set(batch, g));
  }
  // One row per name, batch and field, its keys and counts in one string each: 100,000 distinct figures
  // cost SQLite a string, not JavaScript 100,000 rows.
  const rows = store
    .stmt("SELECT name, batch, field, group_concat(key, char(31)), group_concat(n, ',') FROM usage_values WHERE n > 0 GROUP BY name, batch, field")
    .raw()
    .all() as [string, string, string, string, string][];
  for (const [name, batch, field, keys, counts] of rows) {
    const g = pairs.get(name)?.get(batch);
    if (!g) continue;
    const ns = counts.split(",").map(Number);
    if (field === "req") {
      for (const key of keys.split("\x1f")) g.requests.push(key);
      continue;
    }
    g.values[field as "wall" | "mem" | "cores"].push({ keys: keys.split("\x1f").map(Number), counts: ns });
  }
  return [...groups.entries()].sort((a, b) => a[1].first - b[1].first).map(([grp, g]) => rollupFigures(grp, g));
}

interface RollupGroup {
  first: number;
  attempts: number;
  tasks: number;
  oom: number;
  timeout: number;
  other: number;
  effN: number;
  effSum: number;
  /** Each name-and-batch pair's distinct values and their counts, per field. */
  values: Record<"wall" | "mem" | "cores", Counted[]>;
  /** Engine, cpus, memory and time asked, separated by \x1e. */
  requests: string[];
}

const emptyGroup = (first: number): RollupGroup => ({
  first,
  attempts: 0,
  tasks: 0,
  oom: 0,
  timeout: 0,
  other: 0,
  effN: 0,
  effSum: 0,
  values: { wall: [], mem: [], cores: [] },
  requests: [],
});

interface Counted {
  keys: number[];
  counts: number[];
}

/**
 * Distinct values in ascending order with their counts, from those of several name-and-batch pairs. Values
 * come from SQLite in the primary key's order, which is theirs; SQLite does not promise it, so it is checked.
 */
function mergeCounted(parts: Counted[]): Counted | null {
  if (parts.length === 0) return null;
  const only = parts[0]!;
  let ascending = parts.length === 1;
  for (let i = 1; i < only.keys.length && ascending; i++) ascending = only.keys[i - 1]! < only.keys[i]!;
  if (ascending) return only;
  const all = new Map<number, number>();
  for (const p of parts) {
    for (const [i, k] of p.keys.entries()) all.set(k, (all.get(k) ?? 0) + p.counts[i]!);
  }
  const keys = [...all.keys()].sort((a, b) => a - b);
  return { keys, counts: keys.map((k) => all.get(k)!) };
}

function rollupFigures(group: string, g: RollupGroup): GroupFigures {
  const spread = (parts: Counted[]): Spread | null => {
    const merged = mergeCounted(parts);
    return merged === null ? null : spreadOfCounts(merged.keys, merged.counts);
  };
  const engines = new Set<string>();
  let cpus = 1;
  let memMb: number | null = null;
  let timeS: number | null = null;
  for (const req of g.requests) {
    const [engine, c, m, t] = req.split("\x1e");
    engines.add(engine!);
    cpus = Math.max(cpus, Number(c));
    if (m) memMb = Math.max(memMb ?? 0, Number(m));
    if (t) timeS = Math.max(timeS ?? 0, Number(t));
  }
  return {
    group,
    engines: [...engines].sort(),
    tasks: g.tasks,
    attempts: g.attempts,
    wallS: spread(g.values.wall),
    memoryMb: spread(g.values.mem),
    coresUsed: spread(g.values.cores),
    cpuEfficiency: g.effN === 0 ? null : g.effSum / g.effN,
    requested: { cpus, memMb, timeS },
    failures: { oom: g.oom, timeout: g.timeout, other: g.other },
  };
}

function figuresRows(
  store: Store,
  sel: Selection,
  by: ReportGrouping,
  page: { offset: number; limit: number } | null,
  afterAttempt: number | null = null,
): { total: number; groups: GroupFigures[] } {
  const { sql, params } = samplesSql(sel, by, afterAttempt);
  const spreadCols = (x: string) => `median(${x}), percentile(${x}, 95), max(${x}), count(${x})`;
  const rows = store
    .stmt(
      // A task with an ended attempt has its first attempt ended: counting first attempts counts tasks.
      // The rows are materialized once, each CASE computed once per attempt: inlined into the aggregates below,
      // the optimizer would recompute them for every one of them (950 → 580 ms over 100,000 attempts).
      `WITH c AS MATERIALIZED (${sql})
       SELECT grp, group_concat(DISTINCT engine), sum(n = 1), count(*),
              ${spreadCols("wall")}, ${spreadCols("mem")}, ${spreadCols("cores")}, avg(cores / max(1, cpus)),
              max(max(1, cpus)), max(req_mem), max(req_time),
              sum(cause IS 'oom'), sum(cause IS 'timeout'), sum(state = 'failed' AND cause IS NULL), count(*) OVER ()
       FROM c GROUP BY grp ORDER BY min(job_id)${page === null ? "" : " LIMIT ? OFFSET ?"}`,
    )
    .raw()
    .all(...params, ...(page === null ? [] : [page.limit, page.offset])) as (string | number | null)[][];
  const spreadAt = (r: (string | number | null)[], i: number): Spread | null =>
    r[i + 3] === 0 ? null : { median: r[i] as number, p95: r[i + 1] as number, max: r[i + 2] as number, measured: r[i + 3] as number };
  const groups = rows.map((r) => ({
    group: r[0] as string,
    engines: String(r[1]).split(",").sort(),
    tasks: r[2] as number,
    attempts: r[3] as number,
    wallS: spreadAt(r, 4),
    memoryMb: spreadAt(r, 8),
    coresUsed: spreadAt(r, 12),
    cpuEfficiency: r[16] as number | null,
    requested: { cpus: r[17] as number, memMb: r[18] as number | null, timeS: r[19] as number | null },
    failures: { oom: r[20] as number, timeout: r[21] as number, other: r[22] as number },
  }));
  // Past the last page there is no row to carry the count: the total is then counted on its own.
  const total =
    rows.length > 0 ? (rows[0]![23] as number) : page === null || page.offset === 0 ? 0 : figuresRows(store, sel, by, { offset: 0, limit: 1 }).total;
  return { total, groups };
}
