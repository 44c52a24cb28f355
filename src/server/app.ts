import fs from "node:fs";
import { ownFile } from "../domain/own-files.js";
import path from "node:path";
import { Hono } from "hono";
import { guard, newToken, TOKEN_HEADER } from "./auth.js";
import type { LiveProject } from "./live.js";
import { apiRoutes } from "./routes.js";

/** Where the build put the page's bundle (scripts/build-page.mjs). */
// Found from dist/, not from this module: the command line runs it from a bundle (see domain/own-files.ts).
const assetsDir = () => ownFile("server/assets/");
const TYPES: Record<string, string> = { ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".map": "application/json" };

export interface AppOptions {
  readonly live: LiveProject;
  readonly projectDir: string;
  readonly readOnly: boolean;
  readonly token?: string;
  /** `host:port` names a request may use (loopback: DNS rebinding is refused); null accepts any. */
  readonly allowedHosts: ReadonlySet<string> | null;
  readonly port: number;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The dashboard: the guard in front of everything, the JSON API under /api, the page and its assets. */
export function dashboardApp(opts: AppOptions): { app: Hono; token: string } {
  const token = opts.token ?? newToken();
  const app = new Hono();
  app.use("*", async (c, next) => {
    await next();
    // The page loads only its own scripts and talks only to this server; nothing may frame it.
    c.header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    c.header("Cache-Control", "no-store");
  });
  app.use("*", guard({ token, allowedHosts: opts.allowedHosts, cookie: `corral-token-${opts.port}`, askPage }));
  app.route("/api", apiRoutes({ live: opts.live, readOnly: opts.readOnly, projectDir: opts.projectDir }));
  app.get("/assets/:file", (c) => {
    const name = c.req.param("file");
    const file = path.join(assetsDir(), path.basename(name));
    if (!fs.existsSync(file)) return c.text("not found", 404);
    return c.body(fs.readFileSync(file), 200, { "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream" });
  });
  app.get("/", (c) => c.html(pageHtml(token, opts)));
  return { app, token };
}

function pageHtml(token: string, opts: AppOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="corral-token" content="${escapeHtml(token)}">
<meta name="corral-token-header" content="${TOKEN_HEADER}">
<meta name="corral-read-only" content="${opts.readOnly ? "1" : "0"}">
<title>corral — ${escapeHtml(path.basename(path.dirname(opts.projectDir)))}</title>
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/app.js"></script>
</head>
<body><div id="app"><p class="loading">Loading…</p></div></body>
</html>`;
}

function askPage(): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>corral — token needed</title>
<style>body{font:16px system-ui,sans-serif;max-width:36em;margin:3em auto;padding:0 1em;color:#222}input{font:inherit;width:100%;padding:.4em;margin:.5em 0}button{font:inherit;padding:.4em 1em}</style></head>
<body><main>
<h1>This dashboard needs its token</h1>
<p>Open the address <code>corral ui</code> printed (it ends in <code>?token=…</code>), or paste its token here:</p>
<form method="get" action="/"><label for="token">Token</label><input id="token" name="token" autocomplete="off" autofocus required><button type="submit">Open</button></form>
</main></body></html>`;
}
