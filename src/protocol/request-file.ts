import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { RUN_FILES } from "./wrapper.js";

/**
 * Writes one request into an attempt's `requests/` folder: first under a dot-name, then renamed to its final
 * `.json` name, so corral never reads half a request (docs/run-protocol.md). Names sort in the order written.
 */
export function writeRequest(runDir: string, request: unknown): string {
  const dir = path.join(runDir, RUN_FILES.requests);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const name = `${Date.now().toString().padStart(14, "0")}-${process.pid}-${randomBytes(4).toString("hex")}.json`;
  const tmp = path.join(dir, `.${name}`);
  fs.writeFileSync(tmp, `${JSON.stringify(request)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, path.join(dir, name));
  return path.join(dir, name);
}
