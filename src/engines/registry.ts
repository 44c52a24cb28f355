import { UsageError } from "../domain/errors.js";
import { ClusterEngine } from "./cluster/cluster-engine.js";
import type { Engine } from "./engine.js";
import { localEngine } from "./local/local-engine.js";
import { sge } from "./sge/sge.js";
import { redisEngine } from "./redis/redis.js";
import { slurm } from "./slurm/slurm.js";

const ENGINES = new Map<string, Engine>([
  [localEngine.name, localEngine],
  ["slurm", new ClusterEngine(slurm)],
  ["sge", new ClusterEngine(sge)],
  [redisEngine.name, redisEngine],
]);

export function engineNames(): string[] {
  return [...ENGINES.keys()];
}

export function getEngine(name: string): Engine {
  const engine = ENGINES.get(name);
  if (!engine) throw new UsageError(`--engine '${name}': unknown engine (known: ${engineNames().join(", ")})`);
  return engine;
}
