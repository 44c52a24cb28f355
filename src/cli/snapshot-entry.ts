import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import v8 from "node:v8";
import { runCli } from "./program.js";

/**
 * The entry point of corral's startup snapshot (scripts/snapshot.mjs builds it, bin/corral starts from it):
 * while the snapshot is built, node loads the whole command line, which is then saved as it stands; each
 * command starts from that saved state and runs runCli() at once, without loading anything again.
 *
 * The bundle behind the snapshot reads `import.meta.url`, the packages it cannot hold (those that read their
 * own files), and better-sqlite3's compiled addon from these globals, set here because only the running
 * command knows where it is: bin/corral passes dist/bin/corral.js as the script.
 */
const shared = globalThis as { __corralUrl?: string; __corralRequire?: NodeJS.Require; __corralSqliteBinding?: () => object };

if (!v8.startupSnapshot.isBuildingSnapshot()) throw new Error("snapshot-entry.js only builds the startup snapshot; run dist/bin/corral.js");
v8.startupSnapshot.setDeserializeMainFunction(() => {
  // Node makes the script's path absolute when it loads a script, but not when it starts from a snapshot.
  const script = path.resolve(process.argv[1]!);
  process.argv[1] = script;
  shared.__corralUrl = pathToFileURL(script).href;
  const require = createRequire(script);
  shared.__corralRequire = require;
  // better-sqlite3's JavaScript is in the snapshot; its addon is loaded once, when the store first opens a
  // database (store.ts): from where npm's build puts it, else as the package itself finds it (bindings).
  let sqlite: object | undefined;
  shared.__corralSqliteBinding = () => {
    if (sqlite) return sqlite;
    const root = path.dirname(require.resolve("better-sqlite3/package.json"));
    const built = path.join(root, "build", "Release", "better_sqlite3.node");
    const fromRoot = createRequire(path.join(root, "package.json"));
    sqlite = (fs.existsSync(built) ? fromRoot(built) : fromRoot("bindings")({ bindings: "better_sqlite3.node", module_root: root })) as object;
    return sqlite;
  };
  runCli();
});
