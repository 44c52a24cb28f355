import { UsageError } from "./errors.js";
import { looksLikeFilter, parseFilterTerm, type FilterTerm } from "./filter.js";
import { isLifecycleState, validateLabel } from "./states.js";

/** One id item of a selection: a job, a range of jobs, or one task of a job (`12.4`). */
export type IdItem =
  | { readonly kind: "job"; readonly id: number }
  | { readonly kind: "range"; readonly from: number; readonly to: number }
  | { readonly kind: "task"; readonly id: number; readonly index: number };

/** Which jobs (and tasks) a command acts on: `3 5-9 12.4 --state failed --name 'map*' --batch b`. */
export interface Selection {
  readonly ids: readonly IdItem[];
  /** Lifecycle states or user labels; empty means any. */
  readonly states: readonly string[];
  /** A glob (`*`, `?`, `[..]`) matched against job names. */
  readonly name: string | null;
  readonly batch: string | null;
  /** Every job, explicitly: needed by destructive commands when nothing else narrows the selection. */
  readonly all: boolean;
  /** Filter terms (`state=failed param.lr>0.01`), ANDed with the rest. */
  readonly where?: readonly FilterTerm[];
}

export const EVERYTHING: Selection = { ids: [], states: [], name: null, batch: null, all: true };

export function parseIdItem(text: string): IdItem {
  let m = /^(\d+)$/.exec(text);
  if (m) return { kind: "job", id: Number(m[1]) };
  m = /^(\d+)-(\d+)$/.exec(text);
  if (m) {
    const from = Number(m[1]);
    const to = Number(m[2]);
    if (to < from) throw new UsageError(`job range '${text}' is empty (the end is before the start)`);
    return { kind: "range", from, to };
  }
  m = /^(\d+)\.(\d+)$/.exec(text);
  if (m) return { kind: "task", id: Number(m[1]), index: Number(m[2]) };
  throw new UsageError(`'${text}' is not a job id, a range (5-9), a task (12.4) or a filter (state=failed)`);
}

export function parseStates(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values.flatMap((s) => s.split(","))) {
    const s = v.trim();
    if (s === "") continue;
    if (!isLifecycleState(s) && validateLabel(s) !== null) {
      throw new UsageError(`--state '${s}' is neither a state (pending, queued, running, succeeded, failed, cancelled, lost) nor a label`);
    }
    out.push(s);
  }
  return out;
}

export function buildSelection(input: {
  ids?: readonly string[];
  states?: readonly string[];
  name?: string | null;
  batch?: string | null;
  all?: boolean;
}): Selection {
  // Words with an operator are filter terms (state=failed); the others are ids, ranges and tasks.
  const words = input.ids ?? [];
  return {
    ids: words.filter((w) => !looksLikeFilter(w)).map(parseIdItem),
    where: words.filter(looksLikeFilter).map(parseFilterTerm),
    states: parseStates(input.states ?? []),
    name: input.name ?? null,
    batch: input.batch ?? null,
    all: input.all ?? false,
  };
}

/** True when the selection names nothing: destructive commands then need --all. */
export function isUnnarrowed(sel: Selection): boolean {
  return sel.ids.length === 0 && sel.states.length === 0 && sel.name === null && sel.batch === null && (sel.where?.length ?? 0) === 0;
}

/** Whether a job or task matches a --state filter (lifecycle states and labels alike). */
export function matchesStates(states: readonly string[], lifecycle: string, label: string | null): boolean {
  if (states.length === 0) return true;
  return states.some((s) => (isLifecycleState(s) ? s === lifecycle : s === label));
}
