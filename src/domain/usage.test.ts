import assert from "node:assert/strict";
import { test } from "node:test";
import { random } from "../testing/random.js";
import {
  coreSharePercent,
  couldWasteLargely,
  formatLimit,
  groupReport,
  quantile,
  roundMemoryUp,
  roundTimeUp,
  spreadOfCounts,
  type UsageSample,
} from "./usage.js";

const sample = (over: Partial<UsageSample>, i = 1): UsageSample => ({
  group: "train",
  jobId: 1,
  index: i,
  engine: "slurm",
  state: "succeeded",
  cause: null,
  wallS: 600,
  cpuS: 590,
  maxRssMb: 1000,
  cpus: 1,
  reqMemMb: null,
  reqTimeS: null,
  ...over,
});

test("quantiles interpolate between neighbours, as numpy's default does", () => {
  const xs = Array.from({ length: 21 }, (_, i) => i * 10); // 0..200
  assert.equal(quantile(xs, 0.5), 100);
  assert.equal(quantile(xs, 0.95), 190);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([7], 0.95), 7);
});

test("quantiles from counted values are those of the values written out", () => {
  const values = [0, 1.5, 2, 10, 250];
  const counts = [3, 1, 40, 5, 2];
  const written = values.flatMap((v, i) => Array<number>(counts[i]!).fill(v));
  for (const [v, c] of [
    [values, counts],
    [[7], [1]],
    [
      [1, 2],
      [1, 1],
    ],
  ] as const) {
    const xs = v.flatMap((x, i) => Array<number>(c[i]!).fill(x));
    assert.deepEqual(spreadOfCounts(v, c), { median: quantile(xs, 0.5), p95: quantile(xs, 0.95), max: xs.at(-1), measured: xs.length });
  }
  assert.equal(spreadOfCounts(values, counts)?.p95, quantile(written, 0.95));
  assert.equal(spreadOfCounts([], []), null);
});

test("memory and time round up to what engines take", () => {
  assert.equal(roundMemoryUp(1), 128);
  assert.equal(roundMemoryUp(900), 1024);
  assert.equal(roundMemoryUp(1100), 1536);
  assert.equal(roundMemoryUp(20_000), 20 * 1024);
  assert.equal(roundTimeUp(10), 60);
  assert.equal(roundTimeUp(61), 120);
  assert.equal(roundTimeUp(3700), 4500);
  assert.equal(roundTimeUp(90_000), 25 * 3600);
  assert.deepEqual([60, 2700, 3600, 7200, 5400, 90_000, 45].map(formatLimit), ["1m", "45m", "1h", "2h", "90m", "25h", "45s"]);
});

test("a group that asked 16G, 8 cpus and 24h for tasks using 1G, one core and 20 minutes is told so, with what to ask next", () => {
  const samples = Array.from({ length: 20 }, (_, i) =>
    sample({ index: i + 1, wallS: 600 + i * 30, cpuS: 590 + i * 30, maxRssMb: 1000 + i * 5, cpus: 8, reqMemMb: 16 * 1024, reqTimeS: 86_400 }, i + 1),
  );
  const r = groupReport("train", samples);
  assert.equal(r.tasks, 20);
  assert.equal(r.wallS!.max, 1170);
  assert.equal(r.memoryMb!.max, 1095);
  assert.ok(Math.abs(r.memoryMb!.p95 - 1090.25) < 1e-9);
  assert.ok(r.cpuEfficiency! > 0.12 && r.cpuEfficiency! < 0.125, String(r.cpuEfficiency));
  assert.deepEqual(r.findings, ["asked 16G per task, p95 used 1.1G", "asked 8 cpus, used 1.0 on average", "asked 24h, the longest task took 20m"]);
  assert.equal(r.largeWaste, true);
  // memory: max(1090.25 × 1.2, 1095 × 1.05) = 1308.3 → 1536M; time: 1170 × 1.5 = 1755 s → 30m; cpus: p95 of 0.98..0.99 → 1.
  assert.deepEqual(r.suggestion!.flags, ["--cpus 1", "--mem 1536M", "--time 30m"]);
  assert.deepEqual(r.suggestion!.keys, { cpus: 1, mem: "1536M", time: "30m" });
});

