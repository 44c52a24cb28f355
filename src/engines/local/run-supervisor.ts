import fs from "node:fs";
import path from "node:path";
import { Store } from "../../store/store.js";
import { loadLocalBudget } from "./budget.js";
import { LocalSupervisor, supervisorOptionsFromEnv } from "./supervisor.js";

/** The `corral supervisor` process: runs the local queue of one database until idle. Exit 0 also when another one already runs. */
export async function runSupervisor(dbPath: string, applyRequests: (store: Store) => void): Promise<void> {
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  let supervisor: LocalSupervisor | null = null;
  // Handlers first: a submitter's wake-up signal must never kill a supervisor that is still starting.
  process.on("SIGUSR2", () => supervisor?.wake());
  process.on("SIGHUP", () => undefined);
  for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => supervisor?.stop(`received ${sig}`) ?? process.exit(0));
  const store = Store.open({ path: dbPath });
  const pidFile = path.join(store.dir, "supervisor.pid");
  let ran = false;
  try {
    supervisor = new LocalSupervisor(supervisorOptionsFromEnv(store, loadLocalBudget(store.dir), log, applyRequests));
    ran = await supervisor.run();
  } finally {
    store.close();
  }
  // The pidfile goes last, after the connection has closed (and SQLite has checkpointed its log into the
  // database): whoever waits for it to vanish finds the database quiet.
  if (ran) fs.rmSync(pidFile, { force: true });
  process.exit(0);
}
