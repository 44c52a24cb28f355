import { useEffect, useRef, useState } from "preact/hooks";
import { ErrorLine, Pager } from "../components.js";
import { memoryText, percentText, plural, wallText } from "../format.js";
import { useLiveJson } from "../live.js";
import { go, href, type Route } from "../router.js";
import type { UsageGroup, UsageReport } from "../types.js";
import type { UsageChartKind } from "./efficiency-chart.js";
import { NoDatabase } from "./overview.js";

const GROUPINGS = ["batch", "name", "job"] as const;
const PAGE = 50;

const CHARTS: { kind: UsageChartKind; title: string; has: (g: UsageGroup) => boolean }[] = [
  { kind: "memory", title: "Peak memory against the request", has: (g) => g.memoryMb !== null },
  { kind: "cpu", title: "CPU efficiency (CPU time ÷ wall time × cpus; the line: every cpu busy)", has: (g) => g.cpuEfficiency !== null },
  { kind: "wall", title: "Wall time against the time limit", has: (g) => g.wallS !== null },
];

/**
 * `corral report` as charts: per batch, name or job, what the attempts used against what they asked for, with
 * the report's findings and suggested flags and keys written beside them. Every figure is the report's own.
 */
export function EfficiencyView({ route }: { route: Route }) {
  const q = route.query.get("q") ?? "";
  const by = (GROUPINGS as readonly string[]).includes(route.query.get("by") ?? "") ? route.query.get("by")! : "batch";
  const offset = Number(route.query.get("offset") ?? 0);
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);
  const { data, error } = useLiveJson<UsageReport>(`/api/report?${new URLSearchParams({ by, q, offset: String(offset), limit: String(PAGE) })}`);
  const nav = (over: Record<string, string | number | undefined>) => go("efficiency", { by, q, offset, ...over });
  if (error?.noDatabase) return <NoDatabase path={error.message.replace(/^no corral database yet at (\S+).*$/, "$1")} />;
  const groups = data?.groups ?? [];
  const measured = groups.some((g) => g.memoryMb !== null || g.cpuEfficiency !== null);
  const basis = groups.find((g) => g.suggestion)?.suggestion?.basis;
  return (
    <section aria-labelledby="efficiency-title">
      <h1 id="efficiency-title">Efficiency</h1>
      <form
        class="filter"
        onSubmit={(e) => {
          e.preventDefault();
          nav({ q: text.trim(), offset: 0 });
        }}
      >
        <label for="report-filter">Filter</label>
        <input
          id="report-filter"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          placeholder="batch=sweep-1 name~'map*' (or ids: 12 5-9)"
          aria-invalid={error ? "true" : "false"}
          aria-describedby="report-filter-error"
          spellcheck={false}
          autocomplete="off"
        />
        <button type="submit">Apply</button>
        <fieldset class="by">
          <legend>Per</legend>
          {GROUPINGS.map((g) => (
            <label key={g}>
              <input type="radio" name="by" value={g} checked={by === g} onChange={() => nav({ by: g, offset: 0 })} /> {g}
            </label>
          ))}
        </fieldset>
      </form>
      <div id="report-filter-error">{error && <ErrorLine message={error.message} />}</div>
      {!data && !error && <p class="loading">Loading…</p>}
      {data && data.total === 0 && <p data-testid="report-empty">No attempt has ended yet{q ? " among the jobs this filter selects" : ""}.</p>}
      {data && data.total > 0 && (
        <>
          <p class="muted" data-testid="report-summary">
            {data.total.toLocaleString("en-US")} {data.total === 1 ? by : by === "batch" ? "batches" : `${by}s`} with ended attempts, the first job's first. The
            same figures as <code>corral report --by {by}</code>.
          </p>
          {data.total > PAGE && <Pager offset={offset} limit={PAGE} total={data.total} onPage={(o) => nav({ offset: o })} />}
          {!measured && (
            <p class="note" data-testid="no-usage">
              No attempt has usage recorded yet: memory and CPU are unknown until an engine measures them (wall time comes from the run's own markers).
            </p>
          )}
          <div class="usage-charts">
            {CHARTS.filter((c) => groups.some(c.has)).map((c) => (
              <UsageChart key={`${c.kind}-${by}`} kind={c.kind} title={c.title} groups={groups} by={by} />
            ))}
          </div>
          <h2>Per {by}</h2>
          <div class="usage-groups" data-testid="findings">
            {groups.map((g) => (
              <GroupText key={g.group} g={g} by={by} />
            ))}
          </div>
          {basis && <p class="muted">Suggestions: {basis}.</p>}
        </>
      )}
    </section>
  );
}

