/**
 * Schema migrations, applied in order inside one transaction each. Never edit a released migration:
 * add a new one. `schema_version` holds the number of migrations applied.
 */
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
    created_at REAL NOT NULL
  );
  CREATE INDEX jobs_batch ON jobs(batch);
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
];

export const SCHEMA_VERSION = MIGRATIONS.length;
