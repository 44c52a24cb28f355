import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { TestProject } from "../testing/project.js";

test("closing a project's thread finishes even when the thread's last answer arrives while it closes", (t) => {
  const p = new TestProject("corral-thread-close-");
  t.after(() => p.cleanup());
  p.submit(["--hold"], ["true"]);
  // In a process of its own, so that nothing else keeps its event loop alive. A first refresh starts the
  // thread (however slow a loaded machine is at that); then a second is asked for, the main thread is kept
  // busy long enough for the warm thread to post its answer, and close() starts before that answer is read.
  const script = `
    import { ProjectWorker } from ${JSON.stringify(new URL("./background-refresh.js", import.meta.url).href)};
    const w = new ProjectWorker(process.argv[2]);
    await w.refresh();
    w.refresh().then(() => console.log("answered"), (e) => console.log("refused", e.message));
    const until = Date.now() + 1000;
    while (Date.now() < until);
    w.close().then(() => console.log("closed"));
    process.on("beforeExit", () => console.log("idle"));
  `;
  // A file, not -e: a worker thread inherits the process's flags, and --input-type is refused there.
  const file = path.join(p.dir, "close.mjs");
  fs.writeFileSync(file, script);
  const r = spawnSync(process.execPath, [file, p.dbPath], { encoding: "utf8", timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n"), ["answered", "closed", "idle"]);
});
