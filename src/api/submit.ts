import { parseTags } from "../domain/tags.js";
import fs from "node:fs";
import path from "node:path";
import { parseArraySpec } from "../domain/array-spec.js";
import { captureEnvironment, parseEnvAssignments } from "../domain/env.js";
import { UsageError } from "../domain/errors.js";
import type { JobSpec } from "../domain/job.js";
import type { SubmitInput } from "../domain/submit-input.js";

export type { SubmitInput };
import { parseCount, parseDuration, parseMemory } from "../domain/resources.js";
import type { EngineCapabilities } from "../engines/engine.js";
import { tagRoutersOf } from "../domain/engine-catalog.js";
import { engineCatalog, getEngine } from "./engines.js";
import { formatCommand } from "../protocol/shell-quote.js";

/** The command as a person would retype it (a script job shows its script first). */
export function commandText(argv: readonly string[], scriptPath: string | null): string {
  return formatCommand(scriptPath ? [scriptPath, ...argv] : argv);
}

function ids(values: readonly (number | string)[] | undefined, flag: string): number[] {
  const out: number[] = [];
  for (const v of values ?? []) {
    for (const part of String(v).split(",")) {
      const t = part.trim();
      if (!/^\d+$/.test(t) || Number(t) < 1) throw new UsageError(`${flag} '${v}': expected job ids such as 3 or 3,5`);
      out.push(Number(t));
    }
  }
  return out;
}

function countOf(v: number | string | undefined, flag: string, dflt: number, min: number): number {
  return v === undefined ? dflt : parseCount(String(v), flag, min);
}

/** What many submissions checked in one call share: one capture of the environment, folders already checked. */
export interface SpecBatch {
  readonly capturedEnv: Readonly<Record<string, string>>;
  readonly checkedDirs: Set<string>;
}

/**
 * Validates everything that can be checked without the database. Throws UsageError; writes nothing.
 * `defaultEngine` is the project's (see defaultEngineName) for inputs that name none; `batch` carries what many
 * inputs checked together share.
 */
export function buildJobSpec(input: SubmitInput, baseCwd: string, defaultEngine = "local", batch?: SpecBatch): JobSpec {
  const argv = [...(input.command ?? [])];
  let script: JobSpec["script"] = null;
  if (input.script !== undefined) {
    const scriptPath = path.resolve(baseCwd, input.script);
    try {
      script = { path: scriptPath, content: fs.readFileSync(scriptPath, "utf8") };
    } catch (err) {
      throw new UsageError(`--script '${input.script}': cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  } else if (argv.length === 0) {
    throw new UsageError("missing command: put it after --, as in: corral submit -- python train.py");
  } else if (argv[0] === "") {
    throw new UsageError("the command after -- is an empty string");
  }
  const cwd = path.resolve(baseCwd, input.cwd ?? ".");
  if (!batch?.checkedDirs.has(cwd)) {
    try {
      fs.accessSync(cwd, fs.constants.R_OK | fs.constants.X_OK);
      if (!fs.statSync(cwd).isDirectory()) throw new Error("not a directory");
    } catch (err) {
      throw new UsageError(`--cwd '${input.cwd ?? cwd}': not a readable directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    batch?.checkedDirs.add(cwd);
  }
  const env = Array.isArray(input.env)
    ? parseEnvAssignments(input.env as readonly string[])
    : parseEnvAssignments(Object.entries(input.env ?? {}).map(([k, v]) => `${k}=${v}`));
  const mem = input.mem === undefined ? null : typeof input.mem === "number" ? input.mem : parseMemory(input.mem);
  const time = input.time === undefined ? null : typeof input.time === "number" ? input.time : parseDuration(input.time);
  const engine = input.engine ?? defaultEngine;
  const capabilities = getEngine(engine).capabilities;
  const name = input.name ?? (script ? path.basename(script.path) : path.basename(argv[0]!));
  if (name.trim() === "" || /[\n\r]/.test(name)) throw new UsageError(`--name '${name}': must be a non-empty single line`);
  if (input.points !== undefined && input.array !== undefined) throw new UsageError("a sweep is already an array of its points: give either points or --array");
  if (input.points !== undefined && input.points.length === 0) throw new UsageError("a sweep needs at least one point");
  const after = ids(input.after, "--after");
  const afterAny = ids(input.afterAny, "--after-any");
  const both = after.filter((id) => afterAny.includes(id));
  if (both.length > 0) throw new UsageError(`--after and --after-any both name job ${both[0]}`);
  return {
    name,
    batch: input.batch ?? null,
    argv,
    script,
    cwd,
    // One capture shared by many jobs (submitMany) is also one environment row, hashed once.
    baseEnv: input.inheritEnv === undefined && batch !== undefined ? batch.capturedEnv : captureEnvironment(input.inheritEnv ?? process.env),
    env,
    umask: input.umask ?? currentUmask(),
    resources: {
      cpus: countOf(input.cpus, "--cpus", 1, 1),
      memMb: mem,
      timeLimitS: time,
      gpus: countOf(input.gpus, "--gpus", 0, 0),
      queue: input.queue ?? null,
    },
    engine,
    schedArgs: [...(input.schedArgs ?? [])],
    tags: tagsOf(input.tags, engine, capabilities),
    array: input.points !== undefined ? parseArraySpec(`1-${input.points.length}`) : input.array === undefined ? null : parseArraySpec(input.array),
    points: input.points ?? null,
    afterGroup: ids(input.afterGroup, "after group"),
    priority: input.priority ?? 0,
    retryOn: [...(input.retryOn ?? ["failed", "timeout", "oom"])],
    escalate: { time: input.escalate?.time ?? 2, mem: input.escalate?.mem ?? 1.5 },
    defHash: input.defHash ?? null,
    after,
    afterAny,
    retries: countOf(input.retries, "--retries", 0, 0),
    stderrFails: input.stderrFails ?? false,
    hold: input.hold ?? false,
    metadata: input.metadata ?? {},
  };
}

/** The umask of the submitting shell, restored by the wrapper so the job's files get the modes the user expects. */
let submitterUmask: number | null = null;
export function rememberSubmitterUmask(mask: number): void {
  submitterUmask = mask;
}
function currentUmask(): number {
  if (submitterUmask !== null) return submitterUmask;
  const mask = process.umask(0o022);
  process.umask(mask);
  return mask;
}

/** Worker tags, which only an engine that routes by tags can honour: anywhere else they would be silently ignored. */
function tagsOf(input: string | readonly string[] | undefined, engine: string, capabilities: EngineCapabilities): string[] {
  if (input === undefined) return [];
  const tags = parseTags(typeof input === "string" ? input : input.join(","), "--tags");
  if (tags.length > 0 && !capabilities.tagRouting)
    throw new UsageError(`--tags: only ${tagRoutersOf(engineCatalog())} routes tasks by worker tags (this job goes to ${engine})`);
  return tags;
}
