import { fileURLToPath } from "node:url";

/**
 * Where corral's own compiled modules are (dist/), for the entry points it starts as processes or threads
 * (the supervisor, the refresh worker, the Redis thread). This module sits one folder below dist/, both as
 * compiled (dist/domain/) and inside the bundled command (dist/bin/, see scripts/bundle.mjs), so one rule
 * finds dist/ from either: a path relative to the importing module would break once that module is bundled.
 */
const DIST = new URL("../", import.meta.url);

/** The path of a compiled module, given relative to dist/ (e.g. "api/supervisor-process.js"). */
export function ownFile(relative: string): string {
  return fileURLToPath(new URL(relative, DIST));
}
