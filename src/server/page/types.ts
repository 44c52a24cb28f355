import type { AttemptView, JobHeader as DomainJobHeader, JobSummary as DomainJobSummary, TaskView } from "../../domain/job.js";
import type { GroupReport } from "../../domain/usage.js";

/**
 * The JSON the server answers with (server/routes.ts): the API's own types, as JSON carries them (the page never
 * changes them). What only the dashboard answers with is spelled here.
 */
export type JobSummary = DomainJobSummary;
export type JobHeader = DomainJobHeader;
export type Task = TaskView;
export type Attempt = AttemptView;
export type TaskCounts = JobSummary["tasks"];
export type UsageGroup = GroupReport;

/** GET /api/report: a page of `corral report --json`'s groups, and how many groups there are. */
export interface UsageReport {
  by: "job" | "name" | "batch";
  offset: number;
  limit: number;
  total: number;
  groups: UsageGroup[];
}

export interface Overview {
  project: string;
  database: string;
  exists: boolean;
  readOnly: boolean;
  lastRefresh: { at: string; error: string | null } | null;
  batches: { batch: string | null; jobs: number; states: Record<string, number>; tasks: (TaskCounts & { labelled: number }) | null }[];
  running: { id: number; name: string; batch: string | null; running: number; hosts: string | null; since: string | null }[];
  attention: JobSummary[];
  attentionTotal: number;
}

export interface AttemptSpan {
  job: number;
  index: number;
  n: number;
  name: string;
  batch: string | null;
  engine: string;
  host: string | null;
  state: string;
  submitted: number;
  started: number | null;
  ended: number | null;
  exitCode: number | null;
  reason: string | null;
}

export interface WorkerView {
  name: string;
  host: string;
  pid: number;
  tags: string[];
  concurrency: number;
  running: string[];
  load: number;
  lastSeen: number;
  state: string;
  live: boolean;
  silentS: number;
}
