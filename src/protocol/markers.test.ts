import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fateOf, readEnded } from "./markers.js";
import { tempDir } from "../testing/temp.js";

const base = { caught: null, warned: null, error: null, cancelled: null, verdict: null, time: 0, usage: null };

test("a marker without its final end line counts as not yet written", () => {
  const dir = tempDir("corral-markers-");
  fs.writeFileSync(path.join(dir, "ended"), "status=0\n");
  assert.equal(readEnded(dir), null);
  fs.writeFileSync(path.join(dir, "ended"), "status=0\nsignal=\nend\n");
  assert.equal(readEnded(dir)?.status, 0);
});

test("a missing run directory reads as no marker, not an error", () => {
  assert.equal(readEnded("/no/such/run/dir"), null);
});

test("statuses above 128 are deaths by signal; a caught signal wins over the status", () => {
  assert.equal(fateOf({ ...base, status: 137 }).signal, "KILL");
  assert.equal(fateOf({ ...base, status: 0 }).failed, false);
  assert.deepEqual(fateOf({ ...base, status: 0, caught: "XCPU" }), { exitCode: null, signal: "XCPU", failed: true, reason: "killed by signal XCPU" });
  assert.equal(fateOf({ ...base, status: 1 }).exitCode, 1);
});

test("a marker may carry its own time; otherwise its modification time is used", () => {
  const dir = tempDir("corral-markers-");
  fs.writeFileSync(path.join(dir, "ended"), "status=0\ntime=1700000000.5\nend\n");
  assert.equal(readEnded(dir)?.time, 1700000000500);
  fs.writeFileSync(path.join(dir, "ended"), "status=0\nend\n");
  assert.ok(Math.abs((readEnded(dir)?.time ?? 0) - Date.now()) < 5000);
});
