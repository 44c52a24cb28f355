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

/**
 * Requests a running job makes of corral without opening the database (docs/run-protocol.md): it writes
 * one JSON file per request into `$CORRAL_RUN_DIR/requests/`, under a dot-name first and then renamed to
 * `NAME.json`, so a reader sees it whole or not at all. corral applies each file once (its id is recorded in
 * the same transaction), so a request is never applied twice, whoever reads it and whenever they crash.
 */
export type JobRequest = { op: "set"; key: string; value: unknown } | { op: "mark"; label: string | null } | SpawnRequest;

/** `corral job spawn`: a new job in the spawning job's batch, with its environment and folder unless told otherwise. */
export type SpawnRequest = {
  op: "spawn";
  command: string[];
  name?: string;
  array?: string;
  env?: Record<string, string>;
  cpus?: number | string;
  mem?: number | string;
  time?: number | string;
  gpus?: number | string;
  queue?: string;
  engine?: string;
  retries?: number | string;
  after?: number[];
  before?: string;
};

/** Checks a request's shape; returns the reason it is refused, or null. */
export function requestProblem(r: unknown): string | null {
  if (!r || typeof r !== "object") return "not a JSON object";
  const q = r as Record<string, unknown>;
  if (q.op === "set") return typeof q.key === "string" && q.key !== "" ? null : "set needs a non-empty string 'key'";
  if (q.op === "mark") return q.label === null || typeof q.label === "string" ? null : "mark needs a string 'label' (or null to clear)";
  if (q.op === "spawn") {
    if (!Array.isArray(q.command) || q.command.length === 0 || !q.command.every((a) => typeof a === "string"))
      return "spawn needs 'command': a non-empty list of strings";
    if (q.after !== undefined && (!Array.isArray(q.after) || !q.after.every((x) => Number.isInteger(x)))) return "spawn 'after' must be a list of job ids";
    if (q.before !== undefined && typeof q.before !== "string") return "spawn 'before' must be a job name";
    return null;
  }
  return `unknown op ${JSON.stringify(q.op)} (set, mark, spawn)`;
}
