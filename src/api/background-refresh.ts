import { Worker } from "node:worker_threads";
import { UsageError } from "../domain/errors.js";
import { ownFile } from "../domain/own-files.js";
import type { RefreshOptions } from "../engines/engine.js";
import type { Change, ChangeResult } from "./changes.js";
import type { PoolWorkers } from "./pool-workers.js";

/** What the main thread asks of a project's worker thread (see project-thread.ts). */
export type ThreadCall =
  | { readonly kind: "refresh"; readonly opts: RefreshOptions }
  | { readonly kind: "change"; readonly change: Change }
  | { readonly kind: "workers" };

export type ThreadAnswer = { readonly id: number } & (
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: string; readonly usage: boolean }
);

/**
 * A long-lived worker thread with its own connection to a project, doing what may wait on a scheduler or on
 * Redis (refreshes, changes, the pool's worker list) off the caller's event loop, so a server such as the
 * dashboard keeps answering while a scheduler takes its time, or does not answer at all. Calls run one at a
 * time in the order made; refreshes asked for while one runs share its result, so five callers still mean one
 * scheduler call per poll interval (the poll lease holds that across processes, too). The thread starts on the
 * first call and keeps the process alive only while a call is under way.
 */
export class ProjectWorker {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private refreshing: Promise<void> | null = null;

  constructor(private readonly dbPath: string) {}

  /** Folds in what happened, as `corral status` does before it reads (markers, then the engines, rate-limited). */
  refresh(opts: RefreshOptions = {}): Promise<void> {
    this.refreshing ??= this.call({ kind: "refresh", opts })
      .then(() => undefined)
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  /** Whether a refresh is under way now. */
  get busy(): boolean {
    return this.refreshing !== null;
  }

  /** Cancels, resubmits, releases, marks or deletes, as the CLI does; a refusal rejects with its UsageError. */
  change(change: Change): Promise<ChangeResult> {
    return this.call({ kind: "change", change }) as Promise<ChangeResult>;
  }

  /** The Redis pool's workers (or why there are none to show). */
  workers(): Promise<PoolWorkers> {
    return this.call({ kind: "workers" }) as Promise<PoolWorkers>;
  }

  /** Stops the thread; calls under way are rejected. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private call(msg: ThreadCall): Promise<unknown> {
    const worker = this.thread();
    const id = this.nextId++;
    worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, ...msg });
    });
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(ownFile("api/project-thread.js"), { workerData: { dbPath: this.dbPath } });
    worker.unref();
    worker.on("message", (m: ThreadAnswer) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      // Once close() has begun, terminate() holds the thread ref'd until its exit: an answer that arrives in
      // between must not unref it, or the process could run out of work with close() still pending.
      if (this.pending.size === 0 && this.worker === worker) worker.unref();
      if (!p) return;
      if (m.ok) p.resolve(m.value);
      else p.reject(m.usage ? new UsageError(m.error) : new Error(m.error));
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`the project's worker thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }
}

/** The refreshing part of a ProjectWorker, under the name the library has always exported. */
export class BackgroundRefresher extends ProjectWorker {}
