import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { GroupReport } from "../domain/usage.js";
import { recordUsage } from "../lifecycle/transitions.js";
import { Store } from "../store/store.js";
import { TestProject } from "../testing/project.js";

// The Node launcher measures nothing: figures stay unknown until the test records them as an engine would.
// The jobs sleep 1.5 s: cores busy count only from attempts of a second or more, and markers time them to the ms.
const p = new TestProject("corral-report-", { CORRAL_LAUNCHER: "node" });
after(() => p.cleanup());

test("corral report: unknown until measured, then figures against the request, findings and what to ask next", () => {
  const ids = [1, 2, 3].map(() => p.submit(["--name", "sim", "--mem", "4G", "--time", "1h", "--cpus", "2"], ["sh", "-c", "sleep 1.5"]));
  p.ok(["wait"]);
  const before = p.json<GroupReport[]>(["report", "--json"]);
  assert.equal(before.length, 1);
  assert.equal(before[0]!.tasks, 3);
  assert.equal(before[0]!.memoryMb, null, "nothing measured yet: unknown, not 0");
  assert.match(p.ok(["report"]), /memory\s+median \/ p95 \/ max {2}unknown/);

  // What an engine's accounting would record (the engines' own tests measure real jobs).
  const store = Store.open({ path: p.dbPath });
  try {
    const attempts = store.stmt("SELECT id FROM attempts ORDER BY id").pluck().all() as number[];
    for (const [i, id] of attempts.entries()) {
      store.write(() => recordUsage(store, id, { cpuS: 0.1, maxRssMb: 300 + i * 10, allocCpus: 2, allocMemMb: 4096, allocTimeS: 3600, source: "test" }, true));
    }
    // A late record fills only what is missing: the first figures stay.
    store.write(() =>
      recordUsage(store, attempts[0]!, { cpuS: 99, maxRssMb: 9999, allocCpus: null, allocMemMb: null, allocTimeS: null, source: "late" }, true),
    );
  } finally {
    store.close();
  }
  const [r] = p.json<GroupReport[]>(["report", "--json", "name~sim*"]);
  assert.equal(r!.memoryMb!.max, 320);
  assert.equal(r!.memoryMb!.measured, 3);
  assert.ok(r!.cpuEfficiency! < 0.5, "two cpus, almost none used");
  assert.deepEqual(r!.suggestion!.keys.mem, "384M", "p95 319M × 1.2, in 128M steps");
  const text = p.ok(["report", "--by", "batch"]);
  assert.match(text, /asked 4G per task, p95 used 319M/);
  assert.match(text, /asked 2 cpus, used 0\.\d on average/);
  assert.match(text, /next time {3}--cpus 1 --mem 384M --time 1m/);
  assert.match(p.ok(["show", String(ids[0])]), /used {3}cpu 0\.1s .*peak memory 300M; granted 2 cpus, 4G, 01:00:00 \[test\]/);
  // status names the batch whose waste is large, in one line, with what to ask for next time.
  const status = p.ok(["status"]);
  assert.match(
    status,
    /Asked for far more than used:\n {2}\(none\): asked 4G per task, p95 used 319M; asked 2 cpus, used 0\.\d on average; [^\n]*next time --cpus 1 --mem 384M --time 1m {2}— corral report --by batch/,
  );
  assert.equal(p.json<{ waste: { batch: string }[] }>(["status", "--json"]).waste[0]!.batch, "(none)");
  const bad = p.run(["report", "--by", "host"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--by 'host': expected one of job, name, batch/);
});
