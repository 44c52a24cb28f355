/**
 * Schema migrations, applied in order inside one transaction each. Never edit a released migration:
 * add a new one. `schema_version` holds the number of migrations applied.
 */
import { SUMMARY_INPUTS, SUMMARY_KEPT, summaryJsonSql } from "./summary-json.js";

// The usage rollup's triggers (migration 8) share two statements, written once here for a row of attempts:
// NEW or OLD inside a row trigger, or `a` for every ended attempt of a job (or, in the backfill, of all jobs).
const ENDED_SQL = (r: string): string => `${r}.state IN ('succeeded', 'failed', 'cancelled', 'lost')`;
const ROLLUP_INPUTS = ["state", "started_at", "ended_at", "reason", "cpu_s", "max_rss_mb", "alloc_cpus"];
/** An update that changes what the attempt adds to the rollup (accounting often rewrites what it knows). */
const ROLLUP_CHANGED = ROLLUP_INPUTS.map((c) => `OLD.${c} IS NOT NEW.${c}`).join(" OR ");
/** x at three significant digits (within 0.5%): a group of 100,000 figures keeps at most 900 per decade. */
const THREE_DIGITS = (x: string): string =>
  `CASE WHEN ${x} > 0 THEN (CASE WHEN floor(log10(${x})) < 2 THEN round(${x}, 2 - floor(log10(${x})))
     ELSE round(${x} / pow(10, floor(log10(${x})) - 2)) * pow(10, floor(log10(${x})) - 2) END) WHEN ${x} = 0 THEN 0 END`;

/**
 * One row per ended attempt with what the report reads of it (store/usage.ts): spreads count attempts that
 * ran to an end; cores busy only from attempts of a second or more.
 */
function rollupBase(r: string, ofJob: string | null): string {
  const from =
    r === "a"
      ? `attempts a JOIN jobs j ON j.id = a.job_id WHERE ${ENDED_SQL("a")}${ofJob === null ? "" : ` AND a.job_id = ${ofJob}`}`
      : `jobs j WHERE j.id = ${r}.job_id`;
  const ran = `${r}.state IN ('succeeded', 'failed')`;
  const wall = `CASE WHEN ${ran} AND ${r}.started_at IS NOT NULL AND ${r}.ended_at IS NOT NULL THEN max(0, ${r}.ended_at - ${r}.started_at) END`;
  return `SELECT j.name AS name, coalesce(j.batch, '(none)') AS batch, ${r}.job_id AS job_id, ${r}.n = 1 AS first_try,
      CASE WHEN ${r}.reason GLOB 'TIMEOUT*' THEN 'timeout' WHEN ${r}.reason GLOB 'OUT_OF_MEMORY*' THEN 'oom'
           WHEN ${r}.state = 'failed' THEN 'other' END AS cause,
      ${wall} AS wall, CASE WHEN ${ran} THEN ${r}.max_rss_mb END AS mem,
      CASE WHEN ${ran} AND ${r}.cpu_s IS NOT NULL AND ${wall} >= 1 THEN ${r}.cpu_s / ${wall} END AS cores,
      coalesce(${r}.alloc_cpus, j.cpus) AS cpus,
      -- What the attempt ran on and asked for, in one key: engines and requests are few per group.
      ${r}.engine || char(30) || coalesce(${r}.alloc_cpus, j.cpus) || char(30) || coalesce(j.mem_mb, '') || char(30) || coalesce(j.time_limit_s, '') AS req
    FROM ${from}`;
}

/** Adds (sign 1) or takes out (sign -1) attempts: one usage_groups row and up to four usage_values rows each. */
function rollupUpsert(r: string, sign: 1 | -1, ofJob: string | null = null): string {
  const base = rollupBase(r, ofJob);
  return `INSERT INTO usage_groups (name, batch, attempts, tasks, first_job, oom, timeout, other, eff_n, eff_sum)
    SELECT name, batch, ${sign}, ${sign} * first_try, job_id, ${sign} * (cause IS 'oom'), ${sign} * (cause IS 'timeout'),
      ${sign} * (cause IS 'other'), ${sign} * (cores IS NOT NULL), ${sign} * coalesce(cores / max(1, cpus), 0) FROM (${base}) WHERE true
    ON CONFLICT (name, batch) DO UPDATE SET attempts = attempts + excluded.attempts, tasks = tasks + excluded.tasks,
      first_job = min(first_job, excluded.first_job), oom = oom + excluded.oom, timeout = timeout + excluded.timeout,
      other = other + excluded.other, eff_n = eff_n + excluded.eff_n, eff_sum = eff_sum + excluded.eff_sum;
    INSERT INTO usage_values (name, batch, field, key, n)
    SELECT name, batch, field, key, ${sign} FROM (${rollupValues(base)}) WHERE true
    ON CONFLICT (name, batch, field, key) DO UPDATE SET n = n + excluded.n`;
}

