import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { after, before, test } from "node:test";
import type { BrowserContext, Page } from "playwright-core";
import { seedArray } from "../bench/seed.js";
import { Store } from "../store/store.js";
import { launchBrowser, needChromium, screenshotDir, startUi, type RunningUi } from "../testing/browser.js";
import { TestProject } from "../testing/project.js";

/**
 * The dashboard end to end: the real `corral ui` command, the real CLI beside it, and Debian's Chromium
 * driven headless by playwright-core. Screenshots land in docs/screenshots with CORRAL_SCREENSHOTS=1.
 */
let browser: { context: BrowserContext; close: () => Promise<void> } | null = null;
const shots = screenshotDir();
const UI_ENV = { CORRAL_UI_REFRESH_MS: "300" };

before(async () => {
  if (needChromium({ skip: () => undefined } as never)) browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

interface Setup {
  p: TestProject;
  ui: RunningUi;
  page: Page;
}

/** A project (CLI env), its `corral ui`, and a page on it; everything is stopped and removed after the test. */
async function open(
  t: import("node:test").TestContext,
  opts: { env?: NodeJS.ProcessEnv; args?: string[]; prepare?: (p: TestProject) => void; token?: boolean } = {},
): Promise<Setup | null> {
  if (!needChromium(t)) return null;
  const p = new TestProject("corral-ui-", opts.env ?? {});
  opts.prepare?.(p);
  const ui = await startUi(p, opts.args ?? [], UI_ENV);
  const page = await browser!.context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  t.after(async () => {
    assert.deepEqual(errors, [], "the page threw no error");
    await page.close();
    await ui.stop();
    await p.cleanup();
  });
  if (opts.token !== false) await page.goto(ui.url);
  return { p, ui, page };
}

const jobRow = (page: Page, id: number, state: string) => page.locator(`tr[data-job="${id}"][data-state="${state}"]`);

test("without the token nothing is served but a page that asks for it; with it, the token leaves the address", async (t) => {
  const s = await open(t, { token: false });
  if (!s) return;
  const res = await s.page.goto(`${s.ui.base}/`);
  assert.equal(res?.status(), 401);
  assert.match((await s.page.textContent("h1")) ?? "", /needs its token/);
  const api = await s.page.goto(`${s.ui.base}/api/overview`);
  assert.equal(api?.status(), 401);
  const bad = await s.page.goto(`${s.ui.base}/?token=not-the-token`);
  assert.equal(bad?.status(), 401);
  // Typing the token into the form opens the dashboard.
  await s.page.goto(`${s.ui.base}/`);
  await s.page.fill("#token", s.ui.token);
  await s.page.press("#token", "Enter");
  await s.page.waitForSelector("text=No corral database yet");
  assert.ok(!s.page.url().includes("token="), `the token is not left in the address: ${s.page.url()}`);
});

test("a job submitted from the CLI appears and moves queued → running → succeeded without a reload", async (t) => {
  const s = await open(t, { env: { CORRAL_LOCAL_CPUS: "1" } });
  if (!s) return;
  const { p, page } = s;
  // Honest before there is a database; the page picks it up when the first job creates it.
  await page.waitForSelector("text=No corral database yet");
  await page.evaluate(() => Object.assign(window, { sameDocument: true }));
  await page.goto(`${s.ui.base}/#/jobs`);
  const blocker = p.submit(["--name", "blocker"], ["sleep", "2"]);
  const job = p.submit(["--name", "watched"], ["sleep", "2"]);
  await jobRow(page, blocker, "running").waitFor({ timeout: 15_000 });
  await jobRow(page, job, "queued").waitFor({ timeout: 15_000 });
  await page.screenshot({ path: path.join(shots, "jobs.png") });
  await jobRow(page, job, "running").waitFor({ timeout: 15_000 });
  await jobRow(page, job, "succeeded").waitFor({ timeout: 15_000 });
  assert.equal(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument), true, "no reload happened");
});

test("a filter narrows the table, and a bad one shows its error in place", async (t) => {
  const s = await open(t);
  if (!s) return;
  const { p, page } = s;
  for (const name of ["map-1", "map-2", "reduce"]) p.submit(["--name", name], ["true"]);
  await page.goto(`${s.ui.base}/#/jobs`);
  await page.locator("table.jobs[data-total='3']").waitFor();
  await page.fill("#filter", "name~'map*'");
  await page.press("#filter", "Enter");
  await page.locator("table.jobs[data-total='2']").waitFor();
  assert.deepEqual(await page.locator("tbody td.name").allTextContents(), ["map-2", "map-1"]);
  await page.fill("#filter", "colour=red");
  await page.press("#filter", "Enter");
  const alert = page.locator("#filter-error [role=alert]");
  await alert.waitFor();
  assert.match((await alert.textContent()) ?? "", /filter 'colour=red': unknown field 'colour'/);
  assert.equal(await page.getAttribute("#filter", "aria-invalid"), "true");
});

test("the logs of a running attempt are followed live, with a search box", async (t) => {
  const s = await open(t);
  if (!s) return;
  const { p, page } = s;
  const id = p.submit([], ["sh", "-c", "echo first line; sleep 1.5; echo second line; sleep 1.5; echo third line"]);
  await page.goto(`${s.ui.base}/#/logs/${id}/1/1?stream=stdout`);
  const log = page.getByTestId("log");
  await page.getByTestId("follow-state").filter({ hasText: "following" }).waitFor({ timeout: 15_000 });
  await log.filter({ hasText: "first line" }).waitFor({ timeout: 15_000 });
  assert.ok(!((await log.textContent()) ?? "").includes("third line"), "the end is not there before it is written");
  await log.filter({ hasText: "third line" }).waitFor({ timeout: 15_000 });
  await page.getByTestId("follow-state").filter({ hasText: "ended" }).waitFor({ timeout: 15_000 });
  await page.fill("#log-search", "sec");
  assert.equal((await log.textContent())?.trim(), "second line");
  await page.screenshot({ path: path.join(shots, "logs.png") });
});

test("cancel from the page: the CLI's message, and corral show agrees", async (t) => {
  const s = await open(t);
  if (!s) return;
  const { p, page } = s;
  const id = p.submit(["--name", "long"], ["sleep", "60"]);
  await page.goto(`${s.ui.base}/#/job/${id}`);
  await page.locator(".task[data-state='running']").waitFor({ timeout: 15_000 });
  await page.locator(".actions button", { hasText: "Cancel" }).first().click();
  await page.getByTestId("confirm").click();
  const result = page.getByTestId("action-result");
  await result.waitFor();
  assert.equal((await result.textContent())?.trim(), `cancelled 1 task of 1 job: ${id}`);
  await page.locator("h1 .badge[data-state='cancelled']").waitFor({ timeout: 15_000 });
  const shown = p.json<{ state: string }>(["show", String(id)]);
  assert.equal(shown.state, "cancelled");
  // A refusal shows the CLI's one line: nothing is left to cancel.
  await page.locator(".actions button", { hasText: "Resubmit" }).first().click();
  await page.getByTestId("confirm").click();
  await page.getByTestId("action-result").filter({ hasText: "resubmitted 1 task" }).waitFor();
  p.ok(["cancel", String(id)]);
});

test("a 10,000-task array is drawn as a grid of cells coloured by state, and a cell opens its task", async (t) => {
  let id = 0;
  const s = await open(t, {
    prepare: (p) => {
      const store = Store.open({ path: p.dbPath, create: true });
      seedArray(store, 2000, { name: "map", batch: "genome" });
      seedArray(store, 600, { name: "reduce", batch: "genome" });
      seedArray(store, 12, { name: "plot", batch: "report" });
      id = seedArray(store, 10_000);
      store.close();
    },
  });
  if (!s) return;
  const { page } = s;
  await page.waitForSelector(".batch[data-batch='sweep-1']");
  await page.screenshot({ path: path.join(shots, "overview.png") });
  await page.goto(`${s.ui.base}/#/job/${id}`);
  const grid = page.locator(".grid canvas");
  await grid.waitFor();
  assert.equal(await grid.getAttribute("data-cells"), "10000");
  assert.match((await grid.getAttribute("data-summary")) ?? "", /succeeded [\d,]+, .*failed [\d,]+/);
  // The cell of task 13 (failed: every 13th) is the 13th cell: Home, then 12 steps right, then Enter.
  await grid.focus();
  await page.keyboard.press("Home");
  for (let i = 0; i < 12; i++) await page.keyboard.press("ArrowRight");
  await page.keyboard.press("Enter");
  await page.locator(`.one-task .task[data-task='${id}.13'][data-state='failed']`).waitFor();
  await page.screenshot({ path: path.join(shots, "array-grid.png"), fullPage: false });
  await page.goto(`${s.ui.base}/#/timeline?limit=500`);
  await page.locator(".timeline canvas").waitFor();
  assert.match((await page.getByTestId("timeline-summary").textContent()) ?? "", /500 attempts that started, on 32 rows/);
  await page.screenshot({ path: path.join(shots, "timeline.png") });
  // A narrow window still shows the job, one column.
  await page.setViewportSize({ width: 420, height: 800 });
  await page.goto(`${s.ui.base}/#/job/${id}?task=13`);
  await grid.waitFor();
  await page.screenshot({ path: path.join(shots, "narrow.png") });
  await page.setViewportSize({ width: 1280, height: 860 });
});

test("the Efficiency view charts what jobs used against what they asked, with the report's findings and suggestions", async (t) => {
  let ids: number[] = [];
  const s = await open(t, {
    prepare: (p) => {
      // Real jobs on the local engine, which measures each attempt (rusage); one legacy job measured by nothing.
      ids = [1, 2, 3].map((i) => p.submit(["--name", `sim-${i}`, "--batch", "sim", "--mem", "4G", "--time", "1h", "--cpus", "2"], ["sh", "-c", "sleep 1"]));
      p.submit(["--name", "plot", "--batch", "plots", "--time", "10m"], ["sh", "-c", "sleep 1"]);
      p.ok(["wait"]);
      const store = Store.open({ path: p.dbPath });
      seedArray(store, 4, { name: "legacy", batch: "legacy" });
      store.close();
    },
  });
  if (!s) return;
  const { p, page } = s;
  await page.waitForSelector(".batch[data-batch='sim']"); // the token has left the address: a hash set now stays
  await page.goto(`${s.ui.base}/#/efficiency`);
  await page.locator(".efficiency-chart[data-kind='memory'] canvas").waitFor();
  await page.locator(".efficiency-chart[data-kind='cpu'] canvas").waitFor();
  await page.locator(".efficiency-chart[data-kind='wall'] canvas").waitFor();
  const sim = page.locator(".usage-group[data-group='sim']");
  const [report] = p.json<{ findings: string[]; suggestion: { flags: string[] } }[]>(["report", "--by", "batch", "batch=sim"]);
  assert.match(report!.findings.join("\n"), /asked 4G per task, p95 used/);
  for (const finding of report!.findings) await sim.locator("ul.findings li", { hasText: finding }).waitFor();
  assert.match(
    (await sim.locator(".suggestion").textContent()) ?? "",
    new RegExp(`Next time: ${report!.suggestion.flags.join(" ")}, or in a description file cpus = 1`),
  );
  assert.match((await page.locator(".usage-group[data-group='legacy'] dl").textContent()) ?? "", /Memoryunknown/, "unmeasured: unknown, never 0");
  await page.screenshot({ path: path.join(shots, "efficiency.png"), fullPage: true });
  // Narrow, it is one column and nothing runs off the side.
  await page.setViewportSize({ width: 420, height: 800 });
  await page.waitForFunction(() => document.documentElement.scrollWidth <= 420);
  await page.setViewportSize({ width: 1280, height: 860 });
  // The switch works from the keyboard; a filter that selects only unmeasured jobs says so, a bad one shows its error in place.
  await page.focus("input[name=by][value=batch]");
  await page.keyboard.press("ArrowDown");
  await page.locator(".usage-group[data-group='sim-1']").waitFor();
  await page.fill("#report-filter", "batch=legacy");
  await page.press("#report-filter", "Enter");
  await page.getByTestId("no-usage").filter({ hasText: "No attempt has usage recorded yet" }).waitFor();
  await page.fill("#report-filter", "colour=red");
  await page.press("#report-filter", "Enter");
  await page.locator("#report-filter-error [role=alert]", { hasText: "filter 'colour=red': unknown field 'colour'" }).waitFor();
  // A job's attempts show what each used, as corral show does.
  await page.goto(`${s.ui.base}/#/job/${ids[0]}`);
  const row = page.locator("table.attempts tr[data-attempt='1']");
  await row.waitFor();
  assert.match((await row.locator("[data-usage=memory]").textContent()) ?? "", /^\d+M$/);
  const shown = p.json<{ tasks: { attempts: { usage: { source: string } }[] }[] }>(["show", String(ids[0])]);
  assert.equal(await row.locator("[data-usage=source]").textContent(), shown.tasks[0]!.attempts[0]!.usage.source);
});

test("a read-only dashboard serves no change, and a change without the token is refused", async (t) => {
  const s = await open(t, { args: ["--read-only"] });
  if (!s) return;
  const { p, page } = s;
  const id = p.submit([], ["sleep", "60"]);
  await page.goto(`${s.ui.base}/#/job/${id}`);
  await page.locator(".task[data-state='running']").waitFor({ timeout: 15_000 });
  assert.equal(await page.locator(".actions button").count(), 0, "no action buttons");
  assert.match((await page.getByTestId("live").textContent()) ?? "", /read-only/);
  const asPage = await page.evaluate(async (jobId) => {
    const token = document.querySelector<HTMLMetaElement>('meta[name="corral-token"]')!.content;
    const r = await fetch("/api/actions", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Corral-Token": token },
      body: JSON.stringify({ verb: "cancel", targets: [String(jobId)] }),
    });
    return { status: r.status, body: (await r.json()) as { error: string } };
  }, id);
  assert.equal(asPage.status, 403);
  assert.match(asPage.body.error, /read-only/);
  const noToken = await fetch(`${s.ui.base}/api/actions`, { method: "POST", body: JSON.stringify({ verb: "cancel", targets: [String(id)] }) });
  assert.equal(noToken.status, 401);
  assert.equal(p.json<{ state: string }>(["show", String(id)]).state, "running");
  p.ok(["cancel", String(id)]);
});

