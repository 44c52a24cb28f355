import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { buildSelection, EVERYTHING } from "../domain/selection.js";
import { random } from "../testing/random.js";
import { tempDir } from "../testing/temp.js";
import { MIGRATIONS } from "./migrations.js";
import { listJobs, countByBatch } from "./queries.js";
import { summariesJson } from "./listing.js";
import { Store } from "./store.js";
import { SUMMARY_KEPT, summaryJsonSql } from "./summary-json.js";

/**
 * `corral status` reads a whole project's counts from batch_counts (migration 9), and `corral ls --json` ended
 * jobs' summaries from job_summaries (migration 10), and `corral ls` its column widths from listing_widths
 * (migration 11), all kept by triggers on jobs: they must always be what counting, rendering and measuring
 * the jobs says, through every kind of change, and after an upgrade.
 */

const COUNTED_SQL = `SELECT j.batch AS batch, coalesce(j.label, j.lifecycle_state) AS state, count(*) AS jobs FROM jobs j
  GROUP BY j.batch, 2 ORDER BY j.batch, 2`;
const TASK_STATES = ["pending", "queued", "running", "succeeded", "failed", "cancelled", "lost"];
const BATCHES = [null, "", "genome", "génome", "sweep"];

/** Statements on either a Store or a bare database (for one made by older migrations). */
type Prepares = (sql: string) => { run: (...params: unknown[]) => { lastInsertRowid: number | bigint } };

function insertJobs(prepare: Prepares, pick: (n: number) => number, count: number): void {
  const job = prepare(
    "INSERT INTO jobs (name, batch, argv, cwd, env_id, umask, engine, created_at, command) VALUES (?, ?, '[]', '/p', 1, 18, 'local', 0, 'c')",
  );
  const task = prepare("INSERT INTO tasks (job_id, idx, state, updated_at) VALUES (?, ?, ?, 0)");
  for (let i = 0; i < count; i++) {
    const id = Number(job.run(`j${i}`, BATCHES[pick(BATCHES.length)]).lastInsertRowid);
    // Now and then a job of more tasks than keep a summary (see SUMMARY_KEPT), all ended or not.
    const tasks = pick(10) === 0 ? 101 + pick(2) : 1 + pick(3);
    for (let t = 1; t <= tasks; t++) task.run(id, t, TASK_STATES[tasks > 100 ? 3 + pick(2) : pick(TASK_STATES.length)]);
  }
}

/**
 * The kept summaries are those of exactly the jobs that keep one, each as rendered from its row now; and
 * `ls --json`, which reads them, is JSON.stringify of the summaries.
 */
function assertSummariesKept(db: { prepare: (sql: string) => { all: () => unknown[] } }, label: string): void {
  const stale = db
    .prepare(
      `SELECT j.id, k.json IS NULL AS missing FROM jobs j LEFT JOIN job_summaries k ON k.job_id = j.id
       WHERE (${SUMMARY_KEPT("j")}) IS NOT (k.json IS NOT NULL) OR (k.json IS NOT NULL AND k.json IS NOT ${summaryJsonSql("j")})`,
    )
    .all();
  assert.deepEqual(stale, [], `kept summaries ${label}`);
  assert.deepEqual(db.prepare("SELECT job_id FROM job_summaries WHERE job_id NOT IN (SELECT id FROM jobs)").all(), [], `summaries of deleted jobs ${label}`);
}

/** The kept counts of ls's cell widths (migration 11) are those of the jobs' cells, measured now. */
function assertWidthsKept(db: { prepare: (sql: string) => { all: () => unknown[] } }, label: string): void {
  const tasks = "length((j.n_succeeded + j.n_failed + j.n_cancelled + j.n_lost) || '/' || j.n_tasks)";
  const measured = db
    .prepare(
      `SELECT col, width, count(*) AS jobs FROM (SELECT 'engine' AS col, length(j.engine) AS width FROM jobs j
         UNION ALL SELECT 'name', length(j.name) FROM jobs j UNION ALL SELECT 'tasks', ${tasks} FROM jobs j) GROUP BY col, width ORDER BY col, width`,
    )
    .all();
  assert.deepEqual(db.prepare("SELECT col, width, jobs FROM listing_widths ORDER BY col, width").all(), measured, `kept widths ${label}`);
}

