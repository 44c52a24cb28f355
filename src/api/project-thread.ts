import { parentPort, workerData } from "node:worker_threads";
import { UsageError } from "../domain/errors.js";
import type { ThreadAnswer, ThreadCall } from "./background-refresh.js";
import { applyChange } from "./changes.js";
import { Corral } from "./corral.js";
import { poolWorkers } from "./pool-workers.js";

/**
 * The thread of a ProjectWorker: one connection to one project for the thread's life, answering calls one at a
 * time in the order they came (so a change never overlaps a refresh on this connection).
 */
const { dbPath } = workerData as { dbPath: string };
let corral: Corral | null = null;
let queue: Promise<void> = Promise.resolve();

function project(): Corral | null {
  corral ??= Corral.open({ db: dbPath });
  return corral;
}

async function answer(call: ThreadCall): Promise<unknown> {
  switch (call.kind) {
    case "refresh":
      project()?.refresh(call.opts);
      return null;
    case "change": {
      const c = project();
      if (!c) throw new UsageError(`no corral database at ${dbPath}`);
      return applyChange(c, call.change);
    }
    case "workers":
      return poolWorkers(project()?.store.dir ?? null);
  }
}

parentPort!.on("message", (m: ThreadCall & { id: number }) => {
  queue = queue.then(async () => {
    let reply: ThreadAnswer;
    try {
      reply = { id: m.id, ok: true, value: await answer(m) };
    } catch (err) {
      reply = { id: m.id, ok: false, error: (err as Error).message, usage: err instanceof UsageError };
    }
    parentPort!.postMessage(reply);
  });
});
