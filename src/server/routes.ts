import { Hono, type Context } from "hono";
import { streamSSE } from "hono/streaming";
import { CHANGE_VERBS, type Change } from "../api/changes.js";
import { readLogChunk, type LogStream } from "../api/logs.js";
import { JOB_SORT_KEYS, REPORT_GROUPINGS, type JobSortKey, type ProjectView, type ReportGrouping } from "../api/view.js";
import { UsageError } from "../domain/errors.js";
import { splitFilterText } from "../domain/filter.js";
import { buildSelection, parseStates } from "../domain/selection.js";
import type { LiveEvent, LiveProject } from "./live.js";

/** Sizes that bound every answer, whatever the project's size: no endpoint reads every row. */
export const LIMITS = {
  jobsPerPage: 500,
  tasksPerPage: 500,
  gridCells: 100_000,
  timelineAttempts: 20_000,
  logBytes: 512 * 1024,
  attentionShown: 20,
  reportGroups: 200,
} as const;

export interface RouteOptions {
  readonly live: LiveProject;
  readonly readOnly: boolean;
  readonly projectDir: string;
}

/** A whole number from a query parameter, within bounds; bad input is the one-line refusal of a bad flag. */
function count(c: Context, name: string, fallback: number, max: number): number {
  const raw = c.req.query(name);
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`${name} '${raw}': expected a whole number`);
  return Math.min(Number(raw), max);
}

function selectionOf(c: Context) {
  return buildSelection({ ids: splitFilterText(c.req.query("q") ?? "") });
}

/** The JSON API the page uses (and scripts may): reads from the read-only view, changes through the CLI's API. */
export function apiRoutes(opts: RouteOptions): Hono {
  const { live } = opts;
  const app = new Hono();

  // Every read but the overview needs the database; the overview says honestly that there is none yet.
  const view = (): ProjectView => {
    const v = live.view;
    if (v === null) throw new NoDatabase(live.dbPath);
    return v;
  };

  app.onError((err, c) => {
    if (err instanceof NoDatabase) return c.json({ error: err.message, noDatabase: true }, 404);
    if (err instanceof UsageError) return c.json({ error: err.message }, /^there is no job|has no task|has no attempt/.test(err.message) ? 404 : 400);
    return c.json({ error: `internal error: ${err.message}` }, 500);
  });

  // Computed once per version of the store, however many pages ask: five tabs cost one set of queries.
  let cached: { version: number; body: unknown } | null = null;
  app.get("/overview", (c) => {
    const v = live.view;
    const base = { project: opts.projectDir, database: live.dbPath, readOnly: opts.readOnly, version: live.version, lastRefresh: live.lastRefresh };
    if (v === null) return c.json({ ...base, exists: false, batches: [], running: [], attention: [], attentionTotal: 0 });
    if (cached?.version !== live.version) cached = { version: live.version, body: v.overview(LIMITS.attentionShown) };
    return c.json({ ...base, exists: true, ...(cached.body as object) });
  });

  app.get("/jobs", (c) => {
    const sort = (c.req.query("sort") ?? "id") as JobSortKey;
    if (!JOB_SORT_KEYS.includes(sort)) throw new UsageError(`sort '${sort}': one of ${JOB_SORT_KEYS.join(", ")}`);
    const page = view().pageOfJobs(selectionOf(c), {
      sort,
      descending: c.req.query("desc") === "1",
      offset: count(c, "offset", 0, Number.MAX_SAFE_INTEGER),
      limit: count(c, "limit", 50, LIMITS.jobsPerPage),
    });
    return c.json(page);
  });

  // `corral report` a page of groups at a time, the same figures, findings and suggestions; computed once
  // per version of the store and question (every tab open on it, and each change of the store, asks again).
  let lastReport: { key: string; body: unknown } | null = null;
  app.get("/report", (c) => {
    const by = (c.req.query("by") ?? "name") as ReportGrouping;
    if (!(REPORT_GROUPINGS as readonly string[]).includes(by)) throw new UsageError(`by '${by}': expected one of ${REPORT_GROUPINGS.join(", ")}`);
    const sel = selectionOf(c);
    const page = { offset: count(c, "offset", 0, Number.MAX_SAFE_INTEGER), limit: count(c, "limit", 50, LIMITS.reportGroups) };
    const key = JSON.stringify([live.version, by, c.req.query("q") ?? "", page]);
    if (lastReport?.key !== key) lastReport = { key, body: { by, ...page, ...view().reportPage(sel, by, page) } };
    return c.json(lastReport.body as object);
  });

  app.get("/jobs/:id", (c) => c.json(view().header(jobId(c))));

  app.get("/jobs/:id/grid", (c) => c.json(view().taskStates(jobId(c), LIMITS.gridCells)));

  app.get("/jobs/:id/tasks", (c) => {
    const index = c.req.query("index");
    if (index !== undefined) {
      if (!/^\d+$/.test(index)) throw new UsageError(`index '${index}': expected a task index`);
      const tasks = view().tasks(jobId(c), Number(index));
      return c.json({ total: tasks.length, tasks });
    }
    return c.json(
      view().tasksPage(jobId(c), {
        offset: count(c, "offset", 0, Number.MAX_SAFE_INTEGER),
        limit: count(c, "limit", 50, LIMITS.tasksPerPage),
        states: parseStates((c.req.query("state") ?? "").split(",")),
      }),
    );
  });

  app.get("/timeline", (c) =>
    c.json({ now: Date.now() / 1000, attempts: view().latestAttempts(selectionOf(c), count(c, "limit", 2000, LIMITS.timelineAttempts)) }),
  );

  app.get("/logs/:id/:index/:attempt/:stream", (c) => {
    const stream = c.req.param("stream");
    if (stream !== "stdout" && stream !== "stderr") throw new UsageError(`stream '${stream}': stdout or stderr`);
    const index = wholeParam(c, "index");
    const attempt = wholeParam(c, "attempt");
    const [file] = view().logFiles({ jobId: jobId(c), index }, [stream as LogStream], attempt);
    if (!file) throw new UsageError(`task ${jobId(c)}.${index} has no attempt ${attempt}`);
    // Without `from`, the end of the file (the tail first); with it, what was written since.
    const from = c.req.query("from") === undefined ? null : count(c, "from", 0, Number.MAX_SAFE_INTEGER);
    const state = view().attemptState(file.jobId, file.index, file.attempt.n);
    return c.json({ path: file.path, state, ...readLogChunk(file.path, from, LIMITS.logBytes) });
  });

  app.get("/workers", async (c) => c.json(await live.changer.workers()));

  app.get("/health", (c) => c.json({ version: live.version, refreshes: live.refreshes, listeners: live.listenerCount, lastRefresh: live.lastRefresh }));

  app.get("/events", (c) =>
    streamSSE(c, async (stream) => {
      const send = (e: LiveEvent) => void stream.writeSSE({ event: e.kind, data: JSON.stringify(e) }).catch(() => undefined);
      const stop = live.listen(send);
      send({ kind: "change", version: live.version });
      await new Promise<void>((resolve) => {
        // A comment now and then keeps proxies and the browser from deciding the stream is dead; the timer
        // is unref'd so an open stream never keeps a stopping server alive.
        const keepAlive = setInterval(() => void stream.write(": keep-alive\n\n").catch(() => undefined), 15_000);
        keepAlive.unref();
        stream.onAbort(() => {
          clearInterval(keepAlive);
          stop();
          resolve();
        });
      });
    }),
  );

  app.post("/actions", async (c) => {
    if (opts.readOnly) return c.json({ error: "refused: this dashboard is read-only (corral ui --read-only)" }, 403);
    const change = parseChange(await c.req.json().catch(() => null));
    if (live.view === null) throw new NoDatabase(live.dbPath);
    try {
      return c.json(await live.changer.change(change));
    } catch (err) {
      if (err instanceof UsageError) return c.json({ error: err.message }, 400);
      throw err;
    }
  });

  return app;
}

