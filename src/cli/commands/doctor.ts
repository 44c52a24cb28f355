import path from "node:path";
import type { Command } from "commander";
import { defaultEngineName } from "../../config/project-config.js";
import { engineNames, getEngine } from "../../api/engines.js";
import { ExitCode, openOptional } from "../context.js";
import { c, printJson } from "../output.js";

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .description("which engines are usable here, and if not, why and what to do (one line each)")
    .option("--engine <names>", "check only these engines (comma-separated); exit 1 if one is not usable")
    .option("--json", "print the lines as JSON")
    .action((flags: { engine?: string; json?: boolean }, self: Command) => {
      const corral = openOptional(self);
      const projectDir = corral ? corral.store.dir : path.join(process.cwd(), ".corral");
      try {
        const names = flags.engine
          ? flags.engine
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean)
          : engineNames();
        const lines = names.flatMap((n) => getEngine(n).doctor(projectDir));
        if (flags.json) printJson(lines);
        else {
          const width = Math.max(...lines.map((l) => l.engine.length));
          for (const l of lines) {
            const mark = l.usable ? "ok " : "NO ";
            const painted = l.usable ? c.green(mark) : c.red(mark);
            process.stdout.write(`${l.engine.padEnd(width)}  ${painted} ${l.text}\n`);
          }
          const store = corral?.store;
          process.stdout.write(
            `default engine: ${defaultEngineName(corral ? projectDir : null)}; database: ${store ? `${store.path} (${store.journal} journal${store.networkFs ? `, on ${store.networkFs}` : ""})` : "none yet"}\n`,
          );
          process.stdout.write(`started from: ${startedFrom()}\n`);
        }
        if (flags.engine && lines.some((l) => !l.usable)) throw new ExitCode(1);
      } finally {
        corral?.close();
      }
    });
}

/** Whether this command started from corral's startup snapshot (see bin/corral): commands start faster from one. */
function startedFrom(): string {
  const at = process.execArgv.indexOf("--snapshot-blob");
  if (at >= 0) return `the startup snapshot ${path.resolve(process.execArgv[at + 1]!)}`;
  return `the bundle (no startup snapshot: none built for node ${process.version}, or NODE_OPTIONS or CORRAL_SNAPSHOT=off set; npm run build makes one)`;
}
