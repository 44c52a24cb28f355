import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { UsageError } from "../domain/errors.js";
import { buildSelection } from "../domain/selection.js";
import { MIGRATIONS } from "../store/migrations.js";
import { TestProject } from "../testing/project.js";
import { Corral } from "./corral.js";

/** The library's batch form: many jobs checked first, recorded in one transaction, run as if submitted one by one. */

function withSupervisorTimings<T>(p: TestProject, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, p.env);
  return fn().finally(() => {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  });
}

test("submitMany records every job in one call, chains inside the call by id, and runs them", async () => {
  const p = new TestProject("corral-many-");
  try {
    await withSupervisorTimings(p, async () => {
      const { id: first, corral } = Corral.submit({ command: ["true"], name: "first" }, { cwd: p.dir });
      try {
        const next = first + 1;
        const ids = corral.submitMany(
          [
            { command: ["sh", "-c", "echo a > a.txt"], name: "a" },
            { command: ["sh", "-c", "cat a.txt > b.txt"], name: "b", after: [next] },
            { command: ["true"], name: "held", hold: true },
          ],
          p.dir,
        );
        assert.deepEqual(ids, [next, next + 1, next + 2], "consecutive ids, in the order given");
        const result = await corral.wait(buildSelection({ ids: [String(first), String(next), String(next + 1)] }), { timeoutS: 60 });
        assert.equal(result.succeeded, true);
        assert.equal(fs.readFileSync(path.join(p.dir, "b.txt"), "utf8"), "a\n", "b ran after a");
        assert.equal(corral.peek(next + 2).lifecycleState, "pending", "a held job stays held");
      } finally {
        corral.close();
      }
    });
  } finally {
    await p.cleanup();
  }
});

test("submitMany refuses the whole call when one input is bad, naming it, and records nothing", async () => {
  const p = new TestProject("corral-many-bad-");
  try {
    const { corral } = Corral.submit({ command: ["true"], hold: true }, { cwd: p.dir });
    try {
      const before = corral.view.list().length;
      assert.throws(
        () => corral.submitMany([{ command: ["true"] }, { command: ["true"] }, { command: ["true"], mem: "lots" }], p.dir),
        (e: unknown) => e instanceof UsageError && /^job 3 of 3: --mem 'lots'/.test(e.message),
      );
      assert.throws(
        () => corral.submitMany([{ command: ["true"] }, { command: ["true"], after: [999] }], p.dir),
        (e: unknown) => e instanceof UsageError && /there is no job 999/.test(e.message),
      );
      assert.equal(corral.view.list().length, before, "not one of them was recorded");
    } finally {
      corral.close();
    }
  } finally {
    await p.cleanup();
  }
});

test("a database from before the settle queue moves its waiting jobs on after the upgrade", async () => {
  const p = new TestProject("corral-settle-upgrade-");
  try {
    // A version-5 database with a parent that succeeded and a child still pending behind it.
    fs.mkdirSync(path.join(p.dir, ".corral"), { recursive: true });
    const raw = new Database(p.dbPath);
    for (const sql of MIGRATIONS.slice(0, 5)) raw.exec(sql);
    raw.exec("CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (5)");
    raw.exec(`INSERT INTO environments (id, hash, vars) VALUES (1, 'h', '{}');
      INSERT INTO jobs (id, name, argv, cwd, env_id, umask, engine, created_at, command) VALUES
        (1, 'parent', '["true"]', '${p.dir}', 1, 18, 'local', 0, 'true'), (2, 'child', '["true"]', '${p.dir}', 1, 18, 'local', 0, 'true');
      INSERT INTO tasks (job_id, idx, state, updated_at) VALUES (1, 1, 'succeeded', 0), (2, 1, 'pending', 0);
      INSERT INTO dependencies (job_id, parent_id, kind) VALUES (2, 1, 'ok');`);
    raw.close();
    const r = p.run(["wait", "2", "--timeout", "60"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(p.ok(["ls", "2"]), /child\s+succeeded/);
  } finally {
    await p.cleanup();
  }
});
