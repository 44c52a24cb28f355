import { fileURLToPath } from "node:url";

/**
 * Where corral's own compiled modules are (dist/), for the entry points it starts as processes or threads
 * (the supervisor, the refresh worker, the Redis thread). This module sits one folder below dist/, both as
 * compiled (dist/domain/) and inside the bundled command (dist/bin/, see scripts/bundle.mjs), so one rule
 * finds dist/ from either: a path relative to the importing module would break once that module is bundled.
 * It is worked out on each call, not once when loaded: in the startup snapshot (scripts/snapshot.mjs) this
 * module is loaded while the snapshot is built, and import.meta.url is where the command starts from.
 */
export function ownFile(relative: string): string {
  return fileURLToPath(new URL(relative, new URL("../", import.meta.url)));
}
