import { createHash } from "node:crypto";
import path from "node:path";
import type { Store } from "../store/store.js";

/**
 * Fills a store with `count` finished jobs (one task, one attempt each; every 50th failed, spread over 20
 * batches) straight through SQL, as years of use would leave it. Only for measuring reads.
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
      `INSERT INTO attempts (job_id, idx, n, engine, engine_id, state, run_dir, submitted_at, started_at, ended_at, host, exit_code, requests_done)
       VALUES (?, 1, 1, 'local', ?, ?, ?, ?, ?, ?, 'node01', ?, 1)`,
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
      attempt.run(id, String(100000 + i), state, path.join(store.runsDir, String(id), "1", "1"), t + i, t + i, t + i + 1, exit);
    }
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
