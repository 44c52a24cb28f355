// Bundles the compiled command line (dist/cli/main.js) into dist/bin/corral.js: one file to load instead of
// about eighty modules, which is most of what a short `corral ls` spends before it reads anything. Code that
// is imported lazily (`await import(...)`) stays lazy, in chunks beside it; packages stay in node_modules.
// Entry points corral starts as processes or threads run from dist/ as compiled (see src/domain/own-files.ts).
import { chmodSync, rmSync } from "node:fs";
import { build } from "esbuild";

rmSync("dist/bin", { recursive: true, force: true });
await build({
  entryPoints: { corral: "dist/cli/main.js" },
  outdir: "dist/bin",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  packages: "external",
  chunkNames: "chunk-[hash]",
  logLevel: "warning",
});
chmodSync("dist/bin/corral.js", 0o755);
