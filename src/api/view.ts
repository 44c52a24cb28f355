import fs from "node:fs";
import type { JobDetail, JobHeader, JobSummary, TaskView } from "../domain/job.js";
import { EVERYTHING, type Selection } from "../domain/selection.js";
import { attemptState } from "../store/attempts.js";
import { findDatabase } from "../store/locate.js";
import {
  countByBatch,
  countNeedingAttention,
  hasActiveJobs,
  jobDetail,
  jobHeader,
  jobsNeedingAttention,
  latestAttempts,
  listForDisplay,
  listJobs,
  pageOfJobs,
  runningNow,
  taskPage,
  taskCountsByBatch,
  taskStates,
  taskViews,
  type AttemptSpan,
  type DisplayRow,
  type JobSortKey,
  type PageRequest,
} from "../store/queries.js";
import { listingLines, listingWidths, summariesJson, type ListingLayout } from "../store/listing.js";
import { Store } from "../store/store.js";
import { recentRequests, recentUsageFigures, usageFigures, usageFiguresPage, type ReportGrouping } from "../store/usage.js";
import { assessGroup, couldWasteLargely, type GroupReport } from "../domain/usage.js";
import { logFiles, type LogFile, type LogStream } from "./logs.js";

export type { GroupReport, ListingLayout, ReportGrouping };
export { JOB_SORT_KEYS, type AttemptSpan, type JobSortKey } from "../store/queries.js";
export { REPORT_GROUPINGS } from "../store/usage.js";

/** How many of the latest attempts `corral status` assesses for large waste. */
const RECENT_ATTEMPTS = 5000;

export interface StatusReport {
  readonly batches: { readonly batch: string | null; readonly jobs: number; readonly states: Record<string, number> }[];
  /** Failed and lost jobs: all of them, or the first `attentionLimit` when status() was given one. */
  readonly attention: JobSummary[];
  /** How many jobs need attention in all. */
  readonly attentionTotal: number;
  /** Jobs running now (at most 20), with their hosts and since when. */
  readonly running: { id: number; name: string; batch: string | null; running: number; hosts: string; since: string | null }[];
  /** Batches whose attempts used far less than they asked for (corral report's large waste), with its findings. */
  readonly waste: { readonly batch: string; readonly findings: string[]; readonly next: string[] }[];
}

export interface LocateOptions {
  /** Database path (`--db`); defaults to CORRAL_DB, then the nearest `.corral/` up from cwd. */
  readonly db?: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Everything `ls`, `status`, `show` and `logs` print, read from the store as it is: a view never refreshes an
 * engine, never starts anything and never writes. What it shows is as fresh as the last refresh (by any
 * process); `Corral.refresh()` is the explicit step that folds in what happened. A long-running reader (a
 * dashboard) opens one with `ProjectView.open` and refreshes off its event loop (see background-refresh.ts).
 */
export class ProjectView {
  constructor(readonly store: Store) {}

  /** Opens a project's database read-only. Null when there is none. */
  static open(opts: LocateOptions = {}): ProjectView | null {
    const found = findDatabase({ db: opts.db, cwd: opts.cwd ?? process.cwd(), env: opts.env ?? process.env });
    if (found === null || !fs.existsSync(found)) return null;
    return new ProjectView(Store.open({ path: found, readonly: true }));
  }

  close(): void {
    this.store.close();
  }

  list(sel: Selection = EVERYTHING): JobSummary[] {
    return listJobs(this.store, sel);
  }

  /** The rows `corral ls` prints, cheaply: plain arrays, no objects per job. */
  listForDisplay(sel: Selection = EVERYTHING): DisplayRow[] {
    return listForDisplay(this.store, sel);
  }

  /** What `corral ls` needs to lay out its table: the widest cell per column but the last (at least `atLeast`), and the row count. */
  listingWidths(sel: Selection, now: number, atLeast: readonly number[]): { widths: number[]; rows: number } {
    return listingWidths(this.store, sel, now, atLeast);
  }

  /** The table's lines as text chunks, laid out as asked (no object per job: see store/listing.ts). */
  listingLines(sel: Selection, layout: ListingLayout): Generator<string> {
    return listingLines(this.store, sel, layout);
  }

  /** `list(sel)` as pretty JSON text, in chunks, byte for byte what JSON.stringify(list(sel), null, 2) gives. */
  listJson(sel: Selection = EVERYTHING): Generator<string> {
    return summariesJson(this.store, sel);
  }

  /** `corral report`: per group (job, name or batch), what the selected jobs' attempts used against what they asked. */
  report(sel: Selection = EVERYTHING, by: ReportGrouping = "name"): GroupReport[] {
    return usageFigures(this.store, sel, by).map(assessGroup);
  }

  /** A page of `report(sel, by)`, the same groups in the same order, and how many groups there are: a page's report. */
  reportPage(sel: Selection, by: ReportGrouping, page: PageRequest): { total: number; groups: GroupReport[] } {
    const { total, groups } = usageFiguresPage(this.store, sel, by, page);
    return { total, groups: groups.map(assessGroup) };
  }

  /** One job's summary. */
  peek(id: number): JobSummary {
    return listJobs(this.store, { ids: [{ kind: "job", id }], states: [], name: null, batch: null, all: false })[0]!;
  }

