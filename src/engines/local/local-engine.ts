import type { JobSpec } from "../../domain/job.js";
import type { Store } from "../../store/store.js";
import type { AttemptRow } from "../../store/rows.js";
import type { Engine } from "../engine.js";
import { checkFits, loadLocalBudget } from "./budget.js";
import { ensureSupervisor } from "./start-supervisor.js";
import { isSameProcessAlive, signalGroup } from "./processes.js";

/** The embedded default: runs jobs on this machine under a resource budget, through a background supervisor. */
export const localEngine: Engine = {
  name: "local",
  validate(spec: JobSpec, projectDir: string): void {
    checkFits(spec.resources, loadLocalBudget(projectDir));
  },
  kick(store: Store): void {
    ensureSupervisor(store);
  },
  cancel(store: Store, attempts: readonly AttemptRow[]): void {
    // TERM at once, from here, for a prompt stop; the supervisor sends KILL if the job ignores it.
    for (const a of attempts) if (a.pid !== null && isSameProcessAlive(a.pid, a.pid_start)) signalGroup(a.pid, "SIGTERM");
    ensureSupervisor(store);
  },
  async abandon(attempts: readonly AttemptRow[]): Promise<void> {
    const alive = () => attempts.filter((a) => a.pid !== null && isSameProcessAlive(a.pid, a.pid_start));
    for (const a of alive()) signalGroup(a.pid!, "SIGTERM");
    for (let i = 0; i < 20 && alive().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    for (const a of alive()) signalGroup(a.pid!, "SIGKILL");
  },
};