function rollupValues(base: string): string {
  return `SELECT b.name, b.batch, f.column1 AS field,
      CASE f.column1 WHEN 'wall' THEN ${THREE_DIGITS("b.wall")} WHEN 'mem' THEN ${THREE_DIGITS("b.mem")}
        WHEN 'cores' THEN round(b.cores, 2) ELSE b.req END AS key
    FROM (${base}) b, (VALUES ('wall'), ('mem'), ('cores'), ('req')) f WHERE key IS NOT NULL`;
}

/** The rollup of the attempts already recorded when migration 8 runs. */
function rollupBackfill(): string {
  const base = rollupBase("a", null);
  return `INSERT INTO usage_groups (name, batch, attempts, tasks, first_job, oom, timeout, other, eff_n, eff_sum)
    SELECT name, batch, count(*), sum(first_try), min(job_id), sum(cause IS 'oom'), sum(cause IS 'timeout'), sum(cause IS 'other'),
      count(cores), coalesce(sum(cores / max(1, cpus)), 0) FROM (${base}) GROUP BY name, batch;
    INSERT INTO usage_values (name, batch, field, key, n)
    SELECT name, batch, field, key, count(*) FROM (${rollupValues(base)}) GROUP BY name, batch, field, key;`;
}

// Status's counts (migration 9): jobs per batch and label-or-state. A row's key, for a job row (NEW or OLD).
const BATCH_KEY = (r: string): string => `${r}.batch IS NOT NULL, coalesce(${r}.batch, ''), coalesce(${r}.label, ${r}.lifecycle_state)`;
const BATCH_MATCH = (r: string): string =>
  `has_batch = (${r}.batch IS NOT NULL) AND batch = coalesce(${r}.batch, '') AND state = coalesce(${r}.label, ${r}.lifecycle_state)`;
const batchCounted = (r: string): string =>
  `INSERT INTO batch_counts (has_batch, batch, state, jobs) VALUES (${BATCH_KEY(r)}, 1) ON CONFLICT DO UPDATE SET jobs = jobs + 1`;
const batchUncounted = (r: string): string =>
  `UPDATE batch_counts SET jobs = jobs - 1 WHERE ${BATCH_MATCH(r)}; DELETE FROM batch_counts WHERE ${BATCH_MATCH(r)} AND jobs = 0`;

// `ls`'s column widths (migration 11): how many jobs have each width of cell, per column. The cells are
// those of store/listing.ts (the name, the engine, and done/total tasks); a width's row goes at 0 jobs.
const WIDTH_OF: Readonly<Record<string, (r: string) => string>> = {
  name: (r) => `length(${r}.name)`,
  engine: (r) => `length(${r}.engine)`,
  tasks: (r) => `length(${r}.n_succeeded + ${r}.n_failed + ${r}.n_cancelled + ${r}.n_lost) + 1 + length(${r}.n_tasks)`,
};
const widthCounted = (col: string, r: string): string =>
  `INSERT INTO listing_widths (col, width, jobs) VALUES ('${col}', ${WIDTH_OF[col]!(r)}, 1) ON CONFLICT DO UPDATE SET jobs = jobs + 1`;
const widthUncounted = (col: string, r: string): string =>
  `UPDATE listing_widths SET jobs = jobs - 1 WHERE col = '${col}' AND width = ${WIDTH_OF[col]!(r)};
   DELETE FROM listing_widths WHERE col = '${col}' AND width = ${WIDTH_OF[col]!(r)} AND jobs = 0`;
