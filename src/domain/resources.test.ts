import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageError } from "./errors.js";
import { formatDuration, parseDuration, parseMemory } from "./resources.js";

test("memory sizes are read in MiB with K/M/G/T units, plain numbers as MiB", () => {
  assert.equal(parseMemory("4G"), 4096);
  assert.equal(parseMemory("512M"), 512);
  assert.equal(parseMemory("1.5GB"), 1536);
  assert.equal(parseMemory("800"), 800);
  assert.equal(parseMemory("1T"), 1024 * 1024);
  assert.equal(parseMemory("2048k"), 2);
});

test("unreadable memory sizes are refused", () => {
  for (const bad of ["lots", "4X", "", "-1G", "0"]) assert.throws(() => parseMemory(bad), UsageError, bad);
});

test("time limits accept Slurm's formats and unit suffixes", () => {
  assert.equal(parseDuration("1:30:00"), 5400);
  assert.equal(parseDuration("90"), 5400);
  assert.equal(parseDuration("10:30"), 630);
  assert.equal(parseDuration("2-00:00:00"), 172800);
  assert.equal(parseDuration("1-12"), 129600);
  assert.equal(parseDuration("90s"), 90);
  assert.equal(parseDuration("2h"), 7200);
  assert.equal(parseDuration("48:00:00"), 172800);
});

test("time limits with out-of-range minutes or seconds are refused, not normalised", () => {
  for (const bad of ["99:99", "1:60:00", "1:00:60", "abc", "0", "1-25", ""]) {
    assert.throws(
      () => parseDuration(bad),
      (e: unknown) => e instanceof UsageError && e.message.includes("--time"),
      bad,
    );
  }
});

test("durations print as [D-]HH:MM:SS", () => {
  assert.equal(formatDuration(5400), "01:30:00");
  assert.equal(formatDuration(90061), "1-01:01:01");
});
