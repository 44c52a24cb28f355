import path from "node:path";

/**
 * Where attempts keep their files: `<project>/.corral/runs/<job>/<index>/<attempt>/`. The one place that spells
 * the layout; everything else asks here.
 */
export const RUNS_FOLDER = "runs";

/** The runs folder of a project's `.corral/` folder. */
export function runsDirOf(projectDir: string): string {
  return path.join(projectDir, RUNS_FOLDER);
}

/** A job's folder: its attempts' run directories, and what schedulers write for it (submit scripts, their logs). */
export function jobRunsDir(runsDir: string, jobId: number | string): string {
  return path.join(runsDir, String(jobId));
}

export function runDirFor(runsDir: string, jobId: number | string, index: number | string, attempt: number | string): string {
  return path.join(runsDir, String(jobId), String(index), String(attempt));
}

/** The project's `.corral/` folder an attempt's run directory is in. */
export function projectDirOfRunDir(runDir: string): string {
  return path.resolve(runDir, "..", "..", "..", "..");
}

/** `job.index.attempt`, how run directories are named in messages between hosts (Redis results). */
export function attemptKey(jobId: number | string, index: number | string, attempt: number | string): string {
  return `${jobId}.${index}.${attempt}`;
}
