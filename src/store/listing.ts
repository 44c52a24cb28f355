import { isUnnarrowed, type Selection } from "../domain/selection.js";
import { LIFECYCLE_STATES } from "../domain/states.js";
import { jobFilter, stateFilter } from "./queries.js";
import type { Store } from "./store.js";
import { summaryJsonSql } from "./summary-json.js";

/**
 * `corral ls` and `corral ls --json` over 100,000 jobs: SQLite formats the text itself (printf, json_quote),
 * a chunk of rows per call, so no JavaScript value is made per job or per cell. The layout (column widths,
 * colours, the terminal's width) is decided by the caller; this module only carries it out.
 */

/** Rows per statement: big enough that the per-call cost vanishes, small enough to bound memory. */
const CHUNK_ROWS = 20_000;

/** The cells of `ls`, as SQL over `jobs j`: id, name, state, tasks, engine, age (`?` = now), command. */
const STATE_SQL = "coalesce(j.label, j.lifecycle_state)";
const TASKS_SQL = "(j.n_succeeded + j.n_failed + j.n_cancelled + j.n_lost) || '/' || j.n_tasks";
/** Same rule as ageSeconds() in cli/output.ts: whole seconds, minutes, hours or days, rounded down. */
const ageSql = (
  createdAt: string,
): string => `(SELECT CASE WHEN s < 60 THEN s || 's' WHEN s < 3600 THEN (s / 60) || 'm' WHEN s < 86400 THEN (s / 3600) || 'h' ELSE (s / 86400) || 'd' END
  FROM (SELECT max(0, CAST(round(? - ${createdAt}) AS INTEGER)) AS s))`;
const AGE_SQL = ageSql("j.created_at");

/**
 * Each column's width but the last (id, name, state, tasks, engine, age): its widest cell, or `atLeast` (the
 * header's) where that is wider; and how many rows. A whole project's are read from what is kept
 * (migration 11) in a few index lookups; a narrowed selection's are measured over its rows.
 */
export function listingWidths(store: Store, sel: Selection, now: number, atLeast: readonly number[]): { widths: number[]; rows: number } {
  const f = jobFilter(sel);
  const st = stateFilter(sel.states);
  const widest = isUnnarrowed(sel) ? keptWidths(store, now, atLeast) : measuredWidths(store, f, st, now);
  return { widths: widest.slice(0, 6).map((w, i) => Math.max(w, atLeast[i] ?? 0)), rows: widest[6]! };
}

type Where = { where: string; params: unknown[] };

/** The widest cell of each column but the last, and how many rows, over the selected rows themselves. */
function measuredWidths(store: Store, f: Where, st: Where, now: number): number[] {
  return store
    .stmt(
      `SELECT coalesce(length(max(j.id)), 0), coalesce(max(length(j.name)), 0), coalesce(max(length(${STATE_SQL})), 0),
              coalesce(max(length(${TASKS_SQL})), 0), coalesce(max(length(j.engine)), 0), coalesce(max(length(${AGE_SQL})), 0), count(*)
       FROM jobs j WHERE ${f.where} AND ${st.where}`,
    )
    .raw()
    .get(now, ...f.params, ...st.params) as number[];
}

/**
 * The whole project's widths from the kept counts, as listingWidths would measure them. The age column is not
 * kept (it changes with the clock), but an age is wider than 3 characters ("59s", "23h", "99d") only from 100
 * days on, where older is never narrower: so at a width of 3 or more, the oldest job's age decides it.
 */
function keptWidths(store: Store, now: number, atLeast: readonly number[]): number[] {
  const widest = (col: string) => (store.stmt("SELECT max(width) FROM listing_widths WHERE col = ?").pluck().get(col) as number | null) ?? 0;
  const [states, rows] = store.stmt("SELECT coalesce(max(length(state)), 0), coalesce(sum(jobs), 0) FROM batch_counts").raw().get() as [number, number];
  const age =
    (atLeast[5] ?? 0) >= 3
      ? store
          .stmt(`SELECT coalesce(length(${ageSql("oldest.c")}), 0) FROM (SELECT min(created_at) AS c FROM jobs) oldest`)
          .pluck()
          .get(now)
      : store.stmt(`SELECT coalesce(max(length(${AGE_SQL})), 0) FROM jobs j`).pluck().get(now);
  const id = store.stmt("SELECT coalesce(length(max(id)), 0) FROM jobs").pluck().get() as number;
  return [id, widest("name"), states, widest("tasks"), widest("engine"), age as number, rows];
}

