/** Small formatting rules shared by the views. */
import { LIFECYCLE_STATES } from "../../domain/states.js";

export const LIFECYCLE = LIFECYCLE_STATES;

/** Colours as CSS variables (style.css), so a state reads the same in bars, badges, the grid and the timeline. */
export const STATE_COLOR: Record<string, string> = {
  pending: "#a3a3a3",
  queued: "#7cb3f0",
  launching: "#7cb3f0",
  running: "#1f6fd1",
  succeeded: "#2f9e44",
  failed: "#d6336c",
  cancelled: "#e8a317",
  lost: "#7048e8",
};
/** A user label (collected, reviewed...) has no colour of its own. */
export const LABEL_COLOR = "#495057";

export const colorOf = (state: string) => STATE_COLOR[state] ?? LABEL_COLOR;

export const plural = (n: number, word: string) => `${n.toLocaleString("en-US")} ${word}${n === 1 ? "" : "s"}`;

export function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return "";
  return `${duration((now - Date.parse(iso)) / 1000)} ago`;
}

export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function elapsed(fromIso: string | null, toIso: string | null): string {
  if (!fromIso) return "";
  return duration(((toIso ? Date.parse(toIso) : Date.now()) - Date.parse(fromIso)) / 1000);
}

export function megabytes(mb: number | null): string {
  if (mb === null) return "-";
  return mb >= 1024 ? `${(mb / 1024).toFixed(mb % 1024 === 0 ? 0 : 1)} GB` : `${mb} MB`;
}

/** The report's figures as `corral report` writes them: 319M, 1.5G; 40s, 20m, 3.5h; 45%. */
export const memoryText = (mb: number) => (mb >= 1024 ? `${Number((mb / 1024).toFixed(1))}G` : `${Math.round(mb)}M`);
export const wallText = (s: number) =>
  s < 90 ? `${Number(s.toFixed(s < 10 ? 1 : 0))}s` : s < 5400 ? `${Math.round(s / 60)}m` : `${Number((s / 3600).toFixed(1))}h`;
export const percentText = (x: number) => `${Math.round(x * 100)}%`;
