import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { buildSelection, EVERYTHING } from "../domain/selection.js";
import { figuresOf, type GroupFigures } from "../domain/usage.js";
import { Store } from "./store.js";
import { keptUsageFigures, type ReportGrouping, usageFigures, usageSamples } from "./usage.js";
import { tempDir } from "../testing/temp.js";

/** The report's figures as SQLite aggregates them must be the domain's arithmetic on the same attempts. */

function seeded(): Store {
  const dir = tempDir("corral-usage-");
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

/** Equal to 12 digits; spreads from the kept rollup as close as it keeps them (three digits; cores to 0.01). */
function close(actual: GroupFigures, expected: GroupFigures, kept = false): void {
  const round = (v: unknown): unknown =>
    typeof v === "number" ? Number(v.toPrecision(12)) : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([a, b]) => [a, round(b)])) : v;
  const spreads = ["wallS", "memoryMb", "coresUsed"] as const;
  if (!kept) {
    assert.deepEqual(round(actual), round(expected));
    return;
  }
  const rest = (g: GroupFigures) => Object.fromEntries(Object.entries(g).filter(([k]) => !(spreads as readonly string[]).includes(k)));
  assert.deepEqual(round(rest(actual)), round(rest(expected)));
  for (const k of spreads) {
    const [a, e] = [actual[k], expected[k]];
    assert.equal(a === null, e === null, `${expected.group} ${k}`);
    if (a === null || e === null) continue;
    assert.equal(a.measured, e.measured, `${expected.group} ${k} measured`);
    for (const q of ["median", "p95", "max"] as const) {
      const within = k === "coresUsed" ? 0.005 : 0.005 * Math.abs(e[q]);
      assert.ok(Math.abs(a[q] - e[q]) <= within + 1e-12, `${expected.group} ${k}.${q}: ${a[q]} is not within ${within} of ${e[q]}`);
    }
  }
}

/** The domain's figures of every group, from the attempts themselves. */
function expectedFigures(store: Store, sel: typeof EVERYTHING, by: ReportGrouping): GroupFigures[] {
  const groups = new Map<string, ReturnType<typeof usageSamples>>();
  for (const s of usageSamples(store, sel, by)) groups.set(s.group, [...(groups.get(s.group) ?? []), s]);
  return [...groups.entries()].map(([g, samples]) => figuresOf(g, samples));
}

function assertKeptAgrees(store: Store, label: string): void {
  for (const by of ["name", "batch"] as ReportGrouping[]) {
    const kept = keptUsageFigures(store, EVERYTHING, by);
    assert.ok(kept, `${label}: the rollup answers a whole project's report by ${by}`);
    const expected = expectedFigures(store, EVERYTHING, by);
    assert.deepEqual(
      kept.map((g) => g.group),
      expected.map((g) => g.group),
      `${label}, by ${by}`,
    );
    for (const [i, a] of kept.entries()) close(a, expected[i]!, true);
  }
}

test("the report's figures from SQL are the domain's arithmetic on the same attempts, for every grouping", () => {
  const store = seeded();
  for (const by of ["job", "name", "batch"] as ReportGrouping[]) {
    for (const sel of [EVERYTHING, buildSelection({ name: "map" })]) {
      const expected = expectedFigures(store, sel, by);
      const actual = usageFigures(store, sel, by);
      assert.equal(actual.length, expected.length, by);
      for (const [i, a] of actual.entries()) close(a, expected[i]!, sel === EVERYTHING && by !== "job");
    }
  }
  assert.deepEqual(usageFigures(store, buildSelection({ name: "nothing" }), "name"), []);
});

