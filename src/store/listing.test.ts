import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { buildSelection, EVERYTHING } from "../domain/selection.js";
import { listingLines, listingWidths, summariesJson } from "./listing.js";
import { countByBatch, listForDisplay, listJobs } from "./queries.js";
import { Store } from "./store.js";
import { tempDir } from "../testing/temp.js";

/**
 * The listing that SQLite formats must say exactly what the JavaScript formatting says (the table of
 * cli/output.ts, JSON.stringify of the summaries), for every kind of job and across chunk boundaries.
 */

const NOW = 1_780_000_000;

function seeded(): Store {
  const dir = tempDir("corral-listing-");
  const store = Store.open({ path: path.join(dir, ".corral", "corral.db"), create: true });
  store.write(() => {
    store.stmt("INSERT INTO environments (hash, vars) VALUES ('h', '{}')").run();
    const job = store.stmt(
      `INSERT INTO jobs (name, batch, argv, cwd, env_id, umask, engine, created_at, command, array_spec, label)
       VALUES (?, ?, '[]', '/p', 1, 18, ?, ?, ?, ?, ?)`,
    );
    const task = store.stmt("INSERT INTO tasks (job_id, idx, state, exit_code, updated_at) VALUES (?, ?, ?, ?, 0)");
    const kinds: [string, string | null, string, number, string, string | null, string | null, [string, number | null][]][] = [
      ["train", "sweep", "local", NOW - 5, "python train.py --lr 0.1", null, null, [["succeeded", 0]]],
      ["évaluer ünïcødé", null, "slurm", NOW - 75, `sh -c 'echo "quoted" \\ back\\slash'`, null, null, [["failed", 3]]],
      [
        "arr",
        "b2",
        "sge",
        NOW - 7300,
        "tab\there\nnewline\u0001ctl \u2028 😀",
        "1-4",
        null,
        [
          ["succeeded", 0],
          ["running", null],
          ["queued", null],
          ["failed", 1],
        ],
      ],
      ["held", "b2", "local", NOW - 90_000, "true", null, null, [["pending", null]]],
      [
        "done",
        "sweep",
        "redis",
        NOW - 3 * 86_400 - 1,
        "x".repeat(300),
        "1-2",
        "collected",
        [
          ["succeeded", 0],
          ["succeeded", 0],
        ],
      ],
      ["gone", null, "local", NOW + 30, "future clock", null, null, [["lost", null]]],
      ["stop", "sweep", "local", NOW - 59.6, "c", null, null, [["cancelled", null]]],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [name, batch, engine, created, command, array, label, tasks] of kinds) {
        const id = Number(job.run(`${name}${round || ""}`, batch, engine, created + round * 0.0375, command, array, label).lastInsertRowid);
        for (const [i, [state, exit]] of tasks.entries()) task.run(id, i + 1, state, exit);
      }
    }
  });
  return store;
}

/** What cli/output.ts's table() printed for the same rows, without colour, as the JavaScript path made them. */
function tableRowsByJs(store: Store, sel = EVERYTHING, room: number | null = null): { widths: number[]; lines: string[] } {
  const rows = listForDisplay(store, sel).map(([id, name, state, done, total, engine, created, command]) => [
    String(id),
    name,
    state,
    `${done}/${total}`,
    engine,
    ageOf(NOW - created),
    command,
  ]);
  const widths = [0, 0, 0, 0, 0, 0];
  for (const r of rows) for (let i = 0; i < 6; i++) widths[i] = Math.max(widths[i]!, r[i]!.length);
  const lines = rows.map((r) => {
    let last = r[6]!;
    if (room !== null && last.length > room) last = `${last.slice(0, Math.max(10, room - 1))}…`;
    return `${r
      .slice(0, 6)
      .map((cell, i) => `${cell.padEnd(widths[i]!)}  `)
      .join("")}${last}`;
  });
  return { widths, lines };
}

