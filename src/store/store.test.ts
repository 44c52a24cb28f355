import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import fc from "fast-check";
import { deriveJobState, LIFECYCLE_STATES, type LifecycleState } from "../domain/states.js";
import { StoreError } from "../domain/errors.js";
import { findDatabase } from "./locate.js";
import { SCHEMA_VERSION } from "./migrations.js";
import { Store } from "./store.js";
import { tempDir } from "../testing/temp.js";

const tmp = () => tempDir("corral-store-");

test("a new database is created user-only with the current schema version", () => {
  const dir = tmp();
  const file = path.join(dir, ".corral", "corral.db");
  const store = Store.open({ path: file, create: true });
  assert.equal(store.stmt("SELECT version FROM schema_version").pluck().get(), SCHEMA_VERSION);
  assert.equal(store.journal, "wal");
  store.close();
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
});

test("reads inside Store.read see one moment, whatever another connection commits meanwhile", () => {
  const file = path.join(tmp(), ".corral", "corral.db");
  const writer = Store.open({ path: file, create: true });
  const reader = Store.open({ path: file, readonly: true });
  const count = () => reader.stmt("SELECT count(*) FROM environments").pluck().get() as number;
  const seen = reader.read(() => {
    const first = count();
    writer.write(() => writer.stmt("INSERT INTO environments (hash, vars) VALUES ('h', '{}')").run());
    return [first, count()];
  });
  assert.deepEqual(seen, [0, 0]);
  assert.equal(count(), 1, "the next read sees the commit");
  reader.close();
  writer.close();
});

test("the database is found in the nearest ancestor folder that has .corral, like git finds .git", () => {
  const dir = tmp();
  Store.open({ path: path.join(dir, ".corral", "corral.db"), create: true }).close();
  const deep = path.join(dir, "a", "b");
  fs.mkdirSync(deep, { recursive: true });
  assert.equal(findDatabase({ cwd: deep, env: {} }), path.join(dir, ".corral", "corral.db"));
  assert.equal(findDatabase({ cwd: deep, env: { CORRAL_DB: "/x/y.db" } }), "/x/y.db");
  assert.equal(findDatabase({ cwd: deep, db: "z.db", env: { CORRAL_DB: "/x/y.db" } }), path.join(deep, "z.db"));
});

test("on a network filesystem the rollback journal is used, never WAL", () => {
  const dir = tmp();
  process.env.CORRAL_ASSUME_NFS = "1";
  try {
    const store = Store.open({ path: path.join(dir, "c.db"), create: true });
    assert.equal(store.journal, "delete");
    assert.equal(String(store.db.pragma("journal_mode", { simple: true })).toLowerCase(), "delete");
    store.close();
  } finally {
    delete process.env.CORRAL_ASSUME_NFS;
  }
});

test("a database from a newer corral is refused and left byte-identical", () => {
  const dir = tmp();
  const file = path.join(dir, "c.db");
  Store.open({ path: file, create: true }).close();
  const raw = new Database(file);
  raw.prepare("UPDATE schema_version SET version = ?").run(SCHEMA_VERSION + 1);
  raw.close();
  const before = fs.readFileSync(file);
  assert.throws(
    () => Store.open({ path: file }),
    (e: unknown) => e instanceof StoreError && /newer/.test(e.message),
  );
  assert.deepEqual(fs.readFileSync(file), before);
});

test("a corrupt database is refused, not repaired", () => {
  const dir = tmp();
  const file = path.join(dir, "c.db");
  fs.writeFileSync(file, "this is not a database, just some text that is long enough to look like a header".repeat(20));
  const before = fs.readFileSync(file);
  assert.throws(
    () => Store.open({ path: file }),
    (e: unknown) => e instanceof StoreError && /corrupt|unreadable/.test(e.message),
  );
  assert.deepEqual(fs.readFileSync(file), before);
});

test("a write that throws leaves nothing behind", () => {
  const dir = tmp();
  const store = Store.open({ path: path.join(dir, "c.db"), create: true });
  assert.throws(() =>
    store.write(() => {
      store.stmt("INSERT INTO environments (hash, vars) VALUES ('h', '{}')").run();
      throw new Error("boom");
    }),
  );
  assert.equal(store.stmt("SELECT count(*) FROM environments").pluck().get(), 0);
  store.close();
});

test("the job state kept in SQL follows the same rule as deriveJobState, for any mix of task states", () => {
  const store = Store.open({ path: path.join(tmp(), "c.db"), create: true });
  store.stmt("INSERT INTO environments (id, hash, vars) VALUES (1, 'h', '{}')").run();
  const newJob = store.stmt("INSERT INTO jobs (name, argv, cwd, env_id, umask, engine, created_at, command) VALUES ('j', '[]', '/', 1, 18, 'local', 0, 'x')");
  const addTask = store.stmt("INSERT INTO tasks (job_id, idx, state, updated_at) VALUES (?, ?, ?, 0)");
  const setState = store.stmt("UPDATE tasks SET state = ? WHERE job_id = ? AND idx = ?");
  const stateOf = store.stmt("SELECT lifecycle_state FROM jobs WHERE id = ?").pluck();
  const state = fc.constantFrom<LifecycleState>(...LIFECYCLE_STATES);
  fc.assert(
    fc.property(fc.array(state, { minLength: 1, maxLength: 8 }), fc.array(fc.tuple(fc.nat(7), state), { maxLength: 8 }), (initial, changes) => {
      const id = Number(newJob.run().lastInsertRowid);
      const current = [...initial];
      for (const [i, s] of initial.entries()) addTask.run(id, i + 1, s);
      for (const [i, s] of changes) {
        if (i >= current.length) continue;
        current[i] = s;
        setState.run(s, id, i + 1);
      }
      const counts = Object.fromEntries(LIFECYCLE_STATES.map((s) => [s, current.filter((c) => c === s).length])) as Record<LifecycleState, number>;
      assert.equal(stateOf.get(id), deriveJobState(counts));
    }),
    { numRuns: 300 },
  );
  store.close();
});
