import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { applyResults, CHUNK_BYTES, parseEntry, streamEntries, type ResultEntry } from "./results.js";
import { tempDir } from "../../testing/temp.js";

test("results written twice (corral killed before deleting them) change nothing the second time", () => {
  const runs = tempDir("corral-results-");
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
  const wire = streamEntries(entries).flatMap((fields) => parseEntry(fields.map((f) => Buffer.from(f))));
  assert.deepEqual(wire, entries);
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

const part = (attempt: string, kind: ResultEntry["kind"], data: Buffer, offset = 0): ResultEntry => ({ attempt, kind, offset, name: "", data });
const onWire = (fields: (string | Buffer)[]) => fields.map((f) => Buffer.from(f));

test("a short task's results travel as one stream entry; big output, and other attempts, get entries of their own", () => {
  const started = part("4.2.1", "started", Buffer.from("pid=1\nend\n"));
  const ended = part("4.2.1", "ended", Buffer.from("status=0\nend\n"));
  const short = streamEntries([started, part("4.2.1", "stdout", Buffer.from("hi\n")), ended]);
  assert.equal(short.length, 1);
  assert.deepEqual(
    parseEntry(onWire(short[0]!)).map((e) => e.kind),
    ["started", "stdout", "ended"],
  );

  const big = [started, part("4.2.1", "stdout", Buffer.alloc(CHUNK_BYTES, 1)), part("4.2.1", "stdout", Buffer.alloc(10, 2), CHUNK_BYTES), ended];
  const entries = streamEntries(big);
  assert.deepEqual(
    entries.map((f) => parseEntry(onWire(f)).map((e) => e.kind)),
    [["started"], ["stdout"], ["stdout", "ended"]],
  );
  for (const f of entries) assert.ok(parseEntry(onWire(f)).reduce((n, e) => n + e.data.length, 0) <= CHUNK_BYTES);
  assert.deepEqual(
    entries.flatMap((f) => parseEntry(onWire(f))),
    big,
  );

  assert.equal(streamEntries([started, part("5.1.1", "ended", Buffer.from("status=0\nend\n"))]).length, 2);
});

test("an entry of one result each (as workers sent before results shared entries) still reads; foreign entries read as none", () => {
  const fields = onWire(["a", "3.1.1", "k", "stdout", "o", "6", "n", "", "d", "world\n"]);
  assert.deepEqual(parseEntry(fields), [{ attempt: "3.1.1", kind: "stdout", offset: 6, name: "", data: Buffer.from("world\n") }]);
  assert.deepEqual(parseEntry(onWire(["a", "../3", "k", "ended", "d", "x"])), []);
  assert.deepEqual(parseEntry(onWire(["hello", "world"])), []);
});
