import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { z } from "zod";
import { parseArraySpec } from "../domain/array-spec.js";
import { ENV_NAME_RE } from "../domain/env.js";
import { UsageError } from "../domain/errors.js";
import { parseDuration, parseMemory } from "../domain/resources.js";
import { parseTags } from "../domain/tags.js";
import { tagRoutersOf, type EngineCatalog } from "../domain/engine-catalog.js";
import type { SubmitInput } from "../domain/submit-input.js";
import { fillPlaceholders, placeholders, splitCommand } from "../protocol/command-template.js";
import {
  defaultsSchema,
  descriptionSchema,
  escalateSchema,
  EXPECTED,
  jobSchema,
  SWEEP_VALUE_EXPECTED,
  type Defaults,
  type DescriptionValue,
  type JobEntry,
} from "./description-schema.js";
import { parseTomlSource, parseYamlSource, SyntaxProblem, type Path, type Position, type SourceDocument } from "./source-map.js";
import { MAX_SWEEP_POINTS, PARAM_NAME_RE, parameterValues, pointCount, sweepPoints, type ParamValue, type Point, type SweepMode } from "./sweep.js";

const MAX_POINTS = MAX_SWEEP_POINTS;
const JOB_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;

export interface Problem {
  readonly path: Path;
  readonly message: string;
}

/** Every problem of a description file, one line each: FILE:LINE:COLUMN: key: what is wrong. */
export class DescriptionError extends UsageError {
  constructor(readonly lines: readonly string[]) {
    super(lines.join("\n"));
  }
}

/** A job of a description file, resolved and ready to submit. */
export interface PlannedJob {
  readonly name: string;
  readonly input: SubmitInput;
  readonly after: readonly string[];
  readonly afterAny: readonly string[];
  /** The jobs of the next higher priority group, which must all succeed first. */
  readonly afterGroup: readonly string[];
  /** The definition's hash, including its parents' hashes: a changed parent changes its dependents. */
  readonly hash: string;
}

export interface Plan {
  readonly file: string;
  readonly batch: string;
  /** In an order where every job comes after the jobs it depends on. */
  readonly jobs: readonly PlannedJob[];
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

export function didYouMean(word: string, known: readonly string[]): string {
  const best = known.map((k) => [k, editDistance(word.toLowerCase(), k)] as const).sort((x, y) => x[1] - y[1])[0];
  return best && best[1] <= Math.max(1, Math.floor(word.length / 3)) ? ` (did you mean '${best[0]}'?)` : "";
}

function typeName(v: unknown): string {
  if (v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (v === null) return "null";
  if (typeof v === "object") return "a table";
  if (typeof v === "string") return `the string ${JSON.stringify(v.length > 30 ? `${v.slice(0, 30)}…` : v)}`;
  if (typeof v === "number") return Number.isInteger(v) ? `the number ${v}` : `the number ${v}`;
  return `${typeof v} ${String(v)}`;
}

function valueAt(root: unknown, p: Path): unknown {
  let v: unknown = root;
  for (const k of p) v = v !== null && typeof v === "object" ? (v as Record<string | number, unknown>)[k] : undefined;
  return v;
}

/** Turns zod's issues into plain sentences about the user's keys. */
function schemaProblems(issues: readonly z.core.$ZodIssue[], root: unknown): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const p = issue.path as Path;
    const last = p[p.length - 1];
    const key = typeof last === "number" ? `${String(p[p.length - 2])}[]` : String(last ?? "");
    const inSweep = p.length >= 4 && p[2] === "sweep";
    const expected = inSweep ? SWEEP_VALUE_EXPECTED : (EXPECTED[key] ?? "something else");
    const got = typeName(valueAt(root, p));
    if (issue.code === "unrecognized_keys") {
      const known = knownKeys(p);
      for (const k of issue.keys) {
        const jobOnly = p.length === 1 && p[0] === "defaults" && knownKeys(["jobs", "x"]).includes(k);
        out.push({ path: [...p, k], message: jobOnly ? `'${k}' is set per job, not in [defaults]` : `unknown key${didYouMean(k, known)}` });
      }
    } else if (issue.code === "invalid_type" && valueAt(root, p) === undefined) {
      out.push({ path: p, message: `missing: '${key}' is required (${expected})` });
    } else if (issue.code === "invalid_type" || issue.code === "invalid_union") {
      out.push({ path: p, message: `expected ${expected}, got ${got}` });
    } else if (issue.code === "too_small") {
      const min = (issue as { minimum?: number | bigint }).minimum;
      out.push({
        path: p,
        message: Array.isArray(valueAt(root, p)) || typeof valueAt(root, p) === "string" ? `must not be empty` : `must be at least ${String(min)}, got ${got}`,
      });
    } else if (issue.code === "invalid_value") {
      out.push({ path: p, message: `expected ${expected}, got ${got}` });
    } else {
      out.push({ path: p, message: `expected ${expected}, got ${got}` });
    }
  }
  // A misspelt required key is one problem, not two: drop "missing X" where an unknown key suggests X.
  const suggested = new Set(
    out
      .map((x) => /did you mean '(.+)'/.exec(x.message)?.[1])
      .filter(Boolean)
      .map((k) => k!),
  );
  return out.filter((x) => !(x.message.startsWith("missing:") && suggested.has(String(x.path[x.path.length - 1]))));
}

