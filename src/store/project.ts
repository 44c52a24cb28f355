import type { Store } from "./store.js";

/** The project's tag: written into every scheduler job (comment, context) so a project finds its own jobs again. */
export function projectTag(store: Store): string {
  return store.stmt("SELECT value FROM project WHERE key = 'tag'").pluck().get() as string;
}