function UsageChart({ kind, title, groups, by }: { kind: UsageChartKind; title: string; groups: UsageGroup[]; by: string }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    let dispose: (() => void) | null = null;
    let cancelled = false;
    void import("./efficiency-chart.js").then(({ drawUsageChart, chartHeight }) => {
      if (cancelled || !el.current) return;
      el.current.style.height = `${chartHeight(groups.length)}px`;
      dispose = drawUsageChart(el.current, kind, groups);
    });
    return () => {
      cancelled = true;
      dispose?.();
    };
  }, [groups, kind]);
  const id = `chart-${kind}`;
  return (
    <figure class="usage-chart" aria-labelledby={id}>
      <figcaption id={id}>{title}</figcaption>
      <div
        class="efficiency-chart"
        data-kind={kind}
        ref={el}
        role="img"
        aria-label={`${title}, per ${by}, ${plural(groups.length, "group")}: each group's figures are written out below`}
      />
    </figure>
  );
}

/** One group's figures, findings and suggestion in words, as `corral report` prints them. */
function GroupText({ g, by }: { g: UsageGroup; by: string }) {
  const req = g.requested;
  const counted = g.wallS?.measured ?? 0;
  const of = (measured: number) => (measured < counted ? ` (${measured} of ${counted} measured)` : "");
  const link =
    by === "job" ? href(`job/${g.group}`) : href("jobs", { q: by === "name" ? `name='${g.group}'` : g.group === "(none)" ? "" : `batch='${g.group}'` });
  const f = g.failures;
  return (
    <article class="usage-group" data-group={g.group} aria-labelledby={`group-${by}-${g.group}`}>
      <h3 id={`group-${by}-${g.group}`}>
        <a href={link}>
          {by} {g.group}
        </a>{" "}
        <span class="muted">
          {plural(g.tasks, "task")}, {plural(g.attempts, "attempt")} ({g.engines.join(", ")})
        </span>
      </h3>
      <dl class="usage-figures">
        <dt>Memory</dt>
        <dd>
          {g.memoryMb ? `p95 ${memoryText(g.memoryMb.p95)}, max ${memoryText(g.memoryMb.max)}${of(g.memoryMb.measured)}` : "unknown"}
          {req.memMb !== null ? `; asked ${memoryText(req.memMb)}` : "; none asked"}
        </dd>
        <dt>CPU</dt>
        <dd>
          {g.cpuEfficiency === null ? "efficiency unknown" : `efficiency ${percentText(g.cpuEfficiency)}`} of {plural(req.cpus, "cpu")}
          {g.coresUsed ? `, cores busy p95 ${g.coresUsed.p95.toFixed(1)}` : ""}
        </dd>
        <dt>Wall time</dt>
        <dd>
          {g.wallS ? `p95 ${wallText(g.wallS.p95)}, max ${wallText(g.wallS.max)}` : "unknown"}
          {req.timeS !== null ? `; limit ${wallText(req.timeS)}${g.timeUsed !== null ? ` (${percentText(g.timeUsed)} of it used at most)` : ""}` : "; no limit"}
        </dd>
        {f.oom + f.timeout + f.other > 0 && (
          <>
            <dt>Failures</dt>
            <dd>
              {f.oom} out of memory, {f.timeout} timeout, {f.other} other
            </dd>
          </>
        )}
      </dl>
      {g.findings.length > 0 && (
        <ul class="findings">
          {g.findings.map((x) => (
            <li key={x}>{x}</li>
          ))}
        </ul>
      )}
      {g.suggestion && (
        <p class="suggestion">
          Next time: <code>{g.suggestion.flags.join(" ")}</code>, or in a description file{" "}
          <code>
            {Object.entries(g.suggestion.keys)
              .map(([k, v]) => `${k} = ${typeof v === "string" ? `"${v}"` : v}`)
              .join(", ")}
          </code>
        </p>
      )}
    </article>
  );
}