/** The keys allowed where an unknown key was found, from the schema itself (one source: nothing to keep in step). */
function knownKeys(p: Path): string[] {
  if (p.length === 0) return Object.keys(descriptionSchema.shape);
  if (p[0] === "defaults" && p.length === 1) return Object.keys(defaultsSchema.shape);
  if (p[0] === "jobs" && p.length === 2) return Object.keys(jobSchema.shape);
  if (p[p.length - 1] === "escalate") return Object.keys(escalateSchema.shape);
  return [];
}

/** Reads and parses a file; a syntax error is reported with its position. */
export function loadSource(file: string): SourceDocument {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const yaml = /\.ya?ml$/i.test(file);
  try {
    return yaml ? parseYamlSource(text) : parseTomlSource(text);
  } catch (err) {
    if (err instanceof SyntaxProblem)
      throw new DescriptionError([`${file}:${err.position.line}:${err.position.column}: ${yaml ? "YAML" : "TOML"} syntax: ${err.message}`]);
    throw err;
  }
}

interface Resolved {
  readonly entry: JobEntry;
  readonly argv: string[] | null;
  readonly points: Point[] | null;
}

/**
 * Validates a description file completely and returns its plan, or throws a DescriptionError listing
 * every problem with its line and column. Nothing is submitted from a file with a problem.
 */