test("the kept rollup follows attempts as they end, get their usage late, and go with their jobs", () => {
  const store = seeded();
  assertKeptAgrees(store, "seeded");
  // A name in a second batch: its groups by name merge the two.
  store.write(() => {
    const id = Number(
      store
        .stmt(
          "INSERT INTO jobs (name, batch, argv, cwd, env_id, umask, engine, created_at, command, cpus) VALUES ('map', 'h', '[]', '/p', 1, 18, 'local', 0, 'c', 8)",
        )
        .run().lastInsertRowid,
    );
    for (let i = 1; i <= 5; i++) {
      store.stmt("INSERT INTO tasks (job_id, idx, state, attempts, updated_at) VALUES (?, ?, 'succeeded', 1, 0)").run(id, i);
      store
        .stmt(
          "INSERT INTO attempts (job_id, idx, n, engine, state, run_dir, submitted_at, started_at, ended_at, cpu_s, max_rss_mb) VALUES (?, ?, 1, 'local', 'succeeded', '/r', 0, 0, ?, ?, ?)",
        )
        .run(id, i, 5 * i, 2.5 * i, 150 + i);
    }
  });
  assertKeptAgrees(store, "a name in two batches");
  // Names and batches may hold any character, the separators of the rollup's own strings included.
  store.write(() => {
    for (const [name, batch] of [
      ["a\x1fb", "c"],
      ["a", "b\x1fc"],
    ]) {
      const id = Number(
        store
          .stmt("INSERT INTO jobs (name, batch, argv, cwd, env_id, umask, engine, created_at, command) VALUES (?, ?, '[]', '/p', 1, 18, 'local', 0, 'c')")
          .run(name, batch).lastInsertRowid,
      );
      for (let i = 1; i <= 4; i++) {
        store.stmt("INSERT INTO tasks (job_id, idx, state, attempts, updated_at) VALUES (?, ?, 'succeeded', 1, 0)").run(id, i);
        store
          .stmt(
            "INSERT INTO attempts (job_id, idx, n, engine, state, run_dir, submitted_at, started_at, ended_at) VALUES (?, ?, 1, 'local', 'succeeded', '/r', 0, 0, ?)",
          )
          .run(id, i, name === "a" ? 1000 : 10);
      }
    }
  });
  assertKeptAgrees(store, "separators in names and batches");
  store.write(() => {
    // Accounting arrives late for attempts that ended unmeasured; one attempt is lost, then found to have failed.
    store.stmt("UPDATE attempts SET cpu_s = coalesce(cpu_s, 41.5), max_rss_mb = coalesce(max_rss_mb, 5000) WHERE id % 5 = 0").run();
    store.stmt("UPDATE attempts SET state = 'lost' WHERE id = 3").run();
    store.stmt("UPDATE attempts SET state = 'failed', reason = 'OUT_OF_MEMORY: exceeded' WHERE id = 3").run();
    // A running attempt ends.
    store.stmt("UPDATE attempts SET state = 'running', ended_at = NULL WHERE id = 4").run();
  });
  assertKeptAgrees(store, "late usage");
  store.write(() => store.stmt("UPDATE attempts SET state = 'succeeded', ended_at = started_at + 12345.678 WHERE id = 4").run());
  assertKeptAgrees(store, "an attempt ended");
  // The first job goes (cleanup): its group keeps the other job's attempts; the "reduce" group goes entirely.
  store.write(() => store.stmt("DELETE FROM jobs WHERE id IN (1, 3)").run());
  assertKeptAgrees(store, "jobs deleted");
  // Nothing is left of what no attempt counts any more: the "reduce" group has no row, no value counts 0.
  assert.equal(store.stmt("SELECT count(*) FROM usage_groups WHERE attempts = 0 OR name = 'reduce'").pluck().get(), 0);
  assert.equal(store.stmt("SELECT count(*) FROM usage_values WHERE n = 0 OR name = 'reduce'").pluck().get(), 0);
  assert.deepEqual(
    keptUsageFigures(store, EVERYTHING, "name")?.map((g) => g.group),
    ["map", "sim", "a\x1fb", "a"],
  );
});

test("a report of many small groups reads the attempts, and a narrowed one always does", () => {
  const store = seeded();
  assert.equal(keptUsageFigures(store, EVERYTHING, "job"), null);
  assert.equal(keptUsageFigures(store, buildSelection({ name: "map" }), "name"), null);
  // One more group per attempt: a dozen rollup rows each would cost more than the attempts themselves.
  store.write(() => {
    for (let i = 0; i < 60; i++) {
      const id = Number(
        store
          .stmt("INSERT INTO jobs (name, argv, cwd, env_id, umask, engine, created_at, command) VALUES (?, '[]', '/p', 1, 18, 'local', 0, 'c')")
          .run(`solo-${i}`).lastInsertRowid,
      );
      store.stmt("INSERT INTO tasks (job_id, idx, state, attempts, updated_at) VALUES (?, 1, 'succeeded', 1, 0)").run(id);
      store
        .stmt(
          "INSERT INTO attempts (job_id, idx, n, engine, state, run_dir, submitted_at, started_at, ended_at) VALUES (?, 1, 1, 'local', 'succeeded', '/r', 0, 0, 2)",
        )
        .run(id);
    }
  });
  assert.equal(keptUsageFigures(store, EVERYTHING, "name"), null);
  assert.equal(usageFigures(store, EVERYTHING, "name").length, 63);
});
