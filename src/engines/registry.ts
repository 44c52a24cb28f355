import { UsageError } from "../domain/errors.js";
import type { Engine } from "./engine.js";
import { localEngine } from "./local/local-engine.js";

const ENGINES = new Map<string, Engine>([[localEngine.name, localEngine]]);

export const DEFAULT_ENGINE = "local";

export function engineNames(): string[] {
  return [...ENGINES.keys()];
}

export function getEngine(name: string): Engine {
  const engine = ENGINES.get(name);
  if (!engine) throw new UsageError(`--engine '${name}': unknown engine (known: ${engineNames().join(", ")})`);
  return engine;
}