test("limits that were hit are named, and the suggestion doubles them instead of trusting what was used", () => {
  const samples = [
    sample({ index: 1, wallS: 3600, cause: "timeout", state: "failed", reqTimeS: 3600, reqMemMb: 4096 }, 1),
    sample({ index: 2, wallS: 3600, cause: "timeout", state: "failed", reqTimeS: 3600, reqMemMb: 4096 }, 2),
    sample({ index: 3, wallS: 3600, cause: "timeout", state: "failed", reqTimeS: 3600, reqMemMb: 4096 }, 3),
    sample({ index: 4, wallS: 100, cpuS: 95, maxRssMb: 4096, cause: "oom", state: "failed", reqTimeS: 3600, reqMemMb: 4096 }, 4),
    sample({ index: 5, wallS: 1200, cpuS: 1100, reqTimeS: 3600, reqMemMb: 4096 }, 5),
  ];
  const r = groupReport("sim", samples);
  assert.deepEqual(r.failures, { oom: 1, timeout: 3, other: 0 });
  assert.deepEqual(r.findings, ["3 tasks hit the 1h limit", "1 task ran out of 4G"]);
  assert.equal(r.timeUsed, 1);
  assert.deepEqual(r.suggestion!.keys, { cpus: 1, mem: "8G", time: "2h" });
});

test("figures nobody measured stay unknown, never 0, and there is no suggestion without any", () => {
  const r = groupReport("x", [sample({ wallS: null, cpuS: null, maxRssMb: null }), sample({ state: "cancelled", wallS: 5 }, 2)]);
  assert.equal(r.wallS, null);
  assert.equal(r.memoryMb, null);
  assert.equal(r.cpuEfficiency, null);
  assert.equal(r.suggestion, null);
  assert.equal(r.tasks, 2, "a cancelled task is counted, its figures are not");
  const some = groupReport("y", [sample({ maxRssMb: null }), sample({ maxRssMb: 300 }, 2)]);
  assert.equal(some.memoryMb!.measured, 1);
  assert.equal(some.memoryMb!.max, 300);
});

test("a CPU-bound job has an efficiency near 1 and a sleeper near 0", () => {
  assert.ok(groupReport("busy", [sample({ wallS: 10, cpuS: 9.8 })]).cpuEfficiency! > 0.95);
  assert.ok(groupReport("sleep", [sample({ wallS: 10, cpuS: 0.02 })]).cpuEfficiency! < 0.01);
  const four = groupReport("par", [sample({ wallS: 10, cpuS: 38, cpus: 4 })]);
  assert.ok(Math.abs(four.cpuEfficiency! - 0.95) < 1e-9);
  assert.equal(four.suggestion!.cpus, 4);
});

test("only a group that asked for a gigabyte, an hour or two cpus can be of large waste, as status assumes before computing figures", () => {
  // Just below each: nothing used at all, and still not large waste.
  const idle = { wallS: 100, cpuS: 1, maxRssMb: 1 };
  for (const ask of [{ reqMemMb: 1023 }, { reqTimeS: 3599 }, { cpus: 1 }, { reqMemMb: 1023, reqTimeS: 3599 }]) {
    const r = groupReport("g", [sample({ ...idle, ...ask })]);
    assert.equal(r.largeWaste, false, JSON.stringify(ask));
    assert.equal(couldWasteLargely(r.requested), false, JSON.stringify(ask));
  }
  for (const ask of [{ reqMemMb: 1024 }, { reqTimeS: 3600 }, { cpus: 2 }]) assert.equal(groupReport("g", [sample({ ...idle, ...ask })]).largeWaste, true);
  // Random groups: whatever assessGroup finds large waste, couldWasteLargely allowed.
  const below = random(7);
  const pick = <T>(xs: T[]) => xs[below(xs.length)]!;
  let large = 0;
  for (let g = 0; g < 500; g++) {
    const samples = Array.from({ length: 1 + below(6) }, (_, i) =>
      sample(
        {
          wallS: pick([0, 5, 400, 5000, null]),
          cpuS: pick([0, 3, 300, null]),
          maxRssMb: pick([1, 200, 900, 3000, null]),
          cpus: pick([1, 1, 2, 4]),
          reqMemMb: pick([null, 512, 1023, 1024, 8192]),
          reqTimeS: pick([null, 600, 3599, 3600, 86_400]),
          cause: pick([null, null, "oom", "timeout"]),
        },
        i + 1,
      ),
    );
    const r = groupReport("g", samples);
    if (r.largeWaste) large++;
    assert.ok(!r.largeWaste || couldWasteLargely(r.requested), JSON.stringify(samples));
  }
  assert.ok(large > 20, `some random groups are of large waste (${large})`);
});

test("a run's share of one core is given from a second on, never for a run too short for the markers' clocks", () => {
  const at = (s: number) => new Date(Date.UTC(2026, 11, 2, 12, 0, 0) + s * 1000).toISOString();
  // The demo's failing job: a few milliseconds of CPU over a few milliseconds between the markers.
  assert.equal(coreSharePercent(0.009, at(0), at(0.004)), null);
  assert.equal(coreSharePercent(0.5, at(0), at(0.999)), null);
  assert.equal(coreSharePercent(1, at(0), at(2)), 50);
  assert.equal(coreSharePercent(7.5, at(0), at(3)), 250);
  assert.equal(coreSharePercent(1, null, at(2)), null);
  assert.equal(coreSharePercent(1, at(0), null), null);
});
