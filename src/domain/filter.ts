import { UsageError } from "./errors.js";
import { isLifecycleState, validateLabel } from "./states.js";

/**
 * The filter language of `ls`, `status`, `wait`, `cancel` and `resubmit`:
 *
 *   state=failed name~'map*' batch=genome param.lr>0.01 created>2026-01-01 exit!=0
 *
 * Each term is FIELD OP VALUE; terms are ANDed. The store compiles terms into parameterised SQL (store/filter-sql.ts):
 * field names come from a fixed table and values are always bound, never pasted into the query.
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

export type FilterKind = "text" | "number" | "time" | "state";

/** The fields and what they compare (the store maps each to a column). */
export const FILTER_FIELDS = {
  id: "number",
  name: "text",
  batch: "text",
  engine: "text",
  state: "state",
  label: "text",
  exit: "number",
  created: "time",
  priority: "number",
  tasks: "number",
} as const satisfies Readonly<Record<string, FilterKind>>;
export type FilterField = keyof typeof FILTER_FIELDS;

const OPS_BY_KIND: Readonly<Record<FilterKind, readonly FilterOp[]>> = {
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
  const fields = [...Object.keys(FILTER_FIELDS), "param.NAME"];
  if (!m) throw new UsageError(`filter '${text}': expected FIELD OP VALUE such as state=failed or param.lr>0.01 (fields: ${fields.join(", ")})`);
  const [, field, param, op, raw] = m as unknown as [string, string, string | undefined, FilterOp, string];
  const value = unquote(raw);
  if (field === "param") {
    if (param === undefined) throw new UsageError(`filter '${text}': name the parameter, as in param.lr>0.01`);
    if (op === "~" || op === "!~") throw new UsageError(`filter '${text}': parameters compare with = != > >= < <=`);
    return { field, param, op, value, text };
  }
  const kind = (FILTER_FIELDS as Readonly<Record<string, FilterKind>>)[field];
  if (!kind || param !== undefined)
    throw new UsageError(`filter '${text}': unknown field '${field}${param ? `.${param}` : ""}' (fields: ${fields.join(", ")})`);
  if (!OPS_BY_KIND[kind].includes(op)) throw new UsageError(`filter '${text}': ${field} compares with ${OPS_BY_KIND[kind].join(" ")}`);
  if (kind === "number" && !/^-?\d+$/.test(value)) throw new UsageError(`filter '${text}': ${field} needs a whole number`);
  if (kind === "time" && Number.isNaN(Date.parse(value)))
    throw new UsageError(`filter '${text}': ${field} needs a date such as 2026-01-01 or 2026-01-01T12:00`);
  if (kind === "state" && !isLifecycleState(value) && validateLabel(value) !== null)
    throw new UsageError(`filter '${text}': '${value}' is neither a state nor a label`);
  return { field, param: null, op, value, text };
}

/**
 * Splits a line typed in one box (`12 state=failed name~'map*'`) into the words a shell would pass, keeping
 * quotes inside a word as the shell passes them when quoted twice (parseFilterTerm removes them).
 */
export function splitFilterText(text: string): string[] {
  return text.match(/(?:[^\s'"]+|'[^']*'|"[^"]*")+/g) ?? [];
}
