import type { Store } from "./store.js";

/** Parsed environments by id: many jobs share one, and a supervisor launches thousands of attempts. */
const envCache = new WeakMap<Store, Map<number, Record<string, string>>>();

export function environmentOf(store: Store, envId: number): Record<string, string> {
  let cache = envCache.get(store);
  if (!cache) {
    cache = new Map();
    envCache.set(store, cache);
  }
  let env = cache.get(envId);
  if (!env) {
    env = JSON.parse(store.stmt("SELECT vars FROM environments WHERE id = ?").pluck().get(envId) as string) as Record<string, string>;
    cache.set(envId, env);
  }
  return env;
}
