import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { startUi, type RunningUi } from "../testing/browser.js";
import { callCounter, needScheduler, schedulerProblem } from "../testing/clusters.js";
import { flushTestRedis, startWorker, stopAll, testRedisUrl, waitForWorkers } from "../testing/pool.js";
import { TestProject } from "../testing/project.js";

/** The dashboard with real engines: the scheduler's polling discipline, a scheduler that hangs, the Redis pool's workers. */

function api(ui: RunningUi, url: string): Promise<Response> {
  return fetch(`${ui.base}${url}`, { headers: { Authorization: `token ${ui.token}` } });
}

/** Opens `n` event streams, as `n` open tabs do; returns a function that closes them. */
async function tabs(ui: RunningUi, n: number): Promise<() => Promise<void>> {
  const streams = await Promise.all(Array.from({ length: n }, () => api(ui, "/api/events")));
  return async () => {
    for (const s of streams) await s.body!.cancel().catch(() => undefined); // the server may have stopped first
  };
}

test("five open tabs on a Slurm project still mean one squeue per poll interval", async (t) => {
  if (!needScheduler(t, "slurm", schedulerProblem("slurm"))) return;
  const p = new TestProject("corral-ui-slurm-");
  t.after(() => p.cleanup());
  const id = p.submit(["--engine", "slurm"], ["sleep", "30"]);
  const counter = callCounter(["squeue"]);
  const ui = await startUi(p, [], { PATH: counter.path, CORRAL_UI_REFRESH_MS: "200" });
  t.after(() => ui.stop());
  const close = await tabs(ui, 5);
  counter.reset();
  await new Promise((r) => setTimeout(r, 11_000));
  await close();
  const calls = counter.calls().filter((c) => c === "squeue").length;
  assert.ok(calls >= 1, "the open tabs keep the project refreshed");
  assert.ok(calls <= 3, `at most one squeue per 5 s poll interval in 11 s for five tabs, not one per tab or per refresh: ${calls}`);
  p.ok(["cancel", String(id)]);
});

test("a scheduler that hangs never holds up a page: reads answer while the refresh waits", async (t) => {
  if (!needScheduler(t, "slurm", schedulerProblem("slurm"))) return;
  const p = new TestProject("corral-ui-slow-", { CORRAL_POLL_MIN_AGE_S: "0" });
  t.after(() => p.cleanup());
  const id = p.submit(["--engine", "slurm", "--name", "stuck"], ["sleep", "30"]);
  // squeue answers after 20 s: the refresh started by the open tab waits that long, in its thread.
  const counter = callCounter(["squeue"]);
  const slow = fs.mkdtempSync(`${p.dir}/slow-`);
  fs.writeFileSync(`${slow}/squeue`, `#!/bin/sh\necho asked >> '${slow}/asked'\nsleep 20\nexec '${counter.path.split(":")[0]}/squeue' "$@"\n`, { mode: 0o755 });
  const ui = await startUi(p, [], { PATH: `${slow}:${counter.path}`, CORRAL_UI_REFRESH_MS: "200" });
  t.after(() => ui.stop());
  const close = await tabs(ui, 1);
  t.after(close);
  const end = Date.now() + 20_000;
  while (!fs.existsSync(`${slow}/asked`) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  assert.ok(fs.existsSync(`${slow}/asked`), "a refresh is waiting on squeue");
  for (const url of ["/api/overview", "/api/jobs?q=name%3Dstuck", `/api/jobs/${id}`, `/api/jobs/${id}/tasks`, "/api/timeline"]) {
    const t0 = Date.now();
    const r = await api(ui, url);
    assert.equal(r.status, 200, url);
    assert.ok(Date.now() - t0 < 2000, `${url} answered in ${Date.now() - t0} ms while squeue hangs`);
  }
  const health = (await (await api(ui, "/api/health")).json()) as { refreshes: number; lastRefresh: unknown };
  assert.equal(health.lastRefresh, null, "the refresh is still waiting");
  p.ok(["cancel", String(id)], { env: { PATH: process.env.PATH } });
});

test("the workers view lists the Redis pool's workers with their state, tags and tasks", async (t) => {
  const url = testRedisUrl(9);
  if (!needScheduler(t, "redis", url === null ? "no Redis: run scripts/redis-up.sh (or set CORRAL_TEST_REDIS_URL)" : null)) return;
  flushTestRedis(url!);
  const p = new TestProject("corral-ui-pool-", { CORRAL_REDIS_URL: url! });
  t.after(() => p.cleanup());
  const worker = startWorker(url!, "ui-worker-1", { tags: "gpu", concurrency: 3 });
  t.after(() => stopAll([worker]));
  await waitForWorkers((args) => p.ok(args), ["ui-worker-1"]);
  const ui = await startUi(p);
  t.after(() => ui.stop());
  const answer = (await (await api(ui, "/api/workers")).json()) as {
    configured: boolean;
    url: string;
    workers: { name: string; live: boolean; state: string; tags: string[]; concurrency: number; running: string[] }[];
  };
  assert.equal(answer.configured, true);
  assert.ok(!answer.url.includes(new URL(url!).password), "the password is not shown");
  const w = answer.workers.find((x) => x.name === "ui-worker-1");
  assert.ok(w, JSON.stringify(answer));
  assert.deepEqual({ live: w.live, state: w.state, tags: w.tags, concurrency: w.concurrency }, { live: true, state: "running", tags: ["gpu"], concurrency: 3 });
});

test("without a Redis pool the workers view says so", async (t) => {
  const p = new TestProject("corral-ui-nopool-");
  delete p.env.CORRAL_REDIS_URL;
  t.after(() => p.cleanup());
  const ui = await startUi(p);
  t.after(() => ui.stop());
  assert.deepEqual(await (await api(ui, "/api/workers")).json(), { configured: false });
});

test("corral ui refuses a bad port in one line, and warns when it listens beyond loopback", async (t) => {
  const p = new TestProject("corral-ui-flags-");
  t.after(() => p.cleanup());
  const bad = p.run(["ui", "--port", "http"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, "corral: --port 'http': expected a port number (0-65535)\n");
  const ui = await startUi(p, ["--host", "0.0.0.0"]);
  t.after(() => ui.stop());
  assert.match(ui.stderr(), /warning: listening on 0\.0\.0\.0, not loopback/);
  assert.equal((await api(ui, "/api/overview")).status, 200);
  assert.equal((await fetch(`${ui.base}/api/overview`)).status, 401, "the token is still required");
});