export function planDescription(file: string, engines: EngineCatalog, opts: { engine?: string } = {}): Plan {
  const src = loadSource(file);
  const fileDir = path.dirname(path.resolve(file));
  const problems: Problem[] = [];
  const parsed = descriptionSchema.safeParse(src.value);
  if (!parsed.success) problems.push(...schemaProblems(parsed.error.issues, src.value));
  // Checks beyond the schema run on whatever parts are well-formed, so one pass reports everything.
  const doc = (parsed.success ? parsed.data : src.value) as Partial<DescriptionValue>;
  const jobs = doc.jobs && typeof doc.jobs === "object" ? (doc.jobs as Record<string, JobEntry>) : {};
  const defaults = (doc.defaults && typeof doc.defaults === "object" ? doc.defaults : {}) as Defaults;
  if (doc.jobs !== undefined && typeof doc.jobs === "object" && Object.keys(jobs).length === 0)
    problems.push({ path: ["jobs"], message: "no jobs: add at least one [jobs.NAME]" });
  const names = Object.keys(jobs);
  const resolved = new Map<string, Resolved>();
  checkShared(defaults, ["defaults"], fileDir, problems, engines);
  for (const name of names) {
    const j = jobs[name];
    if (!j || typeof j !== "object") continue;
    const at = (k: string): Path => ["jobs", name, k];
    if (!JOB_NAME_RE.test(name)) problems.push({ path: ["jobs", name], message: `'${name}' is not a job name: letters, digits and _ . + - only` });
    checkShared(j, ["jobs", name], fileDir, problems, engines);
    if (j.command !== undefined && j.script !== undefined)
      problems.push({ path: at("script"), message: "'command' and 'script' are mutually exclusive: give one" });
    if (j.command === undefined && j.script === undefined) problems.push({ path: ["jobs", name], message: "needs 'command' or 'script'" });
    if (j.array !== undefined && j.sweep !== undefined)
      problems.push({ path: at("sweep"), message: "'array' and 'sweep' are mutually exclusive: a sweep is already an array of its points" });
    if (j.sweep_mode !== undefined && j.sweep === undefined) problems.push({ path: at("sweep_mode"), message: "'sweep_mode' is only valid with 'sweep'" });
    if (j.args !== undefined && j.script === undefined)
      problems.push({ path: at("args"), message: "'args' is only valid with 'script' (put arguments in 'command')" });
    const retries = j.retries ?? defaults.retries ?? 0;
    if (j.on !== undefined && retries === 0) problems.push({ path: at("on"), message: "'on' is only valid with 'retries' above 0" });
    if (j.escalate !== undefined && retries === 0) problems.push({ path: at("escalate"), message: "'escalate' is only valid with 'retries' above 0" });
    if (typeof j.array === "string") {
      try {
        parseArraySpec(j.array);
      } catch (err) {
        problems.push({ path: at("array"), message: (err as Error).message.replace(/^--array /, "") });
      }
    }
    let argv: string[] | null = null;
    if (typeof j.command === "string") {
      const split = splitCommand(j.command);
      if (typeof split === "string") problems.push({ path: at("command"), message: split });
      else argv = split;
    } else if (Array.isArray(j.command)) argv = [...j.command];
    if (typeof j.script === "string") {
      const scriptPath = path.resolve(fileDir, j.script);
      try {
        fs.accessSync(scriptPath, fs.constants.R_OK);
      } catch {
        problems.push({ path: at("script"), message: `cannot read ${scriptPath}` });
      }
      argv = [...(j.args ?? [])];
    }
    let points: Point[] | null = null;
    if (j.sweep !== undefined && typeof j.sweep === "object" && !Array.isArray(j.sweep)) {
      points = sweepOf(j.sweep as Record<string, unknown>, j.sweep_mode ?? "product", ["jobs", name, "sweep"], problems);
      if (points && argv) {
        for (const ph of placeholders(argv)) {
          if (!(ph in points[0]!))
            problems.push({
              path: at(j.script ? "args" : "command"),
              message: `{${ph}} is not a parameter of the sweep (parameters: ${Object.keys(points[0]!).join(", ")})`,
            });
        }
      }
    }
    for (const kind of ["after", "after_any"] as const) {
      for (const [i, parent] of (j[kind] ?? []).entries()) {
        if (typeof parent !== "string") continue;
        if (parent === name) problems.push({ path: [...at(kind), i], message: "a job cannot wait for itself" });
        else if (!names.includes(parent))
          problems.push({ path: [...at(kind), i], message: `there is no job '${parent}' in this file${didYouMean(parent, names)}` });
      }
    }
    const both = (j.after ?? []).filter((p) => (j.after_any ?? []).includes(p));
    if (both.length > 0) problems.push({ path: at("after_any"), message: `'${both[0]}' is in both 'after' and 'after_any'` });
    resolved.set(name, { entry: j, argv, points });
  }
  if (opts.engine !== undefined && !engines.names.includes(opts.engine))
    throw new UsageError(`--engine '${opts.engine}': unknown engine (known: ${engines.names.join(", ")})`);
  const namesKnown = names.every((n) => [...(jobs[n]?.after ?? []), ...(jobs[n]?.after_any ?? [])].every((p) => typeof p === "string" && names.includes(p)));
  const order = namesKnown ? topologicalOrder(names, jobs, problems) : [];
  if (problems.length > 0) {
    const seen = new Set<string>();
    const lines = problems
      .map((p) => ({ ...p, pos: src.locate(p.path) }))
      .sort((a, b) => a.pos.line - b.pos.line || a.pos.column - b.pos.column)
      .map((p) => `${file}:${p.pos.line}:${p.pos.column}: ${p.path.join(".") || "(file)"}: ${p.message}`)
      .filter((l) => !seen.has(l) && seen.add(l));
    throw new DescriptionError(lines);
  }
  return buildPlan(file, fileDir, doc as DescriptionValue, defaults, order, resolved, opts.engine);
}

