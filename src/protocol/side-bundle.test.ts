import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { ownFile } from "../domain/own-files.js";
import { runSideBundle } from "./side-bundle.js";

const dir = ownFile("bin/snapshot");

// What each bundle beside the snapshot must hold (scripts/snapshot.mjs), and a thing each package exports.
const bundles: Record<string, Record<string, string>> = {
  description: { zod: "object", yaml: "parseDocument", "toml-eslint-parser": "parseTOML" },
  server: { hono: "Hono", "@hono/node-server": "serve" },
  redis: { ioredis: "Redis", bullmq: "Queue", synckit: "runAsWorker" },
};

for (const [name, packages] of Object.entries(bundles)) {
  test(`the ${name} bundle beside the snapshot compiles from its own code cache and loads each package on first use`, () => {
    const file = path.join(dir, `${name}.cjs`);
    const { exports, script } = runSideBundle(file, fs.readFileSync(path.join(dir, `${name}.cache`)));
    // A cache V8 rejects (made by another node, or of another source) is silently compiled around: slower, not wrong.
    assert.equal(script.cachedDataRejected, false, `${name}.cache fits ${name}.cjs and this node`);
    for (const [pkg, member] of Object.entries(packages)) {
      const descriptor = Object.getOwnPropertyDescriptor(exports, pkg);
      assert.equal(typeof descriptor?.get, "function", `${pkg} is a getter, loaded when first read`);
      const loaded = (exports as Record<string, Record<string, unknown>>)[pkg]!;
      assert.equal(typeof loaded[member], "function", `${pkg}.${member}`);
      assert.equal((exports as Record<string, unknown>)[pkg], loaded, `${pkg} is loaded once`);
    }
  });
}
