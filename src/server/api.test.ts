import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import { test } from "node:test";
import { seedArray, seedHistory } from "../bench/seed.js";
import { ProjectView } from "../api/view.js";
import type { GroupReport } from "../domain/usage.js";
import { Store } from "../store/store.js";
import { TestProject } from "../testing/project.js";
import { startDashboard, type Dashboard } from "./serve.js";

/** The HTTP API on its own: its JSON, its refusals, and how it guards changes. */
const TOKEN = "test-token";

async function serve(t: import("node:test").TestContext, p: TestProject, opts: { readOnly?: boolean; refreshMs?: number } = {}): Promise<Dashboard> {
  const d = await startDashboard({ cwd: p.dir, port: 0, token: TOKEN, readOnly: opts.readOnly, refreshMs: opts.refreshMs });
  t.after(() => d.close());
  return d;
}

function get(d: Dashboard, url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`http://127.0.0.1:${d.port}${url}`, { headers: { Authorization: `token ${TOKEN}`, ...headers } });
}

async function json<T = Record<string, unknown>>(d: Dashboard, url: string): Promise<T> {
  const r = await get(d, url);
  assert.equal(r.status, 200, `${url}: ${r.status} ${await r.clone().text()}`);
  return (await r.json()) as T;
}

function post(d: Dashboard, body: unknown, headers: Record<string, string> = { "X-Corral-Token": TOKEN }): Promise<Response> {
  return fetch(`http://127.0.0.1:${d.port}/api/actions`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

function seeded(prefix: string, fill: (s: Store) => void): TestProject {
  const p = new TestProject(prefix);
  const store = Store.open({ path: p.dbPath, create: true });
  fill(store);
  store.close();
  return p;
}

test("the overview says honestly that there is no database yet, and the other reads say so too", async (t) => {
  const p = new TestProject("corral-api-");
  t.after(() => p.cleanup());
  const d = await serve(t, p);
  const o = await json(d, "/api/overview");
  assert.equal(o.exists, false);
  assert.equal(o.database, p.dbPath);
  const jobs = await get(d, "/api/jobs");
  assert.equal(jobs.status, 404);
  assert.match(((await jobs.json()) as { error: string }).error, /no corral database yet at/);
});

test("jobs come a sorted page at a time, with the total, filtered by the CLI's language; bad input is one line", async (t) => {
  const p = seeded("corral-api-", (s) => seedHistory(s, 500));
  t.after(() => p.cleanup());
  const d = await serve(t, p);
  const page = await json<{ total: number; rows: { id: number; name: string; state: string }[] }>(d, "/api/jobs?limit=20&offset=40&desc=1");
  assert.equal(page.total, 500);
  assert.deepEqual(
    page.rows.map((r) => r.id),
    Array.from({ length: 20 }, (_, i) => 460 - i),
  );
  const failed = await json<{ total: number; rows: { state: string }[] }>(d, `/api/jobs?q=${encodeURIComponent("state=failed batch='batch-0'")}`);
  assert.equal(failed.total, 5, "every 50th job failed, batch-0 holds every 20th: every 100th");
  assert.ok(failed.rows.every((r) => r.state === "failed"));
  const byName = await json<{ rows: { name: string }[] }>(d, "/api/jobs?sort=name&limit=3");
  assert.deepEqual(
    byName.rows.map((r) => r.name),
    ["step-1", "step-10", "step-100"],
  );
  const byBatch = await json<{ rows: { id: number }[] }>(d, "/api/jobs?sort=batch&limit=3");
  assert.deepEqual(
    byBatch.rows.map((r) => r.id),
    [20, 40, 60],
    "ties are broken by id",
  );
  const ids = await json<{ total: number }>(d, `/api/jobs?q=${encodeURIComponent("5-9 12")}`);
  assert.equal(ids.total, 6);
  const capped = await json<{ rows: unknown[] }>(d, "/api/jobs?limit=100000");
  assert.equal(capped.rows.length, 500, "limits are capped, not refused");
  for (const [url, message] of [
    ["/api/jobs?q=colour%3Dred", /^filter 'colour=red': unknown field 'colour'/],
    ["/api/jobs?sort=size", /^sort 'size': one of id, name/],
    ["/api/jobs?offset=-1", /^offset '-1': expected a whole number/],
  ] as const) {
    const r = await get(d, url);
    assert.equal(r.status, 400, url);
    const body = (await r.json()) as { error: string };
    assert.match(body.error, message);
    assert.ok(!body.error.includes("\n"), "one line");
  }
  const missing = await get(d, "/api/jobs/9999");
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { error: "there is no job 9999" });
});

test("a job, its task grid, a page of its tasks, one task, the timeline and an attempt's log", async (t) => {
  let id = 0;
  const p = seeded("corral-api-", (s) => {
    id = seedArray(s, 300);
  });
  t.after(() => p.cleanup());
  const d = await serve(t, p);
  const job = await json<{ id: number; array: string; tasks: { total: number; failed: number }; taskList?: unknown }>(d, `/api/jobs/${id}`);
  assert.equal(job.array, "1-300");
  assert.equal(job.tasks.total, 300);
  assert.equal(job.taskList, undefined, "the header does not carry every task");
  const grid = await json<{ index: number[]; state: string[]; total: number }>(d, `/api/jobs/${id}/grid`);
  assert.equal(grid.index.length, 300);
  assert.equal(grid.state[12], "failed", "task 13 failed (every 13th)");
  assert.equal(grid.state.filter((s) => s === "failed").length, job.tasks.failed);
  const failed = await json<{ total: number; tasks: { index: number; attempts: { host: string; reason: string }[] }[] }>(
    d,
    `/api/jobs/${id}/tasks?state=failed&limit=5&offset=1`,
  );
  assert.equal(failed.total, job.tasks.failed);
  assert.deepEqual(
    failed.tasks.map((t) => t.index),
    [26, 39, 52, 65, 78],
  );
  assert.equal(failed.tasks[0]!.attempts[0]!.reason, "exit code 1");
  const one = await json<{ tasks: { index: number }[] }>(d, `/api/jobs/${id}/tasks?index=13`);
  assert.deepEqual(
    one.tasks.map((t) => t.index),
    [13],
  );
  const bad = await get(d, `/api/jobs/${id}/tasks?state=nope!`);
  assert.equal(bad.status, 400);
  const tl = await json<{ attempts: { job: number; index: number; started: number; ended: number; host: string }[] }>(d, "/api/timeline?limit=50");
  assert.equal(tl.attempts.length, 50);
  assert.equal(tl.attempts[0]!.index, 300, "newest first");
  assert.ok(tl.attempts.every((a) => a.ended > a.started && /^node0\d$/.test(a.host)));
  // A log: the end of the file first, then what was written since.
  const run = `${p.dir}/.corral/runs/${id}/7/1`;
  fs.mkdirSync(run, { recursive: true });
  fs.writeFileSync(`${run}/stdout`, `${"x".repeat(600 * 1024)}\nlast line\n`);
  const tail = await json<{ exists: boolean; from: number; to: number; text: string; state: string }>(d, `/api/logs/${id}/7/1/stdout`);
  assert.equal(tail.exists, true);
  assert.equal(tail.text, "last line\n", "the tail starts after a line break");
  assert.equal(tail.state, "succeeded");
  fs.appendFileSync(`${run}/stdout`, "more\n");
  const more = await json<{ from: number; text: string }>(d, `/api/logs/${id}/7/1/stdout?from=${tail.to}`);
  assert.equal(more.text, "more\n");
  const noAttempt = await get(d, `/api/logs/${id}/7/2/stdout`);
  assert.equal(noAttempt.status, 404);
});

test("the report comes a page of groups at a time, the same as corral report's; an unmeasured group says unknown, bad input is one line", async (t) => {
  const p = seeded("corral-api-", (s) => {
    seedHistory(s, 500);
    seedArray(s, 30, { name: "unmeasured", batch: "zz" });
  });
  t.after(() => p.cleanup());
  const d = await serve(t, p);
  type Page = { by: string; total: number; offset: number; limit: number; groups: GroupReport[] };
  const page = await json<Page>(d, "/api/report?by=batch&limit=5&offset=2");
  assert.equal(page.total, 21, "20 batches of the history and the array's");
  assert.equal(page.by, "batch");
  const view = new ProjectView(Store.open({ path: p.dbPath, readonly: true }));
  t.after(() => view.close());
  const all = view.report(undefined, "batch");
  assert.deepEqual(page.groups, JSON.parse(JSON.stringify(all.slice(2, 7))), "the figures, findings and suggestions are the report's own");
  const last = await json<Page>(d, "/api/report?by=batch&offset=20");
  assert.equal(last.groups[0]!.group, "zz");
  assert.equal(last.groups[0]!.memoryMb, null, "not measured: null, never 0");
  assert.equal(last.groups[0]!.cpuEfficiency, null);
  assert.equal((await json<Page>(d, "/api/report?by=batch&offset=500")).total, 21, "past the end: no group, the count still there");
  const capped = await json<Page>(d, "/api/report?by=job&limit=100000");
  assert.equal(capped.groups.length, 200, "at most 200 groups an answer");
  assert.equal(capped.total, 501, "500 jobs and the array");
  const named = await json<Page>(d, `/api/report?q=${encodeURIComponent("batch='batch-3'")}`);
  assert.equal(named.by, "name", "per name unless asked, as the CLI");
  assert.ok(named.groups.every((g) => g.tasks > 0));
  assert.equal((await json<Page>(d, `/api/report?q=${encodeURIComponent("name=nothing")}`)).total, 0);
  for (const [url, message] of [
    ["/api/report?q=colour%3Dred", /^filter 'colour=red': unknown field 'colour'/],
    ["/api/report?by=host", /^by 'host': expected one of job, name, batch$/],
  ] as const) {
    const r = await get(d, url);
    assert.equal(r.status, 400, url);
    assert.match(((await r.json()) as { error: string }).error, message);
  }
});

test("nothing without the token; a foreign Host is refused; changes need the token header and this origin", async (t) => {
  const p = new TestProject("corral-api-");
  t.after(() => p.cleanup());
  const id = p.submit(["--hold"], ["true"]);
  const d = await serve(t, p);
  const base = `http://127.0.0.1:${d.port}`;
  assert.equal((await fetch(`${base}/api/overview`)).status, 401);
  assert.equal((await fetch(`${base}/api/overview`, { headers: { Authorization: "token wrong" } })).status, 401);
  assert.match(await (await fetch(`${base}/`)).text(), /needs its token/);
  // DNS rebinding: a page of evil.example resolving to 127.0.0.1 sends its own Host.
  const rebound = await new Promise<number>((resolve, reject) =>
    http
      .get({ host: "127.0.0.1", port: d.port, path: "/api/overview", headers: { Host: "evil.example", Authorization: `token ${TOKEN}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on("error", reject),
  );
  assert.equal(rebound, 403);
  const hold = { verb: "release", targets: [String(id)] };
  const cookieOnly = await post(d, hold, { Cookie: `corral-token-${d.port}=${TOKEN}` });
  assert.equal(cookieOnly.status, 403, "the cookie alone (what a cross-site form sends) is not enough");
  assert.equal((await post(d, hold, { "X-Corral-Token": TOKEN, Origin: "http://evil.example" })).status, 403);
  assert.equal((await post(d, hold, { "X-Corral-Token": TOKEN, "Sec-Fetch-Site": "cross-site" })).status, 403);
  assert.equal(p.json<{ held: boolean }>(["show", String(id)]).held, true, "nothing changed");
  const ok = await post(d, hold, { "X-Corral-Token": TOKEN, Origin: base, "Sec-Fetch-Site": "same-origin" });
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { message: `released 1 job: ${id}`, tasks: [], jobs: [id] });
  await p.quiesce();
});

test("changes answer with the CLI's message or its one-line refusal; a read-only dashboard refuses them all", async (t) => {
  const p = new TestProject("corral-api-");
  t.after(() => p.cleanup());
  const id = p.submit(["--hold", "--name", "held"], ["true"]);
  const d = await serve(t, p);
  for (const [body, error] of [
    [{ verb: "cancel", targets: [] }, "nothing selected: give job ids, --state, --name or --batch, or --all to cancel every job"],
    [{ verb: "cancel", targets: ["999"] }, "there is no job 999"],
    [{ verb: "mark", targets: [String(id)], label: "bad label!" }, null],
    [{ verb: "explode", targets: ["1"] }, "verb: one of cancel, resubmit, release, mark, delete"],
    [{ verb: "cancel", targets: "1" }, "targets: a list of job ids, tasks (12.4) or filters"],
  ] as const) {
    const r = await post(d, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    const answer = (await r.json()) as { error: string };
    if (error) assert.equal(answer.error, error);
    else assert.ok(answer.error.length > 0 && !answer.error.includes("\n"));
  }
  const marked = await post(d, { verb: "mark", targets: [`name~'hel*'`], label: "reviewed" });
  assert.equal(((await marked.json()) as { message: string }).message, `labelled 'reviewed' 1 task of 1 job: ${id}`);
  const cancelled = await post(d, { verb: "cancel", targets: [`${id}.1`] });
  assert.equal(((await cancelled.json()) as { message: string }).message, `cancelled 1 task of 1 job: ${id}`);
  assert.equal(p.json<{ lifecycleState: string }>(["show", String(id)]).lifecycleState, "cancelled");

  const ro = await startDashboard({ cwd: p.dir, port: 0, token: TOKEN, readOnly: true });
  t.after(() => ro.close());
  const refused = await post(ro, { verb: "delete", targets: [String(id)] });
  assert.equal(refused.status, 403);
  assert.match(((await refused.json()) as { error: string }).error, /read-only/);
  assert.equal((await json(ro, "/api/overview")).readOnly, true);
  assert.equal(p.json<unknown[]>(["ls"]).length, 1, "the job is still there");
});

test("the event stream tells every page of a change; five pages still mean one refresher", async (t) => {
  const p = new TestProject("corral-api-");
  t.after(() => p.cleanup());
  const d = await serve(t, p, { refreshMs: 100 });
  const streams = await Promise.all(Array.from({ length: 5 }, () => get(d, "/api/events")));
  const readers = streams.map((r) => r.body!.getReader());
  const decoder = new TextDecoder();
  const waitFor = async (reader: ReadableStreamDefaultReader<Uint8Array>, re: RegExp) => {
    let text = "";
    while (!re.test(text)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the stream ended before ${re}`);
      text += decoder.decode(value);
    }
    return text;
  };
  for (const r of readers) await waitFor(r, /event: change/);
  // The database appears (a first submission), then a running job: every page hears of it.
  const id = p.submit([], ["sleep", "1"]);
  for (const r of readers) await waitFor(r, /event: change\ndata: \{"kind":"change","version":[1-9]/);
  const before = (await json<{ refreshes: number; listeners: number }>(d, "/api/health")).refreshes;
  await new Promise((r) => setTimeout(r, 1000));
  const health = await json<{ refreshes: number; listeners: number }>(d, "/api/health");
  assert.equal(health.listeners, 5);
  assert.ok(health.refreshes - before <= 11, `at most one refresh per interval for all five pages (${health.refreshes - before} in 1 s)`);
  for (const r of readers) await r.cancel();
  p.ok(["wait", String(id)]);
});
