import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { planDescription } from "../api/plan.js";
import { nativeJobs } from "./native-job.js";
import { RENDER_TARGETS } from "./targets.js";

// Fixtures and golden files live in the source tree (tests run from dist/).
const SRC = fileURLToPath(new URL("../../src/render/", import.meta.url));
const FIXTURES = `${SRC}fixtures`;

function rendered(fixture: string, engine: string): string {
  const plan = planDescription(`${FIXTURES}/${fixture}`);
  // A Grid Engine site's parallel environment and GPU consumable, as [sge] in .corral/config.toml names them.
  const site = engine === "sge" ? { pe: "smp", gpu_resource: "gpu" } : {};
  const files = RENDER_TARGETS.get(engine)!.render(plan.batch, nativeJobs(plan), fixture, site);
  // The fixture folder's absolute path differs between checkouts.
  return files
    .map((f) => `==> ${f.name} <==\n${f.content}`)
    .join("\n")
    .split(FIXTURES)
    .join("<FIXTURES>");
}

for (const fixture of ["genome.toml", "features.yaml"]) {
  for (const engine of RENDER_TARGETS.keys()) {
    test(`render ${fixture} for ${engine} matches its golden file`, () => {
      const golden = `${SRC}golden/${fixture.replace(/\.\w+$/, "")}.${engine}.txt`;
      const actual = rendered(fixture, engine);
      if (process.env.CORRAL_UPDATE_GOLDEN === "1") fs.writeFileSync(golden, actual);
      assert.equal(actual, fs.readFileSync(golden, "utf8"), `differs from ${golden} (CORRAL_UPDATE_GOLDEN=1 npm test rewrites it)`);
    });
  }
}
