import assert from "node:assert/strict";
import { test } from "node:test";
import { parseTags } from "../../domain/tags.js";
import { bullPriority, queueName, queuesFor, redactUrl } from "./pool.js";

test("a worker takes from the queue of every subset of its tags, the most specific first", () => {
  assert.deepEqual(queuesFor([]), ["tasks"]);
  assert.deepEqual(queuesFor(["bigmem", "gpu"]), ["tasks.bigmem.gpu", "tasks.bigmem", "tasks.gpu", "tasks"]);
  assert.equal(queueName(parseTags("gpu, bigmem,gpu", "--tags")), "tasks.bigmem.gpu");
  assert.throws(() => queuesFor(["a", "b", "c", "d", "e", "f", "g"]), /at most 6 tags/);
});

test("tags are checked and named in the error", () => {
  assert.throws(() => parseTags("gpu,Big Mem", "--tags"), /--tags 'Big Mem'/);
});

test("higher corral priority is an earlier BullMQ priority, always within BullMQ's range", () => {
  assert.ok(bullPriority(10) < bullPriority(0));
  assert.ok(bullPriority(0) < bullPriority(-5));
  assert.equal(bullPriority(10 ** 9), 1);
  assert.equal(bullPriority(-(10 ** 9)), 2 ** 21);
});

test("a Redis URL is shown without its password", () => {
  assert.equal(redactUrl("redis://:s3cret@10.0.0.5:6379/2"), "redis://:***@10.0.0.5:6379/2");
  assert.equal(redactUrl("rediss://alice:s3cret@host:6380"), "rediss://alice:***@host:6380");
  assert.equal(redactUrl("redis://127.0.0.1:6379"), "redis://127.0.0.1:6379");
});
