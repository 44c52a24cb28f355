import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CLI } from "./project.js";

/**
 * A Redis for the Redis engine's tests: CORRAL_TEST_REDIS_URL, else the one scripts/redis-up.sh started (its
 * URL file). Each test file uses a database number of its own, so files running side by side never share queues.
 */
export function testRedisUrl(db: number): string | null {
  let base = process.env.CORRAL_TEST_REDIS_URL ?? null;
  if (!base) {
    try {
      base = fs.readFileSync("/var/lib/corral-redis/url", "utf8").trim();
    } catch {
      return null;
    }
  }
  const u = new URL(base);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Empties the test database (queues, results, worker registrations). */
export function flushTestRedis(url: string): void {
  const u = new URL(url);
  const r = spawnSync("redis-cli", ["-h", u.hostname, "-p", u.port || "6379", "-n", u.pathname.slice(1) || "0", "flushdb"], {
    env: { ...process.env, REDISCLI_AUTH: decodeURIComponent(u.password) },
    encoding: "utf8",
  });
  if (r.status !== 0 || !r.stdout.includes("OK")) throw new Error(`redis-cli flushdb failed: ${r.stderr || r.stdout}`);
}

export interface TestWorker {
  readonly name: string;
  readonly child: ChildProcess;
  /** Everything it printed so far. */
  log(): string;
  /** Resolves with its exit code once it has exited. */
  readonly exited: Promise<number | null>;
}

/** Starts `corral worker` with a quick heartbeat (0.5 s) and timeout (3 s unless told), so a lost worker is seen within seconds. */
export function startWorker(
  url: string,
  name: string,
  opts: { tags?: string; concurrency?: number; timeoutS?: number; env?: NodeJS.ProcessEnv } = {},
): TestWorker {
  const args = ["worker", "--name", name, "--concurrency", String(opts.concurrency ?? 2), "--heartbeat", "0.5", "--timeout", String(opts.timeoutS ?? 3)];
  if (opts.tags) args.push("--tags", opts.tags);
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `corral-worker-${name}-`));
  args.push("--work-dir", workDir);
  const child = spawn(CLI, args, { env: { ...process.env, ...opts.env, CORRAL_REDIS_URL: url }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code) => {
      fs.rmSync(workDir, { recursive: true, force: true }); // what a killed worker left behind
      resolve(code);
    }),
  );
  return { name, child, log: () => out, exited };
}

/** Waits until `corral workers` lists these workers as running. */
export async function waitForWorkers(run: (args: string[]) => string, names: readonly string[], timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const list = JSON.parse(run(["workers", "--json"])) as { name: string; live: boolean; state: string }[];
    if (names.every((n) => list.some((w) => w.name === n && w.live && w.state === "running"))) return;
    if (Date.now() > end) throw new Error(`workers ${names.join(", ")} never came up: ${JSON.stringify(list)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The worker that ran an attempt, from the started marker it sent back. */
export function workerOf(runDir: string): string | null {
  try {
    return /^worker=(.*)$/m.exec(fs.readFileSync(path.join(runDir, "started"), "utf8"))?.[1] ?? null;
  } catch {
    return null;
  }
}

export async function stopAll(workers: readonly TestWorker[]): Promise<void> {
  for (const w of workers) if (w.child.exitCode === null) w.child.kill("SIGKILL");
  await Promise.all(workers.map((w) => w.exited));
}
