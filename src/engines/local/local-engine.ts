import { spawnSync } from "node:child_process";
import { formatMemory } from "../../domain/resources.js";
import type { JobSpec } from "../../domain/job.js";
import { fenceAttempt } from "../../lifecycle/attempt-files.js";
import { readStarted } from "../../protocol/markers.js";
import { giveUpOverdueUsage, ingestMarkers } from "../../lifecycle/ingest.js";
import { activeAttempts, markKillSent } from "../../store/attempts.js";
import type { Store } from "../../store/store.js";
import type { AttemptRow } from "../../store/rows.js";
import type { DoctorLine, Engine } from "../engine.js";
import { checkFits, loadLocalBudget } from "./budget.js";
import { ensureSupervisor } from "./start-supervisor.js";
import { isSameProcessAlive, signalGroup } from "./processes.js";

/**
 * The embedded default: runs jobs on this machine under a resource budget, through a background supervisor.
 * `supervisorEntry` finds the script that runs one (its caller decides what the supervisor can do, such as
 * applying the requests jobs make); it is asked when one is started, not when the engine is made.
 */
export function createLocalEngine(supervisorEntry: () => string): Engine {
  return {
    name: "local",
    capabilities: { nativeArrays: true, nativeDependencies: "none", cancelTask: true, accounting: false, tagRouting: false, remoteRunDirs: false },
    validate(spec: JobSpec, projectDir: string): void {
      checkFits(spec.resources, loadLocalBudget(projectDir));
    },
    kick(store: Store): void {
      ensureSupervisor(store, supervisorEntry());
    },
    refresh(store: Store): void {
      // Markers are the whole story here: the supervisor watches the processes themselves.
      ingestMarkers(store, activeAttempts(store, "local"));
      giveUpOverdueUsage(store, "local");
    },
    cancel(store: Store, attempts: readonly AttemptRow[]): void {
      // Those waiting in the launcher's lanes are fenced first: a TERM ends a running attempt, and its lane would
      // start the next at once, before the supervisor hears of the cancel.
      for (const a of attempts) if (a.state === "queued") fenceAttempt(a.run_dir);
      // TERM at once, from here, for a prompt stop; the supervisor sends KILL if the job ignores it (and TERM
      // to attempts not started yet, whose kill_sent_at stays empty).
      const sent = attempts.filter((a) => a.pid !== null && isSameProcessAlive(a.pid, a.pid_start));
      for (const a of sent) signalGroup(a.pid!, "SIGTERM");
      const now = Date.now() / 1000;
      if (sent.length > 0)
        store.write(() =>
          markKillSent(
            store,
            sent.map((a) => a.id),
            now,
          ),
        );
      ensureSupervisor(store, supervisorEntry());
    },
    async abandon(attempts: readonly AttemptRow[]): Promise<void> {
      // As for a cancel, what waits in the launcher's lanes is fenced before anything is stopped. One whose fence
      // loses has just started from its lane, with no pid in the store yet: its started marker names its process.
      const processes = attempts.flatMap((a) => {
        if (a.pid !== null) return [{ pid: a.pid, start: a.pid_start }];
        const started = a.state === "queued" && !fenceAttempt(a.run_dir) ? readStarted(a.run_dir) : null;
        return started?.pid ? [{ pid: started.pid, start: started.pidStart }] : [];
      });
      const alive = () => processes.filter((p) => isSameProcessAlive(p.pid, p.start));
      for (const p of alive()) signalGroup(p.pid, "SIGTERM");
      for (let i = 0; i < 20 && alive().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
      for (const p of alive()) signalGroup(p.pid, "SIGKILL");
    },
    doctor(projectDir: string): DoctorLine[] {
      const b = loadLocalBudget(projectDir);
      const perl = process.env.CORRAL_LAUNCHER !== "node" && spawnSync("perl", ["-e", "use POSIX; exit 0"]).status === 0;
      return [
        {
          engine: "local",
          usable: true,
          text: `usable: ${b.cpus} cpus, ${formatMemory(b.memMb)}, ${b.gpus.length} gpus (set [local] in .corral/config.toml or CORRAL_LOCAL_*); launcher: ${perl ? "perl" : "node (slower: install perl)"}`,
        },
      ];
    },
  };
}
