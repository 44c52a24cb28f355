import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorLine } from "../components.js";
import { plural } from "../format.js";
import { useLiveJson } from "../live.js";
import { go, type Route } from "../router.js";
import type { AttemptSpan } from "../types.js";

const SIZES = [500, 2000, 10000] as const;

/** The latest attempts as a Gantt chart per host and slot (the chart library loads only here). */
export function TimelineView({ route }: { route: Route }) {
  const q = route.query.get("q") ?? "";
  const limit = Number(route.query.get("limit") ?? 2000);
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);
  const { data, error } = useLiveJson<{ now: number; attempts: AttemptSpan[] }>(`/api/timeline?${new URLSearchParams({ q, limit: String(limit) })}`);
  const el = useRef<HTMLDivElement>(null);
  const [lanes, setLanes] = useState(0);

  useEffect(() => {
    if (!data || !el.current) return;
    let dispose: (() => void) | null = null;
    let cancelled = false;
    void import("./timeline-chart.js").then(({ drawTimeline, lanesOf }) => {
      if (cancelled || !el.current) return;
      const ls = lanesOf(data.attempts, data.now);
      setLanes(ls.length);
      el.current.style.height = `${Math.max(160, ls.length * 22 + 90)}px`;
      dispose = drawTimeline(el.current, ls, data.now, (a) => go(`job/${a.job}`, { task: a.index }));
    });
    return () => {
      cancelled = true;
      dispose?.();
    };
  }, [data]);

  const started = data?.attempts.filter((a) => a.started !== null).length ?? 0;
  return (
    <section aria-labelledby="timeline-title">
      <h1 id="timeline-title">Timeline</h1>
      <form
        class="filter"
        onSubmit={(e) => {
          e.preventDefault();
          go("timeline", { q: text.trim(), limit });
        }}
      >
        <label for="timeline-filter">Filter</label>
        <input id="timeline-filter" value={text} onInput={(e) => setText(e.currentTarget.value)} placeholder="batch=sweep-1 name~'map*'" spellcheck={false} />
        <label>
          latest{" "}
          <select value={String(limit)} onChange={(e) => go("timeline", { q, limit: e.currentTarget.value })}>
            {SIZES.map((n) => (
              <option key={n} value={n}>
                {n.toLocaleString("en-US")}
              </option>
            ))}
          </select>{" "}
          attempts
        </label>
        <button type="submit">Apply</button>
      </form>
      {error && <ErrorLine message={error.message} />}
      {data && (
        <p class="muted" data-testid="timeline-summary">
          {plural(started, "attempt")} that started, on {plural(lanes, "row")} (host · slot). Scroll or drag the bar below to zoom; a bar opens its task.
        </p>
      )}
      <div class="timeline" ref={el} role="img" aria-label={`timeline of ${started} attempts`} />
    </section>
  );
}
