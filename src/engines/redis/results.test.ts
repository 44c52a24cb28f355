import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { applyResults, entryFields, parseEntry, type ResultEntry } from "./results.js";

test("results written twice (corral killed before deleting them) change nothing the second time", () => {
  const runs = fs.mkdtempSync(path.join(os.tmpdir(), "corral-results-"));
  fs.mkdirSync(path.join(runs, "3", "1", "1"), { recursive: true });
  const e = (kind: ResultEntry["kind"], data: string, offset = 0, name = ""): ResultEntry => ({
    attempt: "3.1.1",
    kind,
    offset,
    name,
    data: Buffer.from(data),
  });
  const entries = [
    e("started", "pid=1\nend\n"),
    e("stdout", "hello ", 0),
    e("stdout", "world\n", 6),
    e("request", "{}", 0, "0001.json"),
    e("ended", "status=0\nend\n"),
  ];
  // Through the stream's field encoding and back, as a worker sends them.
  const wire = entries.map((x) => parseEntry(entryFields(x).map((f) => Buffer.from(f)))!);
  assert.equal(applyResults(runs, wire), 5);
  assert.equal(applyResults(runs, wire), 5);
  const dir = path.join(runs, "3", "1", "1");
  assert.equal(fs.readFileSync(path.join(dir, "stdout"), "utf8"), "hello world\n");
  assert.equal(fs.readFileSync(path.join(dir, "requests", "0001.json"), "utf8"), "{}");
  assert.deepEqual(fs.readdirSync(dir).sort(), ["ended", "requests", "started", "stdout"]);
  // An attempt whose job was removed: dropped, nothing created.
  assert.equal(applyResults(runs, [{ ...wire[1]!, attempt: "9.1.1" }]), 0);
  assert.equal(fs.existsSync(path.join(runs, "9")), false);
  // A request name that would leave the folder is refused.
  assert.equal(applyResults(runs, [e("request", "x", 0, "../../evil")]), 0);
  fs.rmSync(runs, { recursive: true, force: true });
});
