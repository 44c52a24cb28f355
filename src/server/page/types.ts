/** The JSON the server answers with (see server/routes.ts; the shapes are the API's JobSummary, TaskView...). */
export interface TaskCounts {
  total: number;
  done: number;
  pending: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  lost: number;
}

export interface JobSummary {
  id: number;
  name: string;
  batch: string | null;
  state: string;
  lifecycleState: string;
  label: string | null;
  exitCode: number | null;
  engine: string;
  command: string;
  array: string | null;
  createdAt: string;
  tasks: TaskCounts;
}

export interface JobHeader extends JobSummary {
  argv: string[];
  cwd: string;
  script: string | null;
  env: Record<string, string>;
  inheritedEnvCount: number;
  resources: { cpus: number; memMb: number | null; timeLimitS: number | null; gpus: number; queue: string | null };
  retries: number;
  stderrFails: boolean;
  held: boolean;
  metadata: Record<string, unknown>;
  dependencies: { id: number; kind: string }[];
}

export interface Attempt {
  n: number;
  engine: string;
  engineId: string | null;
  state: string;
  exitCode: number | null;
  signal: string | null;
  reason: string | null;
  host: string | null;
  pid: number | null;
  submittedAt: string;
  startedAt: string | null;
  endedAt: string | null;
  runDir: string;
  stdout: string;
  stderr: string;
}

export interface Task {
  index: number;
  state: string;
  lifecycleState: string;
  label: string | null;
  exitCode: number | null;
  signal: string | null;
  reason: string | null;
  params: Record<string, unknown> | null;
  attempts: Attempt[];
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
