import { environmentOf } from "../store/environments.js";
import type { Spawner } from "../lifecycle/requests.js";
import { applyJobRequests } from "../lifecycle/requests.js";
import { recordJob } from "../lifecycle/operations.js";
import type { Store } from "../store/store.js";
import type { SubmitInput } from "../domain/submit-input.js";
import { getEngine } from "./engines.js";
import { buildJobSpec, commandText } from "./submit.js";

/**
 * `corral job spawn` from inside a job: a new job in the spawning job's batch, with its environment and working
 * directory unless told otherwise, checked as any submission is (its engine may refuse it).
 */
export const spawnJob: Spawner = (store, parent, r) => {
  const input: SubmitInput = {
    command: r.command,
    name: r.name,
    batch: parent.batch ?? undefined,
    cwd: parent.cwd,
    env: r.env ?? {},
    inheritEnv: { ...environmentOf(store, parent.env_id), ...(JSON.parse(parent.extra_env) as Record<string, string>) },
    cpus: r.cpus,
    mem: r.mem,
    time: r.time,
    gpus: r.gpus,
    queue: r.queue,
    engine: r.engine ?? parent.engine,
    array: r.array,
    retries: r.retries,
    after: r.after,
    umask: parent.umask,
    metadata: { spawned_by: parent.id },
  };
  const spec = buildJobSpec(input, parent.cwd);
  getEngine(spec.engine).validate(spec, store.dir, store);
  return recordJob(store, spec, commandText(spec.argv, spec.script?.path ?? null));
};

/** Applies the requests of running and just-ended attempts, with everything a request may ask for. */
export function applyRequests(store: Store): number {
  return applyJobRequests(store, spawnJob);
}