function checkShared(e: Partial<Defaults>, at: Path, fileDir: string, problems: Problem[], engines: EngineCatalog): void {
  if (!e || typeof e !== "object") return;
  const add = (k: string, message: string) => problems.push({ path: [...at, k], message });
  if (typeof e.engine === "string" && !engines.names.includes(e.engine))
    add("engine", `unknown engine '${e.engine}'${didYouMean(e.engine, engines.names)} (known: ${engines.names.join(", ")})`);
  if (typeof e.mem === "string") {
    try {
      parseMemory(e.mem, "mem");
    } catch (err) {
      add("mem", (err as Error).message.replace(/^mem /, ""));
    }
  }
  if (typeof e.time === "string") {
    try {
      parseDuration(e.time, "time");
    } catch (err) {
      add("time", (err as Error).message.replace(/^time /, ""));
    }
  }
  if (Array.isArray(e.tags)) {
    try {
      parseTags(e.tags.join(","), "tags");
      if (e.tags.length > 0 && typeof e.engine === "string" && engines.capabilities(e.engine)?.tagRouting === false) {
        add("tags", `only ${tagRoutersOf(engines)} routes tasks by worker tags (engine here: ${e.engine})`);
      }
    } catch (err) {
      add("tags", (err as Error).message.replace(/^tags /, ""));
    }
  }
  if (e.env && typeof e.env === "object") for (const k of Object.keys(e.env)) if (!ENV_NAME_RE.test(k)) add("env", `'${k}' is not a variable name`);
  if (typeof e.cwd === "string") {
    const dir = path.resolve(fileDir, e.cwd);
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) add("cwd", `${dir} is not a directory`);
  }
}

function sweepOf(sweep: Record<string, unknown>, mode: SweepMode, at: Path, problems: Problem[]): Point[] | null {
  const names = Object.keys(sweep);
  if (names.length === 0) {
    problems.push({ path: at, message: "a sweep needs at least one parameter" });
    return null;
  }
  const values: ParamValue[][] = [];
  let ok = true;
  for (const name of names) {
    if (!PARAM_NAME_RE.test(name)) {
      problems.push({ path: [...at, name], message: `'${name}' is not a parameter name (letters, digits, _; not starting with a digit)` });
      ok = false;
      continue;
    }
    const raw = sweep[name];
    if (raw === null || !(Array.isArray(raw) || typeof raw === "string" || (typeof raw === "object" && ("linspace" in raw || "logspace" in raw)))) {
      ok = false; // the schema has said what is wrong with it
      continue;
    }
    const v = parameterValues(raw as Parameters<typeof parameterValues>[0]);
    if (typeof v === "string") {
      problems.push({ path: [...at, name], message: v });
      ok = false;
    } else values.push(v);
  }
  if (!ok) return null;
  if (mode === "zip" && new Set(values.map((v) => v.length)).size > 1) {
    problems.push({ path: at, message: `zip pairs values one to one, but the lists have ${values.map((v) => v.length).join(", ")} values` });
    return null;
  }
  const n = pointCount(values, mode);
  if (n > MAX_POINTS) {
    problems.push({ path: at, message: `${n.toLocaleString("en-US")} points: more than ${MAX_POINTS.toLocaleString("en-US")} in one sweep` });
    return null;
  }
  return sweepPoints(names, values, mode);
}

