// Builds corral's V8 startup snapshot, dist/bin/snapshot/corral.blob, which bin/corral starts node from: the
// command line's modules already loaded and compiled, so each command starts about 60 ms sooner (Node 20 has
// no module compile cache; a snapshot is what it offers). A snapshot only fits the node binary that made it,
// linked beside it as dist/bin/snapshot/node; bin/corral falls back to dist/bin/corral.js for any other node.
//
// The snapshot is made from one CommonJS bundle of dist/cli/snapshot-entry.js. Whatever its modules do when
// loaded is done once, here, and kept: so corral's modules decide nothing at load time from the terminal, the
// environment or their own path (see cli/output.ts, domain/own-files.ts). Packages that cannot be kept are
// loaded when first used instead, by the command itself, from node_modules as usual.
import { spawnSync } from "node:child_process";
import { mkdirSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";

const OUT = "dist/bin/snapshot";

/**
 * Reading the terminal when loaded. (better-sqlite3 is bundled; only its compiled addon is loaded at run time,
 * see sqliteAddon below. synckit, which starts threads, is loaded by engines/redis/redis-bridge.ts itself.)
 */
const CANNOT_BE_KEPT = ["picocolors", "cli-progress"];
/**
 * Used only by commands that read job description or folder files (zod and the parsers) or serve the
 * dashboard (hono): every command pays for what the snapshot holds, as V8 deserializes it at each start
 * (these made `corral --version` 8 ms slower), so they are loaded by the commands that use them instead,
 * each group from one bundle of its own beside the snapshot, with a V8 code cache of it made here: from
 * node_modules, compiling and running zod's many files made `corral render` 55 ms slower.
 */
const SIDE_BUNDLES = {
  description: ["zod", "yaml", "toml-eslint-parser"],
  server: ["hono", "hono/cookie", "hono/streaming", "@hono/node-server"],
  // Also the whole of the thread behind engines/redis/redis-bridge.ts (engines/redis/packages.ts): a thread
  // starts with nothing loaded, and from node_modules these made each command that asks Redis 0.3 s slower.
  redis: ["ioredis", "bullmq", "synckit"],
};
const sideBundleOf = new Map(Object.entries(SIDE_BUNDLES).flatMap(([bundle, packages]) => packages.map((p) => [p, bundle])));
const AT_RUN_TIME = [...CANNOT_BE_KEPT, ...sideBundleOf.keys()];

// Each such package becomes a stand-in that loads it on first use, through the running command's require:
// its default export and each named one (listed from the package here) load it when called, constructed or read.
// Only functions and objects are named: a stand-in for a string or a flag would be a function, so importing one
// of those fails this build rather than comparing unequal at run time. (Named through `export { … as name }`,
// which also takes names that are reserved words, as zod's `null`.)
const require = createRequire(import.meta.url);
const loadedAtRunTime = {
  name: "loaded-at-run-time",
  setup(b) {
    const filter = new RegExp(`^(${AT_RUN_TIME.map((n) => n.replace(/[/.]/g, "\\$&")).join("|")})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: "at-run-time" }));
    b.onLoad({ filter: /.*/, namespace: "at-run-time" }, (args) => {
      const real = require(args.path);
      const names = Object.keys(real).filter(
        (n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== "default" && (typeof real[n] === "function" || (typeof real[n] === "object" && real[n] !== null)),
      );
      const side = sideBundleOf.get(args.path);
      // A side bundle is loaded by snapshot-entry.ts, beside the running script as this snapshot is.
      const loading = side
        ? `globalThis.__corralSideBundle(${JSON.stringify(side)})[${JSON.stringify(args.path)}]`
        : `globalThis.__corralRequire(${JSON.stringify(args.path)})`;
      return {
        loader: "js",
        contents: `let real;
const load = () => (real ??= ${loading});
const lazy = (pick) => new Proxy(function () {}, {
  construct: (_t, a) => Reflect.construct(pick(), a),
  apply: (_t, self, a) => Reflect.apply(pick(), self, a),
  get: (_t, key) => pick()[key],
  has: (_t, key) => key in pick(),
});
export default lazy(load);
${names.map((n, i) => `const named${i} = lazy(() => load()[${JSON.stringify(n)}]);\nexport { named${i} as ${n} };`).join("\n")}`,
      };
    });
  },
};

// better-sqlite3 finds its addon with `bindings`, which looks for the package's folder from its caller's file:
// in a bundle that is the bundle. Here it is found from the running command instead, where npm builds it
// (else through the real bindings, told the package's folder). Evaluated on the first database opened.
const sqliteAddon = {
  name: "sqlite-addon",
  setup(b) {
    b.onResolve({ filter: /^bindings$/ }, () => ({ path: "bindings", namespace: "sqlite-addon" }));
    b.onLoad({ filter: /.*/, namespace: "sqlite-addon" }, () => ({
      loader: "js",
      contents: `const fs = require("node:fs");
const path = require("node:path");
const { createRequire } = require("node:module");
module.exports = (name) => {
  const root = path.dirname(globalThis.__corralRequire.resolve("better-sqlite3/package.json"));
  const fromRoot = createRequire(path.join(root, "package.json"));
  const built = path.join(root, "build", "Release", name);
  return fs.existsSync(built) ? fromRoot(built) : fromRoot("bindings")({ bindings: name, module_root: root });
};`,
    }));
  },
};

/** What esbuild leaves outside ASCII could only be in a comment it keeps, where an escape means the same. */
function asciiOnly(source) {
  return source.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
// The snapshot keeps the bundle's source, which V8 reads back at every start: without comments and spaces it
// is 1.4 MB instead of 2. In ASCII only, V8 keeps it one byte a character; a single "—" in a comment made it
// two (esbuild escapes strings but keeps comments as written; legal ones would still be kept, hence "none").
// The side bundles are read back at each use: the same holds for them.
const compact = { bundle: true, format: "cjs", platform: "node", target: "node20", minifyWhitespace: true, legalComments: "none", write: false, logLevel: "warning" };
const bundled = await build({
  ...compact,
  entryPoints: ["dist/cli/snapshot-entry.js"],
  define: { "import.meta.url": "globalThis.__corralUrl" },
  plugins: [loadedAtRunTime, sqliteAddon],
});
writeFileSync(`${OUT}/corral.cjs`, asciiOnly(bundled.outputFiles[0].text));
// Each side bundle is one function expression (the module's body, as node would wrap it), which the command
// runs with protocol/side-bundle.ts. Its exports are one getter per package, which loads it when first read:
// a command or thread pays only for the packages it uses. Run here once the same way, each package loaded,
// then cached with what running compiled.
const { runSideBundle } = await import("../dist/protocol/side-bundle.js");
for (const [name, packages] of Object.entries(SIDE_BUNDLES)) {
  const getters = packages.map((p) => `get ${JSON.stringify(p)}() { return (loaded[${JSON.stringify(p)}] ??= require(${JSON.stringify(p)})); }`);
  const side = await build({
    ...compact,
    stdin: { contents: `const loaded = {};\nmodule.exports = {${getters.join(", ")}};`, resolveDir: ".", loader: "js" },
  });
  const file = path.resolve(OUT, `${name}.cjs`);
  writeFileSync(file, `(function (exports, require, module, __filename, __dirname) {\n${asciiOnly(side.outputFiles[0].text)}\n})`);
  const { exports, script } = runSideBundle(file);
  for (const p of packages) void exports[p];
  writeFileSync(path.resolve(OUT, `${name}.cache`), script.createCachedData());
}
const blob = `${OUT}/corral.blob`;
const building = `${OUT}/building.blob`;
// Node warns that some built-in modules are "not yet fully verified" in snapshots; the test suite, which
// runs every command through bin/corral, is what verifies them here.
const r = spawnSync(process.execPath, ["--snapshot-blob", building, "--build-snapshot", `${OUT}/corral.cjs`], {
  encoding: "utf8",
  env: { ...process.env, NODE_NO_WARNINGS: "1" },
});
// Renamed into place only when whole: a cut-off snapshot would crash node, where none falls back to the bundle.
if (r.status === 0) {
  renameSync(building, blob);
  // Which node it fits, for bin/corral to compare with the node on PATH (`[ -ef ]`, no process started);
  // and, for a node on PATH that is some other file (a shim), what `node --version` and `uname -sm` say.
  symlinkSync(realpathSync(process.execPath), `${OUT}/node`);
  writeFileSync(`${OUT}/made-by`, `${process.version} ${os.type()} ${os.machine()}\n`);
} else {
  rmSync(building, { force: true });
  process.stderr.write(`corral: no startup snapshot (commands will start ~60 ms slower): ${r.stderr.trim().split("\n").slice(-3).join(" ")}\n`);
}
