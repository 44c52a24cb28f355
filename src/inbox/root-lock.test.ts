import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { processStartTime } from "../engines/local/processes.js";
import { tempDir } from "../testing/temp.js";
import { RootLock, takeOverDeadLock } from "./root-lock.js";

const LOCK = ".corral-inbox.lock";
/** A pid no process has any more: a child that has exited (and been reaped). */
const gonePid = () => spawnSync("true").pid!;
const lockText = (pid: number, start: string) => `${pid} ${start} ${os.hostname()}\n`;
const leftovers = (dir: string) => fs.readdirSync(dir).filter((f) => f.startsWith(`${LOCK}.`));

test("of two watchers that found the same holder gone, the second to take over puts the first's fresh lock back", () => {
  const dir = tempDir("corral-root-lock-");
  const file = path.join(dir, LOCK);
  const dead = lockText(gonePid(), "12345");
  // Both read the dead holder's lock; the first has already moved it aside and linked its own.
  const first = lockText(process.pid, processStartTime(process.pid)!);
  fs.writeFileSync(file, first);
  takeOverDeadLock(file, dead);
  assert.equal(fs.readFileSync(file, "utf8"), first, "the first watcher's lock is where it was");
  assert.deepEqual(leftovers(dir), []);
  // The dead holder's lock itself is moved out of the way; a lock already gone is left so.
  fs.writeFileSync(file, dead);
  takeOverDeadLock(file, dead);
  assert.ok(!fs.existsSync(file));
  takeOverDeadLock(file, dead);
  assert.deepEqual(leftovers(dir), []);
});

test("a lock whose holder is gone is taken over, a live holder's is refused, and what killed watchers left is cleared", async () => {
  const dir = tempDir("corral-root-lock-");
  const file = path.join(dir, LOCK);
  const live = spawn("sleep", ["30"], { stdio: "ignore" });
  try {
    await new Promise((r) => live.once("spawn", r));
    const liveStart = processStartTime(live.pid!)!;
    fs.writeFileSync(file, lockText(live.pid!, liveStart));
    assert.throws(() => RootLock.take(dir), new RegExp(`another corral inbox \\(pid ${live.pid}\\) is watching`));
    // A draft and a moved-aside lock of a killed watcher, and a draft of one still running.
    const gone = gonePid();
    fs.writeFileSync(path.join(dir, `${LOCK}.${gone}`), lockText(gone, "1"));
    fs.writeFileSync(path.join(dir, `${LOCK}.${gone}.gone`), lockText(gone, "1"));
    fs.writeFileSync(path.join(dir, `${LOCK}.${live.pid}`), lockText(live.pid!, liveStart));
    fs.writeFileSync(file, lockText(gonePid(), "12345"));
    const lock = RootLock.take(dir);
    assert.equal(fs.readFileSync(file, "utf8"), lockText(process.pid, processStartTime(process.pid)!));
    assert.deepEqual(leftovers(dir), [`${LOCK}.${live.pid}`]);
    lock.release();
    assert.ok(!fs.existsSync(file));
  } finally {
    live.kill("SIGKILL");
  }
});

test("a watcher asks between steps whether it still holds its lock: one gone is taken again, another's is not released", () => {
  const dir = tempDir("corral-root-lock-");
  const file = path.join(dir, LOCK);
  const lock = RootLock.take(dir);
  const mine = fs.readFileSync(file, "utf8");
  assert.equal(lock.held(), true);
  fs.rmSync(file);
  assert.equal(lock.held(), true);
  assert.equal(fs.readFileSync(file, "utf8"), mine);
  const other = lockText(gonePid(), "777");
  fs.writeFileSync(file, other);
  assert.equal(lock.held(), false);
  lock.release();
  assert.equal(fs.readFileSync(file, "utf8"), other, "release leaves another watcher's lock");
  assert.deepEqual(leftovers(dir), []);
});
