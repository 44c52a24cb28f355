import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import vm from "node:vm";

/** A side bundle's file: one function expression, the module's body as node would wrap it. */
type ModuleBody = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

/**
 * Runs a bundle beside the startup snapshot (dist/bin/snapshot/NAME.cjs: packages only some commands or threads
 * use, see scripts/snapshot.mjs), compiled from `cachedData` when given and still fitting (V8 checks it and
 * compiles from the source otherwise). Returns its exports, one getter per package that loads it when first
 * read, and the script, from which the build makes that cache after this first run.
 */
export function runSideBundle(file: string, cachedData?: Buffer): { exports: object; script: vm.Script } {
  const script = new vm.Script(fs.readFileSync(file, "utf8"), { filename: file, cachedData });
  const module = { exports: {} };
  (script.runInThisContext() as ModuleBody)(module.exports, createRequire(file), module, file, path.dirname(file));
  return { exports: module.exports, script };
}

/** A side bundle beside the snapshot, `dist/bin/snapshot/NAME.cjs`, run with its code cache; null when the build made none. */
export function sideBundleAt(dir: string, name: string): object | null {
  const file = path.join(dir, `${name}.cjs`);
  if (!fs.existsSync(file)) return null;
  let cachedData: Buffer | undefined;
  try {
    cachedData = fs.readFileSync(path.join(dir, `${name}.cache`));
  } catch {
    // none: compiled from the source alone
  }
  return runSideBundle(file, cachedData).exports;
}
