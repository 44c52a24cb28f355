import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestContext } from "node:test";
import type { BrowserContext } from "playwright-core";
import { requiredSchedulers } from "./clusters.js";
import { CLI, type TestProject } from "./project.js";

/** Debian's Chromium (scripts/chromium-up.sh installs it); CORRAL_CHROMIUM names another. */
export const CHROMIUM = process.env.CORRAL_CHROMIUM ?? "/usr/bin/chromium";

/**
 * Whether the browser tests can run: Chromium is there. When CORRAL_REQUIRE names chromium (CI does), its
 * absence fails the test; otherwise the test is skipped with how to install it.
 */
export function needChromium(t: TestContext): boolean {
  if (fs.existsSync(CHROMIUM)) return true;
  if (requiredSchedulers().includes("chromium")) throw new Error(`chromium is required (CORRAL_REQUIRE) but ${CHROMIUM} is missing`);
  t.skip(`no Chromium at ${CHROMIUM}; install it with: sudo bash scripts/chromium-up.sh`);
  return false;
}

/**
 * The flags the machines' own check starts Chromium with: no sandbox (root in a container), no GPU, none of
 * its own traffic (the network is closed: its background connections would be refused, many at a time), and
 * shared memory in /tmp rather than /dev/shm, which a container may make too small for a renderer.
 */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-quic",
  "--disable-sync",
  "--no-first-run",
];

/** Headless Chromium on a fresh profile, with nothing of its own on the network. A failed start is tried once more. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const { chromium } = await import("playwright-core");
  let lastError: unknown = null;
  for (let attempt = 1; attempt <= 2; attempt++) {
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), "corral-chromium-"));
    try {
      const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1280, height: 860 },
        timeout: 120_000,
      });
      return {
        context,
        close: async () => {
          await context.close();
          fs.rmSync(profile, { recursive: true, force: true });
        },
      };
    } catch (err) {
      lastError = err;
      fs.rmSync(profile, { recursive: true, force: true });
      process.stderr.write(`chromium did not start (attempt ${attempt}): ${(err as Error).message}\n`);
    }
  }
  throw lastError;
}

/** A running `corral ui` of a test project: its address (token included), token and base URL. */
export interface RunningUi {
  readonly url: string;
  readonly base: string;
  readonly token: string;
  readonly child: ChildProcess;
  /** What it wrote on stderr so far (warnings). */
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `corral ui --port 0 ARGS` in the project's folder, as a user would, and waits for its address. */
export function startUi(p: TestProject, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunningUi> {
  const child = spawn(CLI, ["ui", "--port", "0", ...args], { cwd: p.dir, env: { ...p.env, ...env } });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`corral ui printed no address in 10 s\nstdout: ${out}\nstderr: ${err}`)), 10_000);
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/\S+\/)\?token=(\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        url: `${m[1]}?token=${m[2]}`,
        base: m[1]!.replace(/\/$/, ""),
        token: m[2]!,
        child,
        stderr: () => err,
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done();
            child.once("exit", () => done());
            child.kill("SIGINT");
          }),
      });
    });
    child.once("exit", (code) => reject(new Error(`corral ui exited with ${code}\nstdout: ${out}\nstderr: ${err}`)));
  });
}

/** Where the tests keep their screenshots: docs/screenshots when CORRAL_SCREENSHOTS=1 (for the README), else a temp folder. */
export function screenshotDir(): string {
  if (process.env.CORRAL_SCREENSHOTS === "1") {
    const dir = path.resolve(path.dirname(CLI), "..", "docs", "screenshots");
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }
  return fs.mkdtempSync(path.join(os.tmpdir(), "corral-screenshots-"));
}
