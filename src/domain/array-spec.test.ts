import assert from "node:assert/strict";
import { test } from "node:test";
import { parseArraySpec } from "./array-spec.js";
import { UsageError } from "./errors.js";

test("array ranges with a step list every index from start to end", () => {
  assert.deepEqual(parseArraySpec("1-10:2").indices, [1, 3, 5, 7, 9]);
  assert.deepEqual(parseArraySpec("1-5:2").indices, [1, 3, 5]);
});

test("array lists and mixed forms keep the given order", () => {
  assert.deepEqual(parseArraySpec("1,3,7").indices, [1, 3, 7]);
  assert.deepEqual(parseArraySpec("2-4,9").indices, [2, 3, 4, 9]);
  assert.deepEqual(parseArraySpec("5").indices, [5]);
});

test("a %N suffix caps how many tasks run at once", () => {
  const spec = parseArraySpec("1-100%8");
  assert.equal(spec.cap, 8);
  assert.equal(spec.indices.length, 100);
  assert.equal(parseArraySpec("1-3").cap, null);
});

test("malformed arrays are usage errors naming the flag", () => {
  for (const bad of ["5-1", "0", "1-x", "", "1-10:0", "1-3%0", "1,1", "-3", "1-3%x", "a"]) {
    assert.throws(
      () => parseArraySpec(bad),
      (err: unknown) => err instanceof UsageError && err.message.startsWith("--array"),
      bad,
    );
  }
});
