import fs from "node:fs";
import path from "node:path";
import type { Point } from "../domain/params.js";
import { renderWrapper, RUN_FILES } from "../protocol/wrapper.js";
import { fillPlaceholders } from "../workflow/command-template.js";
import type { Store } from "../store/store.js";
import type { JobRow } from "../store/rows.js";

export function runDirFor(store: Store, jobId: number, index: number, attempt: number): string {
  return path.join(store.runsDir, String(jobId), String(index), String(attempt));
}

/** Parsed environments by id: many jobs share one, and a supervisor launches thousands of attempts. */
const envCache = new WeakMap<Store, Map<number, Record<string, string>>>();

export function environmentOf(store: Store, envId: number): Record<string, string> {
  let cache = envCache.get(store);
  if (!cache) envCache.set(store, (cache = new Map()));
  let env = cache.get(envId);
  if (!env) {
    env = JSON.parse(store.stmt("SELECT vars FROM environments WHERE id = ?").pluck().get(envId) as string) as Record<string, string>;
    cache.set(envId, env);
  }
  return env;
}

/** The variables every attempt sees on every engine, on top of the job's environment. */
export function corralVariables(job: JobRow, index: number, attempt: number, runDir: string): Record<string, string> {
  const vars: Record<string, string> = {
    CORRAL_JOB_ID: String(job.id),
    CORRAL_TASK_ID: String(index),
    CORRAL_ATTEMPT: String(attempt),
    CORRAL_RUN_DIR: runDir,
    CORRAL_JOB_NAME: job.name,
  };
  if (job.array_spec !== null) {
    // The array index under the names array-aware programs already read (SGE; gridtk's local mode).
    vars.SGE_TASK_ID = String(index);
    vars.CORRAL_ARRAY_TASK_ID = String(index);
  }
  return vars;
}

/**
 * Creates an attempt's run directory with its wrapper (and the job's script, copied at submission).
 * Returns the wrapper's path. `engineEnv` is what the engine adds last (e.g. CUDA_VISIBLE_DEVICES).
 */
export function writeAttemptFiles(store: Store, job: JobRow, index: number, attempt: number, engineEnv: Record<string, string> = {}): string {
  const runDir = runDirFor(store, job.id, index, attempt);
  fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const paramsText = store.stmt("SELECT params FROM tasks WHERE job_id = ? AND idx = ?").pluck().get(job.id, index) as string | null | undefined;
  const params = paramsText ? (JSON.parse(paramsText) as Point) : null;
  let argv = JSON.parse(job.argv) as string[];
  if (params) argv = fillPlaceholders(argv, params);
  if (job.script !== null) {
    const scriptPath = path.join(runDir, RUN_FILES.script);
    fs.writeFileSync(scriptPath, job.script, { mode: 0o700 });
    argv = [scriptPath, ...argv];
  }
  // What `corral job info` prints inside the job (jobs never open the database), carried in the
  // environment rather than a file: one file less per attempt counts when 5,000 are written at once.
  const info = {
    job: { id: job.id, name: job.name, batch: job.batch, metadata: JSON.parse(job.metadata) as unknown },
    task: { index, params },
    attempt,
    runDir,
  };
  const env = {
    ...environmentOf(store, job.env_id),
    ...(JSON.parse(job.extra_env) as Record<string, string>),
    // A sweep point's parameters, under their own names (as {name} in the command) and all at once as JSON.
    ...(params ? Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])) : {}),
    ...(params ? { CORRAL_PARAMS: JSON.stringify(params) } : {}),
    CORRAL_JOB_INFO: JSON.stringify(info),
    ...corralVariables(job, index, attempt, runDir),
    ...engineEnv,
  };
  const wrapperPath = path.join(runDir, RUN_FILES.wrapper);
  fs.writeFileSync(wrapperPath, renderWrapper({ runDir, cwd: job.cwd, argv, env, umask: job.umask }), { mode: 0o700 });
  return wrapperPath;
}

/**
 * Takes an attempt's claim before its wrapper does, so the wrapper, if it ever starts, exits without running
 * anything. True when corral won: the attempt provably never ran and can be replaced.
 */
export function fenceAttempt(runDir: string): boolean {
  try {
    fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(runDir, RUN_FILES.claim), "fenced by corral\n", { flag: "wx", mode: 0o600 });
    return true;
  } catch {
    return false;
  }
}
