import type { AddressInfo } from "node:net";
import path from "node:path";
import { serve } from "@hono/node-server";
import { databasePathFor } from "../api/corral.js";
import { dashboardApp } from "./app.js";
import { LiveProject } from "./live.js";

export interface DashboardOptions {
  readonly db?: string;
  readonly cwd?: string;
  /** 0 picks a free port; a busy port moves on to the next ones, as Jupyter does. */
  readonly port?: number;
  readonly host?: string;
  readonly readOnly?: boolean;
  /** Fixed only by tests and the bench; otherwise a fresh random token per start. */
  readonly token?: string;
  readonly refreshMs?: number;
}

export interface Dashboard {
  /** The address to open, token included. */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly live: LiveProject;
  close(): Promise<void>;
}

export const DEFAULT_PORT = 8742;
const PORT_TRIES = 20;

/** Whether an address is this machine's loopback (the only one served without a warning). */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Starts serving the project found from `cwd` (or `db`), whether its database exists yet or not. */
export async function startDashboard(opts: DashboardOptions = {}): Promise<Dashboard> {
  const dbPath = databasePathFor({ db: opts.db, cwd: opts.cwd });
  const host = opts.host ?? "127.0.0.1";
  const live = new LiveProject({ dbPath, refreshMs: opts.refreshMs });
  const first = opts.port ?? DEFAULT_PORT;
  try {
    for (let port = first, tries = 0; ; port++, tries++) {
      const started = await listen(live, dbPath, host, port, opts);
      if (started) return started;
      if (first === 0 || tries >= PORT_TRIES) throw new Error(`no free port from ${first} to ${port} on ${host}`);
    }
  } catch (err) {
    await live.close();
    throw err;
  }
}

/** Listens on one port: null when it is taken. */
function listen(live: LiveProject, dbPath: string, host: string, port: number, opts: DashboardOptions): Promise<Dashboard | null> {
  return new Promise((resolve, reject) => {
    // The app is built once the port is known: the Host check and the cookie name depend on it.
    let fetcher: ((req: Request) => Response | Promise<Response>) | null = null;
    const server = serve({ fetch: (req) => fetcher!(req), hostname: host, port });
    server.once("error", (err: NodeJS.ErrnoException) => (err.code === "EADDRINUSE" ? resolve(null) : reject(err)));
    server.once("listening", () => {
      const actual = (server.address() as AddressInfo).port;
      const shown = host.includes(":") ? `[${host}]` : host;
      const allowedHosts = isLoopback(host) ? new Set([`127.0.0.1:${actual}`, `localhost:${actual}`, `[::1]:${actual}`, `${shown}:${actual}`]) : null;
      const { app, token } = dashboardApp({
        live,
        projectDir: path.dirname(dbPath),
        readOnly: opts.readOnly ?? false,
        token: opts.token,
        allowedHosts,
        port: actual,
      });
      fetcher = app.fetch;
      resolve({
        url: `http://${shown}:${actual}/?token=${token}`,
        port: actual,
        token,
        live,
        close: async () => {
          await new Promise<void>((done) => {
            server.close(() => done());
            // Event streams stay open until their clients leave: end them, or close would wait forever.
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          });
          await live.close();
        },
      });
    });
  });
}
