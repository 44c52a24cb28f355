import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { expandRanges, formatRanges, planChunks } from "./chunks.js";

test("evenly spaced indices compress into start-end:step runs", () => {
  assert.deepEqual(formatRanges([1, 3, 5, 7]), ["1-7:2"]);
  assert.deepEqual(formatRanges([1, 2, 3, 10, 12]), ["1-3", "10", "12"]);
  assert.deepEqual(formatRanges([4]), ["4"]);
});

test("an array that fits keeps corral's indices (offset 0) in one call", () => {
  assert.deepEqual(planChunks([1, 3, 5], { minIndex: 0, maxIndex: 1000, singleRange: false }), [{ offset: 0, indices: [1, 3, 5], range: "1-5:2" }]);
});

test("a 5,000-task array under Slurm's MaxArraySize 1001 becomes 5 calls whose offsets restore the indices", () => {
  const indices = Array.from({ length: 5000 }, (_, i) => i + 1);
  const chunks = planChunks(indices, { minIndex: 0, maxIndex: 1000, singleRange: false });
  assert.equal(chunks.length, 5);
  assert.deepEqual(
    chunks.map((c) => [c.offset, c.range]),
    [
      [1, "0-1000"],
      [1002, "0-1000"],
      [2003, "0-1000"],
      [3004, "0-1000"],
      [4005, "0-995"],
    ],
  );
});

test("Grid Engine gets one evenly spaced run per call", () => {
  assert.deepEqual(
    planChunks([1, 2, 3, 7, 9, 11], { minIndex: 1, maxIndex: null, singleRange: true }).map((c) => c.range),
    ["1-3", "7-11:2"],
  );
});

test("every planned chunk maps back to exactly the requested indices, within the scheduler's limits", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 300 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 2000 }),
      (indices, single, max) => {
        const chunks = planChunks(indices, { minIndex: single ? 1 : 0, maxIndex: max, singleRange: single });
        const back = chunks.flatMap((c) => expandRanges(c.range).map((r) => r + c.offset));
        assert.deepEqual(
          back.sort((a, b) => a - b),
          [...indices].sort((a, b) => a - b),
        );
        for (const c of chunks) for (const r of expandRanges(c.range)) assert.ok(r >= (single ? 1 : 0) && r <= max);
        if (single) for (const c of chunks) assert.ok(!c.range.includes(","));
      },
    ),
  );
});

test("scheduler range lists expand, including Slurm's bracketed pending tasks", () => {
  assert.deepEqual(expandRanges("[3-7:2]"), [3, 5, 7]);
  assert.deepEqual(expandRanges("3,5"), [3, 5]);
  assert.deepEqual(expandRanges("1-4%2"), [1, 2, 3, 4]);
});

test("arrays indexed from zero (HTCondor's queue N) go as runs of consecutive indices, each offset to start at 0", () => {
  assert.deepEqual(
    planChunks([1, 3, 5, 6, 7, 10], { minIndex: 0, maxIndex: null, singleRange: false, fromZero: true }).map((c) => [c.offset, c.range, c.indices]),
    [
      [1, "0", [1]],
      [3, "0", [3]],
      [5, "0-2", [5, 6, 7]],
      [10, "0", [10]],
    ],
  );
});
