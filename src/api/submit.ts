import { parseTags } from "../engines/redis/pool.js";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { parseArraySpec } from "../domain/array-spec.js";
import { captureEnvironment, parseEnvAssignments } from "../domain/env.js";
import { UsageError } from "../domain/errors.js";
import type { JobSpec, RetryCause } from "../domain/job.js";
import type { Point } from "../domain/params.js";
import { parseCount, parseDuration, parseMemory } from "../domain/resources.js";
import { getEngine } from "../engines/registry.js";
import { settleDependencies } from "../lifecycle/transitions.js";
import type { Store } from "../store/store.js";
import { formatCommand } from "../protocol/shell-quote.js";

/** The command as a person would retype it (a script job shows its script first). */
export function commandText(argv: readonly string[], scriptPath: string | null): string {
  return formatCommand(scriptPath ? [scriptPath, ...argv] : argv);
}

/** What a caller gives to submit a job; strings are parsed exactly as the CLI flags are. */
export interface SubmitInput {
  /** The command and its arguments, kept byte for byte. With `script`, the script's arguments. */
  readonly command?: readonly string[];
  /** A script file to run; its content is copied now, as sbatch does. */
  readonly script?: string;
  readonly name?: string;
  readonly batch?: string;
  readonly cwd?: string;
  /** Extra variables (`--env K=V`), as an object or as `K=V` strings. */
  readonly env?: Readonly<Record<string, string>> | readonly string[];
  /** The environment the job inherits; defaults to this process's (as sbatch exports the submitting shell's). */
  readonly inheritEnv?: NodeJS.ProcessEnv;
  readonly cpus?: number | string;
  readonly mem?: number | string;
  readonly time?: number | string;
  readonly gpus?: number | string;
  readonly queue?: string;
  readonly engine?: string;
  /** Scheduler arguments passed through untouched (`--sched-arg '--constraint=avx2'`). */
  readonly schedArgs?: readonly string[];
  /** Worker tags the tasks need, on the Redis engine: "gpu,bigmem" or a list. */
  readonly tags?: string | readonly string[];
  readonly array?: string;
  readonly after?: readonly (number | string)[];
  readonly afterAny?: readonly (number | string)[];
  readonly retries?: number | string;
  readonly stderrFails?: boolean;
  readonly hold?: boolean;
  readonly metadata?: Readonly<Record<string, unknown>>;
  readonly umask?: number;
  /** Which failures are retried (default: failed, timeout, oom; lost only when asked). */
  readonly retryOn?: readonly RetryCause[];
  /** Factors for the next attempt's time after a TIMEOUT and memory after an OOM (default 2 and 1.5). */
  readonly escalate?: { readonly time?: number; readonly mem?: number };
  /** Higher runs first within a batch (see corral run); above 100, before every other batch. */
  readonly priority?: number;
  /** A sweep: one task per point, its parameters filling `{name}` in the command and set as variables. */
  readonly points?: readonly Point[];
  /** Jobs of the priority group before this one, which must all succeed first. */
  readonly afterGroup?: readonly number[];
  /** The definition hash `corral run` compares on a second run. */
  readonly defHash?: string;
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

/**
 * Validates everything that can be checked without the database. Throws UsageError; writes nothing.
 * `defaultEngine` is the project's (see defaultEngineName) for inputs that name none.
 */
export function buildJobSpec(input: SubmitInput, baseCwd: string, defaultEngine = "local"): JobSpec {
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
  try {
    fs.accessSync(cwd, fs.constants.R_OK | fs.constants.X_OK);
    if (!fs.statSync(cwd).isDirectory()) throw new Error("not a directory");
  } catch (err) {
    throw new UsageError(`--cwd '${input.cwd ?? cwd}': not a readable directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const env = Array.isArray(input.env) ? parseEnvAssignments(input.env as readonly string[]) : parseEnvAssignments(Object.entries(input.env ?? {}).map(([k, v]) => `${k}=${v}`));
  const mem = input.mem === undefined ? null : typeof input.mem === "number" ? input.mem : parseMemory(input.mem);
  const time = input.time === undefined ? null : typeof input.time === "number" ? input.time : parseDuration(input.time);
  const engine = input.engine ?? defaultEngine;
  getEngine(engine);
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
    baseEnv: captureEnvironment(input.inheritEnv ?? process.env),
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
    tags: tagsOf(input.tags, engine),
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

/** Checks the dependencies against the store (read-only): unknown ids are a usage error, not a job that waits forever. */
export function checkDependencies(store: Store | null, spec: JobSpec): void {
  for (const id of [...spec.after, ...spec.afterAny, ...spec.afterGroup]) {
    const exists = store?.stmt("SELECT 1 FROM jobs WHERE id = ?").get(id);
    if (!exists) throw new UsageError(`--after${spec.afterAny.includes(id) ? "-any" : ""} ${id}: there is no job ${id}`);
  }
}

/** Records a job with its tasks and dependencies in one transaction; returns its id. */
export function insertJob(store: Store, spec: JobSpec): number {
  const envJson = JSON.stringify(spec.baseEnv);
  const envHash = createHash("sha256").update(envJson).digest("hex");
  return store.write(() => {
    checkDependencies(store, spec);
    store.stmt("INSERT OR IGNORE INTO environments (hash, vars) VALUES (?, ?)").run(envHash, envJson);
    const envId = store.stmt("SELECT id FROM environments WHERE hash = ?").pluck().get(envHash) as number;
    const now = Date.now() / 1000;
    const r = spec.resources;
    const res = store
      .stmt(
        `INSERT INTO jobs (name, batch, argv, script, script_path, cwd, env_id, extra_env, umask, cpus, mem_mb, time_limit_s, gpus, queue,
                           engine, array_spec, array_cap, retries, stderr_fails, held, metadata, created_at, command, sched_args,
                           priority, retry_on, escalate, def_hash, tags)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        spec.name,
        spec.batch,
        JSON.stringify(spec.argv),
        spec.script?.content ?? null,
        spec.script?.path ?? null,
        spec.cwd,
        envId,
        JSON.stringify(spec.env),
        spec.umask,
        r.cpus,
        r.memMb,
        r.timeLimitS,
        r.gpus,
        r.queue,
        spec.engine,
        spec.array?.text ?? null,
        spec.array?.cap ?? null,
        spec.retries,
        spec.stderrFails ? 1 : 0,
        spec.hold ? 1 : 0,
        JSON.stringify(spec.metadata),
        now,
        commandText(spec.argv, spec.script?.path ?? null),
        JSON.stringify(spec.schedArgs),
        spec.priority,
        JSON.stringify(spec.retryOn),
        JSON.stringify(spec.escalate),
        spec.defHash,
        JSON.stringify(spec.tags),
      );
    const jobId = Number(res.lastInsertRowid);
    const waits = spec.hold || spec.after.length > 0 || spec.afterAny.length > 0 || spec.afterGroup.length > 0;
    const initial = waits ? "pending" : "queued";
    const insertTask = store.stmt("INSERT INTO tasks (job_id, idx, state, retries_left, updated_at, params) VALUES (?, ?, ?, ?, ?, ?)");
    if (spec.points) spec.points.forEach((point, i) => insertTask.run(jobId, i + 1, initial, spec.retries, now, JSON.stringify(point)));
    else for (const idx of spec.array?.indices ?? [1]) insertTask.run(jobId, idx, initial, spec.retries, now, null);
    const insertDep = store.stmt("INSERT OR IGNORE INTO dependencies (job_id, parent_id, kind) VALUES (?, ?, ?)");
    for (const p of spec.after) insertDep.run(jobId, p, "ok");
    for (const p of spec.afterAny) insertDep.run(jobId, p, "any");
    for (const p of spec.afterGroup) insertDep.run(jobId, p, "group");
    if (waits) settleDependencies(store);
    return jobId;
  });
}

/** Worker tags, which only the Redis engine can honour: anywhere else they would be silently ignored. */
function tagsOf(input: string | readonly string[] | undefined, engine: string): string[] {
  if (input === undefined) return [];
  const tags = parseTags(typeof input === "string" ? input : input.join(","), "--tags");
  if (tags.length > 0 && engine !== "redis") throw new UsageError(`--tags: only the redis engine routes tasks by worker tags (this job goes to ${engine})`);
  return tags;
}
