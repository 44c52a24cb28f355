import { useEffect } from "preact/hooks";
import { StateBadge, StateBar, ErrorLine } from "../components.js";
import { ago, plural } from "../format.js";
import { useLiveJson, useLiveState } from "../live.js";
import { href } from "../router.js";
import type { Overview } from "../types.js";

/** Each batch's tasks by state, what runs now and where, and what needs attention, as `corral status` says it. */
export function OverviewView() {
  const { data, error } = useLiveJson<Overview>("/api/overview");
  const { lastRefresh } = useLiveState();
  useEffect(() => {
    // When the overview first shows the project (the bench reads this mark: the first paint that says something).
    if (data && performance.getEntriesByName("corral:overview").length === 0) performance.mark("corral:overview");
  }, [data]);
  if (error && !data) return <ErrorLine message={error.message} />;
  if (!data) return <p class="loading">Loading…</p>;
  if (!data.exists) return <NoDatabase path={data.database} />;
  const refresh = lastRefresh ?? data.lastRefresh;
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      {refresh?.error && <ErrorLine message={`The last refresh of the engines failed: ${refresh.error}`} />}
      {data.batches.length === 0 && (
        <p>
          No jobs yet. Submit one with <code>corral submit -- CMD</code>: it appears here.
        </p>
      )}
      <div class="batches">
        {data.batches.map((b) => {
          const name = b.batch ?? "(no batch)";
          const labels = Object.entries(b.states).filter(([s]) => !["pending", "queued", "running", "succeeded", "failed", "cancelled", "lost"].includes(s));
          return (
            <article class="batch" key={name} data-batch={name}>
              <h2>
                <a href={href("jobs", { q: b.batch === null ? "" : `batch='${b.batch}'` })}>{name}</a>{" "}
                <span class="muted">
                  {plural(b.jobs, "job")}
                  {b.tasks ? `, ${plural(b.tasks.total, "task")}` : ""}
                </span>
              </h2>
              {b.tasks && <StateBar counts={b.tasks as unknown as Record<string, number>} total={b.tasks.total} label={`${name} tasks by state`} />}
              <p class="jobs-by-state">
                Jobs:{" "}
                {Object.entries(b.states).map(([s, n]) => (
                  <span key={s} class="count">
                    <StateBadge state={s} /> {n.toLocaleString("en-US")}
                  </span>
                ))}
                {labels.length > 0 && <span class="muted"> (labels included)</span>}
              </p>
            </article>
          );
        })}
      </div>
      {data.running.length > 0 && (
        <section aria-labelledby="running-title">
          <h2 id="running-title">Running now</h2>
          <ul class="running">
            {data.running.map((r) => (
              <li key={r.id}>
                <a href={href(`job/${r.id}`)}>
                  {r.id} {r.name}
                </a>
                {r.batch ? ` (${r.batch})` : ""}: {plural(r.running, "task")}
                {r.hosts ? ` on ${r.hosts}` : ""}
                {r.since ? `, since ${ago(r.since)}` : ""}
              </li>
            ))}
          </ul>
        </section>
      )}
      {data.attentionTotal > 0 && (
        <section aria-labelledby="attention-title">
          <h2 id="attention-title">Needs attention</h2>
          <ul class="attention">
            {data.attention.map((j) => (
              <li key={j.id}>
                <a href={href(`job/${j.id}`)}>
                  {j.id} {j.name}
                </a>{" "}
                <StateBadge state={j.state} />
                {j.exitCode ? ` exit ${j.exitCode}` : ""}
              </li>
            ))}
          </ul>
          {data.attentionTotal > data.attention.length && (
            <p>
              … and {plural(data.attentionTotal - data.attention.length, "more job")}: <a href={href("jobs", { q: "state=failed" })}>the failed ones</a>,{" "}
              <a href={href("jobs", { q: "state=lost" })}>the lost ones</a>
            </p>
          )}
        </section>
      )}
    </section>
  );
}

export function NoDatabase({ path }: { path: string }) {
  return (
    <section class="empty" aria-labelledby="nodb-title">
      <h1 id="nodb-title">No corral database yet</h1>
      <p>
        There is no database at <code>{path}</code> yet. Submit a job from this folder (<code>corral submit -- echo hello</code>) and it appears here, no reload
        needed.
      </p>
    </section>
  );
}