/** One trigger per column, fired only when that column's cell really changes width (a sweep's task ends mostly don't). */
const widthKeptOnUpdate = (col: string, inputs: string): string => `
  CREATE TRIGGER listing_width_${col}_on_update AFTER UPDATE OF ${inputs} ON jobs
    WHEN ${WIDTH_OF[col]!("OLD")} IS NOT ${WIDTH_OF[col]!("NEW")} BEGIN
    ${widthUncounted(col, "OLD")};
    ${widthCounted(col, "NEW")};
  END;`;

export const MIGRATIONS: readonly string[] = [
  /* 1: jobs, tasks, attempts, shared environments, dependencies, the supervisor lease */ `
  CREATE TABLE environments (
    id INTEGER PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    vars TEXT NOT NULL
  );
  CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    batch TEXT,
    argv TEXT NOT NULL,
    script TEXT,
    script_path TEXT,
    cwd TEXT NOT NULL,
    env_id INTEGER NOT NULL REFERENCES environments(id),
    extra_env TEXT NOT NULL DEFAULT '{}',
    umask INTEGER NOT NULL,
    cpus INTEGER NOT NULL DEFAULT 1,
    mem_mb INTEGER,
    time_limit_s INTEGER,
    gpus INTEGER NOT NULL DEFAULT 0,
    queue TEXT,
    engine TEXT NOT NULL,
    array_spec TEXT,
    array_cap INTEGER,
    retries INTEGER NOT NULL DEFAULT 0,
    stderr_fails INTEGER NOT NULL DEFAULT 0,
    held INTEGER NOT NULL DEFAULT 0,
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    -- The command as shown to people, rendered once at submission.
    command TEXT NOT NULL,
    -- Task counts per state, kept by the triggers below in the same transaction as every task change, so
    -- listing 100,000 jobs reads one row each instead of aggregating their tasks.
    n_tasks INTEGER NOT NULL DEFAULT 0,
    n_pending INTEGER NOT NULL DEFAULT 0,
    n_queued INTEGER NOT NULL DEFAULT 0,
    n_running INTEGER NOT NULL DEFAULT 0,
    n_succeeded INTEGER NOT NULL DEFAULT 0,
    n_failed INTEGER NOT NULL DEFAULT 0,
    n_cancelled INTEGER NOT NULL DEFAULT 0,
    n_lost INTEGER NOT NULL DEFAULT 0,
    n_labelled INTEGER NOT NULL DEFAULT 0,
    -- The label every task shares, if they share one (kept by the code that sets labels).
    label TEXT,
    -- The exit code of the task that most recently failed.
    exit_code INTEGER,
    -- Same rule as deriveJobState() in src/domain/states.ts: active states first, then the worst outcome.
    lifecycle_state TEXT GENERATED ALWAYS AS (
      CASE WHEN n_running > 0 THEN 'running' WHEN n_queued > 0 THEN 'queued' WHEN n_pending > 0 THEN 'pending'
           WHEN n_failed > 0 THEN 'failed' WHEN n_lost > 0 THEN 'lost' WHEN n_cancelled > 0 THEN 'cancelled'
           ELSE 'succeeded' END) VIRTUAL
  );
  -- Indexes on the derived state: status reads counts per batch and state from the index alone, and
  -- --state filters and "needs attention" seek instead of scanning.
  CREATE INDEX jobs_by_batch_state ON jobs(batch, label, lifecycle_state);
  CREATE INDEX jobs_by_state ON jobs(lifecycle_state);
  CREATE TABLE dependencies (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    parent_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('ok', 'any')),
    PRIMARY KEY (job_id, parent_id)
  ) WITHOUT ROWID;
  CREATE INDEX dependencies_parent ON dependencies(parent_id);
  CREATE TABLE tasks (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    state TEXT NOT NULL,
    label TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    retries_left INTEGER NOT NULL DEFAULT 0,
    exit_code INTEGER,
    signal TEXT,
    reason TEXT,
    updated_at REAL NOT NULL,
    PRIMARY KEY (job_id, idx)
  ) WITHOUT ROWID;
  -- Not a partial index: SQLite only uses a partial index when it can prove the query implies its WHERE,
  -- and "state = 'queued'" does not prove "state IN (...)". Scans of finished tasks would grow with history.
  CREATE INDEX tasks_by_state ON tasks(state, job_id, idx);
  CREATE TRIGGER tasks_counted_on_insert AFTER INSERT ON tasks BEGIN
    UPDATE jobs SET n_tasks = n_tasks + 1,
      n_pending = n_pending + (NEW.state = 'pending'), n_queued = n_queued + (NEW.state = 'queued'),
      n_running = n_running + (NEW.state = 'running'), n_succeeded = n_succeeded + (NEW.state = 'succeeded'),
      n_failed = n_failed + (NEW.state = 'failed'), n_cancelled = n_cancelled + (NEW.state = 'cancelled'),
      n_lost = n_lost + (NEW.state = 'lost'), n_labelled = n_labelled + (NEW.label IS NOT NULL),
      exit_code = CASE WHEN NEW.state IN ('failed', 'lost', 'cancelled') THEN NEW.exit_code ELSE exit_code END
    WHERE id = NEW.job_id;
  END;
  CREATE TRIGGER tasks_counted_on_update AFTER UPDATE OF state, label ON tasks BEGIN
    UPDATE jobs SET
      n_pending = n_pending - (OLD.state = 'pending') + (NEW.state = 'pending'),
      n_queued = n_queued - (OLD.state = 'queued') + (NEW.state = 'queued'),
      n_running = n_running - (OLD.state = 'running') + (NEW.state = 'running'),
      n_succeeded = n_succeeded - (OLD.state = 'succeeded') + (NEW.state = 'succeeded'),
      n_failed = n_failed - (OLD.state = 'failed') + (NEW.state = 'failed'),
      n_cancelled = n_cancelled - (OLD.state = 'cancelled') + (NEW.state = 'cancelled'),
      n_lost = n_lost - (OLD.state = 'lost') + (NEW.state = 'lost'),
      n_labelled = n_labelled - (OLD.label IS NOT NULL) + (NEW.label IS NOT NULL),
      exit_code = CASE WHEN NEW.state IN ('failed', 'lost', 'cancelled') AND OLD.state <> NEW.state THEN NEW.exit_code ELSE exit_code END
    WHERE id = NEW.job_id;
  END;
  CREATE TRIGGER tasks_counted_on_delete AFTER DELETE ON tasks BEGIN
    UPDATE jobs SET n_tasks = n_tasks - 1,
      n_pending = n_pending - (OLD.state = 'pending'), n_queued = n_queued - (OLD.state = 'queued'),
      n_running = n_running - (OLD.state = 'running'), n_succeeded = n_succeeded - (OLD.state = 'succeeded'),
      n_failed = n_failed - (OLD.state = 'failed'), n_cancelled = n_cancelled - (OLD.state = 'cancelled'),
      n_lost = n_lost - (OLD.state = 'lost'), n_labelled = n_labelled - (OLD.label IS NOT NULL)
    WHERE id = OLD.job_id;
  END;
  CREATE TABLE attempts (
    id INTEGER PRIMARY KEY,
    job_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    n INTEGER NOT NULL,
    engine TEXT NOT NULL,
    engine_id TEXT,
    state TEXT NOT NULL,
    run_dir TEXT NOT NULL,
    submitted_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    host TEXT,
    pid INTEGER,
    pid_start TEXT,
    exit_code INTEGER,
    signal TEXT,
    reason TEXT,
    kill_reason TEXT,
    kill_sent_at REAL,
    devices TEXT,
    FOREIGN KEY (job_id, idx) REFERENCES tasks(job_id, idx) ON DELETE CASCADE,
    UNIQUE (job_id, idx, n)
  );
  CREATE INDEX attempts_by_state ON attempts(state, engine);
  CREATE TABLE supervisor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pid INTEGER NOT NULL,
    pid_start TEXT NOT NULL,
    host TEXT NOT NULL,
    started_at REAL NOT NULL,
    heartbeat_at REAL NOT NULL
  );
  `,
  /* 2: batch schedulers: pass-through arguments, the project tag, missing-job grace, the poll lease */ `
  -- Scheduler arguments given with --sched-arg, as a JSON array, passed through untouched.
  ALTER TABLE jobs ADD COLUMN sched_args TEXT NOT NULL DEFAULT '[]';
  -- When a scheduler was first seen not to know an attempt that had left no end marker: it becomes lost
  -- only after a grace period, since markers on NFS and accounting records arrive late.
  ALTER TABLE attempts ADD COLUMN missing_since REAL;
  CREATE TABLE project (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  -- Written into every scheduler job (comment, context) so a project finds its own jobs again.
  INSERT INTO project (key, value) VALUES ('tag', lower(hex(randomblob(4))));
  -- One refresher at a time per engine: it holds the row while it asks the scheduler; others read the cache.
  CREATE TABLE engine_polls (
    engine TEXT PRIMARY KEY,
    polled_at REAL NOT NULL DEFAULT 0,
    holder_pid INTEGER,
    holder_since REAL,
    -- What the last probe found (usable, MaxArraySize, accounting), so every CLI call need not ask again.
    probe TEXT,
    probed_at REAL
  ) WITHOUT ROWID;
  `,
  /* 3: workflows: sweep parameters, priorities, retry policies, definition hashes, runtime requests */ `
  -- A sweep point's parameters, as a JSON object (null for tasks that are not sweep points).
  ALTER TABLE tasks ADD COLUMN params TEXT;
  -- Escalated resources for the task's next attempts (a TIMEOUT doubles the time, an OOM grows the memory).
  ALTER TABLE tasks ADD COLUMN time_limit_s INTEGER;
  ALTER TABLE tasks ADD COLUMN mem_mb INTEGER;
  ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
  -- Which failures are retried (JSON list of failed, timeout, oom, lost) and how resources grow.
  ALTER TABLE jobs ADD COLUMN retry_on TEXT NOT NULL DEFAULT '["failed","timeout","oom"]';
  ALTER TABLE jobs ADD COLUMN escalate TEXT NOT NULL DEFAULT '{"time":2,"mem":1.5}';
  -- The hash of a job's definition in a description file (with its parents'), so \`corral run\` again
  -- can tell unchanged jobs from changed ones.
  ALTER TABLE jobs ADD COLUMN def_hash TEXT;
  CREATE INDEX jobs_by_batch_name ON jobs(batch, name);
  -- 'group': the implicit dependency of a priority group on the group before it.
  CREATE TABLE dependencies_new (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    parent_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('ok', 'any', 'group')),
    PRIMARY KEY (job_id, parent_id)
  ) WITHOUT ROWID;
  INSERT INTO dependencies_new SELECT job_id, parent_id, kind FROM dependencies;
  DROP TABLE dependencies;
  ALTER TABLE dependencies_new RENAME TO dependencies;
  CREATE INDEX dependencies_parent ON dependencies(parent_id);
  -- Requests that jobs wrote into their run directories (spawn, set, mark), applied exactly once. An
  -- attempt's requests are looked for while it runs and once more after it ended (requests_done = 1 then).
  ALTER TABLE attempts ADD COLUMN requests_done INTEGER NOT NULL DEFAULT 0;
  UPDATE attempts SET requests_done = 1 WHERE state NOT IN ('launching', 'queued', 'running');
  CREATE INDEX attempts_requests_pending ON attempts(requests_done) WHERE requests_done = 0;
  CREATE TABLE applied_requests (
    id TEXT PRIMARY KEY,
    applied_at REAL NOT NULL
  ) WITHOUT ROWID;
  `,
  // 4: the tags a job's tasks need from a Redis worker (--tags gpu,bigmem), as a sorted JSON array.
  `
  ALTER TABLE jobs ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
  `,
  // 5: engines that learn fates from an event log (HTCondor's user log) keep where they read it up to.
  `
  ALTER TABLE engine_polls ADD COLUMN cursor TEXT;
  `,
  /* 6: jobs whose dependencies may have become settled, kept by triggers, so settling costs what changed */ `
  -- settleDependencies() looks only at the jobs listed here, never at every waiting job: a project with
  -- 100,000 held jobs settles a submit as fast as an empty one. The triggers below add a job whenever
  -- something it waits on may have changed, in the same transaction as the change itself, so a crash can
  -- never lose a wake-up (the row is committed with the change, and removed only by the settle that used it).
  CREATE TABLE settle_queue (job_id INTEGER PRIMARY KEY);
  INSERT INTO settle_queue SELECT id FROM jobs WHERE n_pending > 0;
  -- A job starts waiting: submitted with --after or --hold, resubmitted, or revived by a resubmitted parent.
  CREATE TRIGGER settle_when_waiting AFTER UPDATE OF n_pending ON jobs WHEN OLD.n_pending = 0 AND NEW.n_pending > 0 BEGIN
    INSERT OR IGNORE INTO settle_queue (job_id) VALUES (NEW.id);
  END;
  -- A job ends (no task waiting or running any more): the jobs waiting for it.
  CREATE TRIGGER settle_dependents_on_end AFTER UPDATE OF n_pending, n_queued, n_running ON jobs
    WHEN OLD.n_pending + OLD.n_queued + OLD.n_running > 0 AND NEW.n_pending + NEW.n_queued + NEW.n_running = 0 BEGIN
    INSERT OR IGNORE INTO settle_queue (job_id) SELECT job_id FROM dependencies WHERE parent_id = NEW.id;
  END;
  CREATE TRIGGER settle_on_release AFTER UPDATE OF held ON jobs WHEN OLD.held = 1 AND NEW.held = 0 BEGIN
    INSERT OR IGNORE INTO settle_queue (job_id) VALUES (NEW.id);
  END;
  CREATE TRIGGER settle_on_new_dependency AFTER INSERT ON dependencies BEGIN
    INSERT OR IGNORE INTO settle_queue (job_id) VALUES (NEW.job_id);
  END;
  -- Dependents wait for an ended parent's requests (corral job spawn --before) to be applied.
  CREATE TRIGGER settle_on_requests_applied AFTER UPDATE OF requests_done ON attempts
    WHEN OLD.requests_done = 0 AND NEW.requests_done = 1 BEGIN
    INSERT OR IGNORE INTO settle_queue (job_id) SELECT job_id FROM dependencies WHERE parent_id = NEW.job_id;
  END;
  CREATE TRIGGER settle_on_parent_deleted BEFORE DELETE ON jobs BEGIN
    INSERT OR IGNORE INTO settle_queue (job_id) SELECT job_id FROM dependencies WHERE parent_id = OLD.id;
  END;
  -- What an engine may have to start, found without walking other engines' jobs or held ones: a refresh
  -- with 100,000 held jobs, or 100,000 local jobs beside a Slurm one, reads only the few rows it needs.
  CREATE INDEX jobs_queued_by_engine ON jobs(engine) WHERE n_queued > 0;
  CREATE INDEX jobs_waiting_by_engine ON jobs(engine) WHERE n_pending > 0 AND held = 0;
  `,
  /* 7: what each attempt used (corral report): filled in when the engine measures it or its accounting tells */ `
  -- NULL is "not known (yet)", never 0: accounting may arrive after the attempt ended, and fills in then.
  ALTER TABLE attempts ADD COLUMN cpu_s REAL;
  ALTER TABLE attempts ADD COLUMN max_rss_mb REAL;
  ALTER TABLE attempts ADD COLUMN alloc_cpus INTEGER;
  ALTER TABLE attempts ADD COLUMN alloc_mem_mb INTEGER;
  ALTER TABLE attempts ADD COLUMN alloc_time_s INTEGER;
  ALTER TABLE attempts ADD COLUMN usage_source TEXT;
  -- Until when an ended attempt's usage is still awaited (its usage marker, or the scheduler's accounting,
  -- which may lag the end); NULL once it is recorded or given up. The partial index keeps the refresh's
  -- usage pass to the few attempts that ended lately, however long the history.
  ALTER TABLE attempts ADD COLUMN usage_due REAL;
  CREATE INDEX attempts_awaiting_usage ON attempts(engine, usage_due) WHERE usage_due IS NOT NULL;
  `,
  /* 8: the report's figures per job name and batch, kept by triggers (corral report reads a few rows) */ `
  -- Per job name and batch (a job with none: '(none)'), what its ended attempts add up to: counts, causes of
  -- failure, the sum of their CPU efficiencies, the smallest job id it has had (its place in the report; a
  -- deleted first job keeps it), and in usage_values
  -- how many gave each value: wall and mem at three significant digits, cores to 0.01 (the quantiles come
  -- from these counts), and each engine-and-requests key. Triggers keep both in the same transaction as the
  -- attempt, so they can never disagree with it after a crash.
  CREATE TABLE usage_groups (
    name TEXT NOT NULL,
    batch TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    tasks INTEGER NOT NULL,
    first_job INTEGER NOT NULL,
    oom INTEGER NOT NULL,
    timeout INTEGER NOT NULL,
    other INTEGER NOT NULL,
    eff_n INTEGER NOT NULL,
    eff_sum REAL NOT NULL,
    PRIMARY KEY (name, batch)
  ) WITHOUT ROWID;
  CREATE TABLE usage_values (
    name TEXT NOT NULL,
    batch TEXT NOT NULL,
    field TEXT NOT NULL,
    key ANY NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (name, batch, field, key)
  ) WITHOUT ROWID;
  ${rollupBackfill()}
  CREATE TRIGGER usage_rollup_on_insert AFTER INSERT ON attempts WHEN ${ENDED_SQL("NEW")} BEGIN
    ${rollupUpsert("NEW", 1)};
  END;
  CREATE TRIGGER usage_rollup_before_update BEFORE UPDATE OF ${ROLLUP_INPUTS.join(", ")} ON attempts
    WHEN ${ENDED_SQL("OLD")} AND (${ROLLUP_CHANGED}) BEGIN
    ${rollupUpsert("OLD", -1)};
  END;
  CREATE TRIGGER usage_rollup_after_update AFTER UPDATE OF ${ROLLUP_INPUTS.join(", ")} ON attempts
    WHEN ${ENDED_SQL("NEW")} AND (${ROLLUP_CHANGED}) BEGIN
    ${rollupUpsert("NEW", 1)};
  END;
  -- An attempt deleted with its job is taken out here: by the time the cascade reaches it, the job (its
  -- name and batch) is gone. An attempt deleted on its own is taken out by the attempts trigger below.
  CREATE TRIGGER usage_rollup_on_job_delete BEFORE DELETE ON jobs BEGIN
    ${rollupUpsert("a", -1, "OLD.id")};
    -- What nothing counts any more goes (a cleaned-up batch leaves no rows behind): only the rows this job's
    -- attempts touched, so deleting a job costs its own attempts, not its group's.
    DELETE FROM usage_values WHERE n = 0 AND (name, batch, field, key) IN (${rollupValues(rollupBase("a", "OLD.id"))});
    DELETE FROM usage_groups WHERE name = OLD.name AND batch = coalesce(OLD.batch, '(none)') AND attempts = 0;
  END;
  CREATE TRIGGER usage_rollup_on_attempt_delete BEFORE DELETE ON attempts WHEN ${ENDED_SQL("OLD")} BEGIN
    ${rollupUpsert("OLD", -1)};
  END;
  `,
  /* 9: status's counts of jobs per batch and label-or-state, kept */ `
  -- What \`corral status\` tabulates for a whole project, kept by triggers on jobs in the same transaction as
  -- each change of a job's state (which the task triggers make), so status reads a few rows instead of
  -- counting every job. A job without a batch has has_batch = 0 (a batch may be named ''). Rows at 0 go.
  CREATE TABLE batch_counts (
    has_batch INTEGER NOT NULL,
    batch TEXT NOT NULL,
    state TEXT NOT NULL,
    jobs INTEGER NOT NULL,
    PRIMARY KEY (has_batch, batch, state)
  ) WITHOUT ROWID;
  INSERT INTO batch_counts (has_batch, batch, state, jobs)
    SELECT ${BATCH_KEY("j")}, count(*) FROM jobs j GROUP BY 1, 2, 3;
  CREATE TRIGGER batch_counted_on_insert AFTER INSERT ON jobs BEGIN
    ${batchCounted("NEW")};
  END;
  -- The columns lifecycle_state is computed from, and the label: a job moves between rows only when its
  -- label-or-state (or batch) really changes, not at each of a sweep's million task updates.
  CREATE TRIGGER batch_counted_on_update AFTER UPDATE OF batch, label, n_pending, n_queued, n_running, n_failed, n_lost, n_cancelled ON jobs
    WHEN OLD.batch IS NOT NEW.batch OR coalesce(OLD.label, OLD.lifecycle_state) IS NOT coalesce(NEW.label, NEW.lifecycle_state) BEGIN
    ${batchUncounted("OLD")};
    ${batchCounted("NEW")};
  END;
  CREATE TRIGGER batch_counted_on_delete AFTER DELETE ON jobs BEGIN
    ${batchUncounted("OLD")};
  END;
  `,
  /* 10: each ended job's \`ls --json\` summary, kept rendered */ `
  -- \`corral ls --json\` of 100,000 jobs reads these texts instead of rendering each job's (about 4 µs a job),
  -- kept by triggers on jobs in the same transaction as each change. Only an ended job's is kept, rendered
  -- once as it ends (an active job changes at every task's start and end, and most jobs of a long history
  -- have ended). None where the listing renders it itself: an active job, or one of many tasks (see
  -- KEPT_SUMMARY_MAX_TASKS), whose every task's change would render it again.
  CREATE TABLE job_summaries (
    job_id INTEGER PRIMARY KEY,
    json TEXT NOT NULL
  );
  INSERT INTO job_summaries (job_id, json) SELECT j.id, ${summaryJsonSql("j")} FROM jobs j WHERE ${SUMMARY_KEPT("j")};
  CREATE TRIGGER job_summary_kept AFTER UPDATE OF ${SUMMARY_INPUTS.join(", ")} ON jobs WHEN ${SUMMARY_KEPT("NEW")} BEGIN
    INSERT OR REPLACE INTO job_summaries (job_id, json) VALUES (NEW.id, ${summaryJsonSql("NEW")});
  END;
  -- Active again (a resubmit), or grown past the limit: the listing renders it again.
  CREATE TRIGGER job_summary_dropped AFTER UPDATE OF ${SUMMARY_INPUTS.join(", ")} ON jobs
    WHEN OLD.n_pending + OLD.n_queued + OLD.n_running = 0 AND NOT (${SUMMARY_KEPT("NEW")}) BEGIN
    DELETE FROM job_summaries WHERE job_id = NEW.id;
  END;
  CREATE TRIGGER job_summary_on_delete AFTER DELETE ON jobs BEGIN
    DELETE FROM job_summaries WHERE job_id = OLD.id;
  END;
  `,
  /* 11: \`ls\`'s column widths, kept */ `
  -- \`corral ls\` pads each column to its widest cell. For a whole project it reads the widest from here (and
  -- the state's from batch_counts, the age's from the oldest job) instead of measuring 100,000 rows first,
  -- kept by triggers on jobs in the same transaction as each change, as batch_counts is. Counts, not a
  -- maximum, so a deleted job's or a resubmitted one's narrower cell gives the width back.
  CREATE TABLE listing_widths (
    col TEXT NOT NULL,
    width INTEGER NOT NULL,
    jobs INTEGER NOT NULL,
    PRIMARY KEY (col, width)
  ) WITHOUT ROWID;
  ${Object.keys(WIDTH_OF)
    .map((col) => `INSERT INTO listing_widths (col, width, jobs) SELECT '${col}', ${WIDTH_OF[col]!("j")}, count(*) FROM jobs j GROUP BY 2;`)
    .join("\n  ")}
  CREATE INDEX jobs_by_created ON jobs(created_at);
  CREATE TRIGGER listing_widths_on_insert AFTER INSERT ON jobs BEGIN
    ${Object.keys(WIDTH_OF)
      .map((col) => `${widthCounted(col, "NEW")};`)
      .join("\n    ")}
  END;
  ${widthKeptOnUpdate("name", "name")}
  ${widthKeptOnUpdate("engine", "engine")}
  ${widthKeptOnUpdate("tasks", "n_tasks, n_succeeded, n_failed, n_cancelled, n_lost")}
  CREATE TRIGGER listing_widths_on_delete AFTER DELETE ON jobs BEGIN
    ${Object.keys(WIDTH_OF)
      .map((col) => `${widthUncounted(col, "OLD")};`)
      .join("\n    ")}
  END;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