class NoDatabase extends Error {
  constructor(dbPath: string) {
    super(`no corral database yet at ${dbPath} (submit a job: corral submit -- CMD)`);
  }
}

function jobId(c: Context): number {
  return wholeParam(c, "id");
}

function wholeParam(c: Context, name: string): number {
  const raw = c.req.param(name) ?? "";
  if (!/^\d+$/.test(raw)) throw new UsageError(`'${raw}' is not a ${name === "id" ? "job id" : name}`);
  return Number(raw);
}

/** The body of a change: {verb, targets: ["12", "12.4", "state=failed"], clean?, label?, keepLogs?}. */
function parseChange(body: unknown): Change {
  if (typeof body !== "object" || body === null) throw new UsageError("a change is a JSON object {verb, targets}");
  const b = body as Record<string, unknown>;
  const verb = b.verb;
  if (typeof verb !== "string" || !(CHANGE_VERBS as readonly string[]).includes(verb)) throw new UsageError(`verb: one of ${CHANGE_VERBS.join(", ")}`);
  const targets = b.targets;
  if (!Array.isArray(targets) || !targets.every((t) => typeof t === "string")) throw new UsageError("targets: a list of job ids, tasks (12.4) or filters");
  const words = targets.flatMap((t) => splitFilterText(t));
  switch (verb) {
    case "resubmit":
      return { verb, targets: words, clean: b.clean === true };
    case "delete":
      return { verb, targets: words, keepLogs: b.keepLogs === true };
    case "mark": {
      if (b.label !== null && typeof b.label !== "string") throw new UsageError("label: a label, or null to clear it");
      return { verb, targets: words, label: b.label };
    }
    default:
      return { verb: verb as "cancel" | "release", targets: words };
  }
}
