import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { buildJobSpec, commandText } from "../../api/submit.js";
import { recordJob } from "../../lifecycle/operations.js";
import { eventCursor } from "../../store/engine-polls.js";
import { taskViews } from "../../store/queries.js";
import { Store } from "../../store/store.js";
import type { BatchScheduler, Observation, ObserveContext } from "./backend.js";
import { SchedulerEngine } from "./scheduler-engine.js";
import { tempDir } from "../../testing/temp.js";

/**
 * The contract admits a scheduler that learns fates from an event log read from a saved offset, as HTCondor's
 * user log is read (and DAGMan reads it): no listing call, no accounting call. This backend keeps such a log
 * of its own (`ID EVENT [words]` lines) and runs each submitted script at once, so the test exercises exactly
 * what TrackedEngine does with an observation's `fates` and `cursor`.
 */
function eventLogScheduler(log: string, seen: (string | null)[]): BatchScheduler {
  let next = 100;
  const append = (line: string) => fs.appendFileSync(log, `${line}\n`);
  return {
    name: "evlog",
    capabilities: { nativeArrays: true, nativeDependencies: "none", cancelTask: true, accounting: false, tagRouting: false, remoteRunDirs: false },
    minArrayIndex: 0,
    singleRangeArrays: false,
    pollMinAgeS: 0,
    probe: () => ({ usable: true, lines: [], maxArrayIndex: null, accounting: false }),
    checkResources: () => undefined,
    configArgs: () => [],
    directives: () => ["# evlog"],
    arrayIndexVariable: "EVLOG_INDEX",
    handOver: '/bin/sh "$corral_dir/wrapper.sh"',
    submit(scriptPath, _passThrough, req) {
      const id = String(next++);
      append(`${id} SUBMIT`);
      // A job named "removed" is taken out before it runs (condor_rm): the log says so, no marker does.
      if (req.job.name === "removed") append(`${id} ABORTED by user`);
      else {
        append(`${id} EXECUTE`);
        const r = spawnSync("sh", [scriptPath]);
        append(`${id} TERMINATED ${r.status}`);
      }
      return id;
    },
    taskId: (jobId) => jobId,
    indexOfTask: () => null,
    jobIdOf: (taskId) => taskId,
    observe(ctx: ObserveContext): Observation {
      seen.push(ctx.cursor);
      const from = Number(ctx.cursor ?? 0);
      const text = fs.readFileSync(log, "utf8").slice(from);
      const live = new Map<string, { state: string; running: boolean; reason: string | null }>();
      const fates = new Map<string, { kind: "cancelled" | "ended"; keyword: string; detail: string }>();
      for (const line of text.split("\n").filter(Boolean)) {
        const [id, event, ...rest] = line.split(" ") as [string, string, ...string[]];
        if (event === "SUBMIT") live.set(id, { state: "idle", running: false, reason: null });
        else if (event === "EXECUTE") live.set(id, { state: "running", running: true, reason: null });
        else {
          live.delete(id);
          fates.set(
            id,
            event === "ABORTED"
              ? { kind: "cancelled", keyword: "CANCELLED", detail: `aborted ${rest.join(" ")}` }
              : { kind: "ended", keyword: "ENDED", detail: `return value ${rest[0]}` },
          );
        }
      }
      return { live, comments: new Map(), fates, cursor: String(from + Buffer.byteLength(text)) };
    },
    cancel: () => undefined,
  };
}

test("an event-log scheduler: fates come from the log read on from the saved offset, with no listing and no accounting call", () => {
  const dir = tempDir("corral-evlog-");
  const store = Store.open({ path: path.join(dir, ".corral", "corral.db"), create: true });
  try {
    const log = path.join(dir, "user.log");
    fs.writeFileSync(log, "");
    const seen: (string | null)[] = [];
    const engine = new SchedulerEngine(eventLogScheduler(log, seen));
    const submit = (name: string, command: string[]) => {
      const spec = { ...buildJobSpec({ command, name }, dir), engine: "evlog" };
      const id = recordJob(store, spec, commandText(spec.argv, null));
      engine.submitJob(store, id);
      return id;
    };
    const ok = submit("ok", ["true"]);
    const bad = submit("bad", ["sh", "-c", "exit 3"]);
    const removed = submit("removed", ["true"]);
    engine.refresh(store, { force: true });
    const state = (id: number) => taskViews(store, id)[0]!;
    assert.equal(state(ok).lifecycleState, "succeeded");
    assert.equal(state(bad).lifecycleState, "failed");
    assert.equal(state(bad).exitCode, 3, "the marker, not the log, gives the exit code");
    assert.equal(state(removed).lifecycleState, "cancelled");
    assert.match(state(removed).reason ?? "", /cancelled outside corral \(evlog: aborted by user\)/);
    const size = String(fs.statSync(log).size);
    assert.equal(eventCursor(store, "evlog"), size, "the store keeps where the log was read up to");
    // A later refresh reads on from there: a new job's events only. (Jobs that end with a marker need no
    // observation at all; one taken out before it ran does.)
    const later = submit("removed", ["true"]);
    engine.refresh(store, { force: true });
    assert.equal(state(later).lifecycleState, "cancelled");
    assert.deepEqual(seen, [null, size], "each observation started where the last one stopped");
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
