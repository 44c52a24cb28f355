import { ownFile } from "../domain/own-files.js";
import { UsageError } from "../domain/errors.js";
import type { EngineCatalog } from "../domain/engine-catalog.js";
import type { Engine } from "../engines/engine.js";
import { SchedulerEngine } from "../engines/cluster/scheduler-engine.js";
import { createLocalEngine } from "../engines/local/local-engine.js";
import { htcondor } from "../engines/htcondor/htcondor.js";
import { lsf } from "../engines/lsf/lsf.js";
import { pbs } from "../engines/pbs/pbs.js";
import { redisEngine } from "../engines/redis/redis.js";
import { sge } from "../engines/sge/sge.js";
import { slurm } from "../engines/slurm/slurm.js";

/**
 * The engines corral knows, put together here: the API is the layer that knows both the engines and what a
 * supervisor process must be able to do (apply the requests jobs make, which may create jobs).
 */
const supervisorEntry = () => ownFile("api/supervisor-process.js");

const ENGINES = new Map<string, Engine>(
  [
    createLocalEngine(supervisorEntry),
    new SchedulerEngine(slurm),
    new SchedulerEngine(sge),
    new SchedulerEngine(pbs),
    new SchedulerEngine(lsf),
    new SchedulerEngine(htcondor),
    redisEngine,
  ].map((e) => [e.name, e]),
);

export function engineNames(): string[] {
  return [...ENGINES.keys()];
}

export function getEngine(name: string): Engine {
  const engine = ENGINES.get(name);
  if (!engine) throw new UsageError(`--engine '${name}': unknown engine (known: ${engineNames().join(", ")})`);
  return engine;
}

export function engineCatalog(): EngineCatalog {
  return { names: engineNames(), capabilities: (name) => ENGINES.get(name)?.capabilities ?? null };
}
