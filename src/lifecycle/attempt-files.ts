import fs from "node:fs";
import path from "node:path";
import { fenceMarker } from "../protocol/markers.js";
import { exportableEnv, renderWrapper, RUN_FILES, type ClaimedScript } from "../protocol/wrapper.js";
import { fillPlaceholders } from "../protocol/command-template.js";
import { runDirFor } from "../protocol/run-dir.js";
import { shQuote } from "../protocol/shell-quote.js";
import { environmentOf } from "../store/environments.js";
import { taskParams } from "../store/tasks.js";
import type { Store } from "../store/store.js";
import type { JobRow } from "../store/rows.js";

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
 * Everything an attempt needs to run, wherever its run directory ends up: on this host (every engine but
 * Redis), or in a worker's own folder on another host (the Redis engine ships this to its workers).
 */
export interface AttemptLaunch {
  readonly cwd: string;
  /** The command; when the job has a script, it goes first, as the path of its copy in the run directory. */
  readonly argv: readonly string[];
  readonly script: string | null;
  /** The job's environment and corral's variables, except the two that name the run directory. */
  readonly env: Readonly<Record<string, string>>;
  /** `corral job info` inside the job, without its runDir. */
  readonly info: Readonly<Record<string, unknown>>;
  readonly umask: number;
}

/** What an attempt runs: command (sweep placeholders filled), script, environment. `engineEnv` is added last. */
export function attemptLaunch(store: Store, job: JobRow, index: number, attempt: number, engineEnv: Record<string, string> = {}): AttemptLaunch {
  const params = taskParams(store, job.id, index);
  let argv = JSON.parse(job.argv) as string[];
  if (params) argv = fillPlaceholders(argv, params);
  const info = {
    job: { id: job.id, name: job.name, batch: job.batch, metadata: JSON.parse(job.metadata) as unknown },
    task: { index, params },
    attempt,
  };
  const { CORRAL_RUN_DIR: _runDir, ...vars } = corralVariables(job, index, attempt, "");
  const env = {
    ...environmentOf(store, job.env_id),
    ...(JSON.parse(job.extra_env) as Record<string, string>),
    // A sweep point's parameters, under their own names (as {name} in the command) and all at once as JSON.
    ...(params ? Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])) : {}),
    ...(params ? { CORRAL_PARAMS: JSON.stringify(params) } : {}),
    ...vars,
    ...engineEnv,
  };
  return { cwd: job.cwd, argv, script: job.script, env, info, umask: job.umask };
}

/** Writes a launch into a run directory (its script and wrapper); returns the wrapper's path. */
export function materializeAttempt(launch: AttemptLaunch, runDir: string): string {
  makeRunDir(runDir);
  const wrapperPath = path.join(runDir, RUN_FILES.wrapper);
  fs.writeFileSync(wrapperPath, wrapperFor(launch, runDir), { mode: 0o700 });
  return wrapperPath;
}

function makeRunDir(runDir: string): void {
  try {
    fs.mkdirSync(runDir, { mode: 0o700 }); // usually its parent exists: one call
  } catch {
    fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
  }
}

/** The wrapper.sh text for a launch, claiming the attempt itself; a job's script is copied into the run directory first. */
function wrapperFor(launch: AttemptLaunch, runDir: string): string {
  const { argv, env } = wrapperArgvAndEnv(launch, runDir);
  return renderWrapper({ runDir, cwd: launch.cwd, argv, env, umask: launch.umask, startedBy: "wrapper" });
}

/** The command line a launch's wrapper runs (its script copied into the run directory first) and its variables. */
function wrapperArgvAndEnv(launch: AttemptLaunch, runDir: string): { argv: readonly string[]; env: Record<string, string> } {
  let argv = launch.argv;
  if (launch.script !== null) {
    makeRunDir(runDir);
    const scriptPath = path.join(runDir, RUN_FILES.script);
    fs.writeFileSync(scriptPath, launch.script, { mode: 0o700 });
    argv = [scriptPath, ...argv];
  }
  const env = {
    ...launch.env,
    // What `corral job info` prints inside the job (jobs never open the database), carried in the
    // environment rather than a file: one file less per attempt counts when 5,000 are written at once.
    CORRAL_JOB_INFO: JSON.stringify({ ...launch.info, runDir }),
    CORRAL_RUN_DIR: runDir,
  };
  return { argv, env };
}