function emptyStore(): Store {
  const store = Store.open({ path: path.join(tempDir("corral-batch-counts-"), ".corral", "corral.db"), create: true });
  store.write(() => store.stmt("INSERT INTO environments (hash, vars) VALUES ('h', '{}')").run());
  return store;
}

test("kept counts per batch and state, kept summaries and kept cell widths are the jobs counted, rendered and measured, through task changes, labels, moves and deletes", () => {
  const store = emptyStore();
  const pick = random(7);
  store.write(() => insertJobs((sql) => store.stmt(sql), pick, 60));
  for (let round = 0; round < 40; round++) {
    store.write(() => {
      const ids = store.stmt("SELECT id FROM jobs").pluck().all() as number[];
      const id = ids[pick(ids.length)]!;
      switch (pick(7)) {
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
        case 5:
          // Every task of a job at once: one ends it, another (a resubmit) makes it active again.
          store.stmt("UPDATE tasks SET state = ? WHERE job_id = ?").run(pick(2) ? "succeeded" : "queued", id);
          store.stmt("UPDATE jobs SET name = ? WHERE id = ?").run(`renamed ${round}`, id);
          break;
        default:
          insertJobs((sql) => store.stmt(sql), pick, 3);
      }
    });
    assert.deepEqual(countByBatch(store), store.stmt(COUNTED_SQL).all(), `after round ${round}`);
    assertSummariesKept(store.db, `after round ${round}`);
    assertWidthsKept(store.db, `after round ${round}`);
  }
  // Each column a summary shows, changed on an ended job.
  const kept = store.stmt("SELECT job_id FROM job_summaries LIMIT 1").pluck().get() as number;
  assert.ok(kept, "some summaries are kept");
  for (const [column, value] of [
    ["name", "renamed"],
    ["batch", "moved"],
    ["label", "checked"],
    ["exit_code", 9],
    ["engine", "slurm"],
    ["command", "c2"],
    ["array_spec", "1-2"],
    ["created_at", 12.5],
  ] as const) {
    store.write(() => store.stmt(`UPDATE jobs SET ${column} = ? WHERE id = ?`).run(value, kept));
    assertSummariesKept(store.db, `after a change of ${column}`);
    assertWidthsKept(store.db, `after a change of ${column}`);
  }
  assert.equal([...summariesJson(store, EVERYTHING, 7)].join(""), JSON.stringify(listJobs(store, EVERYTHING), null, 2));
  // What nothing counts any more is gone, and a narrowed selection still counts its jobs.
  assert.equal(store.stmt("SELECT count(*) FROM batch_counts WHERE jobs <= 0").pluck().get(), 0);
  store.write(() => store.stmt("DELETE FROM jobs").run());
  assert.deepEqual(countByBatch(store), []);
  assert.equal(store.stmt("SELECT count(*) FROM batch_counts").pluck().get(), 0);
  assert.equal(store.stmt("SELECT count(*) FROM listing_widths").pluck().get(), 0);
  store.write(() => insertJobs((sql) => store.stmt(sql), pick, 10));
  const genome = buildSelection({ ids: ["batch=genome"] });
  assert.deepEqual(
    countByBatch(store, genome),
    (store.stmt(COUNTED_SQL).all() as { batch: string | null }[]).filter((r) => r.batch === "genome"),
  );
});

test("a database made before the counts and summaries were kept gets them when it is upgraded", () => {
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
  assertSummariesKept(store.db, "after the upgrade");
  assertWidthsKept(store.db, "after the upgrade");
  assert.ok((countByBatch(store) as { state: string }[]).some((r) => r.state === "collected"));
});
