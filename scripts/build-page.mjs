#!/usr/bin/env node
// Bundles the dashboard's page (src/server/page, Preact and ECharts included) into dist/server/assets with
// esbuild, so the package ships everything the browser loads: no CDN, no network at run time. The timeline's
// chart library is split into its own chunk, loaded only when the timeline is opened.
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const outdir = path.join(root, "dist", "server", "assets");
fs.rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { app: path.join(root, "src", "server", "page", "main.tsx") },
  bundle: true,
  splitting: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: false,
  outdir,
  chunkNames: "chunk-[hash]",
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "linked",
  logLevel: "warning",
});