function ageOf(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

const sqlLines = (store: Store, sel = EVERYTHING, opts: { chunk?: number; room?: number | null; paint?: boolean } = {}) => {
  const { widths } = listingWidths(store, sel, NOW, [0, 0, 0, 0, 0, 0]);
  const paint = opts.paint ? { open: (s: string) => `<${s || "other"}>`, close: (s: string) => `</${s ? s[0] : "o"}>` } : null;
  return { widths, text: [...listingLines(store, sel, { widths, now: NOW, paint, commandRoom: opts.room ?? null }, opts.chunk)].join("\n") };
};

test("ls lines formatted by SQLite are the table the JavaScript formatting prints, cell for cell", () => {
  const store = seeded();
  const js = tableRowsByJs(store);
  for (const chunk of [1, 4, 20_000]) {
    const sql = sqlLines(store, EVERYTHING, { chunk });
    assert.deepEqual(sql.widths, js.widths);
    assert.equal(sql.text, js.lines.join("\n"), `chunks of ${chunk}`);
  }
});

test("a whole project's widths, read from the kept counts, are the ones measured over its rows, for any header and from 100 days old on", () => {
  const store = seeded();
  // The same jobs, narrowed by nothing that excludes one: measured row by row.
  const measured = (atLeast: number[]) => listingWidths(store, buildSelection({ ids: ["1-1000000"] }), NOW, atLeast);
  const headers = [
    [0, 0, 0, 0, 0, 0],
    [2, 4, 5, 5, 6, 3],
    [0, 30, 0, 9, 0, 5],
  ];
  const check = (label: string) => {
    for (const atLeast of headers)
      assert.deepEqual(listingWidths(store, EVERYTHING, NOW, atLeast), measured(atLeast), `${label}, at least ${atLeast.join(",")}`);
  };
  check("as seeded");
  for (const [days, width] of [
    [99, 3],
    [100, 4],
    [1000, 5],
  ] as const) {
    store.write(() => store.stmt("UPDATE jobs SET created_at = ? WHERE id = 3").run(NOW - days * 86_400 - 0.4));
    check(`with a job ${days} days old`);
    assert.equal(listingWidths(store, EVERYTHING, NOW, [2, 4, 5, 5, 6, 3]).widths[5], width);
  }
  store.write(() => store.stmt("DELETE FROM jobs WHERE name LIKE 'évaluer%' OR name LIKE 'arr%'").run());
  check("after the widest names and tasks were deleted");
  store.write(() => store.stmt("DELETE FROM jobs").run());
  assert.deepEqual(listingWidths(store, EVERYTHING, NOW, [2, 4, 5, 5, 6, 3]), { widths: [2, 4, 5, 5, 6, 3], rows: 0 });
});

test("ls lines honour selections and filters, in id order even where an index yields them by state, and an empty selection has no rows", () => {
  const store = seeded();
  const byState = buildSelection({ states: ["succeeded", "failed", "cancelled"] });
  for (const chunk of [3, 20_000]) assert.equal(sqlLines(store, byState, { chunk }).text, tableRowsByJs(store, byState).lines.join("\n"));
  for (const sel of [
    buildSelection({ states: ["failed"] }),
    buildSelection({ name: "arr*" }),
    buildSelection({ ids: ["2-9", "batch=sweep"] }),
    buildSelection({ states: ["collected"] }),
  ]) {
    assert.equal(sqlLines(store, sel).text, tableRowsByJs(store, sel).lines.join("\n"));
  }
  const none = buildSelection({ name: "nothing-matches" });
  assert.deepEqual(listingWidths(store, none, NOW, [0, 0, 0, 0, 0, 0]), { widths: [0, 0, 0, 0, 0, 0], rows: 0 });
  assert.deepEqual([...listingLines(store, none, { widths: [1, 1, 1, 1, 1, 1], now: NOW, paint: null, commandRoom: null })], []);
});

test("on a terminal the command is cut to the room left, and each state cell is painted after padding", () => {
  const store = seeded();
  assert.equal(sqlLines(store, EVERYTHING, { room: 20 }).text, tableRowsByJs(store, EVERYTHING, 20).lines.join("\n"));
  const painted = sqlLines(store, buildSelection({ ids: ["1", "5"] }), { paint: true }).text.split("\n");
  assert.match(painted[0]!, /^1 {2}train {2}<succeeded>succeeded<\/s> {2}1\/1 {2}/);
  assert.match(painted[1]!, /<other>collected<\/o> /, "a label is painted with the colour of states corral does not know");
});

test("ls --json text from SQLite is JSON.stringify of the job summaries, byte for byte", () => {
  const store = seeded();
  for (const sel of [EVERYTHING, buildSelection({ states: ["running", "lost"] }), buildSelection({ name: "none*" })]) {
    for (const chunk of [2, 20_000]) {
      assert.equal([...summariesJson(store, sel, chunk)].join(""), JSON.stringify(listJobs(store, sel), null, 2));
    }
  }
});

test("status counts per batch and state are the label-or-state grouping, merged across the index's order", () => {
  const store = seeded();
  // A label shared by jobs in different lifecycle states is one row of the count.
  store.write(() => store.stmt("UPDATE jobs SET label = 'collected' WHERE name LIKE 'held%' OR name LIKE 'arr%'").run());
  const bySql = store
    .stmt("SELECT j.batch AS batch, coalesce(j.label, j.lifecycle_state) AS state, count(*) AS jobs FROM jobs j GROUP BY j.batch, 2 ORDER BY j.batch, 2")
    .all();
  assert.deepEqual(countByBatch(store), bySql);
  assert.ok(countByBatch(store).some((r) => r.batch === "b2" && r.state === "collected" && r.jobs === 6));
});
