import { UsageError } from "./errors.js";
import { isLifecycleState, validateLabel } from "./states.js";

/**
 * The filter language of `ls`, `status`, `wait`, `cancel` and `resubmit`:
 *
 *   state=failed name~'map*' batch=genome param.lr>0.01 created>2026-01-01 exit!=0
 *
 * Each term is FIELD OP VALUE; terms are ANDed. Terms become parameterised SQL: field names come from a fixed
 * table and values are always bound, never pasted into the query.
 */
export type FilterOp = "=" | "!=" | "~" | "!~" | ">" | ">=" | "<" | "<=";

export interface FilterTerm {
  readonly field: string;
  /** For param.X terms, the parameter's name. */
  readonly param: string | null;
  readonly op: FilterOp;
  readonly value: string;
  readonly text: string;
}

type Kind = "text" | "number" | "time" | "state";

/** The fields, what they compare, and the job column they read. */
const FIELDS: Readonly<Record<string, { kind: Kind; column: string }>> = {
  id: { kind: "number", column: "j.id" },
  name: { kind: "text", column: "j.name" },
  batch: { kind: "text", column: "j.batch" },
  engine: { kind: "text", column: "j.engine" },
  state: { kind: "state", column: "j.lifecycle_state" },
  label: { kind: "text", column: "j.label" },
  exit: { kind: "number", column: "j.exit_code" },
  created: { kind: "time", column: "j.created_at" },
  priority: { kind: "number", column: "j.priority" },
  tasks: { kind: "number", column: "j.n_tasks" },
};

const OPS_BY_KIND: Readonly<Record<Kind, readonly FilterOp[]>> = {
  text: ["=", "!=", "~", "!~"],
  number: ["=", "!=", ">", ">=", "<", "<="],
  time: ["=", "!=", ">", ">=", "<", "<="],
  state: ["=", "!="],
};

const TERM_RE = /^([a-z]+)(?:\.([A-Za-z_][A-Za-z0-9_]*))?(!=|>=|<=|!~|=|~|>|<)(.*)$/s;

/** Whether a command-line word is a filter term (as opposed to a job id like 12, 5-9 or 12.4). */
export function looksLikeFilter(word: string): boolean {
  return /^[a-z]/.test(word) && /[=~<>]/.test(word);
}

function unquote(v: string): string {
  const m = /^(['"])(.*)\1$/s.exec(v);
  return m ? m[2]! : v;
}

export function parseFilterTerm(text: string): FilterTerm {
  const m = TERM_RE.exec(text);
  const fields = [...Object.keys(FIELDS), "param.NAME"];
  if (!m) throw new UsageError(`filter '${text}': expected FIELD OP VALUE such as state=failed or param.lr>0.01 (fields: ${fields.join(", ")})`);
  const [, field, param, op, raw] = m as unknown as [string, string, string | undefined, FilterOp, string];
  const value = unquote(raw);
  if (field === "param") {
    if (param === undefined) throw new UsageError(`filter '${text}': name the parameter, as in param.lr>0.01`);
    if (op === "~" || op === "!~") throw new UsageError(`filter '${text}': parameters compare with = != > >= < <=`);
    return { field, param, op, value, text };
  }
  const def = FIELDS[field];
  if (!def || param !== undefined) throw new UsageError(`filter '${text}': unknown field '${field}${param ? `.${param}` : ""}' (fields: ${fields.join(", ")})`);
  if (!OPS_BY_KIND[def.kind].includes(op)) throw new UsageError(`filter '${text}': ${field} compares with ${OPS_BY_KIND[def.kind].join(" ")}`);
  if (def.kind === "number" && !/^-?\d+$/.test(value)) throw new UsageError(`filter '${text}': ${field} needs a whole number`);
  if (def.kind === "time" && Number.isNaN(Date.parse(value))) throw new UsageError(`filter '${text}': ${field} needs a date such as 2026-01-01 or 2026-01-01T12:00`);
  if (def.kind === "state" && !isLifecycleState(value) && validateLabel(value) !== null) throw new UsageError(`filter '${text}': '${value}' is neither a state nor a label`);
  return { field, param: null, op, value, text };
}

/** SQL (on jobs aliased `j`) for the terms, with its parameters. */
export function filterSql(terms: readonly FilterTerm[]): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  for (const t of terms) {
    if (t.param !== null) {
      // A job matches when any of its tasks' points does; numbers compare as numbers.
      const numeric = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t.value);
      const cmp = t.op === "!=" ? "<>" : t.op;
      clauses.push(`EXISTS (SELECT 1 FROM tasks ft WHERE ft.job_id = j.id AND json_extract(ft.params, ?) ${cmp} ?)`);
      params.push(`$.${t.param}`, numeric ? Number(t.value) : t.value);
      continue;
    }
    const def = FIELDS[t.field]!;
    const col = def.column;
    if (def.kind === "state") {
      // A state or a label, as --state does.
      clauses.push(t.op === "=" ? `(coalesce(j.label, ${col}) = ? OR ${col} = ?)` : `(coalesce(j.label, ${col}) <> ? AND ${col} <> ?)`);
      params.push(t.value, t.value);
    } else if (t.op === "~" || t.op === "!~") {
      clauses.push(`${t.op === "~" ? "" : "NOT "}coalesce(${col}, '') GLOB ?`);
      params.push(t.value);
    } else {
      const cmp = t.op === "!=" ? "IS NOT" : t.op === "=" ? "IS" : t.op;
      clauses.push(`${col} ${cmp} ?`);
      params.push(def.kind === "number" ? Number(t.value) : def.kind === "time" ? Date.parse(t.value) / 1000 : t.value);
    }
  }
  return { where: clauses.length > 0 ? clauses.join(" AND ") : "1", params };
}
