import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { renderDependencyGate } from "./dependency-gate.js";
import { readEnded, readStarted } from "./markers.js";
import { tempDir } from "../testing/temp.js";

function runGate(parentEnded: (string | null)[]): { ran: boolean; ended: ReturnType<typeof readEnded>; started: ReturnType<typeof readStarted> } {
  const dir = tempDir("corral-gate-");
  const runDirs = parentEnded.map((content, i) => {
    const d = path.join(dir, `parent-${i}`);
    fs.mkdirSync(d);
    if (content !== null) fs.writeFileSync(path.join(d, "ended"), content);
    return d;
  });
  const child = path.join(dir, "child");
  const script = `corral_dir='${child}'\n${renderDependencyGate([{ jobId: 7, runDirs }])}\ntouch '${dir}/ran'\n`;
  const r = spawnSync("/bin/sh", ["-c", script]);
  assert.equal(r.status, 0);
  return { ran: fs.existsSync(path.join(dir, "ran")), ended: readEnded(child), started: readStarted(child) };
}

test("the gate lets a job run when every parent attempt ended with status 0", () => {
  const r = runGate(["status=0\nsignal=\nwarned=\nend\n", "status=0\nsignal=\nwarned=\nend\n"]);
  assert.equal(r.ran, true);
  assert.equal(r.ended, null);
});

test("a failed, killed or markerless parent stops the job and records it cancelled with the reason", () => {
  for (const bad of ["status=1\nsignal=\nend\n", "status=0\nsignal=TERM\nend\n", null, "status=0\n"]) {
    const r = runGate(["status=0\nend\n", bad]);
    assert.equal(r.ran, false, String(bad));
    assert.equal(r.ended?.cancelled, "dependency 7 did not succeed");
    assert.equal(r.started, null, "the gate's claim is a fence, not a start");
  }
});
