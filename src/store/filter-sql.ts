import { FILTER_FIELDS, type FilterField, type FilterTerm } from "../domain/filter.js";

/** The job column each filter field reads (jobs aliased `j`). */
const COLUMNS: Readonly<Record<FilterField, string>> = {
  id: "j.id",
  name: "j.name",
  batch: "j.batch",
  engine: "j.engine",
  state: "j.lifecycle_state",
  label: "j.label",
  exit: "j.exit_code",
  created: "j.created_at",
  priority: "j.priority",
  tasks: "j.n_tasks",
};

/** SQL (on jobs aliased `j`) for the terms, with its parameters: values are always bound. */
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
    const field = t.field as FilterField;
    const kind = FILTER_FIELDS[field];
    const col = COLUMNS[field];
    if (kind === "state") {
      // A state or a label, as --state does.
      clauses.push(t.op === "=" ? `(coalesce(j.label, ${col}) = ? OR ${col} = ?)` : `(coalesce(j.label, ${col}) <> ? AND ${col} <> ?)`);
      params.push(t.value, t.value);
    } else if (t.op === "~" || t.op === "!~") {
      clauses.push(`${t.op === "~" ? "" : "NOT "}coalesce(${col}, '') GLOB ?`);
      params.push(t.value);
    } else {
      const cmp = t.op === "!=" ? "IS NOT" : t.op === "=" ? "IS" : t.op;
      clauses.push(`${col} ${cmp} ?`);
      params.push(kind === "number" ? Number(t.value) : kind === "time" ? Date.parse(t.value) / 1000 : t.value);
    }
  }
  return { where: clauses.length > 0 ? clauses.join(" AND ") : "1", params };
}
