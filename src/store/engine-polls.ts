import type { Store } from "./store.js";

/**
 * One row per engine: the poll lease (one process at a time asks a scheduler about the whole project), when
 * it last answered, what its last probe found, and where its event log was read up to.
 */

/** A holder that has not finished after this long is presumed dead (killed mid-poll); its lease lapses. */
const STALE_HOLD_S = 120;

interface PollRow {
  polled_at: number;
  holder_pid: number | null;
  holder_since: number | null;
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * One process at a time asks a scheduler for the whole project, and not again while its answer is younger
 * than `minAgeS`: concurrent `corral ls` calls read what it stored. Returns whether this process may poll.
 * A forced poll that finds another process polling waits for that answer instead of asking again.
 */
export function acquirePoll(store: Store, engine: string, minAgeS: number, force: boolean): boolean {
  for (;;) {
    const now = Date.now() / 1000;
    const verdict = store.write((): "go" | "fresh" | "busy" => {
      store.stmt("INSERT OR IGNORE INTO engine_polls (engine) VALUES (?)").run(engine);
      const row = store.stmt("SELECT polled_at, holder_pid, holder_since FROM engine_polls WHERE engine = ?").get(engine) as PollRow;
      if (row.holder_since !== null && now - row.holder_since < STALE_HOLD_S && row.holder_pid !== process.pid) return "busy";
      if (!force && now - row.polled_at < minAgeS) return "fresh";
      store.stmt("UPDATE engine_polls SET holder_pid = ?, holder_since = ? WHERE engine = ?").run(process.pid, now, engine);
      return "go";
    });
    if (verdict === "go") return true;
    if (verdict === "fresh" || !force) return false;
    // Forced while another process polls: its answer will be as fresh as ours, so wait for it.
    const before = now;
    while (Date.now() / 1000 - before < STALE_HOLD_S) {
      sleepSync(100);
      const row = store.stmt("SELECT polled_at, holder_since FROM engine_polls WHERE engine = ?").get(engine) as PollRow;
      if (row.holder_since === null) return false;
    }
  }
}

/** Ends this process's poll; `answered` records the time so others reuse the answer. Call inside or outside a transaction. */
export function releasePoll(store: Store, engine: string, answered: boolean): void {
  const now = Date.now() / 1000;
  store
    .stmt(`UPDATE engine_polls SET holder_pid = NULL, holder_since = NULL${answered ? ", polled_at = ?" : ""} WHERE engine = ? AND holder_pid = ?`)
    .run(...(answered ? [now, engine, process.pid] : [engine, process.pid]));
}

/** The last probe's result (JSON) and when it was taken, if any. */
export function cachedProbe(store: Store, engine: string): { probe: string; probedAt: number } | null {
  const row = store.stmt("SELECT probe, probed_at FROM engine_polls WHERE engine = ?").get(engine) as
    | { probe: string | null; probed_at: number | null }
    | undefined;
  return row?.probe && row.probed_at !== null ? { probe: row.probe, probedAt: row.probed_at } : null;
}

/** Keeps a probe's result (JSON), or forgets it (null) so the next caller asks again. */
export function saveProbe(store: Store, engine: string, probe: string | null, at: number): void {
  store.write(() => {
    store.stmt("INSERT OR IGNORE INTO engine_polls (engine) VALUES (?)").run(engine);
    store.stmt("UPDATE engine_polls SET probe = ?, probed_at = ? WHERE engine = ?").run(probe, probe === null ? null : at, engine);
  });
}

/** Where an engine's event log was read up to (an opaque cursor the engine gave), or null from the start. */
export function eventCursor(store: Store, engine: string): string | null {
  return (store.stmt("SELECT cursor FROM engine_polls WHERE engine = ?").pluck().get(engine) as string | null | undefined) ?? null;
}

export function saveEventCursor(store: Store, engine: string, cursor: string | null): void {
  store.stmt("INSERT OR IGNORE INTO engine_polls (engine) VALUES (?)").run(engine);
  store.stmt("UPDATE engine_polls SET cursor = ? WHERE engine = ?").run(cursor, engine);
}
