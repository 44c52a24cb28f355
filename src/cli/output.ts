import { createColors } from "picocolors";

type Colors = ReturnType<typeof createColors>;
let palette: Colors | undefined;
let enabled: boolean | undefined;

/**
 * Colours only on a terminal, and never with NO_COLOR (https://no-color.org). Decided on first use, never when
 * this module is loaded: the startup snapshot (scripts/snapshot.mjs) loads it while building, on no terminal.
 */
export function colorEnabled(): boolean {
  enabled ??= Boolean(process.stdout.isTTY) && !("NO_COLOR" in process.env) && process.env.TERM !== "dumb";
  return enabled;
}

/** picocolors' functions (c.red, c.bold, ...), on or off as colorEnabled() says on first use. */
export const c = new Proxy({} as Colors, {
  get: (_target, name) => {
    palette ??= createColors(colorEnabled());
    return palette[name as keyof Colors];
  },
});

const STATE_COLORS: Record<string, keyof Colors> = {
  succeeded: "green",
  failed: "red",
  lost: "magenta",
  cancelled: "yellow",
  running: "cyan",
  queued: "dim",
  pending: "dim",
};

/** The colour of a state's cell; labels corral does not know are blue. */
const paintOf = (state: string) => c[STATE_COLORS[state] ?? "blue"] as (s: string) => string;

export function colorState(state: string): string {
  return paintOf(state)(state);
}

/** Colours a padded state cell by the state it holds. */
export function paintState(cell: string): string {
  return paintOf(cell.trimEnd())(cell);
}

/** The escape codes paintState() puts around a state's cell, for output formatted elsewhere (store/listing.ts). */
export function stateEscapes(): { open: (state: string) => string; close: (state: string) => string } | null {
  if (!colorEnabled()) return null;
  const split = (state: string) => paintOf(state)("\u0000").split("\u0000") as [string, string];
  return { open: (state) => split(state)[0], close: (state) => split(state)[1] };
}

/** The header line of a table whose columns but the last have these widths (see table()). */
export function tableHeader(header: readonly string[], widths: readonly number[]): string {
  return c.bold(header.map((h, i) => (i < header.length - 1 ? `${h.padEnd(widths[i]!)}  ` : h)).join(""));
}

/** How much room a table's last column has on a terminal after the others (null: not a terminal). */
export function lastColumnRoom(widths: readonly number[]): number | null {
  if (!process.stdout.isTTY) return null;
  return process.stdout.columns - widths.reduce((a, w) => a + w + 2, 0);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function age(iso: string, now = Date.now()): string {
  return ageSeconds((now - Date.parse(iso)) / 1000);
}

export function ageSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function elapsed(fromIso: string | null, toIso: string | null): string {
  if (!fromIso) return "";
  const ms = Math.max(0, (toIso ? Date.parse(toIso) : Date.now()) - Date.parse(fromIso));
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)}s` : `${Math.round(ms / 1000)}s`;
}

/**
 * A plain table: columns padded to their widest cell, `paint` colouring a column after padding (so widths
 * are plain string lengths, which matters at 100,000 rows). On a terminal the last column is cut to fit.
 */
export function table(header: string[], rows: string[][], paint: Record<number, (cell: string) => string> = {}): string {
  const n = header.length;
  const widths = header.map((h) => h.length);
  for (const r of rows) for (let i = 0; i < n - 1; i++) if (r[i]!.length > widths[i]!) widths[i] = r[i]!.length;
  const termWidth = process.stdout.isTTY ? process.stdout.columns : Infinity;
  const out: string[] = new Array(rows.length + 1);
  const prefix = widths.slice(0, n - 1).reduce((a, w) => a + w + 2, 0);
  const fmt = (cells: string[], colour: boolean) => {
    let line = "";
    for (let i = 0; i < n - 1; i++) {
      const cell = cells[i]!.padEnd(widths[i]!);
      line += `${colour && paint[i] ? paint[i]!(cell) : cell}  `;
    }
    let last = cells[n - 1] ?? "";
    if (prefix + last.length > termWidth) last = `${last.slice(0, Math.max(10, termWidth - prefix - 1))}…`;
    return line + last;
  };
  out[0] = c.bold(fmt(header, false));
  for (let i = 0; i < rows.length; i++) out[i + 1] = fmt(rows[i]!, colorEnabled());
  return out.join("\n");
}
