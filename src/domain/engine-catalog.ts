/** What an engine does natively; declared by each engine, never guessed from its name. */
export interface EngineCapabilities {
  /** A whole array job goes to the engine in one call. */
  readonly nativeArrays: boolean;
  /**
   * Dependencies the engine enforces without corral running: "ok+any" (Slurm's afterok/afterany), "any"
   * (Grid Engine's hold_jid releases a job however its parent ended; corral adds a check for "ok"), or
   * "none" (corral releases dependents itself when it sees their parents end).
   */
  readonly nativeDependencies: "ok+any" | "any" | "none";
  /** One array task can be cancelled on its own. */
  readonly cancelTask: boolean;
  /** The engine keeps records of finished jobs that tell why they ended (sacct, qacct). */
  readonly accounting: boolean;
  /** Tasks can be routed to workers by tags (`--tags gpu`): anywhere else tags would be silently ignored. */
  readonly tagRouting: boolean;
  /**
   * Attempts run in a folder of their own on another host (pool workers): they travel whole, and their
   * markers and output come back through the engine, not through a shared filesystem.
   */
  readonly remoteRunDirs: boolean;
}

/** What the layers below the API may know of the engines: their names and declared capabilities. */
export interface EngineCatalog {
  readonly names: readonly string[];
  capabilities(name: string): EngineCapabilities | null;
}

/** "the redis engine": the engines that route tasks by tags, as a refusal of tags names them. */
export function tagRoutersOf(engines: EngineCatalog): string {
  const names = engines.names.filter((n) => engines.capabilities(n)?.tagRouting);
  return `the ${names.join(" or ")} engine${names.length === 1 ? "" : "s"}`;
}
