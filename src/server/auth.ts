import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";

/** A token as Jupyter's: printed once in the address, then kept by the browser in a cookie. */
export function newToken(): string {
  return randomBytes(24).toString("base64url");
}

/** Compares in constant time (hashing first, so neither the content nor the length of the token leaks). */
export function sameToken(given: string | undefined | null, token: string): boolean {
  if (typeof given !== "string") return false;
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(token).digest();
  return timingSafeEqual(a, b);
}

export interface GuardOptions {
  readonly token: string;
  /** `host:port` values a request may name: on loopback, anything else is a DNS-rebinding attempt. Null: any. */
  readonly allowedHosts: ReadonlySet<string> | null;
  /** The cookie's name, per port, so two dashboards on one host keep their own tokens. */
  readonly cookie: string;
  /** The page asking for the token, served instead of anything else without it. */
  readonly askPage: () => string;
}

/** The header every change must carry: a cross-site form or script cannot set it without a preflight we refuse. */
export const TOKEN_HEADER = "x-corral-token";

/**
 * Nothing is served without the token: the page that asks for it, or 401 for the API. `?token=` sets the
 * cookie and redirects to the same address without it (so it does not stay in the history). Changes (POST)
 * must also carry the token in a header and come from this origin (Origin and Sec-Fetch-Site, when the
 * browser sends them), which refuses cross-site requests even though the browser would send the cookie.
 */
export function guard(opts: GuardOptions): MiddlewareHandler {
  return async (c, next) => {
    const host = c.req.header("host") ?? "";
    if (opts.allowedHosts !== null && !opts.allowedHosts.has(host.toLowerCase())) {
      return c.text(`refused: the Host header '${host}' is not this dashboard's address`, 403);
    }
    const fromQuery = c.req.query("token");
    if (c.req.method === "GET" && fromQuery !== undefined && sameToken(fromQuery, opts.token)) {
      setCookie(c, opts.cookie, opts.token, { httpOnly: true, sameSite: "Strict", path: "/" });
      const url = new URL(c.req.url);
      url.searchParams.delete("token");
      return c.redirect(`${url.pathname}${url.search}`, 303);
    }
    const given = c.req.header(TOKEN_HEADER) ?? bearer(c) ?? getCookie(c, opts.cookie) ?? fromQuery;
    if (!sameToken(given, opts.token)) {
      if (c.req.path.startsWith("/api/")) return c.json({ error: "this dashboard needs its token: open the address `corral ui` printed" }, 401);
      return c.html(opts.askPage(), 401);
    }
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      const refusal = crossSite(c, opts.token);
      if (refusal) return c.json({ error: refusal }, 403);
    }
    await next();
  };
}

function bearer(c: Context): string | undefined {
  const m = /^(?:Bearer|token) (.+)$/.exec(c.req.header("authorization") ?? "");
  return m?.[1];
}

/** Why a change is refused as cross-site, or null when it comes from the page itself. */
function crossSite(c: Context, token: string): string | null {
  if (!sameToken(c.req.header(TOKEN_HEADER), token)) return "refused: a change must carry the dashboard's token in its X-Corral-Token header";
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined && site !== "same-origin" && site !== "none") return `refused: a cross-site request (Sec-Fetch-Site: ${site})`;
  const origin = c.req.header("origin");
  if (origin !== undefined && origin !== new URL(c.req.url).origin) return `refused: a request from another origin (${origin})`;
  return null;
}
