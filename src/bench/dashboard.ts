import fs from "node:fs";
import os from "node:os";
import { Store } from "../store/store.js";
import { CHROMIUM, launchBrowser, startUi } from "../testing/browser.js";
import { TestProject } from "../testing/project.js";
import { seedArray, seedHistory } from "./seed.js";

/**
 * `corral ui` on a large project: 100,000 jobs and 1,000,000 tasks (single-task jobs plus 10,001-task
 * arrays), served by the real command in its own process. Measures the overview's first paint in Chromium,
 * then a bounded load test on loopback replaying the page's own requests, and the server's peak memory.
 */
const JOBS = Number(process.env.CORRAL_BENCH_UI_JOBS ?? 100_000);
const TASKS = Number(process.env.CORRAL_BENCH_UI_TASKS ?? 1_000_000);
const REQUESTS = Number(process.env.CORRAL_BENCH_UI_REQUESTS ?? 3000);
const CONCURRENCY = 8;
const ARRAY_TASKS = 10_001;

const fmt = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

export async function benchDashboard(line: (s?: string) => void): Promise<void> {
  const arrays = Math.max(0, Math.floor((TASKS - JOBS) / (ARRAY_TASKS - 1)));
  line();
  line(`Dashboard: corral ui on ${fmt(JOBS)} jobs / ${fmt(JOBS - arrays + arrays * ARRAY_TASKS)} tasks (${arrays} arrays of ${fmt(ARRAY_TASKS)})`);
  const p = new TestProject("corral-bench-ui-");
  try {
    const t0 = performance.now();
    const store = Store.open({ path: p.dbPath, create: true });
    const arrayIds: number[] = [];
    for (let i = 0; i < arrays; i++) arrayIds.push(seedArray(store, ARRAY_TASKS, { name: `sweep-${i}`, batch: `sweep-${i % 3}` }));
    seedHistory(store, JOBS - arrays);
    store.close();
    line(`  (seeded in ${fmt((performance.now() - t0) / 1000, 1)} s, database ${fmt(fs.statSync(p.dbPath).size / 2 ** 20)} MB)`);
    const ui = await startUi(p);
    try {
      await firstPaint(ui.url, ui.base, line);
      await loadTest(ui.base, ui.token, arrayIds[0] ?? 1, line);
      const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${ui.child.pid}/status`, "utf8"));
      if (hwm) line(`  server peak RSS: ${fmt(Number(hwm[1]) / 1024, 1)} MB (no endpoint reads every row)`);
    } finally {
      await ui.stop();
    }
  } finally {
    await p.cleanup();
  }
}

/** Time from navigation to the first paint and to the overview's batches on screen, in a fresh Chromium. */
async function firstPaint(url: string, base: string, line: (s?: string) => void): Promise<void> {
  if (!fs.existsSync(CHROMIUM)) {
    line(`  first paint: not measured (no Chromium at ${CHROMIUM}: bash scripts/chromium-up.sh)`);
    return;
  }
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    await page.goto(url); // sets the cookie (and loads the page once, as a user's first visit would)
    const runs: { fcp: number; ready: number }[] = [];
    for (let i = 0; i < 3; i++) {
      await page.goto("about:blank");
      await page.goto(`${base}/#/`);
      await page.waitForSelector(".batch");
      runs.push(
        await page.evaluate(() => {
          // Both measured by the page itself from its navigation start, so no driver round trip is counted.
          const fcp = performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? Number.NaN;
          const ready = performance.getEntriesByName("corral:overview")[0]?.startTime ?? Number.NaN;
          return { fcp, ready };
        }),
      );
    }
    runs.sort((a, b) => a.ready - b.ready);
    const mid = runs[1]!;
    line(
      `  overview: first contentful paint ${fmt(mid.fcp)} ms, batches drawn ${fmt(mid.ready)} ms after navigation (median of 3; goal < 1,000 ms: ${mid.ready < 1000 ? "met" : "NOT met"})`,
    );
  } finally {
    await browser.close();
  }
}

/** REQUESTS of the page's own requests, CONCURRENCY at a time, on loopback; p50/p99 per kind and overall. */
async function loadTest(base: string, token: string, arrayId: number, line: (s?: string) => void): Promise<void> {
  const kinds: [string, (i: number) => string][] = [
    ["overview", () => "/api/overview"],
    ["jobs page (id)", (i) => `/api/jobs?limit=50&desc=1&offset=${(i * 50) % 10_000}`],
    ["jobs page (name)", () => "/api/jobs?limit=50&sort=name"],
    ["jobs filtered", () => `/api/jobs?limit=50&q=${encodeURIComponent("state=failed name~'step-1*'")}`],
    ["job", (i) => `/api/jobs/${1 + ((i * 7919) % JOBS)}`],
    ["task page", () => `/api/jobs/${arrayId}/tasks?limit=25&state=failed`],
    ["task grid 10k", () => `/api/jobs/${arrayId}/grid`],
    ["timeline 2,000", () => "/api/timeline?limit=2000"],
  ];
  const times = new Map<string, number[]>(kinds.map(([k]) => [k, []]));
  let next = 0;
  const headers = { Authorization: `token ${token}` };
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= REQUESTS) return;
      const [kind, url] = kinds[i % kinds.length]!;
      const t0 = performance.now();
      const r = await fetch(`${base}${url(i)}`, { headers });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`${url(i)}: ${r.status}`);
      times.get(kind)!.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - t0) / 1000;
  line(
    `  load test: ${fmt(REQUESTS)} requests of the page's, ${CONCURRENCY} at a time on loopback, ${fmt(REQUESTS / seconds)} req/s (${os.cpus().length} cpus)`,
  );
  const all: number[] = [];
  for (const [kind, xs] of times) {
    xs.sort((a, b) => a - b);
    all.push(...xs);
    line(`    ${kind.padEnd(18)} p50 ${fmt(quantile(xs, 0.5), 1).padStart(7)} ms   p99 ${fmt(quantile(xs, 0.99), 1).padStart(7)} ms`);
  }
  all.sort((a, b) => a - b);
  line(`    ${"all".padEnd(18)} p50 ${fmt(quantile(all, 0.5), 1).padStart(7)} ms   p99 ${fmt(quantile(all, 0.99), 1).padStart(7)} ms`);
}
