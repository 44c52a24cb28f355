import { createHash } from "node:crypto";
import path from "node:path";
import type { Store } from "../store/store.js";

/**
 * Fills a store with `count` finished jobs (one task, one attempt each, with what it used; every 50th failed,
 * spread over 20 batches) straight through SQL, as years of use would leave it. Only for measuring reads.
 */
export function seedHistory(store: Store, count: number): void {
  const env = JSON.stringify({ PATH: "/usr/bin:/bin", HOME: "/home/user" });
  const hash = createHash("sha256").update(env).digest("hex");
  store.write(() => {
    store.stmt("INSERT OR IGNORE INTO environments (hash, vars) VALUES (?, ?)").run(hash, env);
    const envId = store.stmt("SELECT id FROM environments WHERE hash = ?").pluck().get(hash);
    const job = store.stmt(
      `INSERT INTO jobs (name, batch, argv, cwd, env_id, umask, engine, created_at, command) VALUES (?, ?, ?, '/home/user/project', ?, 18, 'local', ?, ?)`,
    );
    const task = store.stmt("INSERT INTO tasks (job_id, idx, state, attempts, exit_code, reason, updated_at) VALUES (?, 1, ?, 1, ?, ?, ?)");
    const attempt = store.stmt(
      // requests_done = 1: attempts that ended as corral finishes them (they made no requests).
      `INSERT INTO attempts (job_id, idx, n, engine, engine_id, state, run_dir, submitted_at, started_at, ended_at, host, exit_code, requests_done,
                             cpu_s, max_rss_mb, usage_source)
       VALUES (?, 1, 1, 'local', ?, ?, ?, ?, ?, ?, 'node01', ?, 1, ?, ?, 'rusage')`,
    );
    const t = Date.now() / 1000 - count;
    for (let i = 1; i <= count; i++) {
      const failed = i % 50 === 0;
      const state = failed ? "failed" : "succeeded";
      const exit = failed ? 1 : 0;
      const argv = ["python", "run.py", "--input", `data/${i}.csv`];
      const res = job.run(`step-${i % 1000}`, `batch-${i % 20}`, JSON.stringify(argv), envId, t + i, argv.join(" "));
      const id = Number(res.lastInsertRowid);
      task.run(id, state, exit, failed ? "exit code 1" : null, t + i);
      attempt.run(id, String(100000 + i), state, path.join(store.runsDir, String(id), "1", "1"), t + i, t + i, t + i + 1, exit, (i % 97) / 100, 50 + (i % 200));
    }
  });
}

/**
 * One running sweep of `count` tasks straight through SQL: 60% succeeded (every 100th of those failed), two
 * running, the rest queued, each with its point's parameters; the supervisor lease is given to `holder`. Only
 * for measuring reads.
 */
