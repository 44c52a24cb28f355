import { UsageError } from "./errors.js";

export interface Resources {
  readonly cpus: number;
  /** Memory in MiB, or null when not requested. */
  readonly memMb: number | null;
  /** Wall-clock limit in seconds, or null for none. */
  readonly timeLimitS: number | null;
  readonly gpus: number;
  readonly queue: string | null;
}

const MEM_RE = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i;
const MEM_FACTOR: Record<string, number> = { k: 1 / 1024, "": 1, m: 1, g: 1024, t: 1024 * 1024 };

/** `4G`, `512M`, `1.5GB`, `800` (MiB, as in Slurm). Returns MiB, rounded up. */
export function parseMemory(text: string, flag = "--mem"): number {
  const m = MEM_RE.exec(text.trim());
  if (!m) throw new UsageError(`${flag} '${text}': expected a size such as 512M, 4G or 1.5T`);
  const mb = Math.ceil(Number(m[1]) * (MEM_FACTOR[(m[2] ?? "").toLowerCase()] ?? 1));
  if (!(mb >= 1)) throw new UsageError(`${flag} '${text}': must be at least 1M`);
  return mb;
}

const UNIT_RE = /^(\d+(?:\.\d+)?)\s*([smhd])$/i;
const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Slurm's time formats (`MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`) plus `90s`, `30m`, `2h`, `1d`.
 * Minutes and seconds after a colon must be below 60, so `99:99` is refused rather than silently normalised.
 */
export function parseDuration(text: string, flag = "--time"): number {
  const t = text.trim();
  const bad = (why: string) => new UsageError(`${flag} '${text}': ${why}`);
  const unit = UNIT_RE.exec(t);
  let seconds: number;
  if (unit) {
    seconds = Math.round(Number(unit[1]) * (UNIT_S[unit[2]!.toLowerCase()] ?? 1));
  } else {
    const m = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(t);
    if (!m) throw bad("expected MM, MM:SS, HH:MM:SS, D-HH:MM:SS or a number with s/m/h/d");
    const days = m[1] === undefined ? null : Number(m[1]);
    const parts = [m[2], m[3], m[4]].filter((p): p is string => p !== undefined).map(Number);
    const sub60 = (v: number, what: string) => {
      if (v > 59) throw bad(`${what} must be below 60`);
      return v;
    };
    if (days !== null) {
      // D-HH, D-HH:MM, D-HH:MM:SS
      const [h = 0, mi = 0, s = 0] = parts;
      if (h > 23) throw bad("hours after a day count must be below 24");
      seconds = days * 86400 + h * 3600 + sub60(mi, "minutes") * 60 + sub60(s, "seconds");
    } else if (parts.length === 1) {
      seconds = parts[0]! * 60;
    } else if (parts.length === 2) {
      seconds = parts[0]! * 60 + sub60(parts[1]!, "seconds");
    } else {
      seconds = parts[0]! * 3600 + sub60(parts[1]!, "minutes") * 60 + sub60(parts[2]!, "seconds");
    }
  }
  if (!(seconds >= 1)) throw bad("must be at least one second");
  return seconds;
}

export function formatDuration(totalS: number): string {
  const s = Math.max(0, Math.round(totalS));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const hms = `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
  return d > 0 ? `${d}-${hms}` : hms;
}

export function formatMemory(mb: number): string {
  if (mb % (1024 * 1024) === 0) return `${mb / (1024 * 1024)}T`;
  if (mb % 1024 === 0) return `${mb / 1024}G`;
  return `${mb}M`;
}

export function parseCount(text: string, flag: string, min = 0): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < min) {
    throw new UsageError(`${flag} '${text}': expected a whole number${min > 0 ? ` of at least ${min}` : ""}`);
  }
  return Number(text);
}
