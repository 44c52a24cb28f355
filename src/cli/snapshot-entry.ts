import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import v8 from "node:v8";
import { runCli } from "./program.js";
import { sideBundleAt } from "../protocol/side-bundle.js";

/**
 * The entry point of corral's startup snapshot (scripts/snapshot.mjs builds it, bin/corral starts from it):
 * while the snapshot is built, node loads the whole command line, which is then saved as it stands; each
 * command starts from that saved state and runs runCli() at once, without loading anything again.
 *
 * The bundle behind the snapshot reads `import.meta.url`, and loads what it cannot hold (packages that read
 * their own files, better-sqlite3's compiled addon), through these two globals, set here because only the
 * running command knows where it is: bin/corral passes dist/bin/corral.js as the script.
 */
const shared = globalThis as { __corralUrl?: string; __corralRequire?: NodeJS.Require; __corralSideBundle?: (name: string) => unknown };

/**
 * The exports of a bundle beside the snapshot (NAME.cjs in `dir`), loaded once, compiled from the V8 code
 * cache made with it (NAME.cache) when there is one: zod and its parsers load in 20 ms instead of 80.
 */
function sideBundleLoader(dir: string): (name: string) => unknown {
  const loaded = new Map<string, unknown>();
  return (name) => {
    if (!loaded.has(name)) {
      const exports = sideBundleAt(dir, name);
      if (exports === null) throw new Error(`${name}.cjs is missing beside corral's startup snapshot: run npm run build`);
      loaded.set(name, exports);
    }
    return loaded.get(name);
  };
}

if (!v8.startupSnapshot.isBuildingSnapshot()) throw new Error("snapshot-entry.js only builds the startup snapshot; run dist/bin/corral.js");
v8.startupSnapshot.setDeserializeMainFunction(() => {
  // Node makes the script's path absolute when it loads a script, but not when it starts from a snapshot.
  const script = path.resolve(process.argv[1]!);
  process.argv[1] = script;
  shared.__corralUrl = pathToFileURL(script).href;
  shared.__corralRequire = createRequire(script);
  shared.__corralSideBundle = sideBundleLoader(path.join(path.dirname(script), "snapshot"));
  runCli();
});
