import { UsageError } from "./errors.js";

export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Variables that describe the submitting shell rather than the job's environment. */
const SHELL_LOCAL = new Set(["_", "PWD", "OLDPWD", "SHLVL"]);

/** The submitting shell's environment as a job should see it (as `sbatch --export=ALL` does). */
export function captureEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(env).sort()) {
    const value = env[key];
    if (value === undefined || SHELL_LOCAL.has(key) || !ENV_NAME_RE.test(key)) continue;
    out[key] = value;
  }
  return out;
}

/** `--env K=V` values; the first `=` separates, so values may contain `=`. */
export function parseEnvAssignments(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf("=");
    const key = eq < 0 ? v : v.slice(0, eq);
    if (eq < 0 || !ENV_NAME_RE.test(key)) {
      throw new UsageError(`--env '${v}': expected NAME=VALUE with NAME made of letters, digits and _`);
    }
    out[key] = v.slice(eq + 1);
  }
  return out;
}
