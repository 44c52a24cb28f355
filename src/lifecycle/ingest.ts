import fs from "node:fs";
import path from "node:path";
import { fateOf, readEnded, readStarted, type EndedMarker, type StartedMarker } from "../protocol/markers.js";
import { RUN_FILES } from "../protocol/wrapper.js";
import { formatDuration } from "../domain/resources.js";
import type { Store } from "../store/store.js";
import { activeAttempts, attemptsAwaitingUsage } from "../store/attempts.js";
import { jobStderrFails } from "../store/jobs.js";
import type { AttemptRow } from "../store/rows.js";
import { taskTimeLimit } from "../store/tasks.js";
import { finishAttempt, giveUpAwaitedUsage, markStarted, recordUsage, settleDependencies, type Outcome } from "./transitions.js";

/** What the markers of an ended attempt mean, given why (if at all) corral was killing it. */
export function outcomeFromMarkers(store: Store, attempt: AttemptRow, ended: EndedMarker, started: StartedMarker | null): Outcome {
  const fate = fateOf(ended);
  const base = {
    exitCode: fate.exitCode,
    signal: fate.signal,
    endedAt: ended.time,
    startedAt: started?.time ?? null,
    host: started?.host ?? null,
    usage: ended.usage,
  };
  if (ended.cancelled) return { ...base, exitCode: null, state: "cancelled", reason: ended.cancelled };
  if (attempt.kill_reason === "cancel") return { ...base, state: "cancelled", reason: "cancelled by user" };
  if (attempt.kill_reason === "dependency") return { ...base, state: "cancelled", reason: "a dependency did not succeed" };
  if (attempt.kill_reason === "timeout") {
    const limit = taskTimeLimit(store, attempt.job_id, attempt.idx);
    return { ...base, state: "failed", reason: `TIMEOUT: exceeded the time limit${limit ? ` of ${formatDuration(limit)}` : ""}` };
  }
  if (fate.failed) return { ...base, state: "failed", reason: fate.reason };
  const stderrFails = jobStderrFails(store, attempt.job_id);
  if (stderrFails && stderrSize(attempt.run_dir) > 0) {
    return { ...base, state: "failed", reason: "wrote to stderr (--stderr-fails)" };
  }
  return { ...base, state: "succeeded", reason: null };
}

function stderrSize(runDir: string): number {
  try {
    return fs.statSync(path.join(runDir, RUN_FILES.stderr)).size;
  } catch {
    return 0;
  }
}

/**
 * Folds the markers of unfinished attempts into the store: `started` moves an attempt to running with its
 * host, `ended` finishes it. Only non-terminal attempts are looked at, so the cost follows the number of
 * active jobs, not the size of the history. Files are read before the write transaction so the lock is short.
 * Returns how many attempts ended.
 */
export function ingestMarkers(store: Store, attempts: readonly AttemptRow[] = activeAttempts(store)): number {
  const updates: { attempt: AttemptRow; started: StartedMarker | null; ended: EndedMarker | null }[] = [];
  for (const attempt of attempts) {
    const ended = readEnded(attempt.run_dir);
    const started = ended || attempt.started_at === null ? readStarted(attempt.run_dir) : null;
    if (ended || (started && attempt.started_at === null)) updates.push({ attempt, started, ended });
  }
  if (updates.length === 0) return 0;
  return store.write(() => {
    let finished = 0;
    for (const { attempt, started, ended } of updates) {
      if (ended) {
        if (finishAttempt(store, attempt, outcomeFromMarkers(store, attempt, ended, started))) finished++;
      } else if (started) {
        markStarted(store, attempt, started);
      }
    }
    if (finished > 0) settleDependencies(store);
    return finished;
  });
}

/**
 * The usage pass of engines whose figures come with the ended marker (pool workers add them to the one they
 * send, which may arrive after a refresh finished the attempt from an earlier copy): reads the ended marker of
 * each attempt whose usage is still awaited, and gives up on those whose wait is over. Touches only the attempts
 * that ended lately (a partial index), never the history.
 */
export function fillUsageFromMarkers(store: Store, engine: string): void {
  const awaited = attemptsAwaitingUsage(store, engine);
  if (awaited.length === 0) return;
  const found = awaited.map((a) => ({ a, usage: readEnded(a.run_dir)?.usage ?? null })).filter((f) => f.usage !== null);
  const now = Date.now() / 1000;
  store.write(() => {
    for (const { a, usage } of found) recordUsage(store, a.id, usage!, true);
    giveUpAwaitedUsage(store, engine, now);
  });
}

/**
 * The local engine's usage pass: its figures come with the launcher's exit report, which the supervisor records
 * even for an attempt a command finished first, so nothing is read here; an attempt still awaiting them past its
 * wait (the supervisor was killed in between) is given up, its figures unknown. One indexed row when none is due.
 */
export function giveUpOverdueUsage(store: Store, engine: string): void {
  const now = Date.now() / 1000;
  const oldest = attemptsAwaitingUsage(store, engine, 1)[0];
  if (oldest && oldest.usage_due! < now) store.write(() => giveUpAwaitedUsage(store, engine, now));
}
