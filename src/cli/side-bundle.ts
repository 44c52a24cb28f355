import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import vm from "node:vm";

/** A side bundle's file: one function expression, the module's body as node would wrap it. */
type ModuleBody = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

/**
 * Runs a bundle beside the startup snapshot (dist/bin/snapshot/NAME.cjs: packages only some commands use, see
 * scripts/snapshot.mjs), compiled from `cachedData` when given and still fitting. Returns its exports, and the
 * script, from which the build makes that cache after this first run.
 */
export function runSideBundle(file: string, cachedData?: Buffer): { exports: object; script: vm.Script } {
  const script = new vm.Script(fs.readFileSync(file, "utf8"), { filename: file, cachedData });
  const module = { exports: {} };
  (script.runInThisContext() as ModuleBody)(module.exports, createRequire(file), module, file, path.dirname(file));
  return { exports: module.exports, script };
}
