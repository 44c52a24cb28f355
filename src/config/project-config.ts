import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { UsageError } from "../domain/errors.js";
import { parseDuration } from "../domain/resources.js";

/**
 * `.corral/config.toml`: project defaults, so a workflow moves from `local` to `slurm` without edits.
 *
 *   engine = "slurm"              # the default for submissions without --engine (CORRAL_ENGINE overrides)
 *   [local]   cpus = 8, mem = "16G", gpus = "0,1"
 *   [slurm]   partition = "gpu", constraint = "avx2", args = ["--qos=long"]   # passed to sbatch
 *   [sge]     q = "long.q", pe = "smp", args = ["-P", "proj"]                    # passed to qsub
 *   [cluster] lost_grace = "3m", poll_min_age = "5s"
 */
export type ConfigTable = Readonly<Record<string, unknown>>;

const cache = new Map<string, { mtimeMs: number; value: ConfigTable }>();

export function configPath(projectDir: string): string {
  return path.join(projectDir, "config.toml");
}

/** While set, a file read once is not looked at again (see withConfigSnapshot). */
let snapshotDepth = 0;

/**
 * Runs `fn` with each project's config read at most once: one call that checks 100,000 submissions sees one
 * version of the file instead of stat-ing it per submission.
 */
export function withConfigSnapshot<T>(fn: () => T): T {
  snapshotDepth++;
  try {
    return fn();
  } finally {
    snapshotDepth--;
  }
}

/** The parsed file (empty when there is none). A syntax error names the file and line, and changes nothing. */
export function readProjectConfig(projectDir: string): ConfigTable {
  const file = configPath(projectDir);
  const seen = snapshotDepth > 0 ? cache.get(file) : undefined;
  if (seen) return seen.value;
  let mtimeMs: number;
  try {
    mtimeMs = fs.statSync(file).mtimeMs;
  } catch {
    if (snapshotDepth > 0) cache.set(file, { mtimeMs: Number.NaN, value: {} });
    return {};
  }
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === mtimeMs) return hit.value;
  let value: ConfigTable;
  try {
    // Loaded only when a project has a config file.
    const { parse: parseToml } = createRequire(import.meta.url)("smol-toml") as typeof import("smol-toml");
    value = parseToml(fs.readFileSync(file, "utf8")) as ConfigTable;
  } catch (err) {
    throw new UsageError(`${file}: ${(err as Error).message.split("\n")[0]}`);
  }
  cache.set(file, { mtimeMs, value });
  return value;
}

/** One `[section]` of the file; a key that is not a table is an error naming it. */
export function configSection(projectDir: string, name: string): ConfigTable {
  const v = readProjectConfig(projectDir)[name];
  if (v === undefined) return {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new UsageError(`${configPath(projectDir)}: '${name}' must be a table ([${name}])`);
  return v as ConfigTable;
}

/** The engine for a submission that names none: CORRAL_ENGINE, then `engine = ...`, then local. */
export function defaultEngineName(projectDir: string | null, env: NodeJS.ProcessEnv = process.env): string {
  if (env.CORRAL_ENGINE) return env.CORRAL_ENGINE;
  const v = projectDir === null ? undefined : readProjectConfig(projectDir).engine;
  if (v === undefined) return "local";
  if (typeof v !== "string") throw new UsageError(`${configPath(projectDir!)}: 'engine' must be a string such as "slurm"`);
  return v;
}

/** A duration setting: the environment variable (seconds) wins over `[cluster] key` (any duration format). */
export function clusterDurationS(projectDir: string, key: string, envName: string, dfltS: number, env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = env[envName];
  if (fromEnv !== undefined && fromEnv !== "") {
    const n = Number(fromEnv);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`${envName}=${fromEnv}: expected a number of seconds`);
    return n;
  }
  const v = configSection(projectDir, "cluster")[key];
  if (v === undefined) return dfltS;
  return typeof v === "number" ? v : parseDuration(String(v), `[cluster] ${key}`);
}

/** The one default for how long a launch may take before corral recovers it: 120 s (CORRAL_LAUNCH_GRACE_MS overrides). */
export const DEFAULT_LAUNCH_GRACE_MS = 120_000;

/**
 * How long an attempt may sit between being recorded and showing a sign of life (a scheduler id, a `started`
 * marker after its claim) before corral recovers it: another process may still be submitting or starting it.
 */
export function launchGraceMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.CORRAL_LAUNCH_GRACE_MS;
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : DEFAULT_LAUNCH_GRACE_MS;
}
