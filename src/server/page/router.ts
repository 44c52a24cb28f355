import { useEffect, useState } from "preact/hooks";

/** Where the page is: the hash (`#/jobs?q=state%3Dfailed`), so links, Back and reloads keep the view. */
export interface Route {
  readonly parts: string[];
  readonly query: URLSearchParams;
}

function parse(): Route {
  const hash = location.hash.replace(/^#\/?/, "");
  const [p = "", q = ""] = hash.split("?");
  return { parts: p.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

/** A link target: `href("jobs", {q: "state=failed"})` → `#/jobs?q=state%3Dfailed`. */
export function href(path: string, query: Record<string, string | number | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return `#/${path}${s ? `?${s}` : ""}`;
}

export function go(path: string, query: Record<string, string | number | undefined> = {}): void {
  location.hash = href(path, query).slice(1);
}
