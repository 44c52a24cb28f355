import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { ENV_NAME_RE } from "../domain/env.js";
import { parseDuration, parseMemory } from "../domain/resources.js";
import { didYouMean } from "../workflow/description.js";
import { sharedKeys } from "../workflow/description-schema.js";
import { parseTomlSource, SyntaxProblem } from "../workflow/source-map.js";

/** The optional `job.toml` of a dropped folder: a job's resources and settings, as in a description file. */
const { engine, cpus, mem, time, gpus, queue, retries, env, sched_args } = sharedKeys;
const optionsSchema = z.strictObject({ name: z.string().min(1).optional(), engine, cpus, mem, time, gpus, queue, retries, env, sched_args });

export type FolderOptions = z.infer<typeof optionsSchema>;
const KEYS = Object.keys(optionsSchema.shape);

/** The folder's options, or the first problem as one line naming the file, line and key. */
export function readFolderOptions(folder: string): FolderOptions | string {
  const file = path.join(folder, "job.toml");
  if (!fs.existsSync(file)) return {};
  let src: ReturnType<typeof parseTomlSource>;
  try {
    src = parseTomlSource(fs.readFileSync(file, "utf8"));
  } catch (err) {
    if (err instanceof SyntaxProblem) return `job.toml:${err.position.line}:${err.position.column}: TOML syntax: ${err.message}`;
    return `job.toml: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  const parsed = optionsSchema.safeParse(src.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.code === "unrecognized_keys" ? issue.keys[0]! : String(issue.path[0] ?? "");
    const pos = src.locate(issue.code === "unrecognized_keys" ? [key] : (issue.path as (string | number)[]));
    const what =
      issue.code === "unrecognized_keys"
        ? `unknown key${didYouMean(key, KEYS)} (known: ${KEYS.join(", ")})`
        : `wrong value (${issue.message.replace(/^Invalid input: /, "")})`;
    return `job.toml:${pos.line}:${pos.column}: ${key}: ${what}`;
  }
  const o = parsed.data;
  try {
    if (typeof o.mem === "string") parseMemory(o.mem, "mem");
    if (typeof o.time === "string") parseDuration(o.time, "time");
  } catch (err) {
    return `job.toml: ${(err as Error).message}`;
  }
  for (const k of Object.keys(o.env ?? {})) if (!ENV_NAME_RE.test(k)) return `job.toml: env: '${k}' is not a variable name`;
  return o;
}
