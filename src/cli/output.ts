import { createColors } from "picocolors";

/** Colours only on a terminal, and never with NO_COLOR (https://no-color.org). */
export const colorEnabled = Boolean(process.stdout.isTTY) && !("NO_COLOR" in process.env) && process.env.TERM !== "dumb";
export const c = createColors(colorEnabled);

const STATE_COLORS: Record<string, (s: string) => string> = {
  succeeded: c.green,
  failed: c.red,
  lost: c.magenta,
  cancelled: c.yellow,
  running: c.cyan,
  queued: c.dim,
  pending: c.dim,
};

export function colorState(state: string): string {
  return (STATE_COLORS[state] ?? c.blue)(state);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function age(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function elapsed(fromIso: string | null, toIso: string | null): string {
  if (!fromIso) return "";
  const ms = (toIso ? Date.parse(toIso) : Date.now()) - Date.parse(fromIso);
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)}s` : `${Math.round(ms / 1000)}s`;
}

/** Visible width, ignoring colour escapes. */
function width(s: string): number {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-9;]*m/g, "").length;
}

/** A plain table: columns padded to their widest cell; the last column is cut to the terminal width on a TTY. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ""))));
  const termWidth = process.stdout.isTTY ? process.stdout.columns : Infinity;
  const fmt = (cells: string[]) => {
    const parts = cells.map((cell, i) => (i === cells.length - 1 ? cell : cell + " ".repeat(widths[i]! - width(cell))));
    let line = parts.join("  ");
    if (width(line) > termWidth) {
      const lastStart = parts.slice(0, -1).join("  ").length + 2;
      const room = Math.max(10, termWidth - lastStart - 1);
      line = parts.slice(0, -1).join("  ") + "  " + (cells[cells.length - 1] ?? "").slice(0, room) + "…";
    }
    return line;
  };
  return [c.bold(fmt(header)), ...rows.map(fmt)].join("\n");
}