function topologicalOrder(names: readonly string[], jobs: Record<string, JobEntry>, problems: Problem[]): string[] {
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (n: string, trail: string[]): boolean => {
    if (state.get(n) === "done") return true;
    if (state.get(n) === "visiting") {
      const cycle = [...trail.slice(trail.indexOf(n)), n];
      problems.push({ path: ["jobs", n, "after"], message: `dependency cycle: ${cycle.join(" → ")}` });
      return false;
    }
    state.set(n, "visiting");
    // (A job naming itself is reported as such, not as a cycle.)
    for (const p of [...(jobs[n]!.after ?? []), ...(jobs[n]!.after_any ?? [])]) if (p !== n && !visit(p, [...trail, n])) return false;
    state.set(n, "done");
    order.push(n);
    return true;
  };
  for (const n of names) if (!visit(n, [])) break;
  return order;
}

function buildPlan(
  file: string,
  fileDir: string,
  doc: DescriptionValue,
  defaults: Defaults,
  order: string[],
  resolved: Map<string, Resolved>,
  engine: string | undefined,
): Plan {
  const priorityOf = (n: string) => resolved.get(n)!.entry.priority ?? defaults.priority ?? 0;
  // Priority groups: every job waits for all jobs of the next higher priority of its batch.
  const levels = [...new Set(order.map(priorityOf))].sort((a, b) => b - a);
  const groupParents = (n: string) => {
    const i = levels.indexOf(priorityOf(n));
    return i === 0 ? [] : order.filter((m) => priorityOf(m) === levels[i - 1]);
  };
  // Jobs of higher groups come first, so every parent is planned before its dependents.
  const sorted = [...order].sort((a, b) => levels.indexOf(priorityOf(a)) - levels.indexOf(priorityOf(b)));
  const hashes = new Map<string, string>();
  const jobs: PlannedJob[] = [];
  for (const name of sorted) {
    const { entry: j, argv, points } = resolved.get(name)!;
    const pick = <K extends keyof Defaults>(k: K): Defaults[K] => (j[k] !== undefined ? j[k] : defaults[k]);
    const env = { ...(defaults.env ?? {}), ...(j.env ?? {}) };
    const input: SubmitInput = {
      name,
      batch: doc.batch,
      command: j.script ? (argv ?? []) : argv!,
      script: j.script === undefined ? undefined : path.resolve(fileDir, j.script),
      cwd: path.resolve(fileDir, pick("cwd") ?? "."),
      env: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])),
      cpus: pick("cpus"),
      mem: pick("mem"),
      time: typeof pick("time") === "number" ? String(pick("time")) : (pick("time") as string | undefined),
      gpus: pick("gpus"),
      queue: pick("queue"),
      engine: engine ?? pick("engine"),
      schedArgs: pick("sched_args"),
      tags: pick("tags"),
      array: j.array,
      retries: pick("retries"),
      retryOn: pick("on"),
      escalate: pick("escalate"),
      stderrFails: pick("stderr_fails"),
      hold: j.hold,
      priority: priorityOf(name),
      points: points ?? undefined,
    };
    const after = j.after ?? [];
    const afterAny = j.after_any ?? [];
    const afterGroup = groupParents(name).filter((p) => !after.includes(p) && !afterAny.includes(p));
    const scriptText = input.script ? fs.readFileSync(input.script, "utf8") : null;
    // The engine is left out: running the same file on another engine does not re-run what succeeded.
    const definition = {
      ...input,
      engine: undefined,
      script: scriptText,
      points: points ? hashPoints(points) : null,
      argvSample: points && argv ? fillPlaceholders(argv, points[0]!) : null,
    };
    const parents = [...after, ...afterAny, ...afterGroup].sort().map((p) => `${p}=${hashes.get(p)}`);
    const hash = createHash("sha256").update(JSON.stringify({ definition, parents })).digest("hex").slice(0, 16);
    hashes.set(name, hash);
    jobs.push({ name, input, after, afterAny, afterGroup, hash });
  }
  return { file, batch: doc.batch, jobs };
}

function hashPoints(points: readonly Point[]): string {
  const h = createHash("sha256");
  for (const p of points) h.update(JSON.stringify(p));
  return h.digest("hex");
}

export type { Position };
