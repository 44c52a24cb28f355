import { runSupervisor } from "../engines/local/run-supervisor.js";
import { applyRequests } from "./spawn.js";

/**
 * The local engine's supervisor process (`node supervisor-process.js supervisor --db PATH`), started on demand
 * by the local engine: it runs the queue of one database until idle, applying the requests its jobs make.
 */
// corral's own files are user-only, as under `corral`; each job gets its submitter's umask back from its wrapper.
process.umask(0o077);
const at = process.argv.indexOf("--db");
const db = at < 0 ? undefined : process.argv[at + 1];
if (db === undefined) {
  process.stderr.write("corral supervisor: needs --db PATH\n");
  process.exit(2);
}
await runSupervisor(db, applyRequests);
