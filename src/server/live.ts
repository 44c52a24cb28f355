import fs from "node:fs";
import { ProjectWorker } from "../api/background-refresh.js";
import { ProjectView } from "../api/view.js";

/** What the page is told over its event stream. */
export type LiveEvent =
  | { readonly kind: "change"; readonly version: number }
  | { readonly kind: "refresh"; readonly at: string; readonly error: string | null };

export interface LiveOptions {
  /** The database, whether it exists yet or not (the dashboard waits for it). */
  readonly dbPath: string;
  /** How often the store is looked at for commits by others (SQLite's data_version: no rows read). */
  readonly watchMs?: number;
  /** How often engines are refreshed while a page is open and some job waits or runs. */
  readonly refreshMs?: number;
}

/**
 * The project as the dashboard sees it: a read-only view (opened once the database exists), a version that
 * moves whenever another connection commits, and refreshes of the engines off the request path. Refreshes run
 * only while at least one page listens and some job still waits or runs, one at a time whatever the number of
 * pages (a refresh due while one is under way is skipped), and in a worker thread: a scheduler that hangs holds
 * up the next refresh, never a request. Changes go through a second thread, so they never queue behind it.
 */
export class LiveProject {
  private viewOrNull: ProjectView | null = null;
  private lastDataVersion = -1;
  private versionCounter = 0;
  private readonly listeners = new Set<(e: LiveEvent) => void>();
  private readonly timers: NodeJS.Timeout[] = [];
  readonly refresher: ProjectWorker;
  readonly changer: ProjectWorker;
  /** Refreshes started since the dashboard started (for tests and the health endpoint). */
  refreshes = 0;
  lastRefresh: { at: string; error: string | null } | null = null;

  constructor(private readonly opts: LiveOptions) {
    this.refresher = new ProjectWorker(opts.dbPath);
    this.changer = new ProjectWorker(opts.dbPath);
    this.watch();
    this.timers.push(setInterval(() => this.watch(), opts.watchMs ?? 250));
    this.timers.push(setInterval(() => this.maybeRefresh(), opts.refreshMs ?? 2000));
  }

  get dbPath(): string {
    return this.opts.dbPath;
  }

  /** The view, or null while the project has no database yet. */
  get view(): ProjectView | null {
    return this.viewOrNull;
  }

  get version(): number {
    return this.versionCounter;
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  listen(fn: (e: LiveEvent) => void): () => void {
    this.listeners.add(fn);
    // A page that opens asks for what is new at once, rather than at the next tick.
    this.maybeRefresh();
    return () => this.listeners.delete(fn);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.listeners.clear();
    await Promise.all([this.refresher.close(), this.changer.close()]);
    this.viewOrNull?.close();
    this.viewOrNull = null;
  }

  private emit(e: LiveEvent): void {
    for (const fn of this.listeners) fn(e);
  }

  private watch(): void {
    if (this.viewOrNull === null) {
      if (!fs.existsSync(this.opts.dbPath)) return;
      let view: ProjectView | null = null;
      try {
        view = ProjectView.open({ db: this.opts.dbPath });
        view?.hasActiveJobs(); // the schema is there (a database being created is an empty file for a moment)
      } catch {
        view?.close();
        return; // the next tick tries again
      }
      this.viewOrNull = view;
      if (view === null) return;
    }
    let v: number;
    try {
      v = this.viewOrNull!.dataVersion();
    } catch {
      // The database went away under the dashboard (a project removed): wait for it to come back.
      this.viewOrNull?.close();
      this.viewOrNull = null;
      return;
    }
    if (v === this.lastDataVersion) return;
    this.lastDataVersion = v;
    this.versionCounter++;
    this.emit({ kind: "change", version: this.versionCounter });
  }

  private maybeRefresh(): void {
    const view = this.viewOrNull;
    if (view === null || this.listeners.size === 0 || this.refresher.busy || !view.hasActiveJobs()) return;
    this.refreshes++;
    this.refresher.refresh().then(
      () => this.refreshed(null),
      (err: Error) => this.refreshed(err.message),
    );
  }

  private refreshed(error: string | null): void {
    this.lastRefresh = { at: new Date().toISOString(), error };
    this.emit({ kind: "refresh", ...this.lastRefresh });
  }
}