export function seedSweep(store: Store, count: number, holder: { pid: number; pidStart: string; host: string }): void {
  const env = JSON.stringify({ PATH: "/usr/bin:/bin" });
  const now = Date.now() / 1000;
  store.write(() => {
    store.stmt("INSERT OR IGNORE INTO environments (hash, vars) VALUES (?, ?)").run(createHash("sha256").update(env).digest("hex"), env);
    const envId = store.stmt("SELECT id FROM environments WHERE vars = ?").pluck().get(env);
    const argv = JSON.stringify(["python", "train.py", "--lr", "{lr}", "--seed", "{seed}"]);
    const job = store
      .stmt(
        `INSERT INTO jobs (name, batch, argv, cwd, env_id, umask, engine, array_spec, created_at, command) VALUES ('train', 'sweep', ?, '/home/user/project', ?, 18, 'local', ?, ?, ?)`,
      )
      .run(argv, envId, `1-${count}`, now - 3600, "python train.py --lr {lr} --seed {seed}");
    const id = Number(job.lastInsertRowid);
    // Generated inside SQLite (a recursive series): a million rows through JavaScript take minutes on a loaded machine.
    const ended = Math.floor(count * 0.6);
    store
      .stmt(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?),
              s(i, state) AS (SELECT i, CASE WHEN i <= ? THEN CASE WHEN i % 100 = 0 THEN 'failed' ELSE 'succeeded' END
                                             WHEN i <= ? + 2 THEN 'running' ELSE 'queued' END FROM n)
         INSERT INTO tasks (job_id, idx, state, attempts, exit_code, updated_at, params)
         SELECT ?, i, state, state <> 'queued', CASE state WHEN 'failed' THEN 1 WHEN 'succeeded' THEN 0 END, ?,
                json_object('lr', 1.0 / (1 << (i % 5)), 'seed', i) FROM s`,
      )
      .run(count, ended, ended, id, now);
    store
      .stmt(
        `INSERT INTO attempts (job_id, idx, n, engine, state, run_dir, submitted_at, started_at, ended_at, host, pid, exit_code, requests_done)
         SELECT t.job_id, t.idx, 1, 'local', t.state, ? || '/' || t.idx || '/1', ? + t.idx * ?, ? + t.idx * ?,
                CASE WHEN t.state = 'running' THEN NULL ELSE ? + t.idx * ? + 1 END, 'node01',
                CASE WHEN t.state = 'running' THEN ? END, t.exit_code, t.state <> 'running'
         FROM tasks t WHERE t.job_id = ? AND t.state <> 'queued'`,
      )
      .run(path.join(store.runsDir, String(id)), now - 3600, 3000 / count, now - 3600, 3000 / count, now - 3600, 3000 / count, holder.pid, id);
    store
      .stmt("INSERT OR REPLACE INTO supervisor (id, pid, pid_start, host, started_at, heartbeat_at) VALUES (1, ?, ?, ?, ?, ?)")
      .run(holder.pid, holder.pidStart, holder.host, now, now);
  });
}

/** The state a seeded array task ended in: mostly succeeded, with failures, cancellations and losses mixed in. */
function seededState(i: number): "succeeded" | "failed" | "cancelled" | "lost" {
  return i % 97 === 0 ? "lost" : i % 31 === 0 ? "cancelled" : i % 13 === 0 ? "failed" : "succeeded";
}

/**
 * Adds one finished array job of `tasks` tasks (one attempt each, over 8 hosts with 4 slots each) straight
 * through SQL, for measuring the dashboard's reads and drawing its task grid. Returns the job's id.
 */
export function seedArray(store: Store, tasks: number, opts: { name?: string; batch?: string } = {}): number {
  const env = JSON.stringify({ PATH: "/usr/bin:/bin", HOME: "/home/user" });
  const hash = createHash("sha256").update(env).digest("hex");
  return store.write(() => {
    store.stmt("INSERT OR IGNORE INTO environments (hash, vars) VALUES (?, ?)").run(hash, env);
    const envId = store.stmt("SELECT id FROM environments WHERE hash = ?").pluck().get(hash);
    const argv = ["python", "sweep.py", "--point", "$CORRAL_TASK_ID"];
    const t = Date.now() / 1000 - (tasks / 32) * 60 - 60;
    const res = store
      .stmt(
        `INSERT INTO jobs (name, batch, argv, cwd, env_id, umask, engine, array_spec, created_at, command) VALUES (?, ?, ?, '/home/user/project', ?, 18, 'local', ?, ?, ?)`,
      )
      .run(opts.name ?? "sweep", opts.batch ?? "sweep-1", JSON.stringify(argv), envId, `1-${tasks}`, t, argv.join(" "));
    const id = Number(res.lastInsertRowid);
    const task = store.stmt("INSERT INTO tasks (job_id, idx, state, attempts, exit_code, reason, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?)");
    const attempt = store.stmt(
      `INSERT INTO attempts (job_id, idx, n, engine, engine_id, state, run_dir, submitted_at, started_at, ended_at, host, exit_code, reason, requests_done)
       VALUES (?, ?, 1, 'local', ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
    );
    for (let i = 1; i <= tasks; i++) {
      const state = seededState(i);
      const exit = state === "failed" ? 1 : state === "succeeded" ? 0 : null;
      const reason =
        state === "failed" ? "exit code 1" : state === "lost" ? "the host stopped answering" : state === "cancelled" ? "cancelled by the user" : null;
      // 32 slots (4 on each of 8 hosts): tasks start 32 at a time every minute and run 20 to 50 s.
      const start = t + Math.floor(i / 32) * 60 + (i % 7);
      const end = start + 20 + ((i * 7919) % 31);
      task.run(id, i, state, exit, reason, end);
      attempt.run(
        id,
        i,
        String(200000 + i),
        state,
        path.join(store.runsDir, String(id), String(i), "1"),
        start,
        start,
        end,
        `node0${(i % 8) + 1}`,
        exit,
        reason,
      );
    }
    return id;
  });
}
