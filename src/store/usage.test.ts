import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { buildSelection, EVERYTHING } from "../domain/selection.js";
import { figuresOf, type GroupFigures } from "../domain/usage.js";
import { Store } from "./store.js";
import { type ReportGrouping, usageFigures, usageSamples } from "./usage.js";

/** The report's figures as SQLite aggregates them must be the domain's arithmetic on the same attempts. */

function seeded(): Store {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-usage-"));
  const store = Store.open({ path: path.join(dir, ".corral", "corral.db"), create: true });
  store.write(() => {
    store.stmt("INSERT INTO environments (hash, vars) VALUES ('h', '{}')").run();
    const job = store.stmt(
      "INSERT INTO jobs (name, batch, argv, cwd, env_id, umask, engine, created_at, command, cpus, mem_mb, time_limit_s) VALUES (?, ?, '[]', '/p', 1, 18, ?, 0, 'c', ?, ?, ?)",
    );
    const task = store.stmt("INSERT INTO tasks (job_id, idx, state, attempts, updated_at) VALUES (?, ?, ?, ?, 0)");
    const attempt = store.stmt(
      `INSERT INTO attempts (job_id, idx, n, engine, state, run_dir, submitted_at, started_at, ended_at, reason, cpu_s, max_rss_mb, alloc_cpus)
       VALUES (?, ?, ?, ?, ?, '/r', 0, ?, ?, ?, ?, ?, ?)`,
    );
    let k = 0;
    for (const [name, batch, engine, cpus, mem, time] of [
      ["map", "g", "slurm", 4, 8192, 3600],
      ["map", "g", "sge", 1, null, null],
      ["reduce", null, "local", 1, 1024, 600],
      ["sim", "h", "redis", 2, 2048, 7200],
    ] as const) {
      const id = Number(job.run(name, batch, engine, cpus, mem, time).lastInsertRowid);
      for (let i = 1; i <= 7; i++) {
        const tries = 1 + (i % 3 === 0 ? 1 : 0);
        task.run(id, i, "succeeded", tries);
        for (let n = 1; n <= tries; n++) {
          k++;
          const state = n < tries ? "failed" : i === 7 ? "cancelled" : "succeeded";
          const reason = n < tries ? (k % 2 ? "TIMEOUT: exceeded the time limit" : "OUT_OF_MEMORY: exceeded") : null;
          const measured = k % 5 !== 0;
          attempt.run(
            id,
            i,
            n,
            engine,
            state,
            100 + k,
            100 + k + 10 * i + n,
            reason,
            measured ? 3 * i : null,
            measured ? 100 + 37 * i : null,
            k % 4 ? null : 1,
          );
        }
      }
    }
  });
  return store;
}

function close(actual: GroupFigures, expected: GroupFigures): void {
  const round = (v: unknown): unknown =>
    typeof v === "number" ? Number(v.toPrecision(12)) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([a, b]) => [a, round(b)])) : v;
  assert.deepEqual(round(actual), round(expected));
}

test("the report's figures from SQL are the domain's arithmetic on the same attempts, for every grouping", () => {
  const store = seeded();
  for (const by of ["job", "name", "batch"] as ReportGrouping[]) {
    for (const sel of [EVERYTHING, buildSelection({ name: "map" })]) {
      const groups = new Map<string, ReturnType<typeof usageSamples>>();
      for (const s of usageSamples(store, sel, by)) groups.set(s.group, [...(groups.get(s.group) ?? []), s]);
      const expected = [...groups.entries()].map(([g, samples]) => figuresOf(g, samples));
      const actual = usageFigures(store, sel, by);
      assert.equal(actual.length, expected.length, by);
      for (const [i, a] of actual.entries()) close(a, expected[i]!);
    }
  }
  assert.deepEqual(usageFigures(store, buildSelection({ name: "nothing" }), "name"), []);
});