  show(id: number): JobDetail {
    return jobDetail(this.store, id);
  }

  tasks(jobId: number, onlyIndex?: number): TaskView[] {
    return taskViews(this.store, jobId, onlyIndex);
  }

  /** The dashboard; `attentionLimit` caps the jobs listed as needing attention (a terminal shows a few). */
  status(sel: Selection = EVERYTHING, attentionLimit?: number): StatusReport {
    return {
      ...this.statusCounts(sel),
      attention: jobsNeedingAttention(this.store, sel, attentionLimit),
      attentionTotal: countNeedingAttention(this.store, sel),
      waste: this.largeWaste(sel),
    };
  }

  /**
   * The batches with large waste, assessed as `corral report --by batch` does, over the last 5,000 attempts:
   * status says what recent work wastes, in one bounded pass however long the history. Work that asked for too
   * little to waste much (most does: nothing asked) is known so from its requests alone, in a tenth the time.
   */
  private largeWaste(sel: Selection): StatusReport["waste"] {
    if (!couldWasteLargely(recentRequests(this.store, sel, RECENT_ATTEMPTS))) return [];
    return recentUsageFigures(this.store, sel, "batch", RECENT_ATTEMPTS)
      .map((f) => assessGroup(f))
      .filter((g) => g.largeWaste)
      .map((g) => ({ batch: g.group, findings: g.findings, next: g.suggestion?.flags ?? [] }));
  }

  /**
   * What `status` says, for a page: each batch with its jobs and its tasks by state, what runs now, and the
   * first `attentionShown` jobs needing attention with how many there are (never every failed job of a history).
   */
  overview(attentionShown: number): Omit<StatusReport, "attention" | "attentionTotal" | "waste"> & {
    batches: (StatusReport["batches"][number] & { tasks: ReturnType<typeof taskCountsByBatch>[number]["tasks"] | null })[];
    attention: JobSummary[];
    attentionTotal: number;
  } {
    const counts = this.statusCounts(EVERYTHING);
    const tasks = new Map(taskCountsByBatch(this.store).map((b) => [b.batch, b.tasks]));
    const attention = { jobs: jobsNeedingAttention(this.store, EVERYTHING, attentionShown), total: countNeedingAttention(this.store) };
    return {
      batches: counts.batches.map((b) => ({ ...b, tasks: tasks.get(b.batch) ?? null })),
      running: counts.running,
      attention: attention.jobs,
      attentionTotal: attention.total,
    };
  }

  private statusCounts(sel: Selection): Omit<StatusReport, "attention" | "attentionTotal" | "waste"> {
    const byBatch = new Map<string | null, { jobs: number; states: Record<string, number> }>();
    for (const row of countByBatch(this.store, sel)) {
      const b = byBatch.get(row.batch) ?? { jobs: 0, states: {} };
      b.jobs += row.jobs;
      b.states[row.state] = row.jobs;
      byBatch.set(row.batch, b);
    }
    return {
      batches: [...byBatch.entries()].map(([batch, v]) => ({ batch, ...v })),

      running: runningNow(this.store, sel).map((r) => ({ ...r, since: r.since === null ? null : new Date(r.since * 1000).toISOString() })),
    };
  }

  /** The log files of a job's tasks (all of them, or one), of the latest attempt or of attempt `attempt`. */
  logFiles(ref: { jobId: number; index: number | null }, streams: readonly LogStream[], attempt?: number): LogFile[] {
    return logFiles(this.store, ref, streams, attempt);
  }

  /** One sorted page of the selected jobs, and how many there are: the dashboard's table. */
  pageOfJobs(sel: Selection, opts: PageRequest & { sort: JobSortKey; descending: boolean }): { total: number; rows: JobSummary[] } {
    return pageOfJobs(this.store, sel, opts);
  }

  /** A job without its tasks (see tasksPage and taskStates for those). */
  header(id: number): JobHeader {
    return jobHeader(this.store, id);
  }

  /** The states of a job's first `limit` tasks, by index: an array drawn as a grid. */
  taskStates(jobId: number, limit: number): { index: number[]; state: string[]; total: number } {
    return taskStates(this.store, jobId, limit);
  }

  /** A page of a job's tasks with their attempts, optionally only those in `states` (states or labels). */
  tasksPage(jobId: number, opts: PageRequest & { states: readonly string[] }): { total: number; tasks: TaskView[] } {
    return taskPage(this.store, jobId, opts);
  }

  /** The most recent attempts of the selected jobs (a timeline), newest first. */
  latestAttempts(sel: Selection, limit: number): AttemptSpan[] {
    return latestAttempts(this.store, sel, limit);
  }

  /** Whether a refresh could find anything new (some job still waits or runs, or some usage is awaited). */
  hasActiveJobs(): boolean {
    return hasActiveJobs(this.store);
  }

  /** Changes whenever another connection commits: polled by live readers to know when to read again. */
  dataVersion(): number {
    return this.store.dataVersion();
  }

  /** The state of one attempt now (a follower stops once it has ended). */
  attemptState(jobId: number, index: number, n: number): string | null {
    return attemptState(this.store, jobId, index, n);
  }
}