export interface ListingLayout {
  /** Each column's width but the last's (see listingWidths), at least the header's. */
  readonly widths: readonly number[];
  readonly now: number;
  /** The escape codes around each state's padded cell, or null for plain text. */
  readonly paint: { readonly open: (state: string) => string; readonly close: (state: string) => string } | null;
  /** On a terminal, the width the command may take before it is cut with "…"; null: never cut. */
  readonly commandRoom: number | null;
}

/** The lines of `ls` (no header), in id order, a chunk of lines joined by newlines per item, no trailing newline. */
export function* listingLines(store: Store, sel: Selection, layout: ListingLayout, chunkRows = CHUNK_ROWS): Generator<string> {
  const f = jobFilter(sel);
  const st = stateFilter(sel.states);
  const [wId, wName, wState, wTasks, wEngine, wAge] = layout.widths;
  // The state cell is padded, then wrapped in its colour (the same words cli/output.ts paints): its escape
  // codes are two more %s around it, so the whole line is one printf (each further printf costs a pass).
  const states = [...LIFECYCLE_STATES];
  const codeOfState = `CASE ${STATE_SQL} ${states.map(() => "WHEN ? THEN ?").join(" ")} ELSE ? END`;
  const codes = (of: (state: string) => string) => [...states.flatMap((s) => [s, of(s)]), of("")];
  const [openSql, closeSql] = layout.paint ? [codeOfState, codeOfState] : ["''", "''"];
  const [openParams, closeParams] = layout.paint ? [codes(layout.paint.open), codes(layout.paint.close)] : [[], []];
  const room = layout.commandRoom;
  const commandSql = room === null ? "j.command" : "CASE WHEN length(j.command) > ? THEN substr(j.command, 1, ?) || '…' ELSE j.command END";
  const commandParams = room === null ? [] : [room, Math.max(10, room - 1)];
  // The lines are joined in the order the sub-select yields them: its ORDER BY ... LIMIT keeps it from being
  // flattened, so SQLite runs it as a co-routine in id order (an ORDER BY inside string_agg would sort each
  // chunk again, 100 ms per 100,000 lines). listing.test.ts holds the order under an index-driven filter.
  const sql = `SELECT string_agg(line, char(10)), max(id) FROM (
      SELECT j.id, printf('%-*d  %-!*s  %s%-!*s%s  %-!*s  %-!*s  %-!*s  %s', ?, j.id, ?, j.name, ${openSql}, ?, ${STATE_SQL}, ${closeSql},
             ?, ${TASKS_SQL}, ?, j.engine, ?, ${AGE_SQL}, ${commandSql}) AS line
      FROM jobs j WHERE j.id > ? AND ${f.where} AND ${st.where} ORDER BY j.id LIMIT ${chunkRows})`;
  const stmt = store.stmt(sql).raw();
  for (let after = 0; ; ) {
    const row = stmt.get(
      wId,
      wName,
      ...openParams,
      wState,
      ...closeParams,
      wTasks,
      wEngine,
      wAge,
      layout.now,
      ...commandParams,
      after,
      ...f.params,
      ...st.params,
    ) as [string | null, number | null];
    if (row[0] === null || row[1] === null) return;
    yield row[0];
    after = row[1];
  }
}

/** `ls --json`: the selected job summaries as pretty JSON text, in chunks that concatenate to the whole array. */
export function* summariesJson(store: Store, sel: Selection, chunkRows = CHUNK_ROWS): Generator<string> {
  const f = jobFilter(sel);
  const st = stateFilter(sel.states);
  // Ended jobs' summaries are kept rendered (migration 10); the others are rendered here.
  const stmt = store
    .stmt(
      `SELECT string_agg(o, ',' || char(10)), max(id) FROM (
         SELECT j.id, coalesce(k.json, ${summaryJsonSql("j")}) AS o FROM jobs j LEFT JOIN job_summaries k ON k.job_id = j.id
         WHERE j.id > ? AND ${f.where} AND ${st.where} ORDER BY j.id LIMIT ${chunkRows})`,
    )
    .raw();
  const params = [...f.params, ...st.params];
  let first = true;
  for (let after = 0; ; ) {
    const row = stmt.get(after, ...params) as [string | null, number | null];
    if (row[0] === null || row[1] === null) break;
    yield first ? `[\n${row[0]}` : `,\n${row[0]}`;
    first = false;
    after = row[1];
  }
  yield first ? "[]" : "\n]";
}
