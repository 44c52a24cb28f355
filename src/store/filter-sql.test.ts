import assert from "node:assert/strict";
import { test } from "node:test";
import Database from "better-sqlite3";
import { parseFilterTerm } from "../domain/filter.js";
import { filterSql } from "./filter-sql.js";

// A real SQLite with the columns the filter reads, to show the SQL is parameterised and does what it says.
function db(): Database.Database {
  const d = new Database(":memory:");
  d.exec(`CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT, batch TEXT, engine TEXT, lifecycle_state TEXT, label TEXT, exit_code INTEGER, created_at REAL, priority INTEGER, n_tasks INTEGER);
          CREATE TABLE tasks (job_id INTEGER, idx INTEGER, params TEXT);
          INSERT INTO jobs VALUES (1, 'map', 'genome', 'local', 'failed', NULL, 3, 1767225600, 0, 2), (2, 'reduce', 'genome', 'slurm', 'succeeded', 'collected', 0, 1735689600, 5, 1),
                                  (3, 'x'' OR 1=1 --', NULL, 'local', 'succeeded', NULL, 0, 1767225600, 0, 1);
          INSERT INTO tasks VALUES (1, 1, '{"lr":0.1}'), (1, 2, '{"lr":0.001}'), (2, 1, '{"lr":0.001,"opt":"adam"}');`);
  return d;
}

function ids(d: Database.Database, ...terms: string[]): number[] {
  const f = filterSql(terms.map(parseFilterTerm));
  return d
    .prepare(`SELECT j.id FROM jobs j WHERE ${f.where} ORDER BY j.id`)
    .pluck()
    .all(...f.params) as number[];
}

test("terms select the right jobs: states and labels, globs, numbers, dates, parameters", () => {
  const d = db();
  assert.deepEqual(ids(d, "state=failed"), [1]);
  assert.deepEqual(ids(d, "state=collected"), [2]);
  assert.deepEqual(ids(d, "name~m*", "batch=genome"), [1]);
  assert.deepEqual(ids(d, "exit!=0"), [1]);
  assert.deepEqual(ids(d, "created>2026-01-01"), []);
  assert.deepEqual(ids(d, "created>=2026-01-01"), [1, 3]);
  assert.deepEqual(ids(d, "param.lr>0.01"), [1]);
  assert.deepEqual(ids(d, "param.opt=adam"), [2]);
  assert.deepEqual(ids(d, "priority>=5"), [2]);
});

test("SQL injection attempts are matched literally or refused, never executed", () => {
  const d = db();
  assert.deepEqual(ids(d, "name=x' OR 1=1 --"), [3], "the whole value is one literal name");
  assert.deepEqual(ids(d, "name=' OR '1'='1"), []);
  assert.deepEqual(ids(d, `batch="genome" OR 1=1`), []);
  assert.throws(() => parseFilterTerm("param.lr);DROP TABLE jobs;--=1"), /expected FIELD OP VALUE/);
  assert.throws(() => parseFilterTerm("name;DROP TABLE jobs=1"), /expected FIELD OP VALUE/);
  assert.throws(() => parseFilterTerm("exit>0 OR 1=1"), /needs a whole number/);
  assert.equal(d.prepare("SELECT count(*) FROM jobs").pluck().get() as number, 3, "the table is intact");
});