/**
 * An attempt for a launcher that claims attempts itself (the local engine's resident launcher): it creates the
 * run directory and the `started` marker, then execs sh running `launch.script` with `launch.env`, so no
 * wrapper.sh is written (see claimedLaunchScript).
 */
export function attemptForLauncher(
  store: Store,
  job: JobRow,
  index: number,
  attempt: number,
  engineEnv: Record<string, string> = {},
): { runDir: string; launch: ClaimedScript } {
  const runDir = runDirFor(store.runsDir, job.id, index, attempt);
  return { runDir, launch: claimedLaunchScript(attemptLaunch(store, job, index, attempt, engineEnv), runDir) };
}

/**
 * What a launcher that claims attempts itself (see attemptForLauncher) runs for a launch in `runDir`: the wrapper's
 * text without its exports, and the variables as the environment sh is exec'd with. Where the two would not fit
 * in 100 KB (Linux takes at most 128 KiB per variable, the text's included), the whole wrapper, exports and all,
 * is written to wrapper.sh, which the script sources.
 */
export function claimedLaunchScript(launch: AttemptLaunch, runDir: string): ClaimedScript {
  const { argv, env } = wrapperArgvAndEnv(launch, runDir);
  const given = exportableEnv(env);
  const render = (envInProcess: boolean) => renderWrapper({ runDir, cwd: launch.cwd, argv, env, umask: launch.umask, startedBy: "launcher", envInProcess });
  const script = render(true);
  const bytes = Object.entries(given).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v) + 2, Buffer.byteLength(script));
  if (bytes <= MAX_INLINE_WRAPPER) return { script, env: given };
  makeRunDir(runDir);
  const wrapperPath = path.join(runDir, RUN_FILES.wrapper);
  fs.writeFileSync(wrapperPath, render(false), { mode: 0o700 });
  return { script: `. ${shQuote(wrapperPath)}`, env: {} };
}

const MAX_INLINE_WRAPPER = 100_000;

/**
 * Creates an attempt's run directory with its wrapper (and the job's script, copied at submission).
 * Returns the wrapper's path. `engineEnv` is what the engine adds last (e.g. CUDA_VISIBLE_DEVICES).
 */
export function writeAttemptFiles(store: Store, job: JobRow, index: number, attempt: number, engineEnv: Record<string, string> = {}): string {
  return materializeAttempt(attemptLaunch(store, job, index, attempt, engineEnv), runDirFor(store.runsDir, job.id, index, attempt));
}

/** What corral writes when it fences an attempt; the claim files of earlier versions said "fenced by corral". */
const CORRAL_FENCE = fenceMarker("corral");
const LEGACY_FENCE = "fenced by corral\n";

/**
 * Takes an attempt's claim before its wrapper does, so the wrapper, if it ever starts, exits without running
 * anything. True when corral won, now or in an earlier call that crashed before recording it: the attempt
 * provably never ran and can be replaced. The claim is the exclusive creation of `started`; the claim file of
 * wrappers written by earlier versions of corral (`claimed`) is taken first, so none of those can still start.
 */
export function fenceAttempt(runDir: string): boolean {
  fs.mkdirSync(runDir, { recursive: true, mode: 0o700 });
  return takeExclusively(path.join(runDir, RUN_FILES.legacyClaim)) && takeExclusively(path.join(runDir, RUN_FILES.started));
}

/**
 * Creates `file` holding corral's fence, or finds that an earlier fence of corral's made it. The fence appears
 * whole, by a hard link of a draft (which fails if the name exists): created and then written, a corral killed
 * in between left an empty `started` that no later fence took for its own, and the attempt waited forever.
 */
function takeExclusively(file: string): boolean {
  const draft = path.join(path.dirname(file), `.${path.basename(file)}.fence-${process.pid}`);
  try {
    fs.writeFileSync(draft, CORRAL_FENCE, { mode: 0o600 });
    try {
      fs.linkSync(draft, file);
    } catch (err) {
      // A filesystem without hard links: create and write, as before.
      if (!["EPERM", "ENOTSUP", "EOPNOTSUPP"].includes((err as NodeJS.ErrnoException).code ?? "")) throw err;
      fs.writeFileSync(file, CORRAL_FENCE, { flag: "wx", mode: 0o600 });
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") return false;
    try {
      const text = fs.readFileSync(file, "utf8");
      return text === CORRAL_FENCE || text === LEGACY_FENCE;
    } catch {
      return false;
    }
  } finally {
    fs.rmSync(draft, { force: true });
  }
}
