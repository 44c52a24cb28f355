import { spawn } from "node:child_process";
import type { Command } from "commander";
import { UsageError } from "../../domain/errors.js";
import { globalDb } from "../context.js";

interface UiFlags {
  port?: string;
  host?: string;
  readOnly?: boolean;
  open?: boolean;
}

export function registerUi(program: Command): void {
  program
    .command("ui")
    .description("serve a live web dashboard of this project until Ctrl-C (on loopback, behind a token printed with its address)")
    .option("--port <n>", "the port (the next free one if taken)", "8742")
    .option("--host <addr>", "the address to listen on (default 127.0.0.1; anything else is reachable by others)")
    .option("--read-only", "serve no changes: no cancel, resubmit, release, mark or delete")
    .option("--open", "open the address in a browser (xdg-open or open)")
    .action(async (flags: UiFlags, self: Command) => {
      if (!/^\d+$/.test(flags.port!) || Number(flags.port) > 65535) throw new UsageError(`--port '${flags.port}': expected a port number (0-65535)`);
      if (flags.host !== undefined && !/^[A-Za-z0-9.:-]+$/.test(flags.host)) throw new UsageError(`--host '${flags.host}': expected an address or a host name`);
      // Loaded only here, so no other command pays for the server's modules.
      const { startDashboard, isLoopback } = await import("../../server/serve.js");
      const host = flags.host ?? "127.0.0.1";
      if (!isLoopback(host)) {
        process.stderr.write(
          `corral: warning: listening on ${host}, not loopback: anyone who can reach it and has the token can see and change this project's jobs\n`,
        );
      }
      const dashboard = await startDashboard({
        db: globalDb(self),
        port: Number(flags.port),
        host,
        readOnly: flags.readOnly ?? false,
        refreshMs: process.env.CORRAL_UI_REFRESH_MS ? Number(process.env.CORRAL_UI_REFRESH_MS) : undefined,
      });
      const db = dashboard.live.view === null ? ` (no database yet at ${dashboard.live.dbPath}: it appears once a job is submitted)` : "";
      process.stdout.write(`corral ui: serving ${dashboard.live.dbPath}${flags.readOnly ? " read-only" : ""}${db}\n`);
      process.stdout.write(`  ${dashboard.url}\n`);
      process.stdout.write("Press Ctrl-C to stop.\n");
      if (flags.open) openBrowser(dashboard.url);
      await new Promise<void>((resolve) => {
        const stop = () => {
          // A refresh blocked on a scheduler that does not answer cannot be interrupted inside its thread:
          // Ctrl-C does not wait for it (the poll lease it holds expires by itself).
          setTimeout(() => process.exit(0), 1000).unref();
          void dashboard.close().then(resolve);
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      process.exit(0);
    });
}

function openBrowser(url: string): void {
  const cmd = process.platform === "darwin" ? "open" : "xdg-open";
  const child = spawn(cmd, [url], { stdio: "ignore", detached: true });
  child.on("error", () => process.stderr.write(`corral: could not run ${cmd}: open ${url} yourself\n`));
  child.unref();
}
