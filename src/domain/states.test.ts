import assert from "node:assert/strict";
import { test } from "node:test";
import { deriveJobState, emptyCounts, validateLabel } from "./states.js";

const counts = (over: Partial<ReturnType<typeof emptyCounts>>) => ({ ...emptyCounts(), ...over });

test("a job is succeeded only when every task succeeded", () => {
  assert.equal(deriveJobState(counts({ succeeded: 3 })), "succeeded");
  assert.equal(deriveJobState(counts({ succeeded: 2, failed: 1 })), "failed");
});

test("a job with any task still active is active, whatever the others did", () => {
  assert.equal(deriveJobState(counts({ failed: 2, running: 1 })), "running");
  assert.equal(deriveJobState(counts({ succeeded: 1, queued: 1 })), "queued");
  assert.equal(deriveJobState(counts({ pending: 1, cancelled: 1 })), "pending");
});

test("among ended tasks the worst outcome names the job: failed, then lost, then cancelled", () => {
  assert.equal(deriveJobState(counts({ lost: 1, failed: 1 })), "failed");
  assert.equal(deriveJobState(counts({ lost: 1, cancelled: 1 })), "lost");
  assert.equal(deriveJobState(counts({ cancelled: 1, succeeded: 1 })), "cancelled");
});

test("labels must be lower-case words and cannot shadow built-in states", () => {
  assert.equal(validateLabel("collected"), null);
  assert.match(validateLabel("failed") ?? "", /built-in/);
  assert.match(validateLabel("Bad Label") ?? "", /lower-case/);
});
