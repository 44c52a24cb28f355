import { useEffect, useRef, useState } from "preact/hooks";
import { getJson } from "../api.js";
import { ErrorLine, StateBadge } from "../components.js";
import { go, href, type Route } from "../router.js";

interface Chunk {
  path: string;
  state: string | null;
  exists: boolean;
  from: number;
  to: number;
  text: string;
}

const ACTIVE = new Set(["launching", "queued", "running"]);
const FOLLOW_MS = 1000;
/** Lines kept on the page while following: older ones are dropped (the file keeps them). */
const KEEP_LINES = 20_000;

/** An attempt's stdout or stderr: its end first, then what it writes while it runs, with a search box. */
export function LogsView({ job, index, attempt, route }: { job: number; index: number; attempt: number; route: Route }) {
  const stream = route.query.get("stream") === "stderr" ? "stderr" : "stdout";
  const [lines, setLines] = useState<string[]>([]);
  const [meta, setMeta] = useState<{ path: string; state: string | null; exists: boolean; skipped: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [search, setSearch] = useState(route.query.get("search") ?? "");
  const box = useRef<HTMLPreElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    let stopped = false;
    let offset: number | null = null;
    let partial = "";
    let timer: number | undefined;
    setLines([]);
    setMeta(null);
    setError(null);
    const base = `/api/logs/${job}/${index}/${attempt}/${stream}`;
    const pump = async () => {
      try {
        const c = await getJson<Chunk>(offset === null ? base : `${base}?from=${offset}`);
        if (stopped) return;
        const first = offset === null;
        offset = c.to;
        const text = partial + c.text;
        const cut = text.lastIndexOf("\n");
        // A line still being written is held back until its end arrives (or the attempt ends).
        const done = ACTIVE.has(c.state ?? "") ? (cut < 0 ? "" : text.slice(0, cut)) : text.replace(/\n$/, "");
        partial = ACTIVE.has(c.state ?? "") ? text.slice(cut + 1) : "";
        if (done !== "" || (!ACTIVE.has(c.state ?? "") && text !== "")) {
          const fresh = done.split("\n");
          setLines((old) => {
            const all = first ? fresh : [...old, ...fresh];
            return all.length > KEEP_LINES ? all.slice(-KEEP_LINES) : all;
          });
        }
        setMeta((m) => ({ path: c.path, state: c.state, exists: c.exists, skipped: first ? c.from : (m?.skipped ?? 0) }));
        setError(null);
        if (ACTIVE.has(c.state ?? "") || c.to - c.from >= 512 * 1024) timer = window.setTimeout(pump, FOLLOW_MS);
      } catch (err) {
        if (stopped) return;
        setError((err as Error).message);
        timer = window.setTimeout(pump, FOLLOW_MS * 3);
      }
    };
    void pump();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [job, index, attempt, stream]);

  useEffect(() => {
    if (stick.current && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines]);

  let matcher: RegExp | null = null;
  let badSearch: string | null = null;
  if (search) {
    try {
      matcher = new RegExp(search, "i");
    } catch (err) {
      badSearch = (err as Error).message;
    }
  }
  const shown = matcher ? lines.filter((l) => matcher!.test(l)) : lines;
  const following = meta !== null && ACTIVE.has(meta.state ?? "");
  const other = stream === "stdout" ? "stderr" : "stdout";
  return (
    <section aria-labelledby="logs-title">
      <h1 id="logs-title">
        {stream} of <a href={href(`job/${job}`, { task: index })}>{`${job}.${index}`}</a>, attempt {attempt} {meta?.state && <StateBadge state={meta.state} />}
      </h1>
      <div class="toolbar">
        <a href={href(`logs/${job}/${index}/${attempt}`, { stream: other })}>show {other}</a>
        <form onSubmit={(e) => e.preventDefault()}>
          <label for="log-search">Search</label>{" "}
          <input
            id="log-search"
            value={search}
            onInput={(e) => {
              setSearch(e.currentTarget.value);
              go(`logs/${job}/${index}/${attempt}`, { stream, search: e.currentTarget.value });
            }}
            placeholder="a regular expression"
            spellcheck={false}
          />
        </form>
        <span class={following ? "following" : "muted"} aria-live="polite" data-testid="follow-state">
          {meta === null ? "" : following ? "following (live)" : "ended"}
        </span>
      </div>
      {badSearch && <ErrorLine message={`search: ${badSearch}`} />}
      {error && <ErrorLine message={error} />}
      {meta && <p class="muted">{meta.path}</p>}
      {meta && meta.skipped > 0 && <p class="muted">The first {meta.skipped.toLocaleString("en-US")} bytes are not shown: this is the end of the file.</p>}
      {meta && !meta.exists && <p class="muted">No {stream} yet.</p>}
      {matcher && <p class="muted">{shown.length.toLocaleString("en-US")} matching lines</p>}
      <pre
        class="log"
        ref={box}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable log must be reachable by keyboard to be scrolled
        tabIndex={0}
        title={`${stream} output`}
        data-testid="log"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
        }}
      >
        {shown.join("\n")}
      </pre>
    </section>
  );
}
