/**
 * A job's summary as `corral ls --json` prints it, rendered by SQLite from the jobs row of `r` (an alias, or
 * NEW in a trigger). It is kept, rendered, in job_summaries (migration 10), which is why it lives apart from
 * the listing: the migration renders the same text the listing falls back to. Changing it needs a migration
 * that renders every kept summary again.
 */

/**
 * `createdAt` as JavaScript's toISOString writes it, in two printf arguments (`%s.%03dZ`): datetime() and the
 * milliseconds cut (not rounded, as toISOString cuts them). strftime('%f') would round, and costs twice as much.
 */
const isoSecondsSql = (col: string) => `replace(datetime(CAST(${col} AS INTEGER), 'unixepoch'), ' ', 'T')`;
const isoMillisSql = (col: string) => `CAST(${col} * 1000 AS INTEGER) % 1000`;

/**
 * One job summary as `JSON.stringify(summaries, null, 2)` prints it inside the array (see toSummary in
 * queries.ts): the same keys in the same order, byte for byte (a test holds the two together).
 */
export const summaryJsonSql = (r: string): string => `printf('  {
    "id": %d,
    "name": %s,
    "batch": %s,
    "state": %s,
    "lifecycleState": %s,
    "label": %s,
    "exitCode": %s,
    "engine": %s,
    "command": %s,
    "array": %s,
    "createdAt": "%s.%03dZ",
    "tasks": {
      "total": %d,
      "done": %d,
      "pending": %d,
      "queued": %d,
      "running": %d,
      "succeeded": %d,
      "failed": %d,
      "cancelled": %d,
      "lost": %d
    }
  }', ${r}.id, json_quote(${r}.name), json_quote(${r}.batch), json_quote(coalesce(${r}.label, ${r}.lifecycle_state)), json_quote(${r}.lifecycle_state),
  json_quote(${r}.label), CASE WHEN ${r}.lifecycle_state = 'succeeded' THEN '0' ELSE json_quote(${r}.exit_code) END, json_quote(${r}.engine),
  json_quote(${r}.command), json_quote(${r}.array_spec), ${isoSecondsSql(`${r}.created_at`)}, ${isoMillisSql(`${r}.created_at`)}, ${r}.n_tasks,
  ${r}.n_succeeded + ${r}.n_failed + ${r}.n_cancelled + ${r}.n_lost, ${r}.n_pending, ${r}.n_queued, ${r}.n_running, ${r}.n_succeeded,
  ${r}.n_failed, ${r}.n_cancelled, ${r}.n_lost)`;

/**
 * Whether the jobs row `r` keeps its summary rendered: it has ended (none of its tasks waits or runs), and it
 * has at most KEPT_SUMMARY_MAX_TASKS tasks (a kept summary is rendered again at each change of a task, which
 * for a sweep of a million tasks would be a million times as it is recorded).
 */
export const SUMMARY_KEPT = (r: string): string =>
  `${r}.n_tasks BETWEEN 1 AND ${KEPT_SUMMARY_MAX_TASKS} AND ${r}.n_pending + ${r}.n_queued + ${r}.n_running = 0`;

const KEPT_SUMMARY_MAX_TASKS = 100;

/** The jobs columns a summary is rendered from (lifecycle_state is computed from the n_ columns). */
export const SUMMARY_INPUTS = [
  "name",
  "batch",
  "label",
  "exit_code",
  "engine",
  "command",
  "array_spec",
  "created_at",
  "n_tasks",
  "n_pending",
  "n_queued",
  "n_running",
  "n_succeeded",
  "n_failed",
  "n_cancelled",
  "n_lost",
];
