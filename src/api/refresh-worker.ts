import { parentPort, workerData } from "node:worker_threads";
import type { RefreshOptions } from "../engines/engine.js";
import { Corral } from "./corral.js";

/** The worker thread of BackgroundRefresher: one refresh of one project, on a connection of its own. */
const { dbPath, opts } = workerData as { dbPath: string; opts: RefreshOptions };
try {
  const corral = Corral.open({ db: dbPath });
  if (corral) {
    try {
      corral.refresh(opts);
    } finally {
      corral.close();
    }
  }
  parentPort!.postMessage({ ok: true });
} catch (err) {
  parentPort!.postMessage({ ok: false, error: (err as Error).message });
}
