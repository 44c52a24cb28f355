import { Worker } from "node:worker_threads";
import { ownFile } from "../domain/own-files.js";
import type { RefreshOptions } from "../engines/engine.js";

/**
 * Refreshes a project off the caller's event loop: a worker thread opens its own connection and runs
 * `Corral.refresh()` (markers, then the engines' view under the project's poll lease), so a long-lived
 * reader such as a dashboard keeps answering while a scheduler takes its time, or does not answer at all.
 * One refresh at a time per refresher: calls made while one runs share its result, so five callers still
 * mean one scheduler call per poll interval (the poll lease holds that across processes, too).
 */
export class BackgroundRefresher {
  private running: Promise<void> | null = null;

  constructor(private readonly dbPath: string) {}

  refresh(opts: RefreshOptions = {}): Promise<void> {
    this.running ??= runInWorker(this.dbPath, opts).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Whether a refresh is under way now. */
  get busy(): boolean {
    return this.running !== null;
  }
}

function runInWorker(dbPath: string, opts: RefreshOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(ownFile("api/refresh-worker.js"), { workerData: { dbPath, opts } });
    let settled = false;
    worker.once("message", (m: { ok: true } | { ok: false; error: string }) => {
      settled = true;
      if (m.ok) resolve();
      else reject(new Error(m.error));
    });
    worker.once("error", (err) => {
      settled = true;
      reject(err);
    });
    worker.once("exit", (code) => {
      if (!settled) reject(new Error(`the refresh worker exited with code ${code}`));
    });
  });
}
