import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { buildSelection } from "../domain/selection.js";
import { tempDir } from "../testing/temp.js";
import { MIGRATIONS } from "./migrations.js";
import { countByBatch } from "./queries.js";
import { Store } from "./store.js";

/**
 * `corral status` reads a whole project's counts from batch_counts (migration 9), kept by triggers on jobs:
 * they must always be what counting the jobs says, through every kind of change, and after an upgrade.
 */

const COUNTED_SQL = `SELECT j.batch AS batch, coalesce(j.label, j.lifecycle_state) AS state, count(*) AS jobs FROM jobs j
  GROUP BY j.batch, 2 ORDER BY j.batch, 2`;
const TASK_STATES = ["pending", "queued", "running", "succeeded", "failed", "cancelled", "lost"];
const BATCHES = [null, "", "genome", "génome", "sweep"];

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x % n;
  };
}

/** Statements on either a Store or a bare database (for one made by older migrations). */
type Prepares = (sql: string) => { run: (...params: unknown[]) => { lastInsertRowid: number | bigint } };

function insertJobs(prepare: Prepares, pick: (n: number) => number, count: number): void {
  const job = prepare(
    "INSERT INTO jobs (name, batch, argv, cwd, env_id, umask, engine, created_at, command) VALUES (?, ?, '[]', '/p', 1, 18, 'local', 0, 'c')",
  );
  const task = prepare("INSERT INTO tasks (job_id, idx, state, updated_at) VALUES (?, ?, ?, 0)");
  for (let i = 0; i < count; i++) {
    const id = Number(job.run(`j${i}`, BATCHES[pick(BATCHES.length)]).lastInsertRowid);
    for (let t = 1, n = 1 + pick(3); t <= n; t++) task.run(id, t, TASK_STATES[pick(TASK_STATES.length)]);
  }
}

function emptyStore(): Store {
  const store = Store.open({ path: path.join(tempDir("corral-batch-counts-"), ".corral", "corral.db"), create: true });
  store.write(() => store.stmt("INSERT INTO environments (hash, vars) VALUES ('h', '{}')").run());
  return store;
}

test("kept counts per batch and state are the jobs counted, through task changes, labels, moves and deletes", () => {
  const store = emptyStore();
  const pick = random(7);
  store.write(() => insertJobs((sql) => store.stmt(sql), pick, 60));
  for (let round = 0; round < 40; round++) {
    store.write(() => {
      const ids = store.stmt("SELECT id FROM jobs").pluck().all() as number[];
      const id = ids[pick(ids.length)]!;
      switch (pick(6)) {
        case 0:
          store.stmt("UPDATE tasks SET state = ? WHERE job_id = ? AND idx = 1").run(TASK_STATES[pick(TASK_STATES.length)], id);
          break;
        case 1:
          store.stmt("UPDATE jobs SET label = ? WHERE id = ?").run(pick(2) ? "collected" : null, id);
          break;
        case 2:
          store.stmt("UPDATE jobs SET batch = ? WHERE id = ?").run(BATCHES[pick(BATCHES.length)], id);
          break;
        case 3:
          store.stmt("DELETE FROM tasks WHERE job_id = ? AND idx = 1").run(id);
          break;
        case 4:
          store.stmt("DELETE FROM jobs WHERE id = ?").run(id);
          break;
        default:
          insertJobs((sql) => store.stmt(sql), pick, 3);
      }
    });
    assert.deepEqual(countByBatch(store), store.stmt(COUNTED_SQL).all(), `after round ${round}`);
  }
  // What nothing counts any more is gone, and a narrowed selection still counts its jobs.
  assert.equal(store.stmt("SELECT count(*) FROM batch_counts WHERE jobs <= 0").pluck().get(), 0);
  store.write(() => store.stmt("DELETE FROM jobs").run());
  assert.deepEqual(countByBatch(store), []);
  assert.equal(store.stmt("SELECT count(*) FROM batch_counts").pluck().get(), 0);
  store.write(() => insertJobs((sql) => store.stmt(sql), pick, 10));
  const genome = buildSelection({ ids: ["batch=genome"] });
  assert.deepEqual(
    countByBatch(store, genome),
    (store.stmt(COUNTED_SQL).all() as { batch: string | null }[]).filter((r) => r.batch === "genome"),
  );
});

test("a database made before the counts were kept gets them counted when it is upgraded", () => {
  const file = path.join(tempDir("corral-batch-counts-upgrade-"), "corral.db");
  const old = new Database(file);
  for (const m of MIGRATIONS.slice(0, 8)) old.exec(m);
  old.exec("CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (8)");
  old.exec("INSERT INTO environments (hash, vars) VALUES ('h', '{}')");
  insertJobs((sql) => old.prepare<unknown[]>(sql), random(3), 50);
  old.exec("UPDATE jobs SET label = 'collected' WHERE id % 7 = 0");
  old.close();
  const store = Store.open({ path: file });
  assert.deepEqual(countByBatch(store), store.stmt(COUNTED_SQL).all());
  assert.ok((countByBatch(store) as { state: string }[]).some((r) => r.state === "collected"));
});
