import fs from "node:fs";
import path from "node:path";

export const PROJECT_DIR = ".corral";
export const DB_FILE = "corral.db";

/**
 * Where the database is: `--db`, then CORRAL_DB, then `.corral/` in the current folder or the nearest
 * ancestor that has one (as git finds `.git`). Returns null when there is none yet.
 */
export function findDatabase(opts: { db?: string | undefined; cwd: string; env: NodeJS.ProcessEnv }): string | null {
  const explicit = opts.db ?? opts.env.CORRAL_DB;
  if (explicit) return path.resolve(opts.cwd, explicit);
  let dir = path.resolve(opts.cwd);
  for (;;) {
    const candidate = path.join(dir, PROJECT_DIR, DB_FILE);
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** Where a new project's database goes when none exists: `.corral/` of the current folder. */
export function defaultDatabasePath(cwd: string): string {
  return path.join(path.resolve(cwd), PROJECT_DIR, DB_FILE);
}