test("a cross-origin POST is refused even though the browser sends the cookie", async (t) => {
  const s = await open(t);
  if (!s) return;
  const { p, page } = s;
  const id = p.submit([], ["sleep", "60"]);
  await page.goto(`${s.ui.base}/#/job/${id}`);
  await page.locator(".task[data-state='running']").waitFor({ timeout: 15_000 });
  // Another origin on the same host (same site, so the cookie goes along) posts a form at the dashboard.
  const evil = http.createServer((_req, res) => {
    res.setHeader("Content-Type", "text/html");
    res.end(`<form id="f" method="post" action="${s.ui.base}/api/actions" enctype="text/plain">
      <input name='{"verb":"cancel","targets":["${id}"],"x":"' value='"}'></form><script>document.getElementById("f").submit()</script>`);
  });
  await new Promise<void>((r) => evil.listen(0, "127.0.0.1", r));
  t.after(() => evil.close());
  const answered = page.waitForResponse((r) => r.url().endsWith("/api/actions"));
  await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
  const res = await answered;
  assert.equal(res.status(), 403);
  assert.match(await res.text(), /refused/);
  assert.equal(p.json<{ state: string }>(["show", String(id)]).state, "running", "the job was not cancelled");
  p.ok(["cancel", String(id)]);
});
