import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

test("the Redis thread's packages come from the bundle beside the snapshot, not from node_modules' files", () => {
  // In a process of its own, as a thread starts: nothing loaded yet.
  const packages = fileURLToPath(new URL("./packages.js", import.meta.url));
  const probe = `
    const { createRequire } = await import("node:module");
    const { redisPackages } = await import(${JSON.stringify(packages)});
    const p = redisPackages();
    const client = new p.ioredis.Redis({ lazyConnect: true });
    const loadedFiles = Object.keys(createRequire(import.meta.url).cache).filter((f) => /node_modules\\/(ioredis|bullmq|synckit)\\//.test(f));
    console.log(JSON.stringify({ client: client.status, queue: typeof p.bullmq.Queue, worker: typeof p.synckit.runAsWorker, loadedFiles }));
    client.disconnect();`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", probe], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const seen = JSON.parse(r.stdout) as { client: string; queue: string; worker: string; loadedFiles: string[] };
  assert.deepEqual(seen, { client: "wait", queue: "function", worker: "function", loadedFiles: [] });
});
